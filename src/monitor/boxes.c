/*
 * boxes: one box per attacker; see boxes.h.
 *
 * A short list, one entry per source address, searched linearly: it holds
 * at most max_boxes entries.
 */
#include <stdlib.h>
#include <string.h>

#include "boxes.h"
#include "log.h"

struct waiter {
	struct waiter *next;
	struct box *box;
	uint64_t handle;
	uint64_t timer; /* delivery of a box that is there already */
	char session_id[SESSION_ID_LEN + 1];
	boxes_cb cb;
	void *arg;
};

struct turn {
	struct turn *next;
	boxes_turn_cb cb;
	void *arg;
};

struct box {
	struct box *next;
	struct boxes *owner;
	char ip[64];
	char id[65], name[80]; /* "" while it comes from the pool */
	bool pooled;           /* for its first session only */
	uint64_t alloc;        /* pool_allocate in flight */
	unsigned users;        /* sessions given it and not yet left */
	bool collecting;       /* a session's artifact collection runs */
	struct turn *turns;    /* the sessions whose collection waits for it, in order */
	char last_session[SESSION_ID_LEN + 1];
	double idle_since; /* wall clock; 0 while in use */
	json_t *known;
	uint64_t timer; /* sticky_ttl, while unused */
};

struct boxes {
	struct loop *loop;
	struct pool *pool;
	int ttl_s;
	bool share; /* one box per address; else one per session */
	unsigned max;
	struct box *list;
	struct waiter *waiters;
	uint64_t next_handle;
};

struct boxes *boxes_new(struct loop *l, struct pool *p, int ttl_s, int max_boxes)
{
	struct boxes *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->loop = l;
	b->pool = p;
	b->ttl_s = ttl_s > 0 ? ttl_s : 0;
	b->share = ttl_s > 0;
	b->max = max_boxes > 0 ? (unsigned)max_boxes : 1;
	b->next_handle = 1;
	return b;
}

static struct box *by_ip(const struct boxes *b, const char *ip)
{
	for (struct box *x = b->list; x != NULL; x = x->next)
		if (strcmp(x->ip, ip) == 0)
			return x;
	return NULL;
}

static struct box *by_id(const struct boxes *b, const char *id)
{
	for (struct box *x = b->list; id != NULL && id[0] != '\0' && x != NULL; x = x->next)
		if (strcmp(x->id, id) == 0)
			return x;
	return NULL;
}

static void unlink_waiter(struct boxes *b, struct waiter *w)
{
	for (struct waiter **pp = &b->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	loop_del_timer(b->loop, w->timer);
}

/* Forgets x; its container is stopped when it has one. Its waiters must be
 * gone already. */
static void drop(struct boxes *b, struct box *x)
{
	for (struct box **pp = &b->list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	loop_del_timer(b->loop, x->timer);
	if (x->alloc != 0)
		pool_cancel(b->pool, x->alloc);
	while (x->turns != NULL) {
		struct turn *t = x->turns;
		x->turns = t->next;
		t->cb(t->arg, NULL, false);
		free(t);
	}
	if (x->id[0] != '\0')
		pool_release(b->pool, x->id, x->name);
	json_decref(x->known);
	free(x);
}

static void on_expired(struct loop *l, void *arg)
{
	struct box *x = arg;

	x->timer = 0;
	info("box %s of %s unused for %d s: stopped", x->name, x->ip, x->owner->ttl_s);
	drop(x->owner, x);
}

/* Nobody uses x any more: kept for the ttl, or stopped now. */
static void maybe_idle(struct boxes *b, struct box *x)
{
	if (x->users > 0 || x->collecting || x->turns != NULL || x->alloc != 0)
		return;
	for (struct waiter *w = b->waiters; w != NULL; w = w->next)
		if (w->box == x)
			return; /* about to be given out */
	if (b->ttl_s == 0) {
		drop(b, x);
		return;
	}
	x->idle_since = util_wall();
	loop_del_timer(b->loop, x->timer);
	x->timer = loop_add_timer(b->loop, (int64_t)b->ttl_s * 1000, on_expired, x);
}

/* Hands x to waiter w (unlinked, freed here). */
static void give(struct boxes *b, struct box *x, struct waiter *w)
{
	struct box_grant g = {.id = x->id,
	                      .name = x->name,
	                      .pooled = x->pooled,
	                      .returning = x->last_session[0] != '\0',
	                      .shared = x->users > 0,
	                      .previous_session = x->last_session,
	                      .known = x->known};
	char previous[SESSION_ID_LEN + 1];

	snprintf(previous, sizeof(previous), "%s", x->last_session);
	g.previous_session = previous;
	if (g.returning && !g.shared && x->idle_since > 0)
		g.idle_for = util_wall() - x->idle_since;
	x->pooled = false;
	x->users++;
	x->idle_since = 0;
	loop_del_timer(b->loop, x->timer);
	x->timer = 0;
	snprintf(x->last_session, sizeof(x->last_session), "%s", w->session_id);
	unlink_waiter(b, w);
	w->cb(w->arg, &g, NULL);
	free(w);
}

static void on_deliver(struct loop *l, void *arg)
{
	struct waiter *w = arg;

	w->timer = 0;
	give(w->box->owner, w->box, w);
}

static void on_allocated(void *arg, const struct pool_container *pc, const char *error)
{
	struct box *x = arg;
	struct boxes *b = x->owner;
	struct waiter *w, *next;

	x->alloc = 0;
	if (pc != NULL) {
		snprintf(x->id, sizeof(x->id), "%s", pc->id);
		snprintf(x->name, sizeof(x->name), "%s", pc->name);
		x->pooled = pc->pooled;
	}
	for (w = b->waiters; w != NULL; w = next) {
		next = w->next;
		if (w->box != x)
			continue;
		if (pc != NULL) {
			give(b, x, w);
		} else {
			unlink_waiter(b, w);
			w->cb(w->arg, NULL, error ? error : "no container");
			free(w);
		}
		next = b->waiters; /* a callback may have changed the list */
	}
	if (pc == NULL)
		drop(b, x);
	else
		maybe_idle(b, x);
}

/* At the bound, the box unused longest makes room. */
static void make_room(struct boxes *b)
{
	unsigned n = boxes_count(b);
	struct box *oldest = NULL;

	if (n < b->max)
		return;
	for (struct box *x = b->list; x != NULL; x = x->next)
		if (x->timer != 0 && (oldest == NULL || x->idle_since < oldest->idle_since))
			oldest = x;
	if (oldest != NULL) {
		info("%u boxes: the one of %s, unused longest, is stopped to make room", n,
		     oldest->ip);
		drop(b, oldest);
	}
}

uint64_t boxes_acquire(struct boxes *b, const char *ip, const char *session_id, boxes_cb cb,
                       void *arg)
{
	struct box *x = b->share ? by_ip(b, ip) : NULL;
	struct waiter *w;

	if (strlen(ip) >= sizeof(x->ip) || (w = calloc(1, sizeof(*w))) == NULL)
		return 0;
	if (x == NULL) {
		make_room(b);
		if ((x = calloc(1, sizeof(*x))) == NULL) {
			free(w);
			return 0;
		}
		x->owner = b;
		snprintf(x->ip, sizeof(x->ip), "%s", ip);
		x->alloc = pool_allocate(b->pool, session_id, on_allocated, x);
		if (x->alloc == 0) {
			free(x);
			free(w);
			return 0;
		}
		x->next = b->list;
		b->list = x;
	}
	/* Given out again: no longer unused, so neither expired nor evicted. */
	loop_del_timer(b->loop, x->timer);
	x->timer = 0;
	w->box = x;
	w->handle = b->next_handle++;
	snprintf(w->session_id, sizeof(w->session_id), "%s", session_id);
	w->cb = cb;
	w->arg = arg;
	if (x->alloc == 0)
		w->timer = loop_add_timer(b->loop, 0, on_deliver, w);
	w->next = b->waiters;
	b->waiters = w;
	return w->handle;
}

void boxes_cancel(struct boxes *b, uint64_t handle)
{
	struct waiter *w = b->waiters;

	while (w != NULL && w->handle != handle)
		w = w->next;
	if (handle == 0 || w == NULL)
		return;
	struct box *x = w->box;
	unlink_waiter(b, w);
	free(w);
	maybe_idle(b, x);
}

/* The next waiting collection of x starts, if none runs. */
static void next_turn(struct box *x)
{
	struct turn *t = x->turns;

	if (x->collecting || t == NULL)
		return;
	x->turns = t->next;
	x->collecting = true;
	t->cb(t->arg, x->known, true);
	free(t);
}

void boxes_leave(struct boxes *b, const char *id, boxes_turn_cb turn, void *arg)
{
	struct box *x = by_id(b, id);
	struct turn *t, **tail;

	if (x == NULL) {
		/* Discarded meanwhile: what it left is still collected. */
		if (turn != NULL)
			turn(arg, NULL, true);
		return;
	}
	if (x->users > 0)
		x->users--;
	if (turn != NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL) {
			turn(arg, NULL, false);
		} else {
			t->cb = turn;
			t->arg = arg;
			for (tail = &x->turns; *tail != NULL; tail = &(*tail)->next)
				;
			*tail = t;
			next_turn(x);
		}
	}
	maybe_idle(b, x);
}

void boxes_collected(struct boxes *b, const char *id, json_t *seen)
{
	struct box *x = by_id(b, id);

	if (x == NULL) {
		json_decref(seen);
		return;
	}
	x->collecting = false;
	if (seen != NULL) {
		json_decref(x->known);
		x->known = seen;
	}
	next_turn(x);
	maybe_idle(b, x);
}

void boxes_discard(struct boxes *b, const char *id)
{
	struct box *x = by_id(b, id);
	const char *session_id = NULL;

	if (x == NULL)
		return;
	pool_release(b->pool, x->id, x->name);
	x->id[0] = x->name[0] = '\0';
	/* Collections waiting for their turn go now (there is nothing to
	 * wait for); they and the sessions in it end under the dead box's
	 * id, which is no longer counted. */
	while (x->turns != NULL) {
		struct turn *t = x->turns;
		x->turns = t->next;
		t->cb(t->arg, NULL, true);
		free(t);
	}
	x->users = 0;
	x->collecting = false;
	json_decref(x->known);
	x->known = NULL;
	for (struct waiter *w = b->waiters; w != NULL; w = w->next)
		if (w->box == x) {
			loop_del_timer(b->loop, w->timer);
			w->timer = 0;
			session_id = w->session_id;
		}
	/* Those about to be given it wait for another from the pool. */
	if (session_id != NULL)
		x->alloc = pool_allocate(b->pool, session_id, on_allocated, x);
	if (x->alloc == 0) {
		for (struct waiter *w = b->waiters, *next; w != NULL; w = next) {
			next = w->next;
			if (w->box != x)
				continue;
			unlink_waiter(b, w);
			w->cb(w->arg, NULL, "out of memory");
			free(w);
			next = b->waiters;
		}
		drop(b, x);
	}
}

void boxes_release_all(struct boxes *b)
{
	struct box *x, *next;

	b->ttl_s = 0;
	for (x = b->list; x != NULL; x = next) {
		next = x->next;
		if (x->timer != 0)
			drop(b, x);
	}
}

void boxes_free(struct boxes *b)
{
	if (b == NULL)
		return;
	while (b->waiters != NULL) {
		struct waiter *w = b->waiters;
		unlink_waiter(b, w);
		free(w);
	}
	while (b->list != NULL)
		drop(b, b->list);
	free(b);
}

unsigned boxes_count(const struct boxes *b)
{
	unsigned n = 0;

	for (const struct box *x = b->list; x != NULL; x = x->next)
		n++;
	return n;
}
