/*
 * metrics: the monitor's counters for Prometheus (metrics.listen), and
 * their text exposition format (version 0.0.4). docs/metrics.md lists
 * every metric.
 *
 * Counted from the event log's tee (every event written, metrics_event)
 * and from the Docker client's calls (metrics_docker_call); what is live
 * now (connections, boxes) the monitor gives when it renders. Every label
 * value comes from a fixed list ("other" for anything else), so no
 * attacker-chosen string and no address or user name becomes a label,
 * and the text has a bound. Serving it is hermes-metrics' (metrics_proc.h),
 * never this process's.
 */
#ifndef HERMES_METRICS_H
#define HERMES_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

struct metrics;

/* What the monitor has now, read when the text is made. */
struct metrics_live {
	unsigned connections;    /* TCP connections with a worker */
	unsigned sessions;       /* of them, past login */
	unsigned boxes_ready;    /* pre-warmed, waiting */
	unsigned boxes_warming;  /* being created */
	unsigned boxes_held;     /* given to an attacker (in use or kept) */
	unsigned docker_pending; /* Docker calls in flight */
};

/* start_wall: when the daemon started (seconds since the epoch). */
struct metrics *metrics_new(double start_wall);
void metrics_free(struct metrics *m);

/* One event written to the event log. */
void metrics_event(struct metrics *m, const json_t *event);

/* One Docker call ended: `what` is "METHOD /path" as the client sent it,
 * failed whether it got no 2xx answer, usec how long it took. */
void metrics_docker_call(struct metrics *m, const char *what, bool failed, int64_t usec);

/* The operation a Docker call is counted under: "containers_create",
 * "exec_start", "containers_archive", ... - the path's first part and its
 * verb, ids left out; "other" for a path it does not know. Pure; exposed
 * for the tests. out has room for 32 bytes. */
void metrics_docker_op(const char *what, char out[32]);

/* The whole text, appended to out. 0, or -ENOMEM. */
int metrics_render(const struct metrics *m, const struct metrics_live *live, struct buf *out);

#endif
