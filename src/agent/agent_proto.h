/*
 * agent_proto: the wire format between Hermes and the session agent in the
 * box (docs/agent-protocol.md is its description; this is its code).
 *
 * One stream connection per SSH connection; every message is one frame:
 *   u32 payload length (big-endian, <= AGENT_MAX_PAYLOAD)
 *   u8  type (enum agent_type)
 *   u32 channel (0 for HELLO and HELLO_OK, else the channel it concerns)
 *   payload (the type's fields, in order; nothing may be left over)
 * Fields are u8, u32 (big-endian) and strings (u32 length + bytes, each
 * bounded). The same code runs in the worker (built by meson) and in the
 * agent inside the box (built by the image): it depends on libc alone and
 * never allocates.
 *
 * Both sides are hostile to each other's eyes: the box is the attacker's,
 * and the agent trusts the worker no more than the box. agent_decode() checks
 * a frame completely (type, every length, the channel rule, nothing left
 * over) before anyone looks at a field.
 */
#ifndef HERMES_AGENT_PROTO_H
#define HERMES_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_PROTO_VERSION 2
#define AGENT_HDR_LEN       9
#define AGENT_MAX_PAYLOAD   65536 /* any frame's payload */
#define AGENT_MAX_DATA      32768 /* bytes in one DATA or STDERR frame */
#define AGENT_MAX_STR       4096  /* a name, an address, a term */
#define AGENT_MAX_COMMAND   32768 /* an exec command, the env list */
#define AGENT_MAX_FAILURES  16    /* failed attempts carried in HELLO */
#define AGENT_MAX_CHANNELS  10    /* open at once on one connection */

enum agent_type {
	/* Hermes -> agent */
	AGENT_HELLO = 1, /* channel 0: who logged in, from where */
	AGENT_OPEN,      /* a session channel: shell, exec or subsystem */
	AGENT_RESIZE,    /* window change */
	AGENT_SIGNAL,    /* signal name without "SIG", e.g. "INT" */
	AGENT_CLOSE,     /* the client closed the channel: hang up */
	/* agent -> Hermes */
	AGENT_HELLO_OK,  /* channel 0: login recorded, ready for OPENs */
	AGENT_OPEN_OK,   /* the process runs; window = credit for DATA to it */
	AGENT_OPEN_FAIL, /* message; the channel is gone */
	AGENT_STDERR,    /* the process's stderr (never for a pty) */
	AGENT_EXIT,      /* how it ended; the channel's last frame */
	/* both ways */
	AGENT_DATA,   /* to the agent: stdin; from it: stdout (the pty's output) */
	AGENT_EOF,    /* to the agent: the client's EOF; from it: output ended */
	AGENT_WINDOW, /* more credit for DATA/STDERR the other side may send */
	AGENT_TYPE_MAX
};

enum agent_kind { AGENT_KIND_SHELL = 0, AGENT_KIND_EXEC = 1, AGENT_KIND_SUBSYSTEM = 2 };
enum agent_exit_kind { AGENT_EXIT_STATUS = 1, AGENT_EXIT_SIGNAL = 2 };

/* Bytes inside the decoded frame: not NUL-terminated, valid while it is. */
struct agent_bytes {
	const uint8_t *p;
	uint32_t n;
};

struct agent_failure {
	uint32_t time; /* Unix seconds */
	uint32_t port; /* the client's port on the connection that failed */
	struct agent_bytes user, method;
};

struct agent_hello {
	uint32_t version;
	struct agent_bytes user;   /* as the client sent it (any bytes) */
	struct agent_bytes method; /* "password", "publickey", "keyboard-interactive" */
	struct agent_bytes client_addr, server_addr, session_id;
	uint32_t client_port, server_port;
	/* The bytes of /var/log/auth.log that Hermes's collection holds as
	 * they were when the box became ready (0: none): an earlier
	 * connection's lines go after them, so that the log only grows. */
	uint32_t auth_log_kept;
	uint32_t nfailures; /* <= AGENT_MAX_FAILURES */
	struct agent_failure failures[AGENT_MAX_FAILURES];
};

struct agent_open {
	uint8_t kind; /* enum agent_kind */
	uint8_t pty;  /* 1: allocate a pty of cols x rows with term */
	uint32_t cols, rows;
	uint32_t window; /* initial credit for the agent's DATA/STDERR */
	struct agent_bytes term;
	struct agent_bytes command; /* exec command or subsystem name; empty for a shell */
	struct agent_bytes env;     /* client env requests, NAME=VALUE each ended by a NUL */
};

struct agent_exit {
	uint8_t kind;   /* enum agent_exit_kind */
	uint8_t core;   /* a core was dumped (signal only) */
	uint32_t value; /* exit status 0..255, or signal number */
};

struct agent_msg {
	uint8_t type;
	uint32_t channel;
	union {
		struct agent_hello hello; /* HELLO */
		uint32_t version;         /* HELLO_OK */
		struct agent_open open;   /* OPEN */
		uint32_t window;          /* OPEN_OK, WINDOW */
		struct agent_bytes text;  /* OPEN_FAIL message, SIGNAL name */
		struct agent_bytes data;  /* DATA, STDERR */
		struct agent_exit exit;   /* EXIT */
		struct {
			uint32_t cols, rows;
		} resize; /* RESIZE */
	} u;
};

/*
 * Decodes the first frame of buf[0..len). Returns 1 with *m filled and
 * *used = the frame's size, 0 when more bytes are needed (len says nothing
 * wrong yet), or -EBADMSG (unknown type, too long, a field out of bounds,
 * bytes left over, channel 0 where a channel is needed or the reverse).
 * Pointers in *m point into buf.
 */
int agent_decode(const uint8_t *buf, size_t len, struct agent_msg *m, size_t *used);

/*
 * Encodes m as one frame into out[0..cap). Returns the frame's size, or 0
 * when it does not fit in cap or breaks a bound agent_decode() checks (so
 * whatever is encoded decodes).
 */
size_t agent_encode(uint8_t *out, size_t cap, const struct agent_msg *m);

/* The frame header alone (for DATA/STDERR written straight after it). */
void agent_encode_header(uint8_t out[AGENT_HDR_LEN], uint8_t type, uint32_t channel,
                         uint32_t payload_len);

const char *agent_type_name(uint8_t type);

#endif
