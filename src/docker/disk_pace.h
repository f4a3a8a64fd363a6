/*
 * disk_pace: how soon to ask again for a container's writable-layer size
 * (disk_watch.h), so that a fast writer is caught near its quota while an
 * idle container costs dockerd (which walks the layer for each answer)
 * almost nothing.
 *
 * The first look comes after DISK_PACE_MIN_MS; while the layer does not
 * grow the wait doubles up to DISK_PACE_MAX_MS; while it grows the wait is
 * half the time the current rate needs to reach the quota, within those
 * bounds. So a writer seen growing overshoots by about DISK_PACE_MIN_MS of
 * its writing at most; one that starts after a long quiet spell goes
 * unseen for up to DISK_PACE_MAX_MS. Pure.
 */
#ifndef HERMES_DISK_PACE_H
#define HERMES_DISK_PACE_H

#include <stdint.h>

#define DISK_PACE_MIN_MS 1000
#define DISK_PACE_MAX_MS 10000

/* prev_wait_ms: the wait before this answer (0 for the first look);
 * last_size: the size at the last answer, or -1 if this is the first;
 * elapsed_ms: between the two answers. */
int64_t disk_pace_next(int64_t prev_wait_ms, int64_t last_size, int64_t size, int64_t elapsed_ms,
                       int64_t quota);

#endif
