/*
 * syslog_msg: an event as an RFC 5424 syslog message, and where such
 * messages go (logging.syslog). Pure: the sending is syslog_out's.
 *
 * <PRI>1 TIMESTAMP HOSTNAME hermes PID EVENT [hermes@32473 event="..."
 * session="..."] {the event's JSON}
 *
 * The facility is logging.syslog_facility's; the severity is warning for
 * an event that carries an alert, informational otherwise. 32473 is the
 * enterprise number RFC 5612 set aside for documentation: Hermes has none
 * of its own, and a private SD-ID must name one.
 */
#ifndef HERMES_SYSLOG_MSG_H
#define HERMES_SYSLOG_MSG_H

#include <stddef.h>

#include <jansson.h>

#define SYSLOG_SD_ID "hermes@32473"

enum syslog_kind { SYSLOG_LOCAL, SYSLOG_UDP, SYSLOG_TCP };

struct syslog_target {
	enum syslog_kind kind;
	char host[256]; /* UDP and TCP: a name or address ([...] for IPv6);
	                 * local: the socket's path */
	char port[6];
};

#define SYSLOG_LOCAL_SOCKET "/dev/log"
#define SYSLOG_PATH_MAX     108 /* sockaddr_un's sun_path */

/* "local" (the machine's /dev/log), "unix:PATH" (another local datagram
 * socket, an absolute path), "udp://HOST:PORT" or "tcp://HOST:PORT" (PORT
 * 1-65535; an IPv6 address in brackets). 0, or -1 with *why set. */
int syslog_target_parse(const char *s, struct syslog_target *t, const char **why);

/* The facility's code (user 1, daemon 3, auth 4, authpriv 10, local0-7 16-23),
 * or -1 for another name. */
int syslog_facility(const char *name);

/* The message for one event whose JSON text is json[0..json_len) (its
 * line in events.jsonl, which becomes MSG as it is), or NULL when out of
 * memory; no trailing newline, *len its length. host: the HOSTNAME field
 * ("-" if NULL or not printable US-ASCII). */
char *syslog_msg(const json_t *event, const char *json, size_t json_len, int facility,
                 const char *host, int pid, size_t *len);

#endif
