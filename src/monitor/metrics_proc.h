/*
 * metrics_proc: hermes-metrics, the child that serves the metrics
 * (metrics.listen), seen from the monitor: the listening socket (bound
 * here, before the child exists, so the child needs no right to bind),
 * the program's start and restart, and the text it asks for.
 *
 * The child is exec'd, confined by itself on the first message
 * (src/metrics/metrics_main.c) and never given the Docker socket, the
 * config or a file: it asks with one byte, and the monitor answers with
 * the whole text in one datagram. A dead child is started again after a
 * second; scrapes in between are refused by the kernel (nothing accepts).
 */
#ifndef HERMES_METRICS_PROC_H
#define HERMES_METRICS_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "loop.h"

struct metrics_proc;

/* Appends the metrics' text to out: 0, or a negative errno. */
typedef int (*metrics_text_cb)(void *arg, struct buf *out);

struct metrics_proc_settings {
	const char *listen; /* metrics.listen: "HOST:PORT" */
	const char *dir;    /* where hermes-metrics is (else HERMES_LIBEXECDIR) */
	const char *root;   /* the empty directory it chroots to */
	uid_t uid;          /* the user it takes (0: keeps its own) */
	gid_t gid;
	int log_level;
	bool log_json;
};

/* metrics.listen as bind(2) wants it: the host (an IPv6 address without its
 * brackets) in host[cap], the port in port. 0, or -1 with *why. */
int metrics_listen_split(const char *listen, char *host, size_t cap, char port[6],
                         const char **why);

/* Start-up: binds the address and starts the program. NULL after saying
 * why (the daemon does not start without the metrics it was told to
 * serve). */
struct metrics_proc *metrics_proc_new(struct loop *l, const struct metrics_proc_settings *set,
                                      metrics_text_cb text, void *arg);
void metrics_proc_free(struct metrics_proc *mp);

/* SIGCHLD: true when pid was the program's. */
bool metrics_proc_reaped(struct metrics_proc *mp, pid_t pid, int status);

/* Shutdown: the program is told to stop (SIGTERM) and not started again. */
void metrics_proc_stop(struct metrics_proc *mp);

/* The address it listens on, as bound: "ADDRESS:PORT". */
const char *metrics_proc_address(const struct metrics_proc *mp);

#endif
