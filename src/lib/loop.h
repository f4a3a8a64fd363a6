/*
 * loop: the monitor's single-threaded event loop: file descriptors and
 * timers, on poll(2).
 *
 * Small on purpose (Redis' ae is the model). Callbacks may add and remove
 * fds and timers, including their own, at any time. Not used by workers:
 * a worker runs libssh's own ssh_event loop.
 */
#ifndef HERMES_LOOP_H
#define HERMES_LOOP_H

#include <stdint.h>

#define LOOP_READ  1
#define LOOP_WRITE 2

struct loop;

/* events: what happened, LOOP_READ and/or LOOP_WRITE (errors and hang-ups
 * are reported as both, so the callback's read or write sees them). */
typedef void (*loop_fd_cb)(struct loop *l, int fd, int events, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* One registration per fd; adding an fd again replaces it. */
int loop_add_fd(struct loop *l, int fd, int events, loop_fd_cb cb, void *arg);
int loop_set_events(struct loop *l, int fd, int events);
void loop_del_fd(struct loop *l, int fd);

/* One-shot timer after ms milliseconds; returns an id > 0, or 0 on failure. */
uint64_t loop_add_timer(struct loop *l, int64_t ms, loop_timer_cb cb, void *arg);
void loop_del_timer(struct loop *l, uint64_t id); /* 0 or a fired id: no-op */

/* Runs until loop_stop(); returns 0. */
int loop_run(struct loop *l);
/* One round: waits at most max_ms (or until the next timer) and dispatches. */
int loop_once(struct loop *l, int max_ms);
void loop_stop(struct loop *l);

#endif
