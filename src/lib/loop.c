/*
 * loop: poll(2)-based event loop for the monitor; see loop.h.
 *
 * fds live in a flat array indexed by slot; timers in a small unsorted array
 * (a monitor has a handful: one per live session and per pending Docker
 * call), scanned once per round. Deleting marks a slot free, so callbacks may
 * delete anything while the loop iterates.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "util.h"

struct loop_fd {
	int fd; /* -1: free slot */
	int events;
	loop_fd_cb cb;
	void *arg;
};

struct loop_timer {
	uint64_t id; /* 0: free slot */
	int64_t when;
	loop_timer_cb cb;
	void *arg;
};

struct loop {
	struct loop_fd *fds;
	size_t nfds, capfds;
	struct loop_timer *timers;
	size_t ntimers, captimers;
	uint64_t next_timer_id;
	struct pollfd *pfd;
	size_t cappfd;
	bool stop;
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (l != NULL)
		l->next_timer_id = 1;
	return l;
}

void loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	free(l->fds);
	free(l->timers);
	free(l->pfd);
	free(l);
}

static struct loop_fd *find_fd(struct loop *l, int fd)
{
	for (size_t i = 0; i < l->nfds; i++)
		if (l->fds[i].fd == fd)
			return &l->fds[i];
	return NULL;
}

int loop_add_fd(struct loop *l, int fd, int events, loop_fd_cb cb, void *arg)
{
	struct loop_fd *s = find_fd(l, fd);

	if (fd < 0)
		return -EINVAL;
	if (s == NULL)
		s = find_fd(l, -1);
	if (s == NULL) {
		if (l->nfds == l->capfds) {
			size_t cap = l->capfds ? l->capfds * 2 : 32;
			struct loop_fd *n = realloc(l->fds, cap * sizeof(*n));
			if (n == NULL)
				return -ENOMEM;
			l->fds = n;
			l->capfds = cap;
		}
		s = &l->fds[l->nfds++];
	}
	s->fd = fd;
	s->events = events;
	s->cb = cb;
	s->arg = arg;
	return 0;
}

int loop_set_events(struct loop *l, int fd, int events)
{
	struct loop_fd *s = find_fd(l, fd);

	if (s == NULL)
		return -ENOENT;
	s->events = events;
	return 0;
}

void loop_del_fd(struct loop *l, int fd)
{
	struct loop_fd *s = find_fd(l, fd);

	if (s != NULL && fd >= 0) {
		s->fd = -1;
		s->cb = NULL;
	}
}

uint64_t loop_add_timer(struct loop *l, int64_t ms, loop_timer_cb cb, void *arg)
{
	struct loop_timer *t = NULL;

	for (size_t i = 0; i < l->ntimers; i++)
		if (l->timers[i].id == 0) {
			t = &l->timers[i];
			break;
		}
	if (t == NULL) {
		if (l->ntimers == l->captimers) {
			size_t cap = l->captimers ? l->captimers * 2 : 16;
			struct loop_timer *n = realloc(l->timers, cap * sizeof(*n));
			if (n == NULL)
				return 0;
			l->timers = n;
			l->captimers = cap;
		}
		t = &l->timers[l->ntimers++];
	}
	t->id = l->next_timer_id++;
	t->when = util_mono_ms() + (ms < 0 ? 0 : ms);
	t->cb = cb;
	t->arg = arg;
	return t->id;
}

void loop_del_timer(struct loop *l, uint64_t id)
{
	if (id == 0)
		return;
	for (size_t i = 0; i < l->ntimers; i++)
		if (l->timers[i].id == id) {
			l->timers[i].id = 0;
			return;
		}
}

static void run_timers(struct loop *l)
{
	int64_t now = util_mono_ms();

	/* Index loop: a callback may add timers and so move the array. */
	for (size_t i = 0; i < l->ntimers; i++) {
		if (l->timers[i].id == 0 || l->timers[i].when > now)
			continue;
		loop_timer_cb cb = l->timers[i].cb;
		void *arg = l->timers[i].arg;
		l->timers[i].id = 0;
		cb(l, arg);
	}
}

int loop_once(struct loop *l, int max_ms)
{
	int64_t now = util_mono_ms();
	int64_t timeout = max_ms;
	size_t n = 0;

	for (size_t i = 0; i < l->ntimers; i++) {
		if (l->timers[i].id == 0)
			continue;
		int64_t d = l->timers[i].when - now;
		if (d < 0)
			d = 0;
		if (timeout < 0 || d < timeout)
			timeout = d;
	}
	if (l->cappfd < l->nfds) {
		struct pollfd *p = realloc(l->pfd, l->nfds * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		l->pfd = p;
		l->cappfd = l->nfds;
	}
	for (size_t i = 0; i < l->nfds; i++) {
		if (l->fds[i].fd < 0 || l->fds[i].events == 0)
			continue;
		l->pfd[n].fd = l->fds[i].fd;
		l->pfd[n].events = (short)(((l->fds[i].events & LOOP_READ) ? POLLIN : 0) |
		                           ((l->fds[i].events & LOOP_WRITE) ? POLLOUT : 0));
		l->pfd[n].revents = 0;
		n++;
	}
	int r = poll(l->pfd, n, (int)timeout);
	if (r < 0 && errno != EINTR)
		return -errno;
	for (size_t i = 0; r > 0 && i < n; i++) {
		short re = l->pfd[i].revents;
		if (re == 0)
			continue;
		/* Look the fd up again: an earlier callback this round may have
		 * removed it or given its number to a new registration. */
		struct loop_fd *s = find_fd(l, l->pfd[i].fd);
		if (s == NULL || s->cb == NULL)
			continue;
		int ev = 0;
		if (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
			ev |= LOOP_READ;
		if (re & (POLLOUT | POLLHUP | POLLERR | POLLNVAL))
			ev |= LOOP_WRITE;
		ev &= s->events ? s->events : 0;
		if (ev == 0)
			continue;
		s->cb(l, s->fd, ev, s->arg);
	}
	run_timers(l);
	return 0;
}

int loop_run(struct loop *l)
{
	l->stop = false;
	while (!l->stop) {
		int r = loop_once(l, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}
