/*
 * channel: a session's channel in the monitor, as a state machine; see
 * channel.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "docker_json.h"
#include "exit_signal.h"
#include "log.h"
#include "sandbox_spec.h"
#include "session.h"
#include "tar_read.h"
#include "util.h"

#define EXIT_POLL_MS    50
#define EXIT_POLLS      40
#define EXIT_REPORT_MAX (16 * 1024)

#define FROM(st) (1u << (st))

/* The states each state may be entered from. */
static const unsigned entered_from[CH_NSTATES] = {
    [CH_WAITING_BOX] = FROM(CH_FREE) | FROM(CH_CREATING_EXEC),
    [CH_WAITING_AGENT] = FROM(CH_WAITING_BOX),
    [CH_CREATING_EXEC] = FROM(CH_WAITING_BOX) | FROM(CH_WAITING_AGENT),
    [CH_HIJACKING] = FROM(CH_CREATING_EXEC),
    [CH_STREAMING] = FROM(CH_HIJACKING) | FROM(CH_WAITING_BOX) | FROM(CH_WAITING_AGENT),
    [CH_QUERYING_EXIT] = FROM(CH_STREAMING) | FROM(CH_QUERYING_EXIT),
    [CH_FETCHING_REPORT] = FROM(CH_QUERYING_EXIT),
    /* Closed with its exit: not before the channel could have run. */
    [CH_FREE] = FROM(CH_WAITING_BOX) | FROM(CH_WAITING_AGENT) | FROM(CH_STREAMING) |
                FROM(CH_QUERYING_EXIT) | FROM(CH_FETCHING_REPORT),
};

static const char *const state_names[CH_NSTATES] = {
    [CH_FREE] = "free",
    [CH_WAITING_BOX] = "waiting_box",
    [CH_WAITING_AGENT] = "waiting_agent",
    [CH_CREATING_EXEC] = "creating_exec",
    [CH_HIJACKING] = "hijacking",
    [CH_STREAMING] = "streaming",
    [CH_QUERYING_EXIT] = "querying_exit",
    [CH_FETCHING_REPORT] = "fetching_report",
};

const char *chan_state_name(enum chan_state st)
{
	return (unsigned)st < CH_NSTATES ? state_names[st] : "?";
}

static void emit(struct mchan *c, json_t *e)
{
	events_emit(c->ctx->events, e);
}

bool chan_transition_allowed(enum chan_state from, enum chan_state to)
{
	return (unsigned)from < CH_NSTATES && (unsigned)to < CH_NSTATES &&
	       (entered_from[to] & FROM(from)) != 0;
}

static bool may_enter(const struct mchan *c, enum chan_state to)
{
	return chan_transition_allowed(c->state, to);
}

/* A transition from a state it may not start from: a bug of ours, logged;
 * the channel fails (and is freed). */
static void refuse(struct mchan *c, enum chan_state to, const char *func)
{
	error("%s: session %.8s: channel %u: no transition from %s to %s", func,
	      c->host ? c->host->id(c->s) : "?", c->id, chan_state_name(c->state),
	      chan_state_name(to));
	chan_fail(c, "internal error");
}

/* Moves c to state `to`; false when it may not (c failed then). */
static bool enter(struct mchan *c, enum chan_state to, const char *func)
{
	if (!may_enter(c, to)) {
		refuse(c, to, func);
		return false;
	}
	c->state = to;
	return true;
}

void chan_free(struct mchan *c)
{
	if (c->ctx != NULL) {
		docker_cancel(c->ctx->docker, c->call);
		docker_cancel(c->ctx->docker, c->resize_call);
		loop_del_timer(c->ctx->loop, c->timer);
	}
	free(c->term);
	free(c->command);
	free(c->subsystem);
	for (size_t i = 0; c->env != NULL && c->env[i] != NULL; i++)
		free(c->env[i]);
	free(c->env);
	free(c->recording);
	memset(c, 0, sizeof(*c)); /* CH_FREE */
}

void chan_fail(struct mchan *c, const char *error)
{
	struct ipc_msg m = {.type = IPC_CHANNEL_READY, .channel_ready = {.channel = c->id}};

	if (c->state == CH_FREE)
		return;
	json_t *e = c->host->event(c->s, "session.error");
	json_object_set_new(e, "channel", json_integer(c->id));
	json_object_set_new(e, "error", json_string(error));
	emit(c, e);
	m.channel_ready.error = (struct ipc_str){(const uint8_t *)error, strlen(error)};
	c->host->send(c->s, &m);
	/* The worker closes the channel and says no more of it. */
	chan_free(c);
}

/* The worker's accepted env requests (NUL-separated NAME=VALUE): only LANG,
 * LC_* and TERM (not for a tty, whose TERM is the pty's) reach the exec,
 * made valid UTF-8. */
static char **env_list(const struct ipc_str *raw, bool tty)
{
	char **list = calloc(17, sizeof(*list));
	size_t n = 0, i = 0;

	while (list != NULL && i < raw->n && n < 16) {
		const uint8_t *start = raw->p + i;
		const uint8_t *nul = memchr(start, 0, raw->n - i);
		size_t len = nul ? (size_t)(nul - start) : raw->n - i;
		char *kv = util_utf8_sanitize(start, len);
		i += len + 1;
		if (kv == NULL)
			continue;
		bool ok = strncmp(kv, "LANG=", 5) == 0 ||
		          (strncmp(kv, "LC_", 3) == 0 && strchr(kv, '=') != NULL) ||
		          (!tty && strncmp(kv, "TERM=", 5) == 0);
		if (ok)
			list[n++] = kv;
		else
			free(kv);
	}
	return list;
}

int chan_open(struct mchan *c, struct session *s, struct session_ctx *ctx,
              const struct chan_host *host, const struct ipc_channel_open *m, const char **why)
{
	if (c->state != CH_FREE) {
		error("session %.8s: channel %u: opened in state %s", host->id(s), m->channel,
		      chan_state_name(c->state));
		*why = "internal error";
		return -1;
	}
	c->state = CH_WAITING_BOX;
	c->s = s;
	c->ctx = ctx;
	c->host = host;
	c->id = m->channel;
	c->tty = m->tty != 0;
	c->width = m->width > 0 && m->width < 10000 ? (int)m->width : 80;
	c->height = m->height > 0 && m->height < 10000 ? (int)m->height : 24;
	c->exit_status = -1;
	c->term = util_utf8_sanitize(m->term.p, m->term.n);
	c->kind = m->kind;
	c->env = env_list(&m->env, c->tty);
	if (c->kind == IPC_KIND_EXEC) {
		json_t *e = host->event(s, "command.input");
		json_object_set_new(e, "channel", json_integer(c->id));
		json_object_set_new(e, "tty", json_boolean(c->tty));
		json_object_set_new(e, "source", json_string("exec"));
		event_set_bytes(e, "command", m->command.p, m->command.n);
		emit(c, e);
		/* Docker's API is JSON: a command that is not UTF-8 can only be
		 * passed on sanitized (the event above keeps the raw bytes). */
		c->command = util_utf8_sanitize(m->command.p, m->command.n);
	} else if (c->kind == IPC_KIND_SUBSYSTEM) {
		/* The worker accepts only sftp; what runs is ours to say, as
		 * sshd runs its Subsystem line through the user's shell. */
		if (m->command.n != 4 || memcmp(m->command.p, "sftp", 4) != 0) {
			*why = "unknown subsystem";
			return -1;
		}
		c->subsystem = strdup("sftp");
		c->command = strdup(SANDBOX_SFTP_SERVER);
	} else if (c->kind != IPC_KIND_SHELL) {
		*why = "unknown channel kind";
		return -1;
	}
	if (c->kind != IPC_KIND_SHELL && c->command == NULL) {
		chan_fail(c, "out of memory");
		return 1;
	}
	return 0;
}

static void resize_exec(struct mchan *c);

static void on_resized(void *arg, const struct docker_reply *r)
{
	struct mchan *c = arg;

	c->resize_call = 0;
	if (r->error != NULL)
		debug("session %.8s: resize: %s", c->host->id(c->s), r->error);
	if (c->resize_again)
		resize_exec(c);
}

static void resize_exec(struct mchan *c)
{
	char path[160];

	if (!c->tty || !docker_id_valid(c->exec_id))
		return;
	if (c->resize_call != 0) {
		c->resize_again = true;
		return;
	}
	c->resize_again = false;
	snprintf(path, sizeof(path), "/exec/%s/resize?h=%d&w=%d", c->exec_id, c->height, c->width);
	c->resize_call = docker_request(c->ctx->docker, "POST", path, NULL, 10000, on_resized, c);
}

/* A client can send window-changes as fast as it likes: at most one resize
 * is in flight per channel, and the latest size follows when it is done.
 * An agent channel's size is the worker's to tell the agent. */
void chan_resize(struct mchan *c, int width, int height)
{
	c->width = width;
	c->height = height;
	if (c->state >= CH_STREAMING && !c->via_agent)
		resize_exec(c);
}

/* session.shell: a channel's process runs. */
static void shell_event(struct mchan *c)
{
	json_t *e = c->host->event(c->s, "session.shell");
	json_object_set_new(e, "channel", json_integer(c->id));
	json_object_set_new(e, "tty", json_boolean(c->tty));
	json_object_set_new(e, "container_id", json_string(c->host->container_id(c->s)));
	json_object_set_new(e, "container_name", json_string(c->host->container_name(c->s)));
	json_object_set_new(e, "recording", c->recording ? json_string(c->recording) : json_null());
	json_object_set_new(e, "kind",
	                    json_string(c->kind == IPC_KIND_EXEC        ? "exec"
	                                : c->kind == IPC_KIND_SUBSYSTEM ? "subsystem"
	                                                                : "shell"));
	if (c->kind == IPC_KIND_EXEC)
		json_object_set_new(e, "command", json_string(c->command));
	if (c->subsystem != NULL)
		json_object_set_new(e, "subsystem", json_string(c->subsystem));
	json_object_set_new(e, "transport", json_string(c->via_agent ? "agent" : "exec"));
	emit(c, e);
}

/* Hands the worker a ready channel: lead (the stream, or the agent
 * connection with the first agent channel; -1 for none) and the recording,
 * both borrowed. */
static void send_ready(struct mchan *c, int lead, bool agent)
{
	struct ipc_msg m = {.type = IPC_CHANNEL_READY,
	                    .channel_ready = {.channel = c->id, .ok = 1, .agent = agent}};
	int rec = -1;
	const char *container = c->host->container_id(c->s);

	if (c->ctx->cfg->recording.enabled)
		rec = c->host->open_recording(c->s, c->id, &c->recording);
	if (lead >= 0) {
		m.fds[m.nfds++] = lead;
		m.channel_ready.agent_first = agent;
	}
	if (rec >= 0) {
		m.fds[m.nfds++] = rec;
		m.channel_ready.recording = 1;
	}
	m.channel_ready.container = (struct ipc_str){(const uint8_t *)container, strlen(container)};
	c->host->send(c->s, &m);
	if (rec >= 0)
		close(rec);
}

void chan_on_hijacked(void *arg, int fd, const char *error)
{
	struct mchan *c = arg;

	c->call = 0;
	if (c->state != CH_HIJACKING) {
		if (fd >= 0)
			close(fd);
		refuse(c, CH_STREAMING, __func__);
		return;
	}
	if (fd < 0) {
		chan_fail(c, error);
		return;
	}
	send_ready(c, fd, false);
	close(fd);
	enter(c, CH_STREAMING, __func__);
	/* Docker 1.41 ignores the size at exec create; it can only be set once
	 * the exec runs. */
	resize_exec(c);
	shell_event(c);
}

void chan_on_exec_created(void *arg, const struct docker_reply *r)
{
	struct mchan *c = arg;
	const char *id = NULL;

	c->call = 0;
	if (c->state != CH_CREATING_EXEC) {
		refuse(c, CH_HIJACKING, __func__);
		return;
	}
	/* The box died before its first exec: the session may take another
	 * (or fail the channel), and the channel waits for it. */
	if ((r->status == 409 || r->status == 404) && c->host->box_gone(c->s, c, r->error)) {
		if (c->state == CH_CREATING_EXEC)
			enter(c, CH_WAITING_BOX, __func__);
		return;
	}
	if (r->error != NULL || docker_json_id(r->json, &id, NULL) < 0) {
		chan_fail(c, r->error ? r->error : "exec create: no valid id");
		return;
	}
	c->host->exec_created(c->s);
	snprintf(c->exec_id, sizeof(c->exec_id), "%s", id);
	if (!enter(c, CH_HIJACKING, __func__))
		return;
	c->call = docker_exec_start(c->ctx->docker, c->exec_id, c->tty, 30000, chan_on_hijacked, c);
	if (c->call == 0)
		chan_fail(c, "out of memory");
}

void chan_run_exec(struct mchan *c)
{
	struct session_ctx *ctx = c->ctx;
	char path[128], client[160], connection[200];
	const char *env[20];
	size_t n = 0;

	if (!enter(c, CH_CREATING_EXEC, __func__))
		return;
	/* What sshd puts in every session's environment. */
	c->host->ssh_env(c->s, client, sizeof(client), connection, sizeof(connection));
	env[n++] = client;
	env[n++] = connection;
	for (size_t i = 0; c->env != NULL && c->env[i] != NULL && n < 19; i++)
		env[n++] = c->env[i];
	env[n] = NULL;

	char id[SESSION_ID_LEN + 1];
	util_session_id(id);
	memcpy(c->token, id, CHAN_TOKEN_LEN);
	c->token[CHAN_TOKEN_LEN] = '\0';

	struct exec_params p = {.command = c->command,
	                        .tty = c->tty,
	                        .term = c->term,
	                        .env = env,
	                        .parent = ctx->session_parent,
	                        .token = c->token,
	                        .width = c->width,
	                        .height = c->height};
	json_t *body = sandbox_exec_spec(ctx->cfg, &p);

	snprintf(path, sizeof(path), "/containers/%s/exec", c->host->container_id(c->s));
	c->call = docker_request(ctx->docker, "POST", path, body, 30000, chan_on_exec_created, c);
	json_decref(body);
	if (c->call == 0)
		chan_fail(c, "out of memory");
}

void chan_wait_agent(struct mchan *c)
{
	enter(c, CH_WAITING_AGENT, __func__);
}

void chan_agent_ready(struct mchan *c, int agent_fd)
{
	if (c->state != CH_WAITING_BOX && c->state != CH_WAITING_AGENT) {
		refuse(c, CH_STREAMING, __func__);
		return;
	}
	c->via_agent = true;
	send_ready(c, agent_fd, true);
	enter(c, CH_STREAMING, __func__);
	shell_event(c);
}

void chan_set_exit(json_t *o, int status, int sig)
{
	json_object_set_new(o, "exit_status", status >= 0 ? json_integer(status) : json_null());
	if (sig > 0)
		json_object_set_new(o, "exit_signal", json_string(exit_signal_name(sig)));
}

/* How the channel ended, to the session, the worker (for an exec: the agent
 * told the worker itself) and the log; then the channel is freed. */
static void chan_closed(struct mchan *c)
{
	struct ipc_msg m = {.type = IPC_EXIT_STATUS,
	                    .exit_status = {.channel = c->id, .kind = IPC_EXIT_UNKNOWN}};

	if (!may_enter(c, CH_FREE)) {
		refuse(c, CH_FREE, __func__);
		return;
	}
	if (c->exit_signal > 0) {
		m.exit_status.kind = IPC_EXIT_SIGNAL;
		m.exit_status.value = (uint32_t)c->exit_signal;
		m.exit_status.core = c->core_dumped;
		c->host->ended(c->s, -1, c->exit_signal);
	} else if (c->exit_status >= 0) {
		m.exit_status.kind = IPC_EXIT_CODE;
		m.exit_status.value = (uint32_t)c->exit_status;
		c->host->ended(c->s, c->exit_status, 0);
	}
	if (!c->host->finishing(c->s) && !c->via_agent)
		c->host->send(c->s, &m);
	json_t *e = c->host->event(c->s, "session.channel_closed");
	json_object_set_new(e, "channel", json_integer(c->id));
	chan_set_exit(e, c->exit_signal > 0 ? -1 : c->exit_status, c->exit_signal);
	if (c->exit_signal > 0)
		json_object_set_new(e, "core_dumped", json_boolean(c->core_dumped));
	json_object_set_new(e, "bytes_in", json_integer((json_int_t)c->bytes_in));
	json_object_set_new(e, "bytes_out", json_integer((json_int_t)c->bytes_out));
	emit(c, e);
	chan_free(c);
}

/* The session parent's report, when there is one: a process killed by
 * signal n and one that exited with 128+n look the same to Docker. */
void chan_on_exit_report(void *arg, const struct docker_reply *r)
{
	struct mchan *c = arg;
	const uint8_t *text;
	size_t len;
	int sig;
	bool core;

	c->call = 0;
	if (c->state != CH_FETCHING_REPORT) {
		refuse(c, CH_FREE, __func__);
		return;
	}
	/* 404: no report, so the process exited with this code itself. */
	if (r->error == NULL && tar_first_file(r->body, r->body_len, &text, &len) == 0 &&
	    exit_signal_parse((const char *)text, len, &sig, &core) == 0 &&
	    c->exit_status == 128 + sig) {
		c->exit_signal = sig;
		c->core_dumped = core;
	} else if (r->error == NULL) {
		warn("session %.8s: channel %u: unreadable exit report", c->host->id(c->s), c->id);
	} else if (r->status != 404) {
		warn("session %.8s: exit report of channel %u: %s", c->host->id(c->s), c->id,
		     r->error);
	}
	chan_closed(c);
}

static bool fetch_exit_report(struct mchan *c)
{
	char path[256];

	if (c->ctx->session_parent[0] == '\0' || c->exit_status <= 128 ||
	    c->exit_status > 128 + EXIT_SIGNAL_MAX || c->host->finishing(c->s))
		return false;
	if (!enter(c, CH_FETCHING_REPORT, __func__))
		return true; /* failed: nothing more to do */
	snprintf(path, sizeof(path), "/containers/%s/archive?path=%s/%s",
	         c->host->container_id(c->s), EXIT_REPORT_DIR, c->token);
	/* Root in the box can put any file at the report's name: a report is
	 * a line in a one-file archive, and nothing bigger is read. */
	c->call = docker_request_max(c->ctx->docker, "GET", path, NULL, EXIT_REPORT_MAX, 10000,
	                             chan_on_exit_report, c);
	return c->call != 0;
}

static void query_exit(struct mchan *c);

static void on_exit_poll(struct loop *l, void *arg)
{
	struct mchan *c = arg;

	c->timer = 0;
	query_exit(c);
}

void chan_on_exec_inspected(void *arg, const struct docker_reply *r)
{
	struct mchan *c = arg;
	bool running = false;
	int64_t code = 0;
	int e = r->error == NULL ? docker_json_exec(r->json, &running, &code, NULL) : -1;

	c->call = 0;
	if (c->state != CH_QUERYING_EXIT) {
		refuse(c, CH_FETCHING_REPORT, __func__);
		return;
	}
	/* The stream ends a moment before Docker records the exit: ask again
	 * briefly while it still says Running. */
	if (e == 0 && running && ++c->polls < EXIT_POLLS) {
		c->timer = loop_add_timer(c->ctx->loop, EXIT_POLL_MS, on_exit_poll, c);
		return;
	}
	if (e == 0 && !running)
		c->exit_status = (int)(code & 0xff);
	else if (r->error != NULL)
		warn("session %.8s: exit code of channel %u: %s", c->host->id(c->s), c->id,
		     r->error);
	if (!fetch_exit_report(c))
		chan_closed(c);
}

static void query_exit(struct mchan *c)
{
	char path[128];

	if (!enter(c, CH_QUERYING_EXIT, __func__))
		return;
	snprintf(path, sizeof(path), "/exec/%s/json", c->exec_id);
	c->call =
	    docker_request(c->ctx->docker, "GET", path, NULL, 10000, chan_on_exec_inspected, c);
	if (c->call == 0)
		chan_closed(c);
}

void chan_done(struct mchan *c, const struct ipc_channel_done *m)
{
	/* Byte counts are the worker's word: bounded only by plausibility. */
	c->bytes_in += m->bytes_in;
	c->bytes_out += m->bytes_out;
	if (c->via_agent) {
		/* The agent's word, through the worker: both are the attacker's
		 * side, and it only says what their own client is told. */
		if (m->exit_kind == IPC_EXIT_CODE) {
			c->exit_status = (int)(m->exit_value & 0xff);
		} else if (m->exit_kind == IPC_EXIT_SIGNAL && m->exit_value >= 1 &&
		           m->exit_value <= EXIT_SIGNAL_MAX) {
			c->exit_signal = (int)m->exit_value;
			c->core_dumped = m->core != 0;
		}
		chan_closed(c);
		return;
	}
	switch (c->state) {
	case CH_WAITING_BOX:
	case CH_WAITING_AGENT:
		chan_closed(c); /* nothing ran */
		break;
	case CH_STREAMING:
		if (c->host->finishing(c->s))
			chan_closed(c);
		else
			query_exit(c);
		break;
	default:
		break; /* a Docker call on its way: its answer decides */
	}
}
