/*
 * agent_conn: the process of one Hermes connection (one SSH connection), as
 * sshd's per-connection process. Reads HELLO, records the login, then runs a
 * poll() loop over the connection, every channel's pty or pipes and a signal
 * pipe until the connection closes.
 *
 * Memory is bounded whatever either side does: the frame input buffer holds
 * one largest frame; a channel's input queue holds at most the credit the
 * agent gave (CHAN_WINDOW); the output queue only grows while there is room
 * (channel output is read only when Hermes's credit and the queue allow, and
 * input frames, each answered by at most one small frame, are taken only
 * while the queue has room for the answer). A frame over credit or any
 * protocol error ends the connection.
 */
#include "agent_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct conn C;

static volatile sig_atomic_t got_term;

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig != SIGCHLD)
		got_term = 1;
	(void)!write(C.sigpipe[1], &c, 1);
	errno = saved;
}

static void handle(const struct agent_msg *m)
{
	struct chan *c;

	switch (m->type) {
	case AGENT_OPEN:
		chan_open(m);
		return;
	case AGENT_RESIZE:
	case AGENT_SIGNAL:
	case AGENT_CLOSE:
	case AGENT_DATA:
	case AGENT_EOF:
	case AGENT_WINDOW:
		break;
	default: /* HELLO twice, or a frame only the agent sends */
		C.proto_error = 1;
		return;
	}
	if ((c = chan_find(m->channel)) == NULL)
		return; /* a channel that ended: closes may cross */
	switch (m->type) {
	case AGENT_RESIZE:
		chan_resize(c, m->u.resize.cols, m->u.resize.rows);
		break;
	case AGENT_SIGNAL: {
		char name[16];
		int sig;

		bytes_cstr(name, sizeof(name), m->u.text);
		if (m->u.text.n < sizeof(name) && (sig = signal_by_name(name)) != 0)
			chan_kill(c, sig);
		break;
	}
	case AGENT_CLOSE:
		if (!c->closed)
			chan_hangup(c);
		break;
	case AGENT_DATA:
		chan_data(c, m->u.data);
		break;
	case AGENT_EOF:
		c->in_eof = 1;
		break;
	case AGENT_WINDOW:
		c->credit += m->u.window;
		if (c->credit > CREDIT_MAX)
			c->credit = CREDIT_MAX;
		break;
	}
}

static void process_input(void)
{
	size_t off = 0;

	while (!C.dead && !C.proto_error && OUT_CAP - out_used() >= OUT_CTRL_ROOM) {
		struct agent_msg m;
		size_t used = 0;
		int rc = agent_decode(C.in + off, C.in_len - off, &m, &used);

		if (rc < 0)
			C.proto_error = 1;
		if (rc <= 0)
			break;
		handle(&m);
		off += used;
	}
	memmove(C.in, C.in + off, C.in_len - off);
	C.in_len -= off;
}

static void reap(void)
{
	char buf[64];
	int status;
	pid_t pid;

	while (read(C.sigpipe[0], buf, sizeof(buf)) > 0)
		;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < AGENT_MAX_CHANNELS; i++) {
			struct chan *c = &C.ch[i];

			if (c->id != 0 && c->alive && c->pid == pid) {
				c->alive = 0;
				c->status = status;
				c->exit_ms = now_ms();
			}
		}
	}
}

/* The connection is over: pty sessions hung up, pipes closed, records
 * written, and the process ends. */
static void __attribute__((noreturn)) conn_end(void)
{
	for (int i = 0; i < AGENT_MAX_CHANNELS; i++) {
		struct chan *c = &C.ch[i];

		if (c->id == 0)
			continue;
		if (c->pty || C.proto_error)
			chan_kill(c, SIGHUP);
		chan_free(c);
	}
	login_end(&C.login);
	_exit(0);
}

enum { FD_SOCK, FD_SIG, FD_MASTER, FD_OUT, FD_ERR, FD_IN };

static void conn_loop(void)
{
	struct pollfd p[2 + 3 * AGENT_MAX_CHANNELS];
	int what[2 + 3 * AGENT_MAX_CHANNELS], who[2 + 3 * AGENT_MAX_CHANNELS];

	for (;;) {
		int64_t now = now_ms();
		int n = 0, timeout = -1;

		process_input();
		for (int i = 0; i < AGENT_MAX_CHANNELS; i++)
			if (C.ch[i].id != 0)
				chan_pump(&C.ch[i], now);
		out_flush();
		if (C.dead || C.proto_error || got_term)
			conn_end();

		p[n] = (struct pollfd){.fd = C.sock, .events = 0};
		if (C.in_len < IN_CAP && OUT_CAP - out_used() >= OUT_CTRL_ROOM)
			p[n].events |= POLLIN;
		if (out_used() > 0)
			p[n].events |= POLLOUT;
		if (p[n].events == 0)
			p[n].fd = -1; /* not even for POLLHUP: nothing to do with it now */
		what[n++] = FD_SOCK;
		p[n] = (struct pollfd){.fd = C.sigpipe[0], .events = POLLIN};
		what[n++] = FD_SIG;
		for (int i = 0; i < AGENT_MAX_CHANNELS; i++) {
			struct chan *c = &C.ch[i];
			int rd = can_read(c);

			if (c->id == 0)
				continue;
			if (c->master >= 0 && c->alive && (rd || c->q.len > 0)) {
				p[n] = (struct pollfd){.fd = c->master,
				                       .events = (short)((rd ? POLLIN : 0) |
				                                         (c->q.len ? POLLOUT : 0))};
				what[n] = FD_MASTER;
				who[n++] = i;
			}
			if (c->master >= 0 && !c->alive && rd) {
				int64_t left = c->exit_ms + DRAIN_GRACE_MS - now;

				left = left < 0 ? 0 : left;
				if (timeout < 0 || left < timeout)
					timeout = (int)left;
			}
			if (c->out >= 0 && rd) {
				p[n] = (struct pollfd){.fd = c->out, .events = POLLIN};
				what[n] = FD_OUT;
				who[n++] = i;
			}
			if (c->err >= 0 && rd) {
				p[n] = (struct pollfd){.fd = c->err, .events = POLLIN};
				what[n] = FD_ERR;
				who[n++] = i;
			}
			if (c->in >= 0 && c->q.len > 0) {
				p[n] = (struct pollfd){.fd = c->in, .events = POLLOUT};
				what[n] = FD_IN;
				who[n++] = i;
			}
		}
		if (poll(p, (nfds_t)n, timeout) < 0) {
			if (errno != EINTR)
				C.dead = 1;
			continue;
		}
		for (int k = 0; k < n; k++) {
			struct chan *c = &C.ch[who[k]];

			if (p[k].revents == 0)
				continue;
			switch (what[k]) {
			case FD_SOCK:
				if ((p[k].revents & (POLLIN | POLLHUP | POLLERR)) &&
				    C.in_len < IN_CAP) {
					ssize_t r = recv(C.sock, C.in + C.in_len, IN_CAP - C.in_len,
					                 MSG_DONTWAIT);

					if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
						C.dead = 1;
					else if (r > 0)
						C.in_len += (size_t)r;
				}
				break;
			case FD_SIG:
				reap();
				break;
			case FD_MASTER:
				if ((p[k].revents & (POLLIN | POLLHUP | POLLERR)) && can_read(c) &&
				    chan_read(c, c->master, AGENT_DATA) == 0)
					close_fd(&c->master);
				break;
			case FD_OUT:
				if (chan_read(c, c->out, AGENT_DATA) == 0)
					close_fd(&c->out);
				break;
			case FD_ERR:
				if (chan_read(c, c->err, AGENT_STDERR) == 0)
					close_fd(&c->err);
				break;
			default: /* FD_IN: chan_pump writes */
				break;
			}
		}
	}
}

/* Keeps what makes an address printable in a log line or utmp. */
static void addr_cstr(char *out, size_t cap, struct agent_bytes b)
{
	bytes_cstr(out, cap, b);
	for (char *s = out; *s; s++)
		if (!strchr("0123456789abcdefABCDEF:.%", *s))
			*s = '?';
}

/* Waits up to AGENT_HELLO_SECS for HELLO; anything else ends the process.
 * Returns the frame's size: m points into C.in until the caller drops it. */
static size_t read_hello(struct agent_msg *m)
{
	int64_t deadline = now_ms() + AGENT_HELLO_SECS * 1000;

	for (;;) {
		size_t used = 0;
		int rc = agent_decode(C.in, C.in_len, m, &used);
		struct pollfd p = {.fd = C.sock, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t r;

		if (rc < 0 || (rc == 1 && m->type != AGENT_HELLO))
			_exit(1);
		if (rc == 1)
			return used;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			_exit(1);
		r = recv(C.sock, C.in + C.in_len, IN_CAP - C.in_len, 0);
		if (r <= 0)
			_exit(1);
		C.in_len += (size_t)r;
	}
}

void conn_main(int sock, unsigned session_id)
{
	struct agent_login *l = &C.login;
	struct sigaction sa;
	struct agent_msg m;
	char name[AGENT_MAX_STR + 1];
	size_t used;

	memset(&C, 0, sizeof(C));
	C.sock = sock;
	for (int i = 0; i < AGENT_MAX_CHANNELS; i++)
		C.ch[i].master = C.ch[i].in = C.ch[i].out = C.ch[i].err = -1;
	if (pipe2(C.sigpipe, O_CLOEXEC | O_NONBLOCK) < 0 || (C.out = malloc(OUT_CAP)) == NULL)
		_exit(1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	used = read_hello(&m);
	if (m.u.hello.version != AGENT_PROTO_VERSION)
		_exit(1);

	memset(l, 0, sizeof(*l));
	bytes_cstr(name, sizeof(name), m.u.hello.user);
	/* Hermes sends only users its policy accepted, and may accept a user the
	 * box has no account for: such a login runs as root (the box's passwd
	 * entry for root), as the one account every box has. */
	if (!user_lookup(name, &l->user) && !user_lookup("root", &l->user)) {
		snprintf(l->user.name, sizeof(l->user.name), "root");
		snprintf(l->user.home, sizeof(l->user.home), "/root");
		snprintf(l->user.shell, sizeof(l->user.shell), AGENT_SHELL);
	}
	addr_cstr(l->client_addr, sizeof(l->client_addr), m.u.hello.client_addr);
	addr_cstr(l->server_addr, sizeof(l->server_addr), m.u.hello.server_addr);
	l->client_port = m.u.hello.client_port & 0xffff;
	l->auth_log_kept = (off_t)m.u.hello.auth_log_kept;
	l->server_port = m.u.hello.server_port & 0xffff;
	bytes_cstr(l->method, sizeof(l->method), m.u.hello.method);
	l->session_id = session_id;
	l->pid = getpid();
	if (gethostname(l->hostname, sizeof(l->hostname)) < 0)
		snprintf(l->hostname, sizeof(l->hostname), "localhost");
	l->hostname[sizeof(l->hostname) - 1] = '\0';

	title_set("sshd: %s@notty", l->user.name);
	login_begin(l, &m.u.hello);
	(void)logind_session_open(l); /* after the login uid, as in sshd's PAM stack */
	if (!out_simple(AGENT_HELLO_OK, 0, AGENT_PROTO_VERSION))
		_exit(1);
	/* Done with HELLO's bytes; what came after it is the loop's. */
	C.in_len -= used;
	memmove(C.in, C.in + used, C.in_len);
	set_nonblock(sock);
	conn_loop();
	_exit(0);
}
