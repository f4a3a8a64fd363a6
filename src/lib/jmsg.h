/*
 * jmsg: one JSON object per datagram of a SOCK_SEQPACKET socket, with at
 * most one descriptor beside it (SCM_RIGHTS): how the sinkhole and the
 * monitor talk (docs/sinkhole.md, "Messages").
 *
 * The receiver trusts nothing: a datagram over JMSG_MAX, cut short, not a
 * JSON object, or carrying more than one descriptor is refused (every
 * descriptor that came with it closed).
 */
#ifndef HERMES_JMSG_H
#define HERMES_JMSG_H

#include <jansson.h>

#define JMSG_MAX 65536

/* fd < 0: none. Returns 0, or a negative errno (-EMSGSIZE when the text
 * is over JMSG_MAX). Never blocks past the socket's own mode. */
int jmsg_send(int sock, const json_t *msg, int fd);

/* 1 and *msg (the caller's) and *fd (-1 if none, else the caller's);
 * 0 at end of stream; -EAGAIN when nothing waits; -EBADMSG for a datagram
 * refused (see above); another negative errno on error. */
int jmsg_recv(int sock, json_t **msg, int *fd);

/* The object of a datagram's bytes, or NULL: exposed for the fuzz test. */
json_t *jmsg_parse(const char *p, size_t n);

#endif
