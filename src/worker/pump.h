/*
 * pump: moves bytes between one SSH channel and one container stream (the
 * hijacked docker exec socket, or a channel of the box's session agent:
 * agent_link.h), inside a worker, with flow control both ways, and records
 * them.
 *
 * Client -> container: the pump takes what libssh offers into its own queue,
 * up to a bound, and drains the queue into the stream as the socket accepts.
 * What it cannot take stays in libssh's channel buffer, which keeps the
 * client's window closed (backpressure); libssh re-offers it only with the
 * next packet, so the pump pulls it itself with ssh_channel_read_nonblocking()
 * when there is room, and passes the client's EOF on only after that. Container -> client: the
 * stream is read only while the channel's window is open, never more than the window, so a slow
 * client slows the container instead of filling our memory.
 *
 * Through the agent the same holds with credits instead of a socket's
 * buffer: client bytes go out as DATA only as far as the agent's credit
 * goes, and the agent's output is taken whole (it cannot send more than the
 * credit the pump gave) and the credit given back as libssh takes it.
 *
 * The fd registrations with the ssh_event are changed only in pump_service(),
 * called after each ssh_event_dopoll(), never inside a callback.
 */
#ifndef HERMES_PUMP_H
#define HERMES_PUMP_H

#include <stdbool.h>
#include <stdint.h>

#include <libssh/libssh.h>

#include "agent_proto.h"
#include "buf.h"
#include "demux.h"
#include "recorder.h"

/* An observer of the bytes going by (the SFTP watcher); must not call back
 * into the pump. */
typedef void (*pump_tap)(void *arg, bool from_client, const uint8_t *data, size_t len);

struct pump {
	ssh_channel chan;
	ssh_event event;
	int fd;           /* the stream; -1 once closed */
	bool tty;         /* raw stream; else Docker's framed one */
	short registered; /* poll events currently registered, 0 = none */
	struct buf to_stream;
	struct buf to_client[2]; /* stdout, stderr bytes libssh could not take yet */
	struct demux demux;
	struct recorder *rec; /* may be NULL */
	uint64_t bytes_in, bytes_out;
	bool stream_eof;    /* the container side ended */
	bool client_eof;    /* the client sent EOF */
	bool held;          /* libssh holds client bytes not taken yet */
	bool busy;          /* inside on_stream(): libssh may poll us again from there */
	bool close_pending; /* pump_close() came while busy: done on the way out */
	bool shut_wr;       /* EOF passed on to the stream */
	bool failed;        /* the stream broke (error, not EOF) */
	int64_t *activity;  /* set to the monotonic ms of the last byte moved */
	pump_tap tap;       /* may be NULL */
	void *tap_arg;
	/* Through the agent (fd is -1 then). */
	struct agent_link *link;
	uint32_t link_id;
	uint64_t to_return; /* output libssh took, credit not given back yet */
	bool eof_sent;
	bool exited; /* EXIT came: exit_kind/value/core say how */
	uint8_t exit_kind, exit_core;
	uint32_t exit_value;
};

/* The credit a pump gives the agent for its output. */
#define PUMP_AGENT_WINDOW (256 * 1024)

void pump_init(struct pump *p, ssh_channel chan, ssh_event event, int fd, bool tty,
               struct recorder *rec, int64_t *activity);
/* Through the agent: OPEN is sent (open says what to run; its window is
 * set here). Returns 0 or a negative errno. */
int pump_init_agent(struct pump *p, ssh_channel chan, ssh_event event, struct agent_link *link,
                    uint32_t id, struct agent_open *open, bool tty, struct recorder *rec,
                    int64_t *activity);
/* From the link: credit came (or the channel opened); output; how the
 * process ended; the channel is gone without an exit (refused, or the link
 * died). */
void pump_agent_ready(struct pump *p);
void pump_agent_output(struct pump *p, int stream, const uint8_t *data, size_t len);
void pump_agent_exit(struct pump *p, const struct agent_exit *e);
void pump_agent_failed(struct pump *p);

/* Bytes the client sent on the channel: returns how many it took (all of
 * them, unless the queue is at its bound); libssh keeps the rest. */
uint32_t pump_client_data(struct pump *p, const void *data, uint32_t len);
void pump_client_eof(struct pump *p);
/* Re-evaluates what to poll for; returns true once the stream has ended
 * and every byte from it has been written to the channel. */
bool pump_service(struct pump *p);
/* Unregisters and closes the stream, frees the queue and the recorder. */
void pump_close(struct pump *p);

#endif
