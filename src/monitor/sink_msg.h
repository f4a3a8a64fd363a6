/*
 * sink_msg: what the monitor accepts from the sinkhole (docs/sinkhole.md,
 * "Messages between the sinkhole and the monitor").
 *
 * hermes-sinkhole reads whatever the boxes send and may be theirs: each
 * of its messages is hostile input. An event is of a known kind, and of
 * its message only the fields of that kind, of the right type and length,
 * are taken: never an event's name, time, session or attacker's address,
 * which the monitor sets. A fetch has a positive id, a method and a URL of
 * bounded length and at most SINK_HEADERS_MAX headers; of those only
 * pairs of strings of bounded length are kept. Which URLs may be fetched
 * live, and the host a URL names, are here too.
 *
 * Pure: JSON in, JSON or a struct out. Not for: whether the box a message
 * names is one the monitor gave out (sink_net.h), or what is done with a
 * message (sinkhole_proc.h).
 */
#ifndef HERMES_SINK_MSG_H
#define HERMES_SINK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SINK_URL_MAX     4096 /* a fetch's URL */
#define SINK_STR_MAX     1024 /* a header's value, a query, a head */
#define SINK_METHOD_MAX  16
#define SINK_HEADERS_MAX 64  /* a fetch with more is refused */
#define SINK_HEADER_NAME 256 /* a header whose name is longer is dropped */
#define SINK_ITEMS_MAX   100 /* an array field's items */
#define SINK_SNI_MAX     253
#define SINK_HOST_MAX    256 /* sink_msg_url_host's out, with its NUL */

/* A field an event kind takes. */
struct sink_field {
	const char *name;
	/* JSON_STRING (of at most max bytes), JSON_INTEGER (>= 0), JSON_TRUE,
	 * JSON_ARRAY (of at most SINK_ITEMS_MAX strings of at most max) */
	json_type type;
	size_t max;
};

/* The fields of an event kind ("egress.dns", "egress.connect",
 * "egress.smtp", "egress.limited"), up to one with a NULL name; NULL for
 * any other kind. */
const struct sink_field *sink_msg_kind(const char *kind);

/* The fields a fetch's egress.http event takes from its message, as
 * sink_msg_kind. */
const struct sink_field *sink_msg_fetch_fields(void);

/* The fields of kind that m has, of the right type and length: a new
 * object (its values m's own), empty when none; NULL when kind is not
 * known (or memory is short). */
json_t *sink_msg_fields(const json_t *m, const char *kind);

/* An event message's fields: sink_msg_fields for the kind m's "event"
 * names, and that kind into *kind (a string of this module's, for the
 * event's name); NULL when it names none known. */
json_t *sink_msg_event_fields(const json_t *m, const char **kind);

/* The box a message names: its "box", an IPv4 address in dotted form,
 * into *addr (network order). */
bool sink_msg_box(const json_t *m, uint32_t *addr);

/* A URL hermes-fetch may be given: http, https, ftp or tftp, and no
 * byte a control, a space or DEL. */
bool sink_msg_url_ok(const char *url);

/* The host a URL names, as curl reads it: lower case, without its user
 * or port, an IPv6 address with its brackets, ended by the path, the
 * query or the fragment; into out (at most cap - 1 bytes, terminated). */
void sink_msg_url_host(const char *url, char *out, size_t cap);

/* A fetch request (sink_msg_fetch). */
struct sink_fetch {
	uint64_t id;
	const char *method, *url; /* m's own, at most SINK_METHOD_MAX, SINK_URL_MAX */
	char host[SINK_HOST_MAX]; /* url's (sink_msg_url_host) */
	/* What of sink_msg_fetch_fields m has (dst, dport, sport, proto,
	 * tls, sni), as sink_msg_fields: the egress.http event's. */
	json_t *fields;
	/* The headers, [[name, value], ...]: the pairs of strings of at most
	 * SINK_HEADER_NAME and SINK_STR_MAX bytes, in m's order. */
	json_t *headers;
	const char *user_agent; /* the last User-Agent kept without CR or LF, or NULL */
	bool tls;               /* "tls": true */
	const char *sni;        /* with tls, "sni" of at most SINK_SNI_MAX bytes, or NULL */
	bool udp;               /* "proto": "udp" (TFTP) */
	uint16_t sport;         /* the box's port, or 0 */
};

/* A fetch message m, checked: 1, f filled (the strings are m's or
 * f->headers', while they live; sink_msg_fetch_free it); 0: no positive
 * id, nothing to answer; -1: refused, to be answered 400 (f->id set); -2:
 * out of memory, to be answered 503 (f->id set). Which box it names is
 * not looked at. */
int sink_msg_fetch(const json_t *m, struct sink_fetch *f);
void sink_msg_fetch_free(struct sink_fetch *f);

#endif
