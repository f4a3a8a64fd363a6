/*
 * ipc: messages between the monitor and a worker, over a SOCK_SEQPACKET
 * socketpair (one message per datagram, file descriptors passed with
 * SCM_RIGHTS).
 *
 * This is the security boundary: everything a worker sends is attacker
 * influenced. Each message type has one fixed layout (a table in ipc.c);
 * ipc_recv() decodes and checks a message against it completely (every
 * field present, every string within its bound, nothing left over) before
 * anyone looks at it. Which types a worker may send in which phase is the
 * monitor's table, not this file's.
 */
#ifndef HERMES_IPC_H
#define HERMES_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum ipc_type {
	/* worker -> monitor */
	IPC_AUTH_PASSWORD = 1, /* u0 method (enum ipc_auth_method), s0 username, s1 password
	                        * -> IPC_AUTH_REPLY */
	IPC_AUTH_PUBKEY,       /* u0 1 if signed (else the probe), s0 username, s1 key type,
	                        * s2 SHA256 fingerprint -> REPLY */
	IPC_EVENT,             /* s0 event type, s1 JSON object of its fields */
	IPC_CHANNEL_OPEN,      /* u0 channel, u1 tty, u2 width, u3 height, u4 kind
	                        * (enum ipc_exit_kind { IPC_EXIT_UNKNOWN = 0, IPC_EXIT_CODE = 1,
     IPC_EXIT_SIGNAL = 2 };      enum ipc_channel_kind), s0 term, s1 command (exec) or
	                        * subsystem name, s2 env requests as NUL-separated
	                        * NAME=VALUE -> IPC_CHANNEL_READY */
	IPC_RESIZE,            /* u0 channel, u1 width, u2 height */
	IPC_CHANNEL_DONE,      /* u0 channel, q0 bytes in, q1 bytes out: the stream
	                        * ended -> IPC_EXIT_STATUS; for an agent channel
	                        * u1 enum ipc_exit_kind, u2 code or signal, u3 core
	                        * (the agent said so; no reply) */
	IPC_SESSION_END,       /* s0 reason (see docs/events.md session.closed) */
	/* monitor -> worker */
	IPC_AUTH_REPLY,    /* u0 1 accepted / 0 refused, u1 1: too many failures,
	                    * disconnect (MaxAuthTries) */
	IPC_CHANNEL_READY, /* u0 channel, u1 ok, u2 1 if a recording fd follows the
	                    * stream fd, u3 1: through the session agent (no stream
	                    * fd), u4 1: the agent connection comes first,
	                    * s0 error text, s1 container id;
	                    * fds: stream | [agent], [recording] */
	IPC_EXIT_STATUS,   /* u0 channel, u1 enum ipc_exit_kind, u2 exit code or
	                    * signal number, u3 1 if a core was dumped */
	IPC_WORKER_INIT,   /* the first message: s0 settings (JSON), s1 the seccomp
	                    * program (worker_init.h) */
	IPC_TYPE_MAX
};

enum ipc_auth_method { IPC_AUTH_METHOD_PASSWORD = 0, IPC_AUTH_METHOD_KBDINT = 1 };
enum ipc_exit_kind { IPC_EXIT_UNKNOWN = 0, IPC_EXIT_CODE = 1, IPC_EXIT_SIGNAL = 2 };
enum ipc_channel_kind { IPC_KIND_SHELL = 0, IPC_KIND_EXEC = 1, IPC_KIND_SUBSYSTEM = 2 };

#define IPC_MAX_FDS      2
#define IPC_MAX_MSG      (160 * 1024)
#define IPC_STR_MAX      8192         /* an 's' field */
#define IPC_LONG_STR_MAX (128 * 1024) /* an 'S' field: a 64 KiB capture, base64 in JSON */

struct ipc_str {
	const uint8_t *p; /* into the message's buffer; not NUL-terminated */
	size_t n;
};

struct ipc_msg {
	uint32_t type;
	uint32_t u[5];
	uint64_t q[2];
	struct ipc_str s[3];
	int fds[IPC_MAX_FDS];
	size_t nfds;
};

/* Sends m (its fds too). Returns 0 or a negative errno. */
int ipc_send(int sock, const struct ipc_msg *m);

/*
 * Receives and decodes one message into m; string fields point into *store,
 * which must outlive their use. Returns 1 with a message, 0 on EOF,
 * -EAGAIN when the socket is non-blocking and empty, -EBADMSG for a message
 * that does not match its layout (its fds are closed then). Received fds
 * are close-on-exec; the caller owns them.
 */
int ipc_recv(int sock, struct ipc_msg *m, struct buf *store);

/* Decodes a raw datagram (exposed for tests and the fuzz harness). */
int ipc_decode(const uint8_t *data, size_t len, struct ipc_msg *m);

/* A string field copied to a fresh NUL-terminated heap string (NULs are
 * kept out: -EINVAL). */
char *ipc_strdup(const struct ipc_str *s);

const char *ipc_type_name(uint32_t type);

#endif
