/*
 * disk_watch: ends a session whose container writes more than
 * container_pool.security.disk_quota to its writable layer.
 *
 * overlay2 on ext4 cannot enforce a size (StorageOpt needs xfs with
 * pquota), so the monitor asks Docker for the layer's size (SizeRw) at
 * the pace disk_pace.h sets (every 1 to 10 s, sooner the faster the layer
 * grows towards the quota), asynchronously, one call in flight at most,
 * and calls over() once when it passes the quota. tmpfs mounts are bounded by
 * their own size and not counted.
 */
#ifndef HERMES_DISK_WATCH_H
#define HERMES_DISK_WATCH_H

#include <stdint.h>

#include "docker.h"
#include "loop.h"

struct disk_watch;

typedef void (*disk_watch_cb)(void *arg, int64_t size);

/* NULL when quota is 0 (off) or out of memory. */
struct disk_watch *disk_watch_new(struct loop *l, struct docker *d, const char *container_id,
                                  int64_t quota, disk_watch_cb over, void *arg);
void disk_watch_free(struct disk_watch *w);

#endif
