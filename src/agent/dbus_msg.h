/*
 * dbus_msg: the few D-Bus messages the box's sshd exchanges with logind to
 * make a login a logind session, as pam_systemd does: the bus's Hello,
 * logind's CreateSession call, and the reply to it. Little-endian wire
 * format of the D-Bus specification, built and read here without a
 * library (the agent is one static program). Pure; unit-tested
 * (tests/unit/test_dbus_msg.c) and fuzzed (tests/fuzz/fuzz_dbus_msg.c):
 * what the bus sends is read as what root in the box may have written.
 *
 * Not for: the connection, authentication and descriptor passing
 * (agent_logind.c).
 */
#ifndef HERMES_DBUS_MSG_H
#define HERMES_DBUS_MSG_H

#include <stddef.h>
#include <stdint.h>

#define DBUS_MSG_MAX (64 * 1024) /* more from the bus: not ours */

#define DBUS_METHOD_CALL   1
#define DBUS_METHOD_RETURN 2
#define DBUS_ERROR         3
#define DBUS_SIGNAL        4

/* CreateSession's arguments, as pam_systemd passes them for sshd. */
struct dbus_session_req {
	uint32_t uid, leader;
	const char *service, *type, *class_, *desktop, *seat;
	uint32_t vtnr;
	const char *tty, *display;
	int remote;
	const char *remote_user, *remote_host;
};

/* The request pam_systemd makes for an sshd login of uid from remote_host
 * (kept, not copied), led by the process leader: service "sshd", type
 * "tty", class "user", remote, no seat, desktop, display or tty. */
void dbus_sshd_session(struct dbus_session_req *q, uint32_t uid, uint32_t leader,
                       const char *remote_host);

/* What the reply says; the strings point into the message. */
struct dbus_session_reply {
	const char *id;           /* the session's id, e.g. "3830" */
	const char *runtime_path; /* /run/user/UID */
	uint32_t fifo_index;      /* which of the message's descriptors */
	uint32_t uid;
	int existing;
};

/* One message's header as read. */
struct dbus_header {
	uint8_t type;
	uint32_t serial, reply_serial; /* 0: none */
	uint32_t unix_fds;
	size_t body_at, body_len, total;
	const char *signature; /* "" when none; points into the message */
	const char *error_name;
};

/* The bus's Hello (serial 1 by custom). Returns the length written, 0 when
 * cap is too small. */
size_t dbus_hello(uint8_t *out, size_t cap, uint32_t serial);

/* logind's CreateSession. Returns the length written, 0 when cap is too
 * small or a string is too long for a message of ours. */
size_t dbus_create_session(uint8_t *out, size_t cap, uint32_t serial,
                           const struct dbus_session_req *req);

/* The message at the start of p[0..n): its length when whole and valid
 * (then h is filled), 0 when more bytes are needed, -1 when it is not a
 * message of the protocol (or longer than DBUS_MSG_MAX). Strings found
 * point into the message, where each already ends in its NUL. */
long dbus_header_read(const uint8_t *p, size_t n, struct dbus_header *h);

/* CreateSession's reply body ("soshusub"). 0, or -1 when it is not one. */
int dbus_session_reply_read(const uint8_t *msg, const struct dbus_header *h,
                            struct dbus_session_reply *r);

#endif
