/*
 * hermes-metrics: serves the monitor's metrics over HTTP (metrics.listen),
 * so that the process holding the Docker socket never parses a scraper's
 * bytes.
 *
 * The monitor (metrics_proc.c) binds the address and execs this program
 * with the listening socket on descriptor 3 and its own socket on 4. The
 * first message on 4 says how to confine itself: it chroots to the empty
 * directory, takes the workers' user, drops every capability, sets
 * no_new_privs and loads an allow-list filter: it may accept, read,
 * write, poll, close and allocate memory (never executable), and any
 * other system call kills it. It owns no file and no other socket, and
 * cannot make either.
 *
 * A scrape asks the monitor for the text (one byte on 4; the answer is
 * one datagram); the text is reused for a second, so that scraping
 * faster than that costs the monitor nothing. It serves until the
 * monitor's socket closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "buf.h"
#include "http_get.h"
#include "jmsg.h"
#include "log.h"
#include "loop.h"
#include "sandbox_util.h"
#include "util.h"

#define FD_LISTEN   3
#define FD_CTL      4
#define TEXT_MAX    (128 * 1024) /* the monitor never sends more */
#define CLIENTS_MAX 16
#define CLIENT_MS   10000 /* a scraper's whole request and answer */
#define FRESH_MS    1000  /* how long one text is served */
#define ASK_MS      3000  /* the monitor's answer, at most */

struct client {
	struct client *next;
	struct metrics_srv *s;
	int fd;
	struct buf in, out;
	bool head, waiting;
	uint64_t timer;
};

struct metrics_srv {
	struct loop *loop;
	struct client *clients;
	int n_clients;
	char *text;
	size_t text_len;
	int64_t text_ms; /* when it came; 0: never */
	bool asked;
	uint64_t ask_timer;
};

/* ---- the sandbox ---- */

#ifndef HERMES_SANITIZE
static const char *const allowed[] = {
    "read",         "write",          "readv",         "writev",       "recvfrom", "recvmsg",
    "sendto",       "sendmsg",        "accept",        "accept4",      "poll",     "ppoll",
    "close",        "shutdown",       "clock_gettime", "gettimeofday", "time",     "getpid",
    "brk",          "munmap",         "mremap",        "madvise",      "exit",     "exit_group",
    "rt_sigreturn", "rt_sigprocmask", "getrandom"};
#endif

static int load_filter(void)
{
#ifdef HERMES_SANITIZE
	/* A sanitizer build's reports and leak check need /proc, threads and
	 * ptrace: it keeps the sinkhole's deny-list instead (a release build
	 * always has the allow-list). */
	return sandbox_deny_filter(sandbox_program_denied, sandbox_program_denied_n);
#else
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = f != NULL ? 0 : -ENOMEM;

	if (r == 0)
		r = sandbox_rules(f, SCMP_ACT_ALLOW, allowed, sizeof(allowed) / sizeof(allowed[0]));
	/* Memory, never executable; no mprotect at all. */
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		                     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
	return r;
#endif
}

static void confine(const json_t *init)
{
	const char *what = sandbox_enter_program("hermes-metrics",
	                                         json_string_value(json_object_get(init, "root")),
	                                         json_integer_value(json_object_get(init, "uid")),
	                                         json_integer_value(json_object_get(init, "gid")));
	struct rlimit fds = {CLIENTS_MAX + 8, CLIENTS_MAX + 8};
	int r;

	if (what == NULL && setrlimit(RLIMIT_NOFILE, &fds) < 0)
		what = "descriptors";
	else if (what == NULL && (r = load_filter()) < 0) {
		errno = -r;
		what = "seccomp";
	}
	if (what != NULL) {
		error("metrics sandbox: %s: %s", what, strerror(errno));
		exit(1);
	}
}

/* ---- scrapers ---- */

static void client_free(struct client *c)
{
	struct metrics_srv *s = c->s;

	for (struct client **pp = &s->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	s->n_clients--;
	loop_del_fd(s->loop, c->fd);
	loop_del_timer(s->loop, c->timer);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static void answer(struct client *c, int status)
{
	c->waiting = false;
	buf_reset(&c->out);
	if (http_get_answer(&c->out, status, c->head, status == 200 ? c->s->text : NULL,
	                    status == 200 ? c->s->text_len : 0) < 0) {
		client_free(c);
		return;
	}
	loop_set_events(c->s->loop, c->fd, LOOP_WRITE);
}

static void on_ask_timeout(struct loop *l, void *arg)
{
	struct metrics_srv *s = arg;

	s->ask_timer = 0;
	s->asked = false;
	warn("metrics: the monitor did not answer");
	for (struct client *c = s->clients, *next; c != NULL; c = next) {
		next = c->next;
		if (c->waiting)
			answer(c, 503);
	}
}

static void want_text(struct client *c)
{
	struct metrics_srv *s = c->s;

	if (s->text_ms != 0 && util_mono_ms() - s->text_ms < FRESH_MS) {
		answer(c, 200);
		return;
	}
	c->waiting = true;
	if (s->asked)
		return;
	if (send(FD_CTL, "m", 1, MSG_DONTWAIT) != 1) {
		answer(c, 503);
		return;
	}
	s->asked = true;
	s->ask_timer = loop_add_timer(s->loop, ASK_MS, on_ask_timeout, s);
}

static void on_client(struct loop *l, int fd, int events, void *arg)
{
	struct client *c = arg;

	if (c->out.len > 0 && c->out.off < c->out.len) {
		ssize_t n = write(fd, c->out.data + c->out.off, c->out.len - c->out.off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || buf_skip(&c->out, (size_t)n) < 0) {
			client_free(c);
			return;
		}
		if (c->out.off < c->out.len)
			return;
		/* All said. What the client still sends (a body, the rest of a
		 * head too long) is read and dropped until it closes, or its
		 * time is up: closing with it unread would reset the connection
		 * and could lose the answer on the way. */
		shutdown(fd, SHUT_WR);
		loop_set_events(l, fd, LOOP_READ);
		return;
	}
	char tmp[2048];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	if (c->waiting || c->out.len > 0)
		return; /* what follows the head is not read */
	size_t room = HTTP_GET_HEAD_MAX - c->in.len;
	if (buf_put(&c->in, tmp, (size_t)n < room ? (size_t)n : room) < 0) {
		client_free(c);
		return;
	}
	int status = http_get_parse((const char *)c->in.data, c->in.len, &c->head);
	if (status == 200)
		want_text(c);
	else if (status != 0)
		answer(c, status);
}

static void on_client_timeout(struct loop *l, void *arg)
{
	struct client *c = arg;
	c->timer = 0;
	client_free(c);
}

static void on_listen(struct loop *l, int fd, int events, void *arg)
{
	struct metrics_srv *s = arg;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return; /* EAGAIN, or a connection that went away */
		struct client *c = s->n_clients < CLIENTS_MAX ? calloc(1, sizeof(*c)) : NULL;
		if (c == NULL) {
			close(cfd);
			continue;
		}
		c->s = s;
		c->fd = cfd;
		buf_init(&c->in);
		buf_init(&c->out);
		c->next = s->clients;
		s->clients = c;
		s->n_clients++;
		c->timer = loop_add_timer(l, CLIENT_MS, on_client_timeout, c);
		loop_add_fd(l, cfd, LOOP_READ, on_client, c);
	}
}

/* ---- the monitor ---- */

static void on_ctl(struct loop *l, int fd, int events, void *arg)
{
	struct metrics_srv *s = arg;
	char *p = malloc(TEXT_MAX);

	if (p == NULL)
		return;
	ssize_t n = recv(fd, p, TEXT_MAX, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		free(p);
		return;
	}
	if (n <= 0) {
		free(p);
		loop_stop(l); /* the monitor is gone */
		return;
	}
	if ((size_t)n > TEXT_MAX) {
		warn("metrics: a text of %zd bytes refused", n);
		free(p);
		return;
	}
	free(s->text);
	s->text = p;
	s->text_len = (size_t)n;
	s->text_ms = util_mono_ms();
	s->asked = false;
	loop_del_timer(l, s->ask_timer);
	s->ask_timer = 0;
	for (struct client *c = s->clients, *next; c != NULL; c = next) {
		next = c->next;
		if (c->waiting)
			answer(c, 200);
	}
}

int main(int argc, char **argv)
{
	struct metrics_srv s = {0};
	json_t *init = NULL;
	int fd, r;

	(void)argc;
	(void)argv;
	log_setup(LOG_INFO, 0, "metrics");
	/* The monitor's first message; the socket is blocking until then. */
	do
		r = jmsg_recv(FD_CTL, &init, &fd);
	while (r == -EBADMSG);
	if (r <= 0) {
		error("metrics: no start message: %s", r == 0 ? "end of stream" : strerror(-r));
		return 1;
	}
	if (fd >= 0)
		close(fd);
	json_t *lvl = json_object_get(init, "log_level");
	log_setup(json_is_integer(lvl) ? (int)json_integer_value(lvl) : LOG_INFO,
	          json_is_true(json_object_get(init, "log_json")), "metrics");
	signal(SIGPIPE, SIG_IGN);
	/* Times in UTC, without the zone file it could not read once confined. */
	setenv("TZ", "UTC0", 1);
	tzset();
	if (fcntl(FD_LISTEN, F_SETFL, fcntl(FD_LISTEN, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(FD_CTL, F_SETFL, fcntl(FD_CTL, F_GETFL) | O_NONBLOCK) < 0) {
		error("metrics: descriptors: %s", strerror(errno));
		return 1;
	}
	if ((s.loop = loop_new()) == NULL)
		return 1;
	confine(init);
	json_decref(init);

	loop_add_fd(s.loop, FD_CTL, LOOP_READ, on_ctl, &s);
	loop_add_fd(s.loop, FD_LISTEN, LOOP_READ, on_listen, &s);
	debug("metrics serving");
	loop_run(s.loop);
	while (s.clients != NULL)
		client_free(s.clients);
	loop_del_timer(s.loop, s.ask_timer);
	loop_free(s.loop);
	free(s.text);
	return 0;
}
