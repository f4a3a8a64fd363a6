/*
 * worker: one SSH connection in its own process; see worker.h.
 *
 * Flow: non-blocking key exchange under the login grace alarm, then
 * authentication callbacks that ask the monitor, then channels. A shell or
 * exec request is answered at once (as sshd does) and the monitor is asked
 * for a container stream; bytes the client types meanwhile are queued. When
 * the stream ends the monitor is asked for the exit code, which goes to the
 * client before the channel closes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/ssh2.h>

#include "agent_link.h"
#include "disconnect_code.h"
#include "digest.h"
#include "events.h"
#include "exit_signal.h"
#include "forward_capture.h"
#include "ipc.h"
#include "kex_tap.h"
#include "line_input.h"
#include "log.h"
#include "pump.h"
#include "recorder.h"
#include "sftp_watch.h"
#include "worker.h"
#include "worker_sandbox.h"

#define MAX_CHANNELS 10
#define PENDING_MAX  (64 * 1024)

enum chstate {
	CH_FREE = 0,
	CH_OPEN,    /* opened, no shell/exec asked yet */
	CH_WAITING, /* asked the monitor for a stream */
	CH_RUNNING, /* pumping */
	CH_EXITING, /* stream ended, waiting for the exit code */
	CH_CLOSING, /* close sent or received; freed once libssh agrees */
};

struct worker;

#define MAX_FORWARDS    8
#define ENV_LOGGED      32   /* session.env events per channel */
#define ENV_LOGGED_TEXT 1024 /* bytes of a name or value logged */
#define FORWARD_WAIT_MS 10000

/* A direct-tcpip channel: accepted so the client says what it came to say,
 * connected to nothing, closed after FORWARD_WAIT_MS or FORWARD_CAPTURE
 * bytes or the client's EOF, as if the far end had hung up. */
struct wfwd {
	bool used, done;
	uint32_t id;
	ssh_channel chan;
	struct ssh_channel_callbacks_struct cb;
	struct worker *w;
	char dst[FORWARD_HOST_MAX + 1];
	int dst_port;
	struct forward_capture cap;
	int64_t deadline;
};

struct wchan {
	enum chstate state;
	uint32_t id;
	ssh_channel chan;
	struct ssh_channel_callbacks_struct cb;
	struct worker *w;
	bool pty;
	char term[64];
	int width, height;
	char *command;            /* exec command or subsystem name; NULL for a shell */
	uint32_t kind;            /* enum ipc_channel_kind */
	struct buf env;           /* accepted env requests, NUL-separated NAME=VALUE */
	unsigned env_logged;      /* session.env events sent */
	struct sftp_watch *sftp;  /* an sftp subsystem's file operations */
	struct line_input *lines; /* a shell's command lines */
	bool client_eof;
	bool via_agent; /* runs through the session agent: the exit comes in-band */
	struct pump pump;
	bool pump_on;
};

struct worker {
	const struct worker_args *a;
	ssh_session session;
	ssh_event event;
	int ipc;
	struct ssh_server_callbacks_struct scb;
	struct ssh_callbacks_struct cb;
	uint64_t rec_budget; /* bytes the session's recordings may still take */
	bool authenticated;
	char *username;
	char *kbdint_user; /* the keyboard-interactive request's; its answer has none */
	struct wchan ch[MAX_CHANNELS];
	struct agent_link *agent; /* the box's session agent, once the monitor passed it */
	struct wfwd fwd[MAX_FORWARDS];
	uint32_t next_chan;
	int64_t start_ms, activity_ms;
	struct buf store;
	const char *end_reason;
	bool monitor_gone;
	char container_id[80];
	struct kex_tap tap;
	bool tap_reading, tap_writing; /* its fds in the event */
};

/* The login grace alarm ends the process from a signal handler; the message
 * telling the monitor why is encoded beforehand, since a handler may only
 * call async-signal-safe functions such as send(2). */
static int grace_ipc = -1;
static uint8_t grace_msg[64];
static size_t grace_len;

static void on_grace_alarm(int sig)
{
	(void)sig;
	if (grace_ipc >= 0)
		(void)send(grace_ipc, grace_msg, grace_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	_exit(0);
}

static void arm_login_grace(struct worker *w)
{
	struct buf b;
	struct sigaction sa = {0};

	buf_init(&b);
	if (buf_put_u32(&b, IPC_SESSION_END) == 0 && buf_put_cstr(&b, "login_timeout") == 0 &&
	    b.len <= sizeof(grace_msg)) {
		memcpy(grace_msg, b.data, b.len);
		grace_len = b.len;
		grace_ipc = w->ipc;
	}
	buf_free(&b);
	sa.sa_handler = on_grace_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)w->a->init->login_grace_time);
}

static struct ipc_str str_of(const char *s)
{
	return (struct ipc_str){(const uint8_t *)(s ? s : ""), s ? strlen(s) : 0};
}

static void send_msg(struct worker *w, const struct ipc_msg *m)
{
	int r = ipc_send(w->ipc, m);
	if (r < 0 && !w->monitor_gone) {
		error("to monitor: %s: %s", ipc_type_name(m->type), strerror(-r));
		if (r == -EPIPE || r == -ECONNRESET)
			w->monitor_gone = true;
	}
}

/* Reports an event; fields is stolen. */
static void send_event(struct worker *w, const char *type, json_t *fields)
{
	char *text = json_dumps(fields, JSON_COMPACT);
	struct ipc_msg m = {.type = IPC_EVENT};

	json_decref(fields);
	if (text == NULL)
		return;
	m.event.type = str_of(type);
	m.event.fields = str_of(text);
	send_msg(w, &m);
	free(text);
}

static void handle_ipc(struct worker *w, struct ipc_msg *m);

/* Blocks until a message of the wanted type arrives, dispatching others.
 * Returns 0, or -1 when the monitor is gone. */
static int wait_reply(struct worker *w, uint32_t type, struct ipc_msg *out)
{
	for (;;) {
		int r = ipc_recv(w->ipc, out, &w->store);
		if (r == -EINTR)
			continue;
		if (r <= 0) {
			w->monitor_gone = true;
			return -1;
		}
		if (out->type == type)
			return 0;
		handle_ipc(w, out);
	}
}

/* The login grace alarm stops here. */
static void logged_in(struct worker *w, const char *user)
{
	w->authenticated = true;
	free(w->username);
	w->username = strdup(user ? user : "");
	alarm(0);
	grace_ipc = -1;
}

/* The monitor's MaxAuthTries was reached: as sshd, a disconnect that says
 * so; the main loop ends with the connection. */
static void too_many_failures(struct worker *w, const struct ipc_msg *reply)
{
	if (reply->auth_reply.disconnect != 1)
		return;
	disconnect_send(w->session, SSH2_DISCONNECT_PROTOCOL_ERROR,
	                "Too many authentication failures");
}

static void sleep_us(uint64_t us)
{
	struct timespec t = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* A refusal answered as late as the imitated sshd answers it (the monitor
 * says how late, docs/stealth.md): PAM's delay for a password, then the
 * user's floor doubled until it covers the time since the request began.
 * The connection waits, as sshd's does. */
static void wait_as_sshd(const struct ipc_msg *reply, uint64_t began_us)
{
	uint32_t pam_ms = reply->auth_reply.pam_ms;
	uint64_t floor = reply->auth_reply.floor_us;

	if (pam_ms > 10000)
		pam_ms = 10000;
	if (floor > 10000000)
		floor = 10000000;
	if (pam_ms > 0)
		sleep_us((uint64_t)pam_ms * 1000u);
	if (floor == 0)
		return;
	uint64_t spent = (uint64_t)util_mono_us() - began_us;
	while (floor < spent)
		floor *= 2;
	sleep_us(floor - spent);
}

/* Asks the monitor; true when the login is accepted. */
static bool ask_password(struct worker *w, uint32_t method, const char *user, const char *password)
{
	struct ipc_msg m = {.type = IPC_AUTH_PASSWORD, .auth_password = {.method = method}};
	uint64_t began = (uint64_t)util_mono_us();

	m.auth_password.user = str_of(user);
	m.auth_password.password = str_of(password);
	send_msg(w, &m);
	if (wait_reply(w, IPC_AUTH_REPLY, &m) < 0)
		return false;
	if (m.auth_reply.accepted != 1) {
		wait_as_sshd(&m, began);
		too_many_failures(w, &m);
		return false;
	}
	logged_in(w, user);
	return true;
}

static int on_auth_password(ssh_session s, const char *user, const char *password, void *ud)
{
	return ask_password(ud, IPC_AUTH_METHOD_PASSWORD, user, password) ? SSH_AUTH_SUCCESS
	                                                                  : SSH_AUTH_DENIED;
}

/* "none": the monitor counts it and says how late the refusal comes. */
static int on_auth_none(ssh_session s, const char *user, void *ud)
{
	ask_password(ud, IPC_AUTH_METHOD_NONE, user, "");
	return SSH_AUTH_DENIED;
}

static int on_auth_pubkey(ssh_session s, const char *user, struct ssh_key_struct *pubkey,
                          char signature_state, void *ud)
{
	struct worker *w = ud;
	struct ipc_msg m = {.type = IPC_AUTH_PUBKEY};
	uint64_t began = (uint64_t)util_mono_us();
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;

	/* OpenSSH probes first (no signature), others (paramiko) sign straight
	 * away; the monitor decides both. A bad signature is refused here. */
	if (signature_state != SSH_PUBLICKEY_STATE_NONE &&
	    signature_state != SSH_PUBLICKEY_STATE_VALID)
		return SSH_AUTH_DENIED;
	m.auth_pubkey.is_signed = signature_state == SSH_PUBLICKEY_STATE_VALID;
	if (ssh_get_publickey_hash(pubkey, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
		ssh_clean_pubkey_hash(&hash);
	}
	m.auth_pubkey.user = str_of(user);
	m.auth_pubkey.key_type = str_of(ssh_key_type_to_char(ssh_key_type(pubkey)));
	m.auth_pubkey.fingerprint = str_of(fp);
	send_msg(w, &m);
	ssh_string_free_char(fp);
	bool signed_ = m.auth_pubkey.is_signed == 1;
	if (wait_reply(w, IPC_AUTH_REPLY, &m) < 0)
		return SSH_AUTH_DENIED;
	if (m.auth_reply.accepted != 1) {
		wait_as_sshd(&m, began);
		too_many_failures(w, &m);
		return SSH_AUTH_DENIED;
	}
	if (!signed_)
		return SSH_AUTH_SUCCESS; /* "PK_OK": the client signs next */
	logged_in(w, user);
	return SSH_AUTH_SUCCESS;
}

static struct wchan *chan_by_id(struct worker *w, uint32_t id)
{
	for (size_t i = 0; i < MAX_CHANNELS; i++)
		if (w->ch[i].state != CH_FREE && w->ch[i].id == id)
			return &w->ch[i];
	return NULL;
}

static int on_chan_data(ssh_session s, ssh_channel chan, void *data, uint32_t len, int is_stderr,
                        void *ud)
{
	struct wchan *c = ud;

	c->w->activity_ms = util_mono_ms();
	if (c->state == CH_RUNNING)
		return (int)pump_client_data(&c->pump, data, len);
	if (c->state == CH_OPEN || c->state == CH_WAITING)
		return 0; /* libssh keeps it until the stream is there */
	return (int)len;  /* the stream is gone: drop */
}

static void on_chan_eof(ssh_session s, ssh_channel chan, void *ud)
{
	struct wchan *c = ud;

	c->client_eof = true;
	if (c->state == CH_RUNNING)
		pump_client_eof(&c->pump);
}

static void channel_done(struct worker *w, struct wchan *c)
{
	struct ipc_msg m = {.type = IPC_CHANNEL_DONE, .channel_done = {.channel = c->id}};

	if (c->pump_on) {
		line_input_finish(c->lines); /* while the recording's clock still runs */
		if (recorder_was_cut(c->pump.rec)) {
			json_t *f =
			    json_pack("{s:i, s:I}", "channel", (int)c->id, "max_session_size",
			              (json_int_t)w->a->init->rec_max_session_size);
			send_event(w, "recording.truncated", f);
		}
		m.channel_done.bytes_in = c->pump.bytes_in;
		m.channel_done.bytes_out = c->pump.bytes_out;
		if (c->pump.exited) {
			m.channel_done.exit_kind = c->pump.exit_kind == AGENT_EXIT_SIGNAL
			                               ? IPC_EXIT_SIGNAL
			                               : IPC_EXIT_CODE;
			m.channel_done.exit_value = c->pump.exit_value;
			m.channel_done.core = c->pump.exit_core;
		}
		pump_close(&c->pump);
		c->pump_on = false;
	}
	/* Whatever is still open is reported before the channel's end. */
	c->pump.tap = NULL;
	sftp_watch_free(c->sftp);
	c->sftp = NULL;
	line_input_free(c->lines);
	c->lines = NULL;
	send_msg(w, &m);
}

static void on_chan_close(ssh_session s, ssh_channel chan, void *ud)
{
	struct wchan *c = ud;

	if (c->state == CH_RUNNING)
		channel_done(c->w, c);
	c->state = CH_CLOSING;
}

static void send_open(struct wchan *c)
{
	struct ipc_msg m = {.type = IPC_CHANNEL_OPEN,
	                    .channel_open = {.channel = c->id,
	                                     .tty = c->pty,
	                                     .width = (uint32_t)c->width,
	                                     .height = (uint32_t)c->height,
	                                     .kind = c->kind}};

	m.channel_open.term = str_of(c->pty ? c->term : "");
	m.channel_open.command = str_of(c->command);
	m.channel_open.env = (struct ipc_str){buf_peek(&c->env), buf_avail(&c->env)};
	send_msg(c->w, &m);
	c->state = CH_WAITING;
}

static int on_pty_request(ssh_session s, ssh_channel chan, const char *term, int width, int height,
                          int pxw, int pxh, void *ud)
{
	struct wchan *c = ud;

	if (c->state != CH_OPEN || c->pty)
		return SSH_ERROR;
	c->pty = true;
	snprintf(c->term, sizeof(c->term), "%s", term ? term : "");
	c->width = width > 0 && width < 10000 ? width : 80;
	c->height = height > 0 && height < 10000 ? height : 24;
	json_t *f = json_pack("{s:I}", "channel", (json_int_t)c->id);
	event_set_bytes(f, "term", c->term, strlen(c->term));
	json_object_set_new(f, "width", json_integer(c->width));
	json_object_set_new(f, "height", json_integer(c->height));
	send_event(c->w, "session.pty", f);
	return SSH_OK;
}

/* A shell, exec or subsystem request: answered at once (as sshd does), then
 * the monitor is asked for the stream. One per channel. */
static int start_channel(struct wchan *c, uint32_t kind, const char *command)
{
	if (c->state != CH_OPEN) {
		debug("channel %u: refusing a second shell/exec/subsystem (state %d)", c->id,
		      (int)c->state);
		return SSH_ERROR;
	}
	if (command != NULL && (c->command = strdup(command)) == NULL)
		return SSH_ERROR;
	c->kind = kind;
	send_open(c);
	return SSH_OK;
}

static int on_shell_request(ssh_session s, ssh_channel chan, void *ud)
{
	return start_channel(ud, IPC_KIND_SHELL, NULL);
}

static int on_exec_request(ssh_session s, ssh_channel chan, const char *command, void *ud)
{
	return command == NULL ? SSH_ERROR : start_channel(ud, IPC_KIND_EXEC, command);
}

/* Only sftp, as Ubuntu's sshd_config offers; the monitor chooses what runs. */
static int on_subsystem_request(ssh_session s, ssh_channel chan, const char *subsystem, void *ud)
{
	if (subsystem == NULL || strcmp(subsystem, "sftp") != 0)
		return SSH_ERROR;
	return start_channel(ud, IPC_KIND_SUBSYSTEM, subsystem);
}

static int on_window_change(ssh_session s, ssh_channel chan, int width, int height, int pxw,
                            int pxh, void *ud)
{
	struct wchan *c = ud;

	if (width <= 0 || height <= 0 || width >= 10000 || height >= 10000)
		return SSH_ERROR;
	c->width = width;
	c->height = height;
	if (c->state == CH_RUNNING && c->pump.rec != NULL)
		recorder_resize(c->pump.rec, width, height);
	if (c->state == CH_RUNNING && c->pump.link != NULL) {
		struct agent_msg am = {.type = AGENT_RESIZE, .channel = c->pump.link_id};
		am.u.resize.cols = (uint32_t)width;
		am.u.resize.rows = (uint32_t)height;
		agent_link_send(c->pump.link, &am);
	}
	struct ipc_msg m = {
	    .type = IPC_RESIZE,
	    .resize = {.channel = c->id, .width = (uint32_t)width, .height = (uint32_t)height}};
	send_msg(c->w, &m);
	return SSH_OK;
}

/* Env requests are logged, the first ENV_LOGGED of a channel, each cut to
 * ENV_LOGGED_TEXT bytes (a client may send thousands, each refused); LANG,
 * LC_* and TERM are accepted and passed on, as Ubuntu's AcceptEnv (plus
 * TERM) would; the monitor filters again. */
static int on_env_request(ssh_session s, ssh_channel chan, const char *name, const char *value,
                          void *ud)
{
	struct wchan *c = ud;

	if (c->env_logged < ENV_LOGGED) {
		json_t *f = json_pack("{s:I}", "channel", (json_int_t)c->id);
		size_t nl = strlen(name), vl = strlen(value);
		event_set_bytes(f, "name", name, nl < ENV_LOGGED_TEXT ? nl : ENV_LOGGED_TEXT);
		event_set_bytes(f, "value", value, vl < ENV_LOGGED_TEXT ? vl : ENV_LOGGED_TEXT);
		if (nl > ENV_LOGGED_TEXT || vl > ENV_LOGGED_TEXT)
			json_object_set_new(f, "truncated", json_true());
		send_event(c->w, "session.env", f);
		c->env_logged++;
	}
	bool accept =
	    strcmp(name, "LANG") == 0 || strncmp(name, "LC_", 3) == 0 || strcmp(name, "TERM") == 0;
	if (!accept || c->state != CH_OPEN ||
	    buf_avail(&c->env) + strlen(name) + strlen(value) > 4096)
		return SSH_ERROR;
	buf_putf(&c->env, "%s=%s", name, value);
	buf_put_u8(&c->env, 0);
	return SSH_OK;
}

static int on_fwd_data(ssh_session s, ssh_channel chan, void *data, uint32_t len, int is_stderr,
                       void *ud)
{
	struct wfwd *f = ud;

	if (forward_capture_take(&f->cap, data, len))
		f->done = true;
	return (int)len;
}

static void on_fwd_eof(ssh_session s, ssh_channel chan, void *ud)
{
	struct wfwd *f = ud;

	f->done = true;
}

/* Reports what the client sent through a forward and closes it. */
static void finish_forward(struct worker *w, struct wfwd *f)
{
	send_event(w, "forward.data", forward_data_event(&f->cap, f->id, f->dst, f->dst_port));
	forward_capture_free(&f->cap);
	if (!ssh_channel_is_closed(f->chan)) {
		ssh_channel_send_eof(f->chan);
		ssh_channel_close(f->chan);
	}
	f->done = true;
	f->deadline = 0; /* reported */
}

static void service_forwards(struct worker *w)
{
	int64_t now = util_mono_ms();

	for (size_t i = 0; i < MAX_FORWARDS; i++) {
		struct wfwd *f = &w->fwd[i];
		if (!f->used)
			continue;
		if (f->deadline != 0 && (f->done || now >= f->deadline))
			finish_forward(w, f);
		if (f->deadline == 0 && ssh_channel_is_closed(f->chan)) {
			ssh_remove_channel_callbacks(f->chan, &f->cb); /* see service_channels() */
			ssh_channel_free(f->chan);
			memset(f, 0, sizeof(*f));
		}
	}
}

/* What libssh 0.10 has no callbacks for: keyboard-interactive logins and
 * forwarding requests. Returning 0 means we answered. */
static int on_message(ssh_session s, ssh_message msg, void *ud)
{
	struct worker *w = ud;
	int type = ssh_message_type(msg), sub = ssh_message_subtype(msg);

	if (type == SSH_REQUEST_AUTH && sub == SSH_AUTH_METHOD_INTERACTIVE &&
	    w->a->init->keyboard_interactive) {
		if (!ssh_message_auth_kbdint_is_response(msg)) {
			const char *user = ssh_message_auth_user(msg);
			free(w->kbdint_user);
			w->kbdint_user = strdup(user ? user : "");
			/* PAM's single prompt, as sshd shows it. (libssh's
			 * prototype wants non-const arrays.) */
			const char *prompts[] = {"Password: "};
			char echo[] = {0};
			ssh_message_auth_interactive_request(msg, "", "", 1, prompts, echo);
			return 0;
		}
		const char *answer = ssh_userauth_kbdint_getnanswers(s) >= 1
		                         ? ssh_userauth_kbdint_getanswer(s, 0)
		                         : "";
		if (ask_password(w, IPC_AUTH_METHOD_KBDINT, w->kbdint_user, answer ? answer : ""))
			ssh_message_auth_reply_success(msg, 0);
		else
			ssh_message_reply_default(msg);
		return 0;
	}
	if (w->authenticated && type == SSH_REQUEST_CHANNEL_OPEN &&
	    sub == SSH_CHANNEL_DIRECT_TCPIP) {
		const char *dst = ssh_message_channel_request_open_destination(msg);
		const char *orig = ssh_message_channel_request_open_originator(msg);
		int dport = ssh_message_channel_request_open_destination_port(msg);
		struct wfwd *f = NULL;
		for (size_t i = 0; i < MAX_FORWARDS && f == NULL; i++)
			if (!w->fwd[i].used)
				f = &w->fwd[i];
		send_event(
		    w, "forward.request",
		    forward_open_event(w->next_chan, f != NULL, dst, dport, orig,
		                       ssh_message_channel_request_open_originator_port(msg)));
		if (f == NULL) {
			ssh_message_reply_default(msg); /* too many at once: refused */
			return 0;
		}
		memset(f, 0, sizeof(*f));
		f->chan = ssh_message_channel_request_open_reply_accept(msg);
		if (f->chan == NULL)
			return 0;
		f->used = true;
		f->w = w;
		f->id = w->next_chan++;
		snprintf(f->dst, sizeof(f->dst), "%s", dst ? dst : "");
		f->dst_port = dport;
		f->deadline = util_mono_ms() + FORWARD_WAIT_MS;
		forward_capture_init(&f->cap);
		f->cb.userdata = f;
		f->cb.channel_data_function = on_fwd_data;
		f->cb.channel_eof_function = on_fwd_eof;
		f->cb.channel_close_function = on_fwd_eof;
		ssh_callbacks_init(&f->cb);
		ssh_set_channel_callbacks(f->chan, &f->cb);
		return 0;
	}
	/* X11: refused, as sshd does without xauth in the image. */
	if (w->authenticated && type == SSH_REQUEST_CHANNEL && sub == SSH_CHANNEL_REQUEST_X11) {
		send_event(w, "forward.request", json_pack("{s:s}", "kind", "x11"));
		ssh_message_reply_default(msg);
		return 0;
	}
	/* Everything else gets libssh's refusal. */
	return 1;
}

/* Global requests (libssh hands them all here once this exists): a remote
 * forward is logged and refused, as sshd refuses what it will not serve;
 * keepalive@openssh.com gets REQUEST_FAILURE, as from sshd (libssh alone
 * would say success: a tell). */
static void on_global_request(ssh_session s, ssh_message msg, void *ud)
{
	struct worker *w = ud;
	int sub = ssh_message_subtype(msg);
	bool forward = sub == SSH_GLOBAL_REQUEST_TCPIP_FORWARD ||
	               sub == SSH_GLOBAL_REQUEST_CANCEL_TCPIP_FORWARD;

	if (w->authenticated && forward)
		send_event(w, "forward.request",
		           forward_listen_event(sub == SSH_GLOBAL_REQUEST_CANCEL_TCPIP_FORWARD,
		                                ssh_message_global_request_address(msg),
		                                ssh_message_global_request_port(msg)));
	ssh_message_reply_default(msg);
	/* libssh 0.10 frees only the message itself after this callback, not
	 * the forward's address it parsed into it (ASan's leak check caught
	 * it): freed here, and only for that version, whose code is known. */
	if (forward && ssh_version(SSH_VERSION_INT(0, 11, 0)) == NULL)
		free((char *)ssh_message_global_request_address(msg));
}

/* sshd serves ssh-userauth and nothing else before the login; anything
 * else ends the connection with its words and reason 2. */
static int on_service_request(ssh_session s, const char *service, void *ud)
{
	char text[160];

	if (strcmp(service, "ssh-userauth") == 0)
		return 0;
	snprintf(text, sizeof(text), "bad service request %.100s", service);
	/* Closed here: libssh's own disconnect that follows finds nothing to
	 * send on. */
	disconnect_send(s, SSH2_DISCONNECT_PROTOCOL_ERROR, text);
	return -1;
}

/* Agent forwarding: OpenSSH (AllowAgentForwarding yes) says yes, and so does
 * libssh once this callback exists; nothing ever opens an agent channel. */
static void on_agent_request(ssh_session s, ssh_channel chan, void *ud)
{
	struct wchan *c = ud;

	send_event(c->w, "forward.request",
	           json_pack("{s:s, s:I}", "kind", "auth-agent", "channel", (json_int_t)c->id));
}

static void on_signal(ssh_session s, ssh_channel chan, const char *signal, void *ud);

static ssh_channel on_channel_open(ssh_session s, void *ud)
{
	struct worker *w = ud;
	struct wchan *c = NULL;

	if (!w->authenticated)
		return NULL;
	for (size_t i = 0; i < MAX_CHANNELS; i++)
		if (w->ch[i].state == CH_FREE) {
			c = &w->ch[i];
			break;
		}
	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->chan = ssh_channel_new(s);
	if (c->chan == NULL)
		return NULL;
	c->w = w;
	c->id = w->next_chan++;
	c->state = CH_OPEN;
	buf_init(&c->env);
	c->cb.userdata = c;
	c->cb.channel_data_function = on_chan_data;
	c->cb.channel_eof_function = on_chan_eof;
	c->cb.channel_close_function = on_chan_close;
	c->cb.channel_pty_request_function = on_pty_request;
	c->cb.channel_shell_request_function = on_shell_request;
	c->cb.channel_exec_request_function = on_exec_request;
	c->cb.channel_subsystem_request_function = on_subsystem_request;
	c->cb.channel_env_request_function = on_env_request;
	c->cb.channel_auth_agent_req_function = on_agent_request;
	c->cb.channel_pty_window_change_function = on_window_change;
	c->cb.channel_signal_function = on_signal;
	ssh_callbacks_init(&c->cb);
	ssh_set_channel_callbacks(c->chan, &c->cb);
	return c->chan;
}

/* How the channel's process ended, as sshd reports it: exit-status, or
 * exit-signal (name, core flag, empty message and language); nothing when
 * it is not known. */
static void send_exit(struct wchan *c, uint32_t kind, uint32_t value, bool core)
{
	if (kind == IPC_EXIT_CODE)
		ssh_channel_request_send_exit_status(c->chan, (int)(value & 0xff));
	else if (kind == IPC_EXIT_SIGNAL && value >= 1 && value <= EXIT_SIGNAL_MAX)
		ssh_channel_request_send_exit_signal(c->chan, exit_signal_name((int)value), core,
		                                     "", "");
}

static void close_channel(struct wchan *c, int exit_status)
{
	if (exit_status >= 0)
		send_exit(c, IPC_EXIT_CODE, (uint32_t)exit_status, false);
	ssh_channel_send_eof(c->chan);
	ssh_channel_close(c->chan);
	c->state = CH_CLOSING;
}

static const char *const sftp_op_names[] = {
    [SFTP_OP_UPLOAD] = "upload",   [SFTP_OP_DOWNLOAD] = "download", [SFTP_OP_REMOVE] = "remove",
    [SFTP_OP_RENAME] = "rename",   [SFTP_OP_MKDIR] = "mkdir",       [SFTP_OP_RMDIR] = "rmdir",
    [SFTP_OP_SYMLINK] = "symlink", [SFTP_OP_SETSTAT] = "setstat",
};

/* A file moved through SFTP: file.transfer; anything else it did to files:
 * file.operation. */
static void on_sftp_event(void *arg, const struct sftp_event *e)
{
	struct wchan *c = arg;
	bool transfer = e->op == SFTP_OP_UPLOAD || e->op == SFTP_OP_DOWNLOAD;
	json_t *f = json_pack("{s:I, s:s}", "channel", (json_int_t)c->id, "protocol", "sftp");

	if (transfer)
		json_object_set_new(f, "direction", json_string(sftp_op_names[e->op]));
	else
		json_object_set_new(f, "op", json_string(sftp_op_names[e->op]));
	event_set_bytes(f, "path", e->path, e->path_len);
	if (e->path2 != NULL)
		event_set_bytes(f, "path2", e->path2, e->path2_len);
	if (transfer) {
		json_object_set_new(f, "bytes", json_integer((json_int_t)e->bytes));
		json_object_set_new(f, "pflags", json_integer(e->pflags));
	}
	json_object_set_new(f, "status", e->status >= 0 ? json_integer(e->status) : json_null());
	if (e->ext != NULL)
		json_object_set_new(f, "extension", json_string(e->ext));
	send_event(c->w, transfer ? "file.transfer" : "file.operation", f);
}

static void sftp_tap(void *arg, bool from_client, const uint8_t *data, size_t len)
{
	struct wchan *c = arg;

	if (c->sftp == NULL)
		return; /* freed while a deferred pump_close() was pending */
	if (from_client)
		sftp_watch_client(c->sftp, data, len);
	else
		sftp_watch_server(c->sftp, data, len);
}

/* A line a shell received: command.input, with where it is in the recording. */
static void on_line(void *arg, const char *text, size_t len, unsigned flags)
{
	struct wchan *c = arg;
	json_t *f = json_pack("{s:I, s:b, s:s}", "channel", (json_int_t)c->id, "tty", c->pty,
	                      "source", "interactive");
	double at = recorder_elapsed(c->pump.rec);

	event_set_bytes(f, "command", text, len);
	if (at >= 0)
		json_object_set_new(f, "at", json_real((double)(int64_t)(at * 1e6 + 0.5) / 1e6));
	if (flags & LINE_RECALLED)
		json_object_set_new(f, "recalled", json_true());
	if (flags & LINE_UNRESOLVED)
		json_object_set_new(f, "unresolved", json_true());
	if (flags & LINE_COMPLETION)
		json_object_set_new(f, "completion", json_true());
	if (flags & LINE_TRUNCATED)
		json_object_set_new(f, "truncated", json_true());
	send_event(c->w, "command.input", f);
}

static void line_tap(void *arg, bool from_client, const uint8_t *data, size_t len)
{
	struct wchan *c = arg;

	if (from_client)
		line_input_feed(c->lines, data, len);
}

/* A signal request: only the agent can deliver one (Docker has no API for
 * it); sshd answers none of them either. */
static void on_signal(ssh_session s, ssh_channel chan, const char *signal, void *ud)
{
	struct wchan *c = ud;

	if (c->state != CH_RUNNING || c->pump.link == NULL || signal == NULL || strlen(signal) > 32)
		return;
	struct agent_msg m = {.type = AGENT_SIGNAL, .channel = c->pump.link_id};
	m.u.text = (struct agent_bytes){(const uint8_t *)signal, (uint32_t)strlen(signal)};
	agent_link_send(c->pump.link, &m);
}

/* A channel through the session agent: OPEN says what to run. */
static void start_agent_channel(struct worker *w, struct wchan *c, struct recorder *rec)
{
	struct agent_open o = {
	    .kind = c->kind == IPC_KIND_EXEC        ? AGENT_KIND_EXEC
	            : c->kind == IPC_KIND_SUBSYSTEM ? AGENT_KIND_SUBSYSTEM
	                                            : AGENT_KIND_SHELL,
	    .pty = c->pty,
	    .cols = (uint32_t)c->width,
	    .rows = (uint32_t)c->height,
	    .term = {(const uint8_t *)c->term, c->pty ? (uint32_t)strlen(c->term) : 0},
	    .command = {(const uint8_t *)(c->command ? c->command : ""),
	                c->command ? (uint32_t)strlen(c->command) : 0},
	    .env = {buf_peek(&c->env), (uint32_t)buf_avail(&c->env)},
	};
	c->via_agent = true;
	/* Agent channel numbers start at 1; ours at 0. */
	if (pump_init_agent(&c->pump, c->chan, w->event, w->agent, c->id + 1, &o, c->pty, rec,
	                    &w->activity_ms) < 0)
		warn("channel %u: the session agent cannot take it", c->id);
}

static void on_channel_ready(struct worker *w, struct ipc_msg *m)
{
	const struct ipc_channel_ready *r = &m->channel_ready;
	struct wchan *c = chan_by_id(w, r->channel);
	bool agent = r->agent != 0, new_agent = agent && r->agent_first != 0;
	size_t lead = agent ? (new_agent ? 1u : 0u) : 1u; /* stream or agent fd */
	size_t need = r->ok ? lead + (r->recording ? 1u : 0u) : 0u;

	if (r->ok && m->nfds == need && new_agent) {
		/* The connection comes with the first channel that uses it,
		 * whether or not that channel is still there. */
		if (w->agent != NULL) {
			warn("a second session agent connection from the monitor");
			close(m->fds[0]);
		} else if ((w->agent = agent_link_new(m->fds[0], w->event)) == NULL) {
			warn("out of memory for the session agent");
		}
		m->fds[0] = -1;
	}

	if (c == NULL || c->state != CH_WAITING || m->nfds != need) {
		/* The client closed the channel meanwhile: let the stream go. */
		for (size_t i = 0; i < m->nfds; i++)
			if (m->fds[i] >= 0)
				close(m->fds[i]);
		if (c != NULL && c->state == CH_WAITING)
			close_channel(c, 1);
		return;
	}
	if (!r->ok) {
		debug("no stream for channel %u", c->id);
		close_channel(c, 1);
		return;
	}
	if (r->container.n < sizeof(w->container_id)) {
		memcpy(w->container_id, r->container.p, r->container.n);
		w->container_id[r->container.n] = '\0';
	}
	struct recorder *rec = NULL;
	if (r->recording) {
		struct recorder_header h = {
		    .width = c->pty ? c->width : 80,
		    .height = c->pty ? c->height : 24,
		    .timestamp = util_wall(),
		    .term = c->pty ? c->term : NULL,
		    .shell = "/bin/bash",
		    .session_id = w->a->init->session_id,
		    .src_ip = w->a->init->src_ip,
		    .src_port = w->a->init->src_port,
		    .username = w->username,
		    .container_id = w->container_id,
		    .command = c->command,
		};
		rec = recorder_new(m->fds[lead], &h);
		recorder_set_budget(rec, &w->rec_budget);
	}
	if (agent && w->agent == NULL) {
		recorder_free(rec);
		close_channel(c, 1);
		return;
	}
	if (agent)
		start_agent_channel(w, c, rec);
	else
		pump_init(&c->pump, c->chan, w->event, m->fds[0], c->pty, rec, &w->activity_ms);
	c->pump_on = true;
	c->state = CH_RUNNING;
	if (c->kind == IPC_KIND_SUBSYSTEM && (c->sftp = sftp_watch_new(on_sftp_event, c)) != NULL) {
		c->pump.tap = sftp_tap;
		c->pump.tap_arg = c;
	}
	if (c->kind == IPC_KIND_SHELL && (c->lines = line_input_new(c->pty, on_line, c)) != NULL) {
		c->pump.tap = line_tap;
		c->pump.tap_arg = c;
	}
	c->pump.held = true; /* whatever came before the stream, libssh has it */
	if (c->client_eof)
		pump_client_eof(&c->pump);
}

static void on_exit_status(struct worker *w, struct ipc_msg *m)
{
	const struct ipc_exit_status *x = &m->exit_status;
	struct wchan *c = chan_by_id(w, x->channel);

	if (c == NULL || c->state != CH_EXITING)
		return;
	send_exit(c, x->kind, x->value, x->core != 0);
	close_channel(c, -1);
}

static void handle_ipc(struct worker *w, struct ipc_msg *m)
{
	switch (m->type) {
	case IPC_CHANNEL_READY:
		on_channel_ready(w, m);
		break;
	case IPC_EXIT_STATUS:
		on_exit_status(w, m);
		break;
	default:
		for (size_t i = 0; i < m->nfds; i++)
			close(m->fds[i]);
		warn("unexpected %s from the monitor", ipc_type_name(m->type));
	}
}

static int on_ipc(socket_t fd, int revents, void *ud)
{
	struct worker *w = ud;
	struct ipc_msg m;

	int r = ipc_recv(w->ipc, &m, &w->store);
	if (r == 1)
		handle_ipc(w, &m);
	else if (r != -EAGAIN && r != -EINTR)
		w->monitor_gone = true;
	return 0;
}

/* After every poll round: flow control, ended streams, freed channels. */
static void service_channels(struct worker *w)
{
	for (size_t i = 0; i < MAX_CHANNELS; i++) {
		struct wchan *c = &w->ch[i];
		if (c->state == CH_RUNNING && pump_service(&c->pump)) {
			/* Through the agent the exit came with the stream's end;
			 * through docker exec the monitor asks Docker for it. */
			bool in_band = c->via_agent;
			bool exited = c->pump.exited;
			uint8_t kind = c->pump.exit_kind, core = c->pump.exit_core;
			uint32_t value = c->pump.exit_value;
			c->state = CH_EXITING;
			channel_done(w, c);
			if (in_band) {
				if (exited)
					send_exit(c,
					          kind == AGENT_EXIT_SIGNAL ? IPC_EXIT_SIGNAL
					                                    : IPC_EXIT_CODE,
					          value, core != 0);
				close_channel(c, -1);
			}
		}
		if (c->state == CH_CLOSING && ssh_channel_is_closed(c->chan)) {
			if (c->pump_on)
				pump_close(&c->pump);
			free(c->command);
			buf_free(&c->env);
			/* libssh may keep a channel past ssh_channel_free() until the
			 * client's CLOSE comes, and would then call our callbacks with
			 * this slot, by then another channel's: detach them first. */
			ssh_remove_channel_callbacks(c->chan, &c->cb);
			ssh_channel_free(c->chan);
			memset(c, 0, sizeof(*c));
		}
	}
}

static void end_session(struct worker *w, const char *reason, const char *message)
{
	struct ipc_msg m = {.type = IPC_SESSION_END};

	for (size_t i = 0; i < MAX_CHANNELS; i++) {
		struct wchan *c = &w->ch[i];
		if (c->state == CH_FREE)
			continue;
		if (message != NULL && c->pty && c->state == CH_RUNNING)
			ssh_channel_write(c->chan, message, (uint32_t)strlen(message));
	}
	m.session_end.reason = str_of(reason);
	send_msg(w, &m);
	w->end_reason = reason;
}

static int64_t deadline_check(struct worker *w)
{
	const struct worker_init *cfg = w->a->init;
	int64_t now = util_mono_ms();
	int64_t idle_end = w->activity_ms + (int64_t)cfg->session_timeout * 1000;
	int64_t max_end = w->start_ms + (int64_t)cfg->max_session_duration * 1000;

	if (!w->authenticated)
		return 1000;
	if (now >= max_end) {
		end_session(w, "max_duration", "\r\nSession time limit reached: logout\r\n");
		return 0;
	}
	if (now >= idle_end) {
		end_session(w, "idle_timeout", "\r\ntimed out waiting for input: auto-logout\r\n");
		return 0;
	}
	int64_t next = idle_end < max_end ? idle_end : max_end;
	return next - now < 1000 ? next - now : 1000;
}

static void setup_session(struct worker *w)
{
	w->scb.userdata = w;
	w->scb.auth_password_function = on_auth_password;
	w->scb.auth_pubkey_function = on_auth_pubkey;
	w->scb.auth_none_function = on_auth_none;
	w->scb.channel_open_request_session_function = on_channel_open;
	w->scb.service_request_function = on_service_request;
	ssh_callbacks_init(&w->scb);
	ssh_set_server_callbacks(w->session, &w->scb);
	w->cb.userdata = w;
	w->cb.global_request_function = on_global_request;
	ssh_callbacks_init(&w->cb);
	ssh_set_callbacks(w->session, &w->cb);
}

static int on_tap_client(socket_t fd, int revents, void *ud)
{
	(void)fd, (void)revents;
	kex_tap_from_client(ud);
	return 0;
}

static int on_tap_libssh(socket_t fd, int revents, void *ud)
{
	(void)fd, (void)revents;
	kex_tap_to_client(ud);
	return 0;
}

/* After each poll round of the key exchange: stop watching what the tap
 * is done with, and step aside as soon as it can. */
static void service_tap(struct worker *w)
{
	struct kex_tap *t = &w->tap;

	if (w->tap_reading && !kex_tap_reading(t)) {
		ssh_event_remove_fd(w->event, t->client);
		w->tap_reading = false;
	}
	kex_tap_to_client(t);
	bool ready = kex_tap_can_splice(t);
	if (w->tap_writing && (t->broken || ready)) {
		ssh_event_remove_fd(w->event, t->mine);
		w->tap_writing = false;
	}
	if (ready) {
		int r = kex_tap_splice(t);
		if (r < 0) {
			error("cannot hand the connection to libssh: %s", strerror(-r));
			_exit(1);
		}
	}
}

/* client.kex: the client's KEXINIT and its HASSH (the MD5 of Cowrie's and
 * Salesforce's "kex;ciphers;macs;compression"), or why it could not be
 * read. */
static void report_client_kex(struct worker *w)
{
	const struct client_hello *h = &w->tap.hello;
	json_t *f = json_object();

	if (h->state == HELLO_FAILED) {
		json_object_set_new(f, "error", json_string(h->why));
		send_event(w, "client.kex", f);
		return;
	}
	struct buf in;
	char hex[DIGEST_HEX_MAX];

	buf_init(&in);
	if (client_hello_hassh_input(h, &in) < 0 ||
	    digest_hex(EVP_md5(), buf_peek(&in), buf_avail(&in), hex) < 0) {
		buf_free(&in);
		json_decref(f);
		return;
	}
	json_object_set_new(f, "hassh", json_string(hex));
	event_set_bytes(f, "hassh_algorithms", buf_peek(&in), buf_avail(&in));
	buf_free(&in);
	for (int i = 0; i < HELLO_LISTS; i++)
		event_set_bytes(f, client_hello_list_names[i], h->list[i], h->list_len[i]);
	if (h->first_kex_follows >= 0)
		json_object_set_new(f, "first_kex_follows", json_boolean(h->first_kex_follows));
	send_event(w, "client.kex", f);
}

/* The key exchange, non-blocking under the login grace alarm, with the
 * tap reading the client's opening on the way. Returns libssh's result. */
static int key_exchange(struct worker *w)
{
	int r;

	ssh_set_blocking(w->session, 0);
	/* The first step creates the session's poll context, which
	 * ssh_event_add_session() needs. */
	r = ssh_handle_key_exchange(w->session);
	w->event = ssh_event_new();
	if (w->event == NULL || ssh_event_add_session(w->event, w->session) != SSH_OK ||
	    ssh_event_add_fd(w->event, w->tap.client, POLLIN, on_tap_client, &w->tap) != SSH_OK ||
	    ssh_event_add_fd(w->event, w->tap.mine, POLLIN, on_tap_libssh, &w->tap) != SSH_OK) {
		error("cannot set up the session's event loop");
		_exit(1);
	}
	w->tap_reading = w->tap_writing = true;
	service_tap(w);
	while (r == SSH_AGAIN) {
		/* A client that takes nothing holds libssh's bytes in the
		 * tap: look again soon rather than on the next event. */
		int wait = buf_avail(&w->tap.out) > 0 ? 50 : 1000;
		if (ssh_event_dopoll(w->event, wait) == SSH_ERROR)
			break;
		service_tap(w);
		r = ssh_handle_key_exchange(w->session);
		/* That step may have read the last bytes the tap forwarded:
		 * splice now, or the client's next packet (which the tap no
		 * longer reads) waits for the poll above to time out. */
		service_tap(w);
	}
	service_tap(w);
	return r;
}

/* The worker's end of its own accord: _exit, as a forked child that must
 * not run the monitor's atexit handlers; in a sanitizer build, after the
 * leak check the monitor's exit would never run for it. */
static _Noreturn void worker_end(void)
{
	worker_sandbox_leak_check();
	_exit(0);
}

void worker_main(const struct worker_args *a)
{
	struct worker w = {0};
	int r;

	w.a = a;
	w.ipc = a->ipc_fd;
	w.start_ms = w.activity_ms = util_mono_ms();
	w.rec_budget = (uint64_t)a->init->rec_max_session_size;
	buf_init(&w.store);
	arm_login_grace(&w);

	/* A template's worker has its session accepted already. */
	w.session = a->session != NULL ? a->session : ssh_new();
	if (w.session == NULL)
		_exit(1);
	setup_session(&w);
	if ((r = kex_tap_open(&w.tap, a->client_fd)) < 0) {
		error("cannot set up the key exchange relay: %s", strerror(-r));
		_exit(1);
	}
	if (a->session != NULL) {
		/* Its descriptor becomes the relay's end. */
		if (dup2(w.tap.theirs, a->session_fd) < 0) {
			error("cannot set up the key exchange relay: %s", strerror(errno));
			_exit(1);
		}
		close(w.tap.theirs);
		w.tap.theirs = a->session_fd;
	} else if (ssh_bind_accept_fd(a->bind, w.session, w.tap.theirs) != SSH_OK) {
		debug("accept: %s", ssh_get_error(a->bind));
		worker_end();
	}
	r = key_exchange(&w);
	const char *banner = ssh_get_clientbanner(w.session);
	if (banner != NULL) {
		json_t *f = json_object();
		event_set_bytes(f, "version", banner, strlen(banner));
		send_event(&w, "client.version", f);
	}
	if (w.tap.hello.state == HELLO_DONE || w.tap.hello.state == HELLO_FAILED)
		report_client_kex(&w);
	if (r == SSH_OK && !w.tap.spliced) {
		/* Cannot happen: libssh needs the client's next packet,
		 * which only reaches it after the splice. */
		error("key exchange finished with the relay still in place");
		_exit(1);
	}
	kex_tap_close(&w.tap);
	if (r != SSH_OK) {
		debug("key exchange: %s", ssh_get_error(w.session));
		ssh_free(w.session);
		worker_end();
	}
	/* Without keyboard-interactive the list is Ubuntu's default sshd's,
	 * "publickey,password"; with it, libssh orders it
	 * "publickey,keyboard-interactive,password". */
	ssh_set_auth_methods(w.session,
	                     SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_PUBLICKEY |
	                         (a->init->keyboard_interactive ? SSH_AUTH_METHOD_INTERACTIVE : 0));
	ssh_set_message_callback(w.session, on_message, &w);
	ssh_event_add_fd(w.event, w.ipc, POLLIN, on_ipc, &w);

	while (w.end_reason == NULL && !w.monitor_gone) {
		int64_t wait = deadline_check(&w);
		if (w.end_reason != NULL)
			break;
		r = ssh_event_dopoll(w.event, (int)wait);
		service_channels(&w);
		agent_link_service(w.agent);
		service_forwards(&w);
		if (r == SSH_ERROR || !ssh_is_connected(w.session))
			break;
	}
	for (size_t i = 0; i < MAX_CHANNELS; i++) {
		struct wchan *c = &w.ch[i];
		if (c->pump_on)
			channel_done(&w, c);
		/* Ended by a time limit: the shell "exits", as bash's TMOUT
		 * would, before the connection goes. */
		if (w.end_reason != NULL && c->state != CH_FREE && c->state != CH_CLOSING &&
		    ssh_is_connected(w.session))
			close_channel(c, 0);
	}
	for (size_t i = 0; i < MAX_FORWARDS; i++)
		if (w.fwd[i].used && w.fwd[i].deadline != 0)
			finish_forward(&w, &w.fwd[i]);
	agent_link_free(w.agent);
	if (ssh_is_connected(w.session)) {
		ssh_blocking_flush(w.session, 2000);
		/* No SSH_MSG_DISCONNECT: libssh's wording ("Bye Bye") is not
		 * OpenSSH's, and sshd just closes the connection here. */
		ssh_silent_disconnect(w.session);
	}
	/* ssh_event_free() frees no fd's callback wrapper: removing it does. */
	ssh_event_remove_fd(w.event, w.ipc);
	ssh_event_free(w.event);
	ssh_free(w.session);
	worker_end();
}
