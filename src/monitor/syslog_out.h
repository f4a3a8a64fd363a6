/*
 * syslog_out: every event written to events.jsonl also sent as an RFC 5424
 * message (syslog_msg.h) to logging.syslog: the machine's /dev/log, a
 * collector over UDP (one datagram each, RFC 5426), or over TCP (octet
 * counting, RFC 6587 3.4.1).
 *
 * Never blocks the monitor's loop: a datagram the socket cannot take now is
 * dropped; TCP keeps at most SYSLOG_QUEUE bytes waiting and drops what
 * does not fit, and a lost connection is made again every few seconds.
 * What was dropped is counted and said in the diagnostic log (not for
 * every message).
 */
#ifndef HERMES_SYSLOG_OUT_H
#define HERMES_SYSLOG_OUT_H

#include <jansson.h>

#include "loop.h"

#define SYSLOG_QUEUE     ((size_t)1 << 20)
#define SYSLOG_RETRY_MS  5000
#define SYSLOG_DGRAM_MAX 8192 /* a longer datagram is cut (RFC 5426 3.2) */

struct syslog_out;

/* For target (syslog_target_parse's syntax) and facility (a name of
 * syslog_facility's); a host name is resolved once, here. NULL with
 * *why set. */
struct syslog_out *syslog_out_new(struct loop *l, const char *target, const char *facility,
                                  const char *hostname, const char **why);
void syslog_out_free(struct syslog_out *so);

/* Sends one event whose line in events.jsonl is json[0..len) (the
 * message's text, as written there). */
void syslog_out_send(struct syslog_out *so, const json_t *event, const char *json, size_t len);

#endif
