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
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

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

static struct {
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
} C;

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

/* ---- the output queue ---- */

static size_t out_used(void)
{
	return C.out_tail - C.out_head;
}

/* Room for n more bytes at the tail, moving the queue down when needed. */
static uint8_t *out_reserve(size_t n)
{
	if (OUT_CAP - out_used() < n)
		return NULL;
	if (OUT_CAP - C.out_tail < n) {
		memmove(C.out, C.out + C.out_head, out_used());
		C.out_tail -= C.out_head;
		C.out_head = 0;
	}
	return C.out + C.out_tail;
}

/* Queues one frame; 0 when there is no room (the caller tries later). */
static int out_msg(const struct agent_msg *m)
{
	uint8_t frame[AGENT_HDR_LEN + AGENT_MAX_STR + 64];
	size_t n = agent_encode(frame, sizeof(frame), m);
	uint8_t *p;

	if (n == 0)
		return 1; /* cannot happen for what the agent sends; drop it */
	if ((p = out_reserve(n)) == NULL)
		return 0;
	memcpy(p, frame, n);
	C.out_tail += n;
	return 1;
}

static int out_simple(uint8_t type, uint32_t ch, uint32_t value)
{
	struct agent_msg m = {.type = type, .channel = ch};

	if (type == AGENT_WINDOW || type == AGENT_OPEN_OK)
		m.u.window = value;
	else if (type == AGENT_HELLO_OK)
		m.u.version = value;
	return out_msg(&m);
}

static void out_flush(void)
{
	while (!C.dead && out_used() > 0) {
		ssize_t n =
		    send(C.sock, C.out + C.out_head, out_used(), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			C.dead = 1;
			break;
		}
		C.out_head += (size_t)n;
	}
	if (C.out_head == C.out_tail)
		C.out_head = C.out_tail = 0;
}

/* ---- channels ---- */

static struct chan *chan_find(uint32_t id)
{
	for (int i = 0; i < AGENT_MAX_CHANNELS; i++)
		if (C.ch[i].id == id)
			return &C.ch[i];
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* "sshd: USER@notty", or the ptys of the channels that have one. */
static void conn_title(void)
{
	char ptys[256] = "";

	for (int i = 0; i < AGENT_MAX_CHANNELS; i++) {
		size_t used = strlen(ptys);

		if (C.ch[i].id != 0 && C.ch[i].ut.active)
			snprintf(ptys + used, sizeof(ptys) - used, "%s%s", used ? "," : "",
			         C.ch[i].ut.line);
	}
	title_set("sshd: %s@%s", C.login.user.name, ptys[0] ? ptys : "notty");
}

static void chan_free(struct chan *c)
{
	int had_pty = c->ut.active;

	close_fd(&c->master);
	close_fd(&c->in);
	close_fd(&c->out);
	close_fd(&c->err);
	if (c->ut.active)
		records_logout(&c->ut);
	free(c->q.buf);
	memset(c, 0, sizeof(*c));
	c->master = c->in = c->out = c->err = -1;
	if (had_pty)
		conn_title();
}

static void open_fail(uint32_t id, const char *why)
{
	struct agent_msg m = {.type = AGENT_OPEN_FAIL, .channel = id};

	m.u.text.p = (const uint8_t *)why;
	m.u.text.n = (uint32_t)strlen(why);
	out_msg(&m);
}

/* A pty: master (non-blocking) and slave, sized, with the slave's name. */
static int pty_open(int *master, int *slave, char *name, size_t cap, uint32_t cols, uint32_t rows)
{
	struct winsize ws = {0};

	*slave = -1;
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -1;
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 || ptsname_r(*master, name, cap) != 0)
		goto fail;
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		goto fail;
	ws.ws_col = (unsigned short)(cols > 0xffff ? 0xffff : cols);
	ws.ws_row = (unsigned short)(rows > 0xffff ? 0xffff : rows);
	(void)ioctl(*master, TIOCSWINSZ, &ws);
	set_nonblock(*master);
	return 0;
fail:
	close_fd(master);
	return -1;
}

static void chan_open(const struct agent_msg *m)
{
	const struct agent_open *o = &m->u.open;
	char command[AGENT_MAX_COMMAND + 1], term[AGENT_MAX_STR + 1], tty[64] = "";
	int slave = -1, pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	struct agent_lastlog prev = {0};
	int have_prev = 0;
	struct agent_spawn s;
	struct chan *c = NULL;
	pid_t pid;

	if (chan_find(m->channel) != NULL) {
		C.proto_error = 1; /* a channel number in use */
		return;
	}
	for (int i = 0; i < AGENT_MAX_CHANNELS && c == NULL; i++)
		if (C.ch[i].id == 0)
			c = &C.ch[i];
	if (c == NULL) {
		open_fail(m->channel, "too many channels");
		return;
	}
	bytes_cstr(command, sizeof(command), o->command);
	bytes_cstr(term, sizeof(term), o->term);
	if (o->kind == AGENT_KIND_SUBSYSTEM) {
		if (strcmp(command, "sftp") != 0) {
			open_fail(m->channel, "subsystem request failed");
			return;
		}
		snprintf(command, sizeof(command), "%s", AGENT_SFTP_SERVER);
	}
	if ((c->q.buf = malloc(CHAN_WINDOW)) == NULL) {
		open_fail(m->channel, "out of memory");
		return;
	}

	memset(&s, 0, sizeof(s));
	s.kind = o->kind;
	s.pty = o->pty;
	s.command = o->kind == AGENT_KIND_SHELL ? NULL : command;
	s.term = term;
	s.env = (const char *)o->env.p;
	s.env_len = o->env.n;
	s.slave = s.in = s.out = s.err = -1;
	if (o->pty) {
		if (pty_open(&c->master, &slave, tty, sizeof(tty), o->cols, o->rows) < 0)
			goto fail;
		s.tty = tty;
		s.slave = slave;
		/* sshd records every pty session; only a shell hears about it. */
		have_prev = lastlog_swap(&C.login, tty + 5, &prev);
		if (o->kind == AGENT_KIND_SHELL)
			s.lastlog = have_prev ? &prev : NULL;
	} else {
		if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
		    pipe2(perr, O_CLOEXEC) < 0)
			goto fail;
		s.in = pin[0];
		s.out = pout[1];
		s.err = perr[1];
		c->in = pin[1];
		c->out = pout[0];
		c->err = perr[0];
		set_nonblock(c->in);
		set_nonblock(c->out);
		set_nonblock(c->err);
		pin[1] = pout[0] = perr[0] = -1;
	}
	pid = fork();
	if (pid == 0)
		spawn_child(&C.login, &s);
	close_fd(&slave);
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	if (pid < 0)
		goto fail;
	c->id = m->channel;
	c->pty = o->pty;
	c->pid = pid;
	c->alive = 1;
	c->credit = o->window;
	c->given = CHAN_WINDOW;
	if (o->pty) {
		records_login(&C.login, &c->ut, tty + 5, pid);
		conn_title();
	}
	out_simple(AGENT_OPEN_OK, c->id, CHAN_WINDOW);
	return;
fail:
	close_fd(&slave);
	close_fd(&pin[0]);
	close_fd(&pin[1]);
	close_fd(&pout[0]);
	close_fd(&pout[1]);
	close_fd(&perr[0]);
	close_fd(&perr[1]);
	c->id = 0;
	chan_free(c);
	open_fail(m->channel, "open failed");
}

/* The channel's process group, or the process alone when the group is gone. */
static void chan_kill(struct chan *c, int sig)
{
	if (!c->alive)
		return;
	if (kill(-c->pid, sig) < 0)
		kill(c->pid, sig);
}

/* CLOSE: hang up; the EXIT still comes when the process is reaped. */
static void chan_hangup(struct chan *c)
{
	if (c->pty)
		chan_kill(c, SIGHUP);
	c->closed = 1;
	close_fd(&c->master);
	close_fd(&c->in);
	close_fd(&c->out);
	close_fd(&c->err);
	c->owed += (uint32_t)c->q.len;
	c->q.len = 0;
}

static void chan_data(struct chan *c, struct agent_bytes d)
{
	size_t tail;

	if (d.n > c->given) {
		C.proto_error = 1; /* over the credit the agent gave */
		return;
	}
	c->given -= d.n;
	if (c->in_eof && !c->pty) {
		C.proto_error = 1; /* data after EOF */
		return;
	}
	if (c->closed || (c->pty ? c->master < 0 || !c->alive : c->in < 0)) {
		c->owed += d.n; /* nobody to read it: dropped, credit given back */
		return;
	}
	/* Fits: q.len + owed + given == CHAN_WINDOW, and d.n was within given. */
	tail = (c->q.head + c->q.len) % CHAN_WINDOW;
	for (uint32_t done = 0; done < d.n;) {
		size_t k = CHAN_WINDOW - tail;

		if (k > d.n - done)
			k = d.n - done;
		memcpy(c->q.buf + tail, d.p + done, k);
		done += (uint32_t)k;
		tail = (tail + k) % CHAN_WINDOW;
	}
	c->q.len += d.n;
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
		if (c->master >= 0) {
			struct winsize ws = {0};

			ws.ws_col =
			    (unsigned short)(m->u.resize.cols > 0xffff ? 0xffff : m->u.resize.cols);
			ws.ws_row =
			    (unsigned short)(m->u.resize.rows > 0xffff ? 0xffff : m->u.resize.rows);
			(void)ioctl(c->master, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH */
		}
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

/* Reads a process's output into the queue as one DATA/STDERR frame.
 * Returns 1 (bytes), 0 (end of output) or -1 (nothing now, or no room). */
static int chan_read(struct chan *c, int fd, uint8_t type)
{
	size_t want = AGENT_MAX_DATA;
	uint8_t *p;
	ssize_t n;

	if (c->credit < want)
		want = (size_t)c->credit;
	if (out_used() + AGENT_HDR_LEN >= OUT_DATA_LIMIT)
		return -1;
	if (want > OUT_DATA_LIMIT - out_used() - AGENT_HDR_LEN)
		want = OUT_DATA_LIMIT - out_used() - AGENT_HDR_LEN;
	if (want == 0 || (p = out_reserve(AGENT_HDR_LEN + want)) == NULL)
		return -1;
	n = read(fd, p + AGENT_HDR_LEN, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n <= 0)
		return 0; /* EOF, or EIO from a pty whose other side is closed */
	agent_encode_header(p, type, c->id, (uint32_t)n);
	C.out_tail += AGENT_HDR_LEN + (size_t)n;
	c->credit -= (uint64_t)n;
	return 1;
}

static int can_read(const struct chan *c)
{
	return c->credit > 0 && out_used() + AGENT_HDR_LEN < OUT_DATA_LIMIT;
}

/* Queued input into the pty or the stdin pipe, as far as it takes it. */
static void chan_write(struct chan *c)
{
	int fd = c->pty ? c->master : c->in;

	if (fd < 0 && c->q.len > 0) {
		c->owed += (uint32_t)c->q.len; /* nobody reads it any more */
		c->q.len = 0;
	}
	while (c->q.len > 0 && fd >= 0) {
		size_t k = CHAN_WINDOW - c->q.head;
		ssize_t n;

		if (k > c->q.len)
			k = c->q.len;
		n = write(fd, c->q.buf + c->q.head, k);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* The process will read no more (EPIPE, EIO): drop the rest. */
			c->owed += (uint32_t)c->q.len;
			c->q.len = 0;
			if (!c->pty)
				close_fd(&c->in);
			break;
		}
		c->q.head = (c->q.head + (size_t)n) % CHAN_WINDOW;
		c->q.len -= (size_t)n;
		c->owed += (uint32_t)n;
	}
	if (c->q.len == 0)
		c->q.head = 0;
	if (!c->pty && c->in_eof && c->q.len == 0)
		close_fd(&c->in);
}

static void exit_msg(const struct chan *c, struct agent_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = AGENT_EXIT;
	m->channel = c->id;
	if (WIFSIGNALED(c->status)) {
		m->u.exit.kind = AGENT_EXIT_SIGNAL;
		m->u.exit.value = (uint32_t)WTERMSIG(c->status);
		m->u.exit.core = WCOREDUMP(c->status) ? 1 : 0;
	} else {
		m->u.exit.kind = AGENT_EXIT_STATUS;
		m->u.exit.value = (uint32_t)WEXITSTATUS(c->status) & 0xff;
	}
}

/* Everything a channel does between two polls but reading its output. */
static void chan_pump(struct chan *c, int64_t now)
{
	struct agent_msg m;
	int output_done;

	chan_write(c);
	if (c->owed > 0 && (c->owed >= CHAN_WINDOW / 4 || c->q.len == 0) &&
	    out_simple(AGENT_WINDOW, c->id, c->owed)) {
		c->given += c->owed;
		c->owed = 0;
	}
	/* A pty whose process ended: what is still readable goes first, for
	 * DRAIN_GRACE_MS after the end or until its other side is closed. */
	if (c->pty && !c->alive && c->master >= 0 && can_read(c)) {
		int r = chan_read(c, c->master, AGENT_DATA);

		if (r == 0 || (r < 0 && now >= c->exit_ms + DRAIN_GRACE_MS))
			close_fd(&c->master);
		else if (r > 0 && (c->drained += AGENT_MAX_DATA) >= DRAIN_MAX)
			close_fd(&c->master); /* a background job that never stops */
	}
	if (c->closed)
		output_done = 1;
	else if (c->pty)
		output_done = !c->alive && c->master < 0;
	else
		output_done = c->out < 0 && c->err < 0;
	if (output_done && !c->eof_sent && !c->closed) {
		if (!out_simple(AGENT_EOF, c->id, 0))
			return;
		c->eof_sent = 1;
	}
	if (output_done && !c->alive) {
		exit_msg(c, &m);
		if (out_msg(&m))
			chan_free(c);
	}
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
	l->server_port = m.u.hello.server_port & 0xffff;
	bytes_cstr(l->method, sizeof(l->method), m.u.hello.method);
	l->session_id = session_id;
	l->pid = getpid();
	if (gethostname(l->hostname, sizeof(l->hostname)) < 0)
		snprintf(l->hostname, sizeof(l->hostname), "localhost");
	l->hostname[sizeof(l->hostname) - 1] = '\0';

	title_set("sshd: %s@notty", l->user.name);
	login_begin(l, &m.u.hello);
	if (!out_simple(AGENT_HELLO_OK, 0, AGENT_PROTO_VERSION))
		_exit(1);
	/* Done with HELLO's bytes; what came after it is the loop's. */
	C.in_len -= used;
	memmove(C.in, C.in + used, C.in_len);
	set_nonblock(sock);
	conn_loop();
	_exit(0);
}
