/*
 * channel: one channel of a session as the monitor sees it, from the
 * worker's CHANNEL_OPEN to its session.channel_closed, as a state machine.
 *
 *   docker exec:   WAITING_BOX -> CREATING_EXEC -> HIJACKING -> STREAMING
 *                  -> QUERYING_EXIT (-> FETCHING_REPORT) -> closed
 *   session agent: WAITING_BOX (-> WAITING_AGENT) -> STREAMING -> closed
 *                  (the exit comes in-band, with CHANNEL_DONE)
 *
 * A dead box found at exec create sends a channel back to WAITING_BOX;
 * WAITING_AGENT goes to CREATING_EXEC when the agent cannot be reached. Any
 * state may fail (session.error, a refusing CHANNEL_READY) and every end
 * frees the channel (CH_FREE). A transition asked from a state it may not
 * start from is a bug of ours: logged at error level, the channel failed.
 *
 * What the worker says (CHANNEL_DONE, RESIZE) is attacker input, not a
 * transition request: chan_done() and chan_resize() act on it as the state
 * allows and ignore it otherwise.
 *
 * Not here: the session's box, its agent connection and which path a
 * channel takes (session.c), reached only through struct chan_host.
 */
#ifndef HERMES_CHANNEL_H
#define HERMES_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "docker.h"
#include "ipc.h"

#define CHAN_TOKEN_LEN 16 /* names an exec's report in EXIT_REPORT_DIR */

enum chan_state {
	CH_FREE,            /* a slot, no channel */
	CH_WAITING_BOX,     /* opened; the session has no box yet */
	CH_WAITING_AGENT,   /* the box's agent is being dialled */
	CH_CREATING_EXEC,   /* POST /containers/{id}/exec */
	CH_HIJACKING,       /* POST /exec/{id}/start */
	CH_STREAMING,       /* the worker has the stream (or the agent) */
	CH_QUERYING_EXIT,   /* GET /exec/{id}/json, and its polls */
	CH_FETCHING_REPORT, /* the session parent's exit report */
	CH_NSTATES
};

struct session;
struct session_ctx;
struct mchan;

/* What a channel may ask of its session: nothing else of it is seen. */
struct chan_host {
	const char *(*id)(const struct session *s); /* for the log */
	/* A new event of the session (its id and address set). */
	json_t *(*event)(struct session *s, const char *type);
	void (*send)(struct session *s, const struct ipc_msg *m);
	/* The session's box: id ("" while none) and name. */
	const char *(*container_id)(const struct session *s);
	const char *(*container_name)(const struct session *s);
	/* A recording file for the channel: its fd (path in *path), or -1. */
	int (*open_recording)(struct session *s, uint32_t channel, char **path);
	/* SSH_CLIENT= and SSH_CONNECTION= lines for an exec's environment. */
	void (*ssh_env)(const struct session *s, char *client, size_t client_len, char *connection,
	                size_t connection_len);
	/* Exec create answered 404/409: the box is gone. True when the
	 * session takes another (the channel waits in CH_WAITING_BOX). */
	bool (*box_gone)(struct session *s, struct mchan *c, const char *error);
	/* An exec of the box was created: the box runs. */
	void (*exec_created)(struct session *s);
	/* The channel ended so: exit_status -1 unknown, exit_signal 0 none. */
	void (*ended)(struct session *s, int exit_status, int exit_signal);
	/* The worker is gone: nothing more is sent or asked for it. */
	bool (*finishing)(const struct session *s);
};

/* Only channel.c writes these; the session reads id, kind and command. */
struct mchan {
	enum chan_state state;
	uint32_t id;
	struct session *s;
	struct session_ctx *ctx;
	const struct chan_host *host;
	bool tty;
	int width, height;
	uint32_t kind; /* enum ipc_channel_kind */
	char *term;
	char *command; /* what runs: NULL for a login shell */
	char *subsystem;
	char **env; /* NULL-terminated "NAME=VALUE" for the exec */
	char exec_id[65];
	bool via_agent;
	uint64_t resize_call; /* a resize in flight: later sizes wait for it */
	bool resize_again;
	uint64_t call;
	uint64_t timer;
	int polls;
	int exit_status; /* -1 unknown */
	int exit_signal; /* 0 none, else the signal that killed the process */
	bool core_dumped;
	char token[CHAN_TOKEN_LEN + 1]; /* names its exit report */
	uint64_t bytes_in, bytes_out;
	char *recording;
};

const char *chan_state_name(enum chan_state st);
/* Whether the table lets a channel go from `from` to `to` (CH_FREE as `to`:
 * closed with its exit; chan_fail and chan_free may end any state). */
bool chan_transition_allowed(enum chan_state from, enum chan_state to);

/* CH_FREE -> CH_WAITING_BOX with what the worker asked (command.input for
 * an exec). Returns 0; 1 when the channel failed at once (out of memory:
 * freed); -1 with *why when the request is the worker's fault (the caller
 * kills it; the channel stays until the session ends). */
int chan_open(struct mchan *c, struct session *s, struct session_ctx *ctx,
              const struct chan_host *host, const struct ipc_channel_open *m, const char **why);

/* CH_WAITING_BOX or CH_WAITING_AGENT -> CH_CREATING_EXEC in the session's
 * box. */
void chan_run_exec(struct mchan *c);
/* CH_WAITING_BOX -> CH_WAITING_AGENT. */
void chan_wait_agent(struct mchan *c);
/* CH_WAITING_BOX or CH_WAITING_AGENT -> CH_STREAMING through the agent;
 * agent_fd >= 0 goes along (borrowed: the caller closes it). */
void chan_agent_ready(struct mchan *c, int agent_fd);

/* The Docker answers (the loop calls them; tests may too). */
void chan_on_exec_created(void *arg, const struct docker_reply *r);
void chan_on_hijacked(void *arg, int fd, const char *error);
void chan_on_exec_inspected(void *arg, const struct docker_reply *r);
void chan_on_exit_report(void *arg, const struct docker_reply *r);

/* The worker's CHANNEL_DONE and RESIZE. */
void chan_done(struct mchan *c, const struct ipc_channel_done *m);
void chan_resize(struct mchan *c, int width, int height);

/* How a process ended, in an event or the sidecar: exit_status (null if
 * unknown or signalled), and exit_signal only when it was killed. */
void chan_set_exit(json_t *o, int status, int sig);

/* Any state -> CH_FREE: session.error and a refusing CHANNEL_READY. */
void chan_fail(struct mchan *c, const char *error);
/* Any state -> CH_FREE, silently (the session ends). */
void chan_free(struct mchan *c);

#endif
