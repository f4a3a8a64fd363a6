/*
 * session: one connection as the monitor sees it: its worker, its
 * container, its channels' execs, and its events.
 *
 * Everything the worker sends arrives here, and is checked against the
 * table of what a worker may send in its phase (before or after login)
 * before anything else; a worker that breaks the table is killed. Auth
 * decisions, Docker calls and the event log stay on this side.
 */
#ifndef HERMES_SESSION_H
#define HERMES_SESSION_H

#include <stdbool.h>
#include <sys/types.h>

#include "auth_policy.h"
#include "config.h"
#include "docker.h"
#include "events.h"
#include "loop.h"
#include "pool.h"

/* What the monitor shares with its sessions. */
#define SESSION_PARENT_LABEL "hermes.session_parent"
#define AGENT_LABEL          "hermes.agent"          /* the port of the box's session agent */
#define AGENT_PROTOCOL_LABEL "hermes.agent_protocol" /* its AGENT_PROTO_VERSION */
#define INIT_LABEL           "hermes.init" /* "systemd": the image's init is (sandbox_spec.h) */

struct session_ctx {
	const struct config *cfg;
	struct loop *loop;
	struct docker *docker;
	struct pool *pool;
	struct boxes *boxes;              /* one box per attacker (boxes.h) */
	struct recent_failures *failures; /* for the boxes' own login records */
	struct events *events;
	struct artifacts *artifacts; /* NULL when forensics is off */
	struct auth_policy policy;
	/* The image's session parent (label hermes.session_parent), or "" to
	 * run shells directly; see images/ubuntu/session-parent.c. */
	char session_parent[256];
	/* The box's session agent (docs/agent-protocol.md): its port, or 0
	 * when the image has none or the monitor cannot reach it. */
	int agent_port;
	/* The stealth profile (stealth.h): a failed password's delay. NULL:
	 * none. */
	const struct stealth *stealth;
	/* What every box is given before it is ready (box_prep.h), for the
	 * artifact collection; NULL: nothing. */
	const struct box_prep *prep;
	bool shutting_down;
	unsigned logged_in; /* sessions past login now: max_concurrent_sessions */
};

struct session;
struct stealth;
struct box_prep;

/* Takes ownership of ipc_fd; emits session.connect. */
/* dst_ip/dst_port: our end of the connection (for SSH_CONNECTION). */
struct session *session_new(struct session_ctx *ctx, int ipc_fd, const char *src_ip, int src_port,
                            const char *dst_ip, int dst_port);
void session_set_pid(struct session *s, pid_t pid);
/* Takes the read end of the worker's stderr pipe (worker_log.h): 0, or -1
 * (out of memory; fd closed). */
int session_attach_worker_log(struct session *s, int fd);
pid_t session_pid(const struct session *s);
const char *session_id(const struct session *s);
const char *session_ip(const struct session *s);
int session_port(const struct session *s);
/* The container it has, or "". */
const char *session_container(const struct session *s);
/* Logged in (MaxStartups counts the others). */
bool session_authenticated(const struct session *s);

/* The worker has exited (wstatus from waitpid): drain its last messages,
 * release the container, write session.closed and the sidecar, free s. */
void session_worker_exited(struct session *s, int wstatus);

/* Shutdown: end the worker (SIGTERM now, SIGKILL if it lingers). */
void session_terminate(struct session *s);

#endif
