/*
 * smtp_proto: the server side of SMTP as a box's mailer sees a stock
 * Postfix: a banner, EHLO/HELO, AUTH (PLAIN and LOGIN: any credentials
 * accepted, and kept), MAIL, RCPT, DATA, RSET, NOOP, QUIT. Every message
 * is "queued" and handed to the caller; nothing is ever sent anywhere.
 *
 * Pure protocol: bytes in, replies out, no sockets, so it is tested and
 * fuzzed on its own. Input is hostile: lines are at most SMTP_LINE_MAX
 * (longer ones are answered with an error and dropped), a message keeps
 * its first SMTP_KEEP_MAX bytes and counts the rest, a message has at
 * most SMTP_RCPT_MAX recipients.
 */
#ifndef HERMES_SMTP_PROTO_H
#define HERMES_SMTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SMTP_LINE_MAX 1000
#define SMTP_KEEP_MAX (64 * 1024)
#define SMTP_RCPT_MAX 100
#define SMTP_FIELD    256

struct smtp_msg {
	char helo[SMTP_FIELD], from[SMTP_FIELD];
	char to[SMTP_RCPT_MAX][SMTP_FIELD];
	size_t n_to;
	char auth_user[SMTP_FIELD], auth_pass[SMTP_FIELD]; /* "" when none */
	const uint8_t *data; /* the message as sent (dot-stuffed), its first bytes */
	size_t len;
	uint64_t bytes; /* all of it */
};

struct smtp;
typedef void (*smtp_msg_cb)(void *arg, const struct smtp_msg *m);

/* hostname: the server's name in its banner and greetings. */
struct smtp *smtp_new(const char *hostname);
void smtp_free(struct smtp *s);

/* The banner, into out. */
void smtp_banner(struct smtp *s, struct buf *out);

/* The client's bytes: replies appended to out; each message done goes to
 * cb. Returns false once the session is over (QUIT, or too many errors):
 * send what is in out, then close. */
bool smtp_input(struct smtp *s, const uint8_t *p, size_t n, struct buf *out, smtp_msg_cb cb,
                void *arg);

#endif
