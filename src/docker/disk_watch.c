/*
 * disk_watch: a container's writable-layer size against its quota; see
 * disk_watch.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "disk_pace.h"
#include "disk_watch.h"
#include "log.h"
#include "util.h"

struct disk_watch {
	struct loop *loop;
	struct docker *docker;
	char path[128];
	int64_t quota;
	disk_watch_cb over;
	void *arg;
	uint64_t timer, call;
	int failures;    /* Docker errors in a row, for the log */
	int64_t wait_ms; /* before the last poll */
	int64_t size;    /* at the last answer, -1 before the first */
	int64_t when_ms; /* of the last answer */
};

static void on_timer(struct loop *l, void *arg);

static void on_size(void *arg, const struct docker_reply *r)
{
	struct disk_watch *w = arg;
	const char *why = r->error;
	int64_t size = 0, now = util_mono_ms(), next = DISK_PACE_MAX_MS;

	w->call = 0;
	if (r->error != NULL || docker_json_size_rw(r->json, &size, &why) < 0) {
		if (w->failures++ == 0)
			warn("disk quota: cannot read the size of %s: %s", w->path, why);
	} else {
		w->failures = 0;
		if (size > w->quota) {
			/* Once: the session is ending. */
			w->over(w->arg, size);
			return;
		}
		next = disk_pace_next(w->wait_ms, w->size, size, now - w->when_ms, w->quota);
		w->size = size;
		w->when_ms = now;
	}
	w->wait_ms = next;
	w->timer = loop_add_timer(w->loop, next, on_timer, w);
}

static void on_timer(struct loop *l, void *arg)
{
	struct disk_watch *w = arg;

	w->timer = 0;
	/* Docker walks the layer for this: it may take a while, and nothing
	 * waits for it. */
	w->call = docker_request(w->docker, "GET", w->path, NULL, 60000, on_size, w);
	if (w->call == 0)
		w->timer = loop_add_timer(w->loop, DISK_PACE_MAX_MS, on_timer, w);
}

struct disk_watch *disk_watch_new(struct loop *l, struct docker *d, const char *container_id,
                                  int64_t quota, disk_watch_cb over, void *arg)
{
	struct disk_watch *w;

	if (quota <= 0 || !docker_id_valid(container_id) || (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->loop = l;
	w->docker = d;
	snprintf(w->path, sizeof(w->path), "/containers/%s/json?size=1", container_id);
	w->quota = quota;
	w->over = over;
	w->arg = arg;
	w->size = -1;
	w->wait_ms = DISK_PACE_MIN_MS;
	w->timer = loop_add_timer(l, DISK_PACE_MIN_MS, on_timer, w);
	return w;
}

void disk_watch_free(struct disk_watch *w)
{
	if (w == NULL)
		return;
	loop_del_timer(w->loop, w->timer);
	docker_cancel(w->docker, w->call);
	free(w);
}
