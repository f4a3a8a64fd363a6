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
	IPC_AUTH_PASSWORD = 1, /* -> IPC_AUTH_REPLY */
	IPC_AUTH_PUBKEY,       /* -> IPC_AUTH_REPLY */
	IPC_EVENT,
	IPC_CHANNEL_OPEN, /* -> IPC_CHANNEL_READY */
	IPC_RESIZE,
	IPC_CHANNEL_DONE, /* -> IPC_EXIT_STATUS, but for an agent channel */
	IPC_SESSION_END,
	/* monitor -> worker */
	IPC_AUTH_REPLY,
	IPC_CHANNEL_READY,
	IPC_EXIT_STATUS,
	IPC_WORKER_INIT, /* the first message */
	/* monitor <-> worker template (worker_spawn.h), never a worker's */
	IPC_TEMPLATE_SPAWN, /* -> IPC_TEMPLATE_CHILD */
	IPC_TEMPLATE_CHILD,
	IPC_TYPE_MAX
};

/* NONE: the "none" method (no password): refused, and counted as sshd
 * counts it. */
enum ipc_auth_method {
	IPC_AUTH_METHOD_PASSWORD = 0,
	IPC_AUTH_METHOD_KBDINT = 1,
	IPC_AUTH_METHOD_NONE = 2
};
enum ipc_exit_kind { IPC_EXIT_UNKNOWN = 0, IPC_EXIT_CODE = 1, IPC_EXIT_SIGNAL = 2 };
enum ipc_channel_kind { IPC_KIND_SHELL = 0, IPC_KIND_EXEC = 1, IPC_KIND_SUBSYSTEM = 2 };

#define IPC_MAX_FDS      3
#define IPC_MAX_MSG      (160 * 1024)
#define IPC_STR_MAX      8192         /* an 's' field */
#define IPC_LONG_STR_MAX (128 * 1024) /* an 'S' field: a 64 KiB capture, base64 in JSON */

struct ipc_str {
	const uint8_t *p; /* into the message's buffer; not NUL-terminated */
	size_t n;
};

/* The messages, by type: the fields of each, in wire order (ipc.c's table
 * says which is which). Flags are 0 or 1. */
struct ipc_auth_password {
	uint32_t method; /* enum ipc_auth_method */
	struct ipc_str user, password;
};
struct ipc_auth_pubkey {
	uint32_t is_signed;                         /* 1: the signed attempt; 0: the probe */
	struct ipc_str user, key_type, fingerprint; /* fingerprint: "SHA256:..." */
};
struct ipc_event {
	struct ipc_str type;
	struct ipc_str fields; /* a JSON object (worker_events.h) */
};
struct ipc_channel_open {
	uint32_t channel, tty, width, height;
	uint32_t kind; /* enum ipc_channel_kind */
	struct ipc_str term;
	struct ipc_str command; /* exec: the command; subsystem: its name */
	struct ipc_str env;     /* env requests, NUL-separated NAME=VALUE */
};
struct ipc_resize {
	uint32_t channel, width, height;
};
struct ipc_channel_done {
	uint32_t channel;
	/* An agent channel: how it ended, as the agent said (no reply comes). */
	uint32_t exit_kind;  /* enum ipc_exit_kind */
	uint32_t exit_value; /* code or signal */
	uint32_t core;
	uint64_t bytes_in, bytes_out;
};
struct ipc_session_end {
	struct ipc_str reason; /* docs/events.md, session.closed */
};
struct ipc_auth_reply {
	uint32_t accepted;
	uint32_t disconnect; /* too many failures (max_auth_tries) */
	/* A refusal is answered as late as the imitated sshd answers it
	 * (docs/stealth.md): after pam_ms, then padded to floor_us doubled
	 * until it covers the time since the request; 0: at once. */
	uint32_t pam_ms;
	uint32_t floor_us;
};
/* fds: the stream (docker exec) or the agent connection (agent_first),
 * then the recording (recording). */
struct ipc_channel_ready {
	uint32_t channel, ok;
	uint32_t recording;   /* a recording fd follows */
	uint32_t agent;       /* through the session agent: no stream fd */
	uint32_t agent_first; /* the agent connection comes first */
	struct ipc_str error, container;
};
struct ipc_exit_status {
	uint32_t channel;
	uint32_t kind;  /* enum ipc_exit_kind */
	uint32_t value; /* exit code or signal number */
	uint32_t core;
};
struct ipc_worker_init {
	struct ipc_str settings;        /* JSON (worker_init.h) */
	struct ipc_str filter;          /* the worker's seccomp program */
	struct ipc_str template_filter; /* a template's own; empty for a worker */
};

/* fds: the client's socket, the worker's end of its IPC socketpair, the
 * write end of its log pipe. */
struct ipc_template_spawn {
	uint32_t serial;
	struct ipc_str session_id, src_ip; /* as in worker_init.h */
	uint32_t src_port;
};
struct ipc_template_child {
	uint32_t serial;
	uint32_t pid; /* 0: none started */
};

struct ipc_msg {
	uint32_t type;
	union {
		struct ipc_auth_password auth_password;
		struct ipc_auth_pubkey auth_pubkey;
		struct ipc_event event;
		struct ipc_channel_open channel_open;
		struct ipc_resize resize;
		struct ipc_channel_done channel_done;
		struct ipc_session_end session_end;
		struct ipc_auth_reply auth_reply;
		struct ipc_channel_ready channel_ready;
		struct ipc_exit_status exit_status;
		struct ipc_worker_init worker_init;
		struct ipc_template_spawn template_spawn;
		struct ipc_template_child template_child;
	};
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

/* A message type's layout, for tests and fuzz harnesses: its fields in wire
 * order, each its kind ('u' u32, 'q' u64, 's' string, 'S' long string) and
 * its offset in struct ipc_msg; kind 0 ends them. NULL: no such type. */
struct ipc_field {
	char kind;
	size_t off;
};
const struct ipc_field *ipc_layout(uint32_t type);

#endif
