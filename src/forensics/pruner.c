/*
 * pruner: retention in a child of the monitor; see pruner.h.
 */
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper_sandbox.h"
#include "log.h"
#include "pruner.h"
#include "retention.h"
#include "util.h"

#define EVERY_MS   (3600 * 1000)
#define REPORT_MAX 4096

struct pruner {
	struct loop *loop;
	const struct config *cfg;
	struct events *ev;
	uint64_t timer;
	int fd; /* the running pass's report, or -1 */
	char buf[REPORT_MAX];
	size_t len;
};

static void on_timer(struct loop *l, void *arg);

static void finish(struct pruner *p)
{
	loop_del_fd(p->loop, p->fd);
	close(p->fd);
	p->fd = -1;
	json_t *r = json_loadb(p->buf, p->len, 0, NULL);
	if (!json_is_object(r)) {
		error("retention pass gave no report");
		json_decref(r);
		return;
	}
	json_int_t removed = 0;
	const char *k;
	json_t *v;
	json_object_foreach(r, k, v) if (strstr(k, "_removed") || strcmp(k, "errors") == 0)
	    removed += json_integer_value(v);
	if (removed == 0) {
		json_decref(r);
		return;
	}
	json_t *e = event_new("retention.pruned", NULL, NULL, 0);
	json_object_update(e, r);
	json_decref(r);
	events_emit(p->ev, e);
}

static void on_report(struct loop *l, int fd, int events, void *arg)
{
	struct pruner *p = arg;
	ssize_t n = read(fd, p->buf + p->len, sizeof(p->buf) - p->len);

	if (n > 0) {
		p->len += (size_t)n;
		if (p->len < sizeof(p->buf))
			return;
	} else if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		return;
	}
	finish(p); /* EOF, an error, or a report too long to be one */
}

/* The child: the pass, its report on fd, nothing else. */
static void run_child(const struct config *cfg, int fd)
{
	struct retention_report r;
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* It lists, reads manifests and removes, in these trees only. */
	const struct fs_rule rules[] = {
	    {cfg->recording.output_dir, FS_READ | FS_REMOVE},
	    {cfg->forensics.artifacts_dir, FS_READ | FS_REMOVE},
	};
	util_fd_limit_restore();
	helper_sandbox_enter("hermes-pruner", rules, sizeof(rules) / sizeof(rules[0]));
	retention_run(cfg, time(NULL), false, NULL, &r);
	json_t *j = retention_report_json(&r);
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t done = 0, len = s != NULL ? strlen(s) : 0;
	while (done < len) {
		ssize_t n = write(fd, s + done, len - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	_exit(0);
}

static void start_pass(struct pruner *p)
{
	int pipefd[2];

	if (p->fd >= 0)
		return; /* the last one still runs */
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		error("retention: pipe: %s", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		error("retention: fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0) {
		/* Only the report pipe: no client, Docker or listening socket. */
		if (dup2(pipefd[1], 3) == 3)
			close_range(4, ~0U, 0);
		run_child(p->cfg, 3);
	}
	close(pipefd[1]);
	p->fd = pipefd[0];
	p->len = 0;
	loop_add_fd(p->loop, p->fd, LOOP_READ, on_report, p);
}

static void on_timer(struct loop *l, void *arg)
{
	struct pruner *p = arg;

	p->timer = loop_add_timer(l, EVERY_MS, on_timer, p);
	start_pass(p);
}

struct pruner *pruner_new(struct loop *l, const struct config *cfg, struct events *ev)
{
	struct pruner *p;

	if (!retention_enabled(cfg) || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->loop = l;
	p->cfg = cfg;
	p->ev = ev;
	p->fd = -1;
	p->timer = loop_add_timer(l, 0, on_timer, p);
	return p;
}

void pruner_free(struct pruner *p)
{
	if (p == NULL)
		return;
	loop_del_timer(p->loop, p->timer);
	if (p->fd >= 0) {
		loop_del_fd(p->loop, p->fd);
		close(p->fd);
	}
	free(p);
}
