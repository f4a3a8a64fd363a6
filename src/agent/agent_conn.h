/*
 * agent_conn.h: what the per-connection process's files share (agent_conn.c
 * the loop and the frames, agent_chan.c the channels, agent_outq.c the
 * output queue): the bounds, the channel and connection state. One
 * connection per process, so its state is one global, C.
 */
#ifndef HERMES_AGENT_CONN_H
#define HERMES_AGENT_CONN_H

#include "agent.h"

#define IN_CAP         (AGENT_HDR_LEN + AGENT_MAX_PAYLOAD)
#define OUT_CAP        (320 * 1024)
#define OUT_DATA_LIMIT (256 * 1024) /* channel output is read only below this */
#define OUT_CTRL_ROOM  4096         /* room an input frame's answer may need */
#define CHAN_WINDOW    (256 * 1024) /* the credit the agent gives for DATA */
#define DRAIN_GRACE_MS 100          /* a pty's output after its process ended */
#define DRAIN_MAX      (1024 * 1024)
#define CREDIT_MAX     ((uint64_t)1 << 40)

/* Bytes for a process's stdin or pty, at most CHAN_WINDOW of them. */
struct ring {
	uint8_t *buf;
	size_t head, len;
};

struct chan {
	uint32_t id; /* 0: a free slot */
	int pty;
	pid_t pid;
	int alive; /* pid not reaped yet */
	int status;
	int64_t exit_ms;
	int master;       /* pty master, or -1 */
	int in, out, err; /* pipes to the process (no pty), or -1 */
	int closed;       /* Hermes sent CLOSE: only EXIT is left to send */
	int in_eof;       /* Hermes sent EOF */
	int eof_sent;
	size_t drained;  /* bytes read from the pty after the process ended */
	uint64_t credit; /* Hermes's credit for DATA/STDERR */
	uint32_t given;  /* what is left of the credit the agent gave */
	uint32_t owed;   /* bytes written on, not yet given back as WINDOW */
	struct ring q;
	struct agent_utmp_rec ut;
};

struct conn {
	int sock;
	int dead; /* the connection is gone: tear down */
	int proto_error;
	uint8_t in[IN_CAP];
	size_t in_len;
	uint8_t *out;
	size_t out_head, out_tail;
	int sigpipe[2];
	struct chan ch[AGENT_MAX_CHANNELS];
	struct agent_login login;
};

extern struct conn C;

/* agent_outq.c: frames waiting for the connection. */
size_t out_used(void);
/* Room for n more bytes at the tail (moving the queue down), or NULL. */
uint8_t *out_reserve(size_t n);
/* Queues one frame; 0 when there is no room (the caller tries later). */
int out_msg(const struct agent_msg *m);
/* A frame whose payload is one u32 (or none). */
int out_simple(uint8_t type, uint32_t ch, uint32_t value);
/* Sends what the socket takes now; a dead socket sets C.dead. */
void out_flush(void);

/* agent_chan.c: the channels. */
struct chan *chan_find(uint32_t id);
void chan_open(const struct agent_msg *m);
void chan_data(struct chan *c, struct agent_bytes d);
void chan_resize(struct chan *c, uint32_t cols, uint32_t rows);
void chan_kill(struct chan *c, int sig);
void chan_hangup(struct chan *c);
void chan_free(struct chan *c);
/* Whether the channel's output may be read now (credit, queue room). */
int can_read(const struct chan *c);
int chan_read(struct chan *c, int fd, uint8_t type);
void chan_pump(struct chan *c, int64_t now);
void close_fd(int *fd);

#endif
