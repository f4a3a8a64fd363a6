/*
 * session: a connection in the monitor; see session.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_proto.h"
#include "agent_dial.h"
#include "artifacts.h"
#include "box_prep.h"
#include "boxes.h"
#include "channel.h"
#include "disk_watch.h"
#include "honeytoken.h"
#include "ipc.h"
#include "recent_failures.h"
#include "log.h"
#include "sandbox_spec.h"
#include "scp_cmd.h"
#include "session.h"
#include "stealth.h"
#include "util.h"
#include "worker_events.h"
#include "worker_log.h"

#define MAX_CHANNELS       10   /* open at once */
#define MAX_CHANNELS_TOTAL 1000 /* over a connection's life */
#define MAX_UPLOADS        64
#define MAX_REPLACED       3 /* dead containers swapped for new ones, per session */

enum phase { PH_PREAUTH, PH_AUTHED };

/* What a worker may send in each phase; anything else kills it. */
static const bool allowed[2][IPC_TYPE_MAX] = {
    [PH_PREAUTH] = {[IPC_AUTH_PASSWORD] = true,
                    [IPC_AUTH_PUBKEY] = true,
                    [IPC_EVENT] = true,
                    [IPC_SESSION_END] = true},
    [PH_AUTHED] = {[IPC_EVENT] = true,
                   [IPC_CHANNEL_OPEN] = true,
                   [IPC_RESIZE] = true,
                   [IPC_CHANNEL_DONE] = true,
                   [IPC_SESSION_END] = true},
};

/* Reasons a worker may give for ending. */
static const char *const end_reasons[] = {"idle_timeout", "max_duration", "login_timeout"};

enum agent_state { AG_NONE, AG_DIALING, AG_READY, AG_FAILED };

struct session {
	struct session_ctx *ctx;
	char id[SESSION_ID_LEN + 1];
	char ip[64];
	int port;
	char dst_ip[64];
	int dst_port;
	pid_t pid;
	int ipc;
	int log_fd; /* the worker's stderr, or -1 */
	struct worker_log *wlog;
	struct buf store;
	double start_wall;
	int64_t start_ms;
	enum phase phase;
	char *username; /* sanitized */
	const char *login_method;
	struct failure failures[AGENT_MAX_FAILURES]; /* before the login, for the box's records */
	size_t nfailures;
	enum agent_state agent;
	uint64_t dial;
	int agent_fd; /* connected to the agent, not yet handed to the worker; or -1 */
	bool agent_handed;
	int attempts, pw_failures, key_failures;
	int none_requests; /* the "none" method: sshd counts all but the first */
	char *client_version;
	char container_id[65];
	char container_name[80];
	/* The container came back from this earlier session of the same
	 * address (sticky_ttl); "" for a fresh one. */
	char previous_session[SESSION_ID_LEN + 1];
	bool exec_started; /* an exec of this container started: it runs */
	int replaced;      /* containers found dead before their first exec */
	uint64_t alloc;
	bool alloc_failed;
	char alloc_error[200];
	struct mchan ch[MAX_CHANNELS];
	unsigned channels_total;
	uint64_t bytes_in, bytes_out;
	int last_exit;
	int last_signal;                /* the last channel's exit-signal, 0 if none */
	char *uploads[MAX_UPLOADS + 1]; /* absolute paths, for the artifacts */
	size_t nuploads;
	const char *end_reason;
	json_t *recordings;
	uint64_t backstop;
	struct disk_watch *disk; /* the container's writable layer vs. its quota */
	uint64_t kill_timer;
	bool finishing;
	bool killed;  /* the monitor killed the worker: nothing more it sent counts */
	bool counted; /* in ctx->logged_in */
};

static json_t *sess_event(struct session *s, const char *type)
{
	return event_new(type, s->id, s->ip, s->port);
}

static void emit(struct session *s, json_t *e)
{
	events_emit(s->ctx->events, e);
}

static void kill_worker(struct session *s, const char *why)
{
	if (s->killed)
		return;
	s->killed = true;
	if (s->pid > 0) {
		warn("session %.8s: killing worker %d: %s", s->id, (int)s->pid, why);
		kill(s->pid, SIGKILL);
	}
}

static void send_to_worker(struct session *s, const struct ipc_msg *m)
{
	int r = ipc_send(s->ipc, m);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		warn("session %.8s: to worker: %s", s->id, strerror(-r));
}

/* ---- channels ---- */

static struct mchan *chan_find(struct session *s, uint32_t id)
{
	for (size_t i = 0; i < MAX_CHANNELS; i++)
		if (s->ch[i].state != CH_FREE && s->ch[i].id == id)
			return &s->ch[i];
	return NULL;
}

/* Bytes the session's recordings hold now. */
static uint64_t recorded_bytes(struct session *s)
{
	uint64_t n = 0;
	struct stat st;
	size_t i;
	json_t *p;

	json_array_foreach(s->recordings, i, p)
	{
		if (stat(json_string_value(p), &st) == 0)
			n += (uint64_t)st.st_size;
	}
	return n;
}

static int open_recording(struct session *s, uint32_t channel, char **path_out)
{
	const struct config *cfg = s->ctx->cfg;
	char path[PATH_MAX];
	size_t nrec = json_array_size(s->recordings);

	/* The worker keeps to recording.max_session_size; the kernel holds
	 * each file to it (RLIMIT_FSIZE), and no new file is given past it. */
	if (nrec > 0 && recorded_bytes(s) >= (uint64_t)cfg->recording.max_session_size) {
		info("session %.8s: channel %u not recorded: recording.max_session_size reached",
		     s->id, channel);
		return -1;
	}

	if (nrec == 0)
		snprintf(path, sizeof(path), "%s/%s.cast", cfg->recording.output_dir, s->id);
	else
		snprintf(path, sizeof(path), "%s/%s-%u.cast", cfg->recording.output_dir, s->id,
		         channel);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0640);
	if (fd < 0) {
		error("recording %s: %s", path, strerror(errno));
		return -1;
	}
	*path_out = strdup(path);
	json_array_append_new(s->recordings, json_string(path));
	return fd;
}

/* ---- the box's session agent (docs/agent-protocol.md) ---- */

static struct agent_bytes bytes_of(const char *str)
{
	return (struct agent_bytes){(const uint8_t *)(str ? str : ""),
	                            str ? (uint32_t)strlen(str) : 0};
}

/* HELLO: who logged in, from where, and what failed before; the monitor's
 * own knowledge, never the worker's word. */
static size_t encode_hello(struct session *s, uint8_t *out, size_t cap)
{
	struct agent_msg m = {.type = AGENT_HELLO};
	struct agent_hello *h = &m.u.hello;

	h->version = AGENT_PROTO_VERSION;
	h->user = bytes_of(s->username);
	h->method = bytes_of(s->login_method);
	h->client_addr = bytes_of(s->ip);
	h->client_port = (uint32_t)s->port;
	h->server_addr = bytes_of(s->dst_ip);
	h->server_port = (uint32_t)s->dst_port;
	h->session_id = bytes_of(s->id);
	/* An earlier connection's lines go into auth.log after what the
	 * collection compares with, so that the log only grows. */
	size_t kept = s->ctx->prep != NULL
	                  ? box_prep_log_size(s->ctx->prep, s->container_id, "/var/log/auth.log")
	                  : 0;
	h->auth_log_kept = kept <= UINT32_MAX ? (uint32_t)kept : UINT32_MAX;
	/* What earlier connections from this address failed, then this one's:
	 * the newest AGENT_MAX_FAILURES of them. */
	struct failure all[2 * AGENT_MAX_FAILURES];
	size_t n = recent_failures_take(s->ctx->failures, s->ip, all, AGENT_MAX_FAILURES);
	memcpy(all + n, s->failures, s->nfailures * sizeof(*all));
	n += s->nfailures;
	size_t skip = n > AGENT_MAX_FAILURES ? n - AGENT_MAX_FAILURES : 0;
	for (size_t i = skip; i < n; i++) {
		struct agent_failure *f = &h->failures[h->nfailures++];
		f->time = (uint32_t)all[i].time;
		f->port = all[i].port;
		f->user = bytes_of(all[i].user);
		f->method = bytes_of(all[i].method);
	}
	return agent_encode(out, cap, &m);
}

/* Hands channel c to the worker to run through the agent; the connection
 * itself goes along with the first such channel. */
static void agent_channel_ready(struct session *s, struct mchan *c)
{
	chan_agent_ready(c, s->agent_handed ? -1 : s->agent_fd);
	if (!s->agent_handed && c->state == CH_STREAMING) {
		close(s->agent_fd);
		s->agent_fd = -1;
		s->agent_handed = true;
	}
}

/* container.error: an operation on the session's box failed. */
static void container_error(struct session *s, const char *operation, const char *error)
{
	json_t *e = sess_event(s, "container.error");

	json_object_set_new(e, "operation", json_string(operation));
	json_object_set_new(e, "error", json_string(error));
	json_object_set_new(e, "container_id", json_string(s->container_id));
	emit(s, e);
}

static void on_agent_dialed(void *arg, int fd, const char *error)
{
	struct session *s = arg;

	s->dial = 0;
	if (fd < 0) {
		warn("session %.8s: no session agent in %s (%s); using docker exec", s->id,
		     s->container_name, error ? error : "?");
		container_error(s, "agent", error ? error : "?");
		s->agent = AG_FAILED;
	} else {
		s->agent = AG_READY;
		s->agent_fd = fd;
	}
	for (size_t i = 0; i < MAX_CHANNELS; i++) {
		struct mchan *c = &s->ch[i];
		if (c->state != CH_WAITING_AGENT)
			continue;
		if (s->agent == AG_READY)
			agent_channel_ready(s, c);
		else
			chan_run_exec(c);
	}
}

/* Connects to the box's sshd, as soon as the session has its box: the
 * login is recorded there whether or not a channel follows, as on a real
 * server, and the first channel finds the connection up. */
static void dial_agent(struct session *s)
{
	uint8_t hello[AGENT_HDR_LEN + 8192];
	size_t n;

	if (s->ctx->agent_port == 0 || s->agent != AG_NONE || s->container_id[0] == '\0')
		return;
	n = encode_hello(s, hello, sizeof(hello));
	s->dial = n == 0 ? 0
	                 : agent_dial(s->ctx->loop, s->ctx->docker, s->container_id,
	                              s->ctx->agent_port, hello, n, on_agent_dialed, s);
	if (s->dial == 0) {
		warn("session %.8s: cannot dial the session agent; using docker exec", s->id);
		s->agent = AG_FAILED;
		return;
	}
	s->agent = AG_DIALING;
}

/* Runs channel c in the session's box: through the box's own sshd (the
 * session agent) when the image has one and the monitor may reach it,
 * through docker exec otherwise. */
static void start_channel(struct mchan *c)
{
	struct session *s = c->s;

	dial_agent(s);
	if (s->ctx->agent_port == 0 || s->agent == AG_FAILED)
		chan_run_exec(c);
	else if (s->agent == AG_READY)
		agent_channel_ready(s, c);
	else
		chan_wait_agent(c); /* dialling: on_agent_dialed */
}

/* The container wrote more than container_pool.security.disk_quota: the
 * session ends, as it would at a time limit. */
static void on_over_quota(void *arg, int64_t size)
{
	struct session *s = arg;
	json_t *e = sess_event(s, "container.over_quota");

	json_object_set_new(e, "container_id", json_string(s->container_id));
	json_object_set_new(e, "size", json_integer((json_int_t)size));
	json_object_set_new(
	    e, "quota", json_integer((json_int_t)s->ctx->cfg->container_pool.security.disk_quota));
	emit(s, e);
	s->end_reason = "disk_quota";
	kill_worker(s, "the container passed its disk quota");
}

/* The session's box from here on; container.allocated says where it came
 * from: the pool, or this address's box, in use or kept. */
static void use_container(struct session *s, const struct box_grant *g)
{
	snprintf(s->container_id, sizeof(s->container_id), "%s", g->id);
	snprintf(s->container_name, sizeof(s->container_name), "%s", g->name);
	disk_watch_free(s->disk);
	s->disk = disk_watch_new(s->ctx->loop, s->ctx->docker, g->id,
	                         s->ctx->cfg->container_pool.security.disk_quota, on_over_quota, s);
	json_t *e = sess_event(s, "container.allocated");
	json_object_set_new(e, "container_id", json_string(g->id));
	json_object_set_new(e, "container_name", json_string(g->name));
	json_object_set_new(e, "pooled", json_boolean(g->pooled));
	if (g->returning) {
		snprintf(s->previous_session, sizeof(s->previous_session), "%s",
		         g->previous_session);
		json_object_set_new(e, "returning", json_true());
		json_object_set_new(e, "previous_session", json_string(g->previous_session));
		if (g->shared)
			json_object_set_new(e, "shared", json_true());
		else
			json_object_set_new(e, "kept_for", json_real(g->idle_for));
	}
	emit(s, e);
}

static void on_box(void *arg, const struct box_grant *g, const char *error)
{
	struct session *s = arg;

	s->alloc = 0;
	if (g == NULL) {
		s->alloc_failed = true;
		snprintf(s->alloc_error, sizeof(s->alloc_error), "%s",
		         error ? error : "no container");
		error("session %.8s: no container: %s", s->id, s->alloc_error);
	} else {
		if (g->returning)
			info("session %.8s: %s gets box %s%s", s->id, s->ip, g->name,
			     g->shared ? " (in use)" : " back");
		use_container(s, g);
		dial_agent(s);
	}
	for (size_t i = 0; i < MAX_CHANNELS; i++) {
		struct mchan *c = &s->ch[i];
		if (c->state != CH_WAITING_BOX)
			continue;
		if (g == NULL)
			chan_fail(c, s->alloc_error);
		else
			start_channel(c);
	}
}

/* The box of this address (boxes.h): on_box. */
static void get_container(struct session *s, struct mchan *c)
{
	s->alloc = boxes_acquire(s->ctx->boxes, s->ip, s->id, on_box, s);
	if (s->alloc == 0)
		chan_fail(c, "out of memory");
}

/* Remembers an uploaded path (relative ones are from the home directory,
 * where sftp-server and scp start) so its artifact can say so. */
static void note_upload(struct session *s, const char *path)
{
	char *abs = NULL;

	if (path == NULL || path[0] == '\0' || s->nuploads >= MAX_UPLOADS)
		return;
	if (path[0] == '/')
		abs = strdup(path);
	else if (asprintf(&abs, "%s/%s", SANDBOX_HOME, path) < 0)
		abs = NULL;
	if (abs != NULL)
		s->uploads[s->nuploads++] = abs;
}

/* Legacy scp runs "scp -t PATH" (an upload arrives) or "scp -f PATH" (a
 * download leaves) on the server: logged as a transfer of its own. */
static void transfer_event(struct session *s, struct mchan *c)
{
	bool upload;
	char *path = NULL;

	if (c->command == NULL || scp_cmd_parse(c->command, &upload, &path) != 1)
		return;
	json_t *e = sess_event(s, "file.transfer");
	json_object_set_new(e, "channel", json_integer(c->id));
	json_object_set_new(e, "protocol", json_string("scp"));
	json_object_set_new(e, "direction", json_string(upload ? "upload" : "download"));
	json_object_set_new(e, "path", json_string(path));
	emit(s, e);
	if (upload)
		note_upload(s, path);
	free(path);
}

/* ---- what a channel may ask of its session (channel.h) ---- */

static const char *host_container_id(const struct session *s)
{
	return s->container_id;
}

static const char *host_container_name(const struct session *s)
{
	return s->container_name;
}

static void host_ssh_env(const struct session *s, char *client, size_t client_len, char *connection,
                         size_t connection_len)
{
	snprintf(client, client_len, "SSH_CLIENT=%s %d %d", s->ip, s->port, s->dst_port);
	snprintf(connection, connection_len, "SSH_CONNECTION=%s %d %s %d", s->ip, s->port,
	         s->dst_ip, s->dst_port);
}

/* The container died before its first exec: a kept one whose init was
 * killed, or a pre-warmed one that a restart of dockerd took down. Another,
 * as for a first visit; a channel that finds the new one on its way waits
 * for it. */
static bool host_box_gone(struct session *s, struct mchan *c, const char *error)
{
	if (s->exec_started || s->replaced >= MAX_REPLACED)
		return false;
	if (s->alloc == 0) {
		warn("session %.8s: container %s is gone (%s); taking another", s->id,
		     s->container_name, error ? error : "?");
		container_error(s, "exec", error ? error : "gone");
		s->replaced++;
		boxes_discard(s->ctx->boxes, s->container_id);
		s->container_id[0] = s->container_name[0] = s->previous_session[0] = '\0';
		if (!s->agent_handed)
			s->agent = AG_NONE; /* the next box's agent is asked */
		get_container(s, c);
	}
	return true;
}

static void host_exec_created(struct session *s)
{
	s->exec_started = true;
}

static void host_ended(struct session *s, int exit_status, int exit_signal)
{
	s->last_exit = exit_status;
	s->last_signal = exit_signal;
}

static bool host_finishing(const struct session *s)
{
	return s->finishing;
}

static const struct chan_host chan_host = {
    .id = session_id,
    .event = sess_event,
    .send = send_to_worker,
    .container_id = host_container_id,
    .container_name = host_container_name,
    .open_recording = open_recording,
    .ssh_env = host_ssh_env,
    .box_gone = host_box_gone,
    .exec_created = host_exec_created,
    .ended = host_ended,
    .finishing = host_finishing,
};

static void on_channel_open(struct session *s, const struct ipc_msg *msg)
{
	const struct ipc_channel_open *m = &msg->channel_open;
	struct mchan *c = NULL;

	if (chan_find(s, m->channel) != NULL || s->channels_total >= MAX_CHANNELS_TOTAL) {
		kill_worker(s, "channel id reused or too many channels");
		return;
	}
	for (size_t i = 0; i < MAX_CHANNELS; i++)
		if (s->ch[i].state == CH_FREE) {
			c = &s->ch[i];
			break;
		}
	if (c == NULL) {
		struct ipc_msg r = {.type = IPC_CHANNEL_READY,
		                    .channel_ready = {.channel = m->channel}};
		send_to_worker(s, &r);
		return;
	}
	s->channels_total++;
	const char *why = NULL;
	int r = chan_open(c, s, s->ctx, &chan_host, m, &why);
	if (r < 0) {
		kill_worker(s, why);
		return;
	}
	if (r > 0)
		return; /* failed at once */
	if (c->kind == IPC_KIND_EXEC)
		transfer_event(s, c);
	if (s->ctx->shutting_down) {
		chan_fail(c, "shutting down");
		return;
	}
	if (s->container_id[0] != '\0')
		start_channel(c);
	else if (s->alloc_failed)
		chan_fail(c, s->alloc_error);
	else if (s->alloc == 0)
		get_container(s, c);
}

static void on_resize(struct session *s, const struct ipc_msg *msg)
{
	const struct ipc_resize *m = &msg->resize;
	struct mchan *c = chan_find(s, m->channel);

	if (c == NULL || m->width == 0 || m->height == 0 || m->width >= 10000 || m->height >= 10000)
		return;
	chan_resize(c, (int)m->width, (int)m->height);
	json_t *e = sess_event(s, "session.resize");
	json_object_set_new(e, "channel", json_integer(c->id));
	json_object_set_new(e, "width", json_integer(c->width));
	json_object_set_new(e, "height", json_integer(c->height));
	emit(s, e);
}

static void on_channel_done(struct session *s, const struct ipc_msg *msg)
{
	const struct ipc_channel_done *m = &msg->channel_done;
	struct mchan *c = chan_find(s, m->channel);

	if (c == NULL)
		return;
	/* Byte counts are the worker's word: bounded only by plausibility. */
	s->bytes_in += m->bytes_in;
	s->bytes_out += m->bytes_out;
	chan_done(c, m);
}

/* ---- authentication ---- */

static void on_backstop(struct loop *l, void *arg);
static void logged_in(struct session *s, const uint8_t *user, size_t user_len, const char *method);

/* Kept for the box's own records of the login (btmp, auth.log). */
static void note_failure(struct session *s, const struct ipc_str *user, const char *method)
{
	struct failure *f;

	if (s->nfailures >= AGENT_MAX_FAILURES)
		return;
	f = &s->failures[s->nfailures];
	char *name =
	    util_utf8_sanitize(user->p, user->n < FAILURE_USER_MAX ? user->n : FAILURE_USER_MAX);
	if (name == NULL)
		return;
	snprintf(f->user, sizeof(f->user), "%s", name);
	free(name);
	f->time = util_wall();
	f->port = (unsigned)s->port;
	f->method = method;
	s->nfailures++;
}

/* A login the policy accepts is refused all the same while
 * max_concurrent_sessions sessions are logged in: each holds a container.
 * To the client it is a wrong password; the event says why. */
static enum auth_result at_capacity(struct session *s, enum auth_result r, bool *full)
{
	*full = r != AUTH_REJECT &&
	        s->ctx->logged_in >= (unsigned)s->ctx->cfg->server.max_concurrent_sessions;
	return *full ? AUTH_REJECT : r;
}

/* A login event: the method's own fields go between login_event() and
 * emit_login(), which adds the outcome and counts the attempt. */
static json_t *login_event(struct session *s, enum auth_result r, const char *method,
                           const struct ipc_str *user)
{
	json_t *e = sess_event(s, r == AUTH_REJECT ? "login.failed" : "login.success");

	json_object_set_new(e, "method", json_string(method));
	event_set_bytes(e, "username", user->p, user->n);
	return e;
}

static void emit_login(struct session *s, json_t *e, enum auth_result r)
{
	if (r != AUTH_REJECT)
		json_object_set_new(e, "reason", json_string(auth_result_name(r)));
	if (r == AUTH_ACCEPT_HONEYTOKEN)
		json_object_set_new(e, "alert", honeytoken_login_alert());
	json_object_set_new(e, "attempt", json_integer(++s->attempts));
	emit(s, e);
}

/* Failed attempts as sshd counts them for MaxAuthTries: every refused
 * password, keyboard-interactive answer and key, and every "none" request
 * but the first. */
static int failures(const struct session *s)
{
	return s->pw_failures + s->key_failures + (s->none_requests > 1 ? s->none_requests - 1 : 0);
}

/* A refused login: the worker is told to disconnect once the connection
 * has failed max_auth_tries times (password, keyboard-interactive and
 * public-key attempts together, as OpenSSH counts them). */
static void refused(struct session *s, struct ipc_msg *reply)
{
	if (failures(s) < s->ctx->cfg->server.max_auth_tries)
		return;
	reply->auth_reply.disconnect = 1;
	s->end_reason = "max_auth_tries";
	info("session %.8s from %s: too many authentication failures", s->id, s->ip);
}

/* How late the worker answers a refusal: as the imitated sshd (stealth.h). */
static void wait_as_sshd(struct session *s, struct ipc_msg *reply, const struct ipc_str *user,
                         bool password)
{
	if (s->ctx->stealth == NULL)
		return;
	struct stealth_wait w = stealth_refusal(s->ctx->stealth, user->p, user->n, password);
	reply->auth_reply.pam_ms = w.pam_ms;
	reply->auth_reply.floor_us = w.floor_us;
}

static void on_auth_password(struct session *s, const struct ipc_msg *msg)
{
	const struct ipc_auth_password *m = &msg->auth_password;
	enum auth_result r;
	struct ipc_msg reply = {.type = IPC_AUTH_REPLY};
	json_t *e;

	if (m->method == IPC_AUTH_METHOD_NONE) {
		/* Asked by every OpenSSH client first: not a login attempt, no
		 * event; refused as sshd refuses it. */
		s->none_requests++;
		refused(s, &reply);
		wait_as_sshd(s, &reply, &m->user, false);
		send_to_worker(s, &reply);
		return;
	}
	if (m->method != IPC_AUTH_METHOD_PASSWORD && m->method != IPC_AUTH_METHOD_KBDINT) {
		kill_worker(s, "unknown authentication method");
		return;
	}
	bool full;
	r = at_capacity(s,
	                auth_policy_password(&s->ctx->policy, m->user.p, m->user.n, m->password.p,
	                                     m->password.n, s->pw_failures),
	                &full);
	const char *method =
	    m->method == IPC_AUTH_METHOD_KBDINT ? "keyboard-interactive" : "password";
	e = login_event(s, r, method, &m->user);
	if (full)
		json_object_set_new(e, "reason", json_string("max_concurrent_sessions"));
	event_set_bytes(e, "password", m->password.p, m->password.n);
	emit_login(s, e, r);
	if (r == AUTH_REJECT) {
		s->pw_failures++;
		note_failure(s, &m->user, method);
		refused(s, &reply);
		wait_as_sshd(s, &reply, &m->user, true);
	} else {
		reply.auth_reply.accepted = 1;
		logged_in(s, m->user.p, m->user.n, method);
	}
	send_to_worker(s, &reply);
}

static void logged_in(struct session *s, const uint8_t *user, size_t user_len, const char *method)
{
	s->phase = PH_AUTHED;
	s->login_method = method;
	/* A login read from a worker already gone (its last messages) starts
	 * nothing: no one is there to use it. */
	if (s->finishing)
		return;
	s->ctx->logged_in++;
	s->counted = true;
	free(s->username);
	s->username = util_utf8_sanitize(user, user_len);
	/* From here the absolute limit applies; the backstop kills a worker
	 * that outlives it. */
	loop_del_timer(s->ctx->loop, s->backstop);
	s->backstop = loop_add_timer(
	    s->ctx->loop, (int64_t)s->ctx->cfg->container_pool.max_session_duration * 1000 + 30000,
	    on_backstop, s);
	/* The box now, as sshd starts the session at the login: the first
	 * channel need not wait for it. */
	if (!s->ctx->shutting_down && s->alloc == 0 && s->container_id[0] == '\0')
		s->alloc = boxes_acquire(s->ctx->boxes, s->ip, s->id, on_box, s);
}

/* The probe and the signed attempt of one key are one attempt: the event
 * is written once, at the probe's refusal or at the signed acceptance. */
static void on_auth_pubkey(struct session *s, const struct ipc_msg *msg)
{
	const struct ipc_auth_pubkey *m = &msg->auth_pubkey;
	struct ipc_msg reply = {.type = IPC_AUTH_REPLY};
	char *fp = ipc_strdup(&m->fingerprint);
	bool full;
	enum auth_result r =
	    at_capacity(s, auth_policy_pubkey(&s->ctx->policy, fp, s->key_failures), &full);
	bool is_signed = m->is_signed == 1;

	free(fp);
	if (r == AUTH_REJECT || is_signed) {
		json_t *e = login_event(s, r, "publickey", &m->user);
		event_set_bytes(e, "key_type", m->key_type.p, m->key_type.n);
		event_set_bytes(e, "fingerprint", m->fingerprint.p, m->fingerprint.n);
		if (full)
			json_object_set_new(e, "reason", json_string("max_concurrent_sessions"));
		emit_login(s, e, r);
	}
	if (r == AUTH_REJECT) {
		s->key_failures++;
		note_failure(s, &m->user, "publickey");
		refused(s, &reply);
		wait_as_sshd(s, &reply, &m->user, false);
	} else {
		reply.auth_reply.accepted = 1;
		if (is_signed)
			logged_in(s, m->user.p, m->user.n, "publickey");
	}
	send_to_worker(s, &reply);
}

static void on_event(struct session *s, const struct ipc_msg *m)
{
	const char *type, *why;
	json_t *fields, *e, *v;
	const char *k;

	fields = worker_event_check(m->event.type.p, m->event.type.n, s->phase == PH_AUTHED,
	                            m->event.fields.p, m->event.fields.n, &type, &why);
	if (fields == NULL) {
		kill_worker(s, why);
		return;
	}
	e = sess_event(s, type);
	json_object_foreach(fields, k, v) json_object_set(e, k, v);
	if (strcmp(type, "file.transfer") == 0 &&
	    strcmp(json_string_value(json_object_get(fields, "direction")) ?: "", "upload") == 0)
		note_upload(s, json_string_value(json_object_get(fields, "path")));
	if (strcmp(type, "client.version") == 0 && s->client_version == NULL)
		s->client_version =
		    strdup(json_string_value(json_object_get(fields, "version")) ?: "");
	json_decref(fields);
	emit(s, e);
}

static void on_session_end(struct session *s, const struct ipc_msg *m)
{
	for (size_t i = 0; i < sizeof(end_reasons) / sizeof(end_reasons[0]); i++)
		if (m->session_end.reason.n == strlen(end_reasons[i]) &&
		    memcmp(m->session_end.reason.p, end_reasons[i], m->session_end.reason.n) == 0) {
			s->end_reason = end_reasons[i];
			return;
		}
	kill_worker(s, "unknown end reason");
}

static void dispatch(struct session *s, struct ipc_msg *m)
{
	bool refuse = !allowed[s->phase][m->type];

	/* After MaxAuthTries the worker was told to disconnect: one that asks
	 * again is not ours. */
	if (!refuse && !s->killed && (m->type == IPC_AUTH_PASSWORD || m->type == IPC_AUTH_PUBKEY) &&
	    failures(s) >= s->ctx->cfg->server.max_auth_tries) {
		kill_worker(s, "authentication past max_auth_tries");
		refuse = true;
	}
	if (refuse || s->killed) {
		for (size_t i = 0; i < m->nfds; i++)
			close(m->fds[i]);
		kill_worker(s, "message not allowed in this phase");
		return;
	}
	switch (m->type) {
	case IPC_AUTH_PASSWORD:
		on_auth_password(s, m);
		break;
	case IPC_AUTH_PUBKEY:
		on_auth_pubkey(s, m);
		break;
	case IPC_EVENT:
		on_event(s, m);
		break;
	case IPC_CHANNEL_OPEN:
		on_channel_open(s, m);
		break;
	case IPC_RESIZE:
		on_resize(s, m);
		break;
	case IPC_CHANNEL_DONE:
		on_channel_done(s, m);
		break;
	case IPC_SESSION_END:
		on_session_end(s, m);
		break;
	}
}

/* Reads what the worker sent; returns false at EOF or on a broken stream. */
static bool read_worker(struct session *s)
{
	for (;;) {
		struct ipc_msg m;
		int r = ipc_recv(s->ipc, &m, &s->store);
		if (r == -EAGAIN)
			return true;
		if (r == 0)
			return false;
		if (r < 0) {
			kill_worker(s, "malformed message");
			return false;
		}
		dispatch(s, &m);
	}
}

static void on_ipc(struct loop *l, int fd, int events, void *arg)
{
	struct session *s = arg;

	if (!read_worker(s))
		loop_del_fd(l, fd); /* wait for SIGCHLD to finish the session */
}

static void on_backstop(struct loop *l, void *arg)
{
	struct session *s = arg;

	s->backstop = 0;
	if (s->phase == PH_PREAUTH) {
		s->end_reason = "login_timeout";
		kill_worker(s, "login grace time exceeded");
	} else {
		s->end_reason = "max_duration";
		kill_worker(s, "session time limit exceeded");
	}
}

struct session *session_new(struct session_ctx *ctx, int ipc_fd, const char *src_ip, int src_port,
                            const char *dst_ip, int dst_port)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ctx = ctx;
	s->ipc = ipc_fd;
	s->log_fd = -1;
	s->agent_fd = -1;
	s->last_exit = -1;
	s->start_wall = util_wall();
	s->start_ms = util_mono_ms();
	buf_init(&s->store);
	util_session_id(s->id);
	snprintf(s->ip, sizeof(s->ip), "%s", src_ip);
	s->port = src_port;
	snprintf(s->dst_ip, sizeof(s->dst_ip), "%s", dst_ip);
	s->dst_port = dst_port;
	s->recordings = json_array();
	events_session_open(ctx->events, s->id);
	fcntl(ipc_fd, F_SETFL, fcntl(ipc_fd, F_GETFL) | O_NONBLOCK);
	loop_add_fd(ctx->loop, ipc_fd, LOOP_READ, on_ipc, s);
	/* The worker enforces both limits itself; these catch one that does
	 * not (stuck, or compromised). */
	s->backstop = loop_add_timer(
	    ctx->loop, (int64_t)ctx->cfg->server.login_grace_time * 1000 + 5000, on_backstop, s);

	json_t *e = sess_event(s, "session.connect");
	json_object_set_new(e, "dst_ip", json_string(s->dst_ip));
	json_object_set_new(e, "dst_port", json_integer(dst_port));
	emit(s, e);
	return s;
}

void session_set_pid(struct session *s, pid_t pid)
{
	s->pid = pid;
	worker_log_set_pid(s->wlog, (long)pid);
}

/* Reads what the worker wrote to its stderr, at most chunks * 16 KiB (so a
 * chatty worker cannot hold the loop); returns false at EOF or an error. */
static void on_worker_log(struct loop *l, int fd, int events, void *arg)
{
	struct session *s = arg;

	(void)events;
	if (!worker_log_read(s->wlog, s->log_fd, 4))
		loop_del_fd(l, fd); /* closed when the worker is reaped */
}

int session_attach_worker_log(struct session *s, int fd)
{
	s->wlog = worker_log_new(s->id);
	if (s->wlog == NULL) {
		close(fd);
		return -1;
	}
	s->log_fd = fd;
	worker_log_set_pid(s->wlog, (long)s->pid);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (loop_add_fd(s->ctx->loop, fd, LOOP_READ, on_worker_log, s) < 0) {
		/* Unread, the pipe would fill and block the worker: closed, its
		 * writes fail instead (EPIPE; SIGPIPE is ignored). */
		close(fd);
		s->log_fd = -1;
		worker_log_free(s->wlog);
		s->wlog = NULL;
		return -1;
	}
	return 0;
}

static void close_worker_log(struct session *s)
{
	if (s->log_fd >= 0) {
		/* The worker is gone: what it wrote last is all in the pipe. */
		worker_log_read(s->wlog, s->log_fd, 64);
		loop_del_fd(s->ctx->loop, s->log_fd);
		close(s->log_fd);
		s->log_fd = -1;
	}
	worker_log_free(s->wlog);
	s->wlog = NULL;
}

pid_t session_pid(const struct session *s)
{
	return s->pid;
}

const char *session_ip(const struct session *s)
{
	return s->ip;
}

int session_port(const struct session *s)
{
	return s->port;
}

const char *session_container(const struct session *s)
{
	return s->container_id;
}

bool session_authenticated(const struct session *s)
{
	return s->phase == PH_AUTHED;
}

const char *session_id(const struct session *s)
{
	return s->id;
}

static void on_kill_timer(struct loop *l, void *arg)
{
	struct session *s = arg;

	s->kill_timer = 0;
	kill_worker(s, "did not exit after SIGTERM");
}

void session_terminate(struct session *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		if (s->kill_timer == 0)
			s->kill_timer = loop_add_timer(s->ctx->loop, 3000, on_kill_timer, s);
	}
}

static char *write_sidecar(struct session *s, double end, const char *reason)
{
	const struct config *cfg = s->ctx->cfg;
	char path[PATH_MAX], tmp[PATH_MAX + 32], start_ts[32], end_ts[32];
	json_t *j;

	/* Only sessions that logged in: a brute-force bot makes thousands of
	 * connections, and events.jsonl already says all there is of them. */
	if (!cfg->recording.enabled || s->username == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s.json", cfg->recording.output_dir, s->id);
	util_rfc3339(s->start_wall, start_ts);
	util_rfc3339(end, end_ts);
	j = json_pack("{s:s, s:s, s:i, s:s?, s:s?, s:s, s:s, s:f, s:s, s:s?, s:s?, s:O, s:I, s:I, "
	              "s:i}",
	              "session_id", s->id, "src_ip", s->ip, "src_port", s->port, "username",
	              s->username, "client_version", s->client_version, "start", start_ts, "end",
	              end_ts, "duration", end - s->start_wall, "reason", reason, "container_id",
	              s->container_id[0] ? s->container_id : NULL, "container_name",
	              s->container_name[0] ? s->container_name : NULL, "recordings", s->recordings,
	              "bytes_in", (json_int_t)s->bytes_in, "bytes_out", (json_int_t)s->bytes_out,
	              "login_attempts", s->attempts);
	if (j == NULL)
		return NULL;
	chan_set_exit(j, s->last_exit, s->last_signal);
	if (s->previous_session[0] != '\0')
		json_object_set_new(j, "previous_session", json_string(s->previous_session));
	int fd = util_open_tmp(path, 0640, tmp, sizeof(tmp)); /* O_EXCL|O_NOFOLLOW */
	int r = fd < 0 ? -1 : json_dumpfd(j, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (fd >= 0 && close(fd) < 0)
		r = -1;
	if (r < 0 || rename(tmp, path) < 0) {
		error("sidecar %s: %s", path, strerror(errno));
		unlink(tmp);
		json_decref(j);
		return NULL;
	}
	json_decref(j);
	return strdup(path);
}

/* A session's artifact collection waiting for its box's turn (boxes.h):
 * what artifacts_collect() needs, copied, since the session is gone by
 * then. */
struct collection {
	struct session_ctx *ctx;
	char session_id[SESSION_ID_LEN + 1];
	char ip[64];
	int port;
	char container_id[65];
	char container_name[80];
	char *uploads[MAX_UPLOADS + 1];
};

static void collection_free(struct collection *k)
{
	/* The session's events end with its collection. */
	events_session_close(k->ctx->events, k->session_id, k->ip, k->port);
	for (size_t i = 0; k->uploads[i] != NULL; i++)
		free(k->uploads[i]);
	free(k);
}

static void on_collected(void *arg, const char *id, const char *name, json_t *seen)
{
	struct collection *k = arg;

	(void)name;
	/* Not at a shutdown that gave up on it (artifacts_free): the box's
	 * next turn would start another. */
	if (seen != NULL || !k->ctx->shutting_down)
		boxes_collected(k->ctx->boxes, id, seen);
	collection_free(k);
}

static void on_turn(void *arg, const json_t *known, bool go)
{
	struct collection *k = arg;

	if (!go) {
		collection_free(k);
		return;
	}
	json_t *prepared =
	    k->ctx->prep != NULL ? box_prep_known(k->ctx->prep, k->container_id) : NULL;
	struct artifact_session a = {.session_id = k->session_id,
	                             .src_ip = k->ip,
	                             .src_port = k->port,
	                             .container_id = k->container_id,
	                             .container_name = k->container_name,
	                             .uploads = (const char *const *)k->uploads,
	                             .known = known,
	                             .prepared = prepared};
	artifacts_collect(k->ctx->artifacts, &a, on_collected, k);
	json_decref(prepared);
}

/* What the attacker left is copied out while the box still runs (its
 * tmpfs would be gone once stopped), after any earlier session's
 * collection of the same box; the box is the address's until boxes.h says
 * otherwise. Not at shutdown: that must be quick, and the stopped box
 * keeps its writable layer for a later look. */
static bool collect_and_release(struct session *s)
{
	struct collection *k = NULL;

	/* A session that opened no channel changed nothing (its login
	 * records aside). */
	if (!s->ctx->shutting_down && s->phase == PH_AUTHED && s->ctx->cfg->forensics.enabled &&
	    s->ctx->artifacts != NULL && s->channels_total > 0)
		k = calloc(1, sizeof(*k));
	if (k == NULL) {
		boxes_leave(s->ctx->boxes, s->container_id, NULL, NULL);
		return false;
	}
	k->ctx = s->ctx;
	snprintf(k->session_id, sizeof(k->session_id), "%s", s->id);
	snprintf(k->ip, sizeof(k->ip), "%s", s->ip);
	k->port = s->port;
	snprintf(k->container_id, sizeof(k->container_id), "%s", s->container_id);
	snprintf(k->container_name, sizeof(k->container_name), "%s", s->container_name);
	/* The uploads move over: the session is freed next. */
	for (size_t i = 0; i < s->nuploads; i++)
		k->uploads[i] = s->uploads[i];
	s->nuploads = 0;
	boxes_leave(s->ctx->boxes, k->container_id, on_turn, k);
	return true;
}

void session_worker_exited(struct session *s, int wstatus)
{
	double end = util_wall();
	const char *reason;

	s->finishing = true;
	/* Whatever the worker said last (byte counts, why it ended) is read
	 * before it is forgotten: SIGCHLD may come before its last messages
	 * have been read. */
	read_worker(s);
	if (s->counted)
		s->ctx->logged_in--;
	s->counted = false;
	close_worker_log(s);
	reason = s->end_reason;
	loop_del_fd(s->ctx->loop, s->ipc);
	close(s->ipc);
	s->ipc = -1;
	loop_del_timer(s->ctx->loop, s->backstop);
	loop_del_timer(s->ctx->loop, s->kill_timer);
	disk_watch_free(s->disk);
	s->disk = NULL;
	boxes_cancel(s->ctx->boxes, s->alloc);
	agent_dial_cancel(s->dial);
	if (s->agent_fd >= 0)
		close(s->agent_fd);
	for (size_t i = 0; i < MAX_CHANNELS; i++)
		if (s->ch[i].state != CH_FREE)
			chan_free(&s->ch[i]);
	if (reason == NULL) {
		if (s->ctx->shutting_down)
			reason = "shutdown";
		else if (WIFSIGNALED(wstatus) || (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0))
			reason = "worker_failed";
		else
			reason = "client_closed";
	}
	if (s->phase != PH_AUTHED) /* for the box this address logs into next */
		recent_failures_add(s->ctx->failures, s->ip, s->failures, s->nfailures);
	int worker_signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
	if (worker_signal == SIGSYS)
		error("session %.8s from %s: worker killed for a forbidden system call (seccomp)",
		      s->id, s->ip);
	else if (worker_signal != 0 && worker_signal != SIGTERM && worker_signal != SIGKILL)
		warn("session %.8s: worker died of signal %d", s->id, worker_signal);
	else if (s->pid > 0 && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0)
		warn("session %.8s: worker exited with status %d", s->id, WEXITSTATUS(wstatus));
	bool collecting = s->container_id[0] != '\0' && collect_and_release(s);

	char *sidecar = write_sidecar(s, end, reason);
	json_t *e = sess_event(s, "session.closed");
	json_object_set_new(e, "duration", json_real(end - s->start_wall));
	json_object_set_new(e, "reason", json_string(reason));
	json_object_set_new(e, "username", s->username ? json_string(s->username) : json_null());
	json_object_set_new(e, "bytes_in", json_integer((json_int_t)s->bytes_in));
	json_object_set_new(e, "bytes_out", json_integer((json_int_t)s->bytes_out));
	chan_set_exit(e, s->last_exit, s->last_signal);
	json_object_set_new(e, "container_id",
	                    s->container_id[0] ? json_string(s->container_id) : json_null());
	json_object_set_new(e, "container_name",
	                    s->container_name[0] ? json_string(s->container_name) : json_null());
	json_object_set(e, "recordings", s->recordings);
	json_object_set_new(e, "metadata", sidecar ? json_string(sidecar) : json_null());
	if (s->previous_session[0] != '\0')
		json_object_set_new(e, "previous_session", json_string(s->previous_session));
	if (worker_signal != 0 && worker_signal != SIGTERM && worker_signal != SIGKILL)
		json_object_set_new(e, "worker_signal",
		                    json_string(sigabbrev_np(worker_signal) ?: "?"));
	emit(s, e);
	if (!collecting)
		events_session_close(s->ctx->events, s->id, s->ip, s->port);

	free(sidecar);
	free(s->username);
	free(s->client_version);
	for (size_t i = 0; i < s->nuploads; i++)
		free(s->uploads[i]);
	json_decref(s->recordings);
	buf_free(&s->store);
	free(s);
}
