/*
 * agent_chan: the channels of a connection: OPEN (a pty or pipes, and the
 * forked process), DATA into a bounded queue and on into the process,
 * output read within Hermes's credit, RESIZE, SIGNAL, CLOSE, and the end:
 * EOF once the output is over, EXIT once the process is reaped too.
 */
#include "agent_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct chan *chan_find(uint32_t id)
{
	for (int i = 0; i < AGENT_MAX_CHANNELS; i++)
		if (C.ch[i].id == id)
			return &C.ch[i];
	return NULL;
}

void close_fd(int *fd)
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

void chan_free(struct chan *c)
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

void chan_open(const struct agent_msg *m)
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

void chan_resize(struct chan *c, uint32_t cols, uint32_t rows)
{
	struct winsize ws = {0};

	if (c->master < 0)
		return;
	ws.ws_col = (unsigned short)(cols > 0xffff ? 0xffff : cols);
	ws.ws_row = (unsigned short)(rows > 0xffff ? 0xffff : rows);
	(void)ioctl(c->master, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH */
}

/* The channel's process group, or the process alone when the group is gone. */
void chan_kill(struct chan *c, int sig)
{
	if (!c->alive)
		return;
	if (kill(-c->pid, sig) < 0)
		kill(c->pid, sig);
}

/* CLOSE: hang up; the EXIT still comes when the process is reaped. */
void chan_hangup(struct chan *c)
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

void chan_data(struct chan *c, struct agent_bytes d)
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

/* Reads a process's output into the queue as one DATA/STDERR frame.
 * Returns 1 (bytes), 0 (end of output) or -1 (nothing now, or no room). */
int chan_read(struct chan *c, int fd, uint8_t type)
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

int can_read(const struct chan *c)
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
void chan_pump(struct chan *c, int64_t now)
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
		uint64_t before = c->credit;
		int r = chan_read(c, c->master, AGENT_DATA);

		c->drained += (size_t)(before - c->credit);
		if (r == 0 || (r < 0 && now >= c->exit_ms + DRAIN_GRACE_MS))
			close_fd(&c->master);
		else if (c->drained >= DRAIN_MAX)
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
