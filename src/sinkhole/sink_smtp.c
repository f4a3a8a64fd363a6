/*
 * sink_smtp: a box's mail, taken as a mail server takes it (smtp_proto.h)
 * and never sent on: each message is an egress.smtp event, and the
 * monitor keeps its first SMTP_KEEP_MAX bytes. See sinkhole.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sinkhole.h"
#include "smtp_proto.h"
#include "util.h"

struct sink_smtp {
	struct sink *s;
	struct smtp *p;
	uint32_t src, dst;
	uint16_t sport, dport;
};

struct sink_smtp *sink_smtp_new(struct sink *s, uint32_t src, uint16_t sport, uint32_t dst,
                                uint16_t dport)
{
	struct sink_smtp *m = calloc(1, sizeof(*m));
	const char *name = sink_dns_name(dst);
	char ip[16];

	if (m == NULL)
		return NULL;
	m->p = smtp_new(name != NULL ? name : sink_ip(dst, ip));
	if (m->p == NULL) {
		free(m);
		return NULL;
	}
	m->s = s;
	m->src = src;
	m->sport = sport;
	m->dst = dst;
	m->dport = dport;
	return m;
}

void sink_smtp_free(struct sink_smtp *m)
{
	if (m != NULL)
		smtp_free(m->p);
	free(m);
}

void sink_smtp_banner(struct sink_smtp *m, struct buf *out)
{
	smtp_banner(m->p, out);
}

/* The Subject header's text (the first line of it), or NULL. */
static char *subject(const struct smtp_msg *msg)
{
	const char *p = (const char *)msg->data, *end = p + msg->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n == 0 || (n == 1 && p[0] == '\r'))
			return NULL; /* the headers' end */
		if (n > 8 && strncasecmp(p, "Subject:", 8) == 0) {
			const char *v = p + 8;
			while (v < p + n && *v == ' ')
				v++;
			size_t k = (size_t)(p + n - v);
			while (k > 0 && v[k - 1] == '\r')
				k--;
			return util_utf8_sanitize(v, k < 256 ? k : 256);
		}
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

static void on_message(void *arg, const struct smtp_msg *msg)
{
	struct sink_smtp *m = arg;
	char ip[16];
	json_t *to = json_array();

	for (size_t i = 0; i < msg->n_to && to != NULL; i++) {
		char *t = util_utf8_sanitize(msg->to[i], strlen(msg->to[i]));
		json_array_append_new(to, json_string(t ? t : ""));
		free(t);
	}
	char *helo = util_utf8_sanitize(msg->helo, strlen(msg->helo));
	char *from = util_utf8_sanitize(msg->from, strlen(msg->from));
	char *user = util_utf8_sanitize(msg->auth_user, strlen(msg->auth_user));
	char *pass = util_utf8_sanitize(msg->auth_pass, strlen(msg->auth_pass));
	char *subj = subject(msg);
	json_t *ev = json_pack("{s:s, s:s, s:i, s:i, s:s?, s:s?, s:s?, s:o, s:I, s:s?}", "event",
	                       "egress.smtp", "dst", sink_ip(m->dst, ip), "dport", m->dport,
	                       "sport", m->sport, "helo", helo, "mail_from", from, "host",
	                       sink_dns_name(m->dst), "rcpt_to", to ? to : json_array(), "bytes",
	                       (json_int_t)msg->bytes, "subject", subj);
	if (ev != NULL && user != NULL && *user) {
		json_object_set_new(ev, "auth_user", json_string(user));
		json_object_set_new(ev, "auth_password", json_string(pass ? pass : ""));
	}
	free(helo);
	free(from);
	free(user);
	free(pass);
	free(subj);
	int fd = msg->len > 0 ? sink_memfd("mail", msg->data, msg->len) : -1;
	sink_box_event(m->s, m->src, ev, fd);
}

bool sink_smtp_input(struct sink_smtp *m, const uint8_t *p, size_t n, struct buf *out)
{
	return smtp_input(m->p, p, n, out, on_message, m);
}
