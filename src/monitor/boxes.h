/*
 * boxes: one box per attacker, in the monitor.
 *
 * A real server is one machine: every connection from one source address,
 * at the same time or returning within container_pool.sticky_ttl, lands in
 * the same box, with the same processes and files. An entry per address
 * holds the box while any session uses it or has its artifacts collected,
 * then for sticky_ttl seconds; then, or at shutdown, it is stopped as any
 * other (pool_release). sticky_ttl 0 turns it off: every session gets a box
 * of its own, stopped when it ends (the prototype's way). A second connection that arrives
 * while the first one's box is still coming from the pool waits for that
 * box rather than taking another.
 *
 * Bounded: one box per address, and at most max_boxes in all; at the bound
 * a new address's box takes the place of the box left unused longest. The
 * sessions still own their artifacts: each is collected against what the
 * box's last collection saw (boxes_known), so a session's artifacts are
 * what it changed.
 *
 * Not for: the pool's own warming, or Docker calls (pool.h does both).
 */
#ifndef HERMES_BOXES_H
#define HERMES_BOXES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "loop.h"
#include "pool.h"
#include "util.h"

struct boxes;

/* What a session is given. */
struct box_grant {
	const char *id, *name;
	bool pooled;                  /* fresh from the pre-warmed pool */
	bool returning;               /* sessions used it before this one */
	bool shared;                  /* other sessions use it now */
	const char *previous_session; /* the last session given it before, or "" */
	double idle_for;              /* seconds it had been unused (returning, not shared) */
	const json_t *known;          /* what its last collection saw (borrowed), or NULL */
};

/* g is NULL on failure, with error saying why. */
typedef void (*boxes_cb)(void *arg, const struct box_grant *g, const char *error);

struct boxes *boxes_new(struct loop *l, struct pool *p, int ttl_s, int max_boxes);
/* Releases (stops) every box; callbacks still waiting are not called. */
void boxes_free(struct boxes *b);

/* The box of ip for session_id; the callback comes later, from the loop,
 * exactly once unless cancelled. Returns a handle, or 0 when out of memory
 * (no callback then). */
uint64_t boxes_acquire(struct boxes *b, const char *ip, const char *session_id, boxes_cb cb,
                       void *arg);
void boxes_cancel(struct boxes *b, uint64_t handle);

/* A session's turn to collect its artifacts from its box: go, with what
 * the box's last collection saw (known, borrowed; NULL for none), and
 * boxes_collected() must follow; or !go (the registry is going away):
 * free arg and collect nothing. */
typedef void (*boxes_turn_cb)(void *arg, const json_t *known, bool go);

/* The session given box id is over. turn (NULL: nothing to collect): its
 * artifacts are collected one session at a time per box, so that each
 * collection knows what the one before saw, and a session's artifacts are
 * what it changed; turn comes when it is this one's (maybe inside this
 * call). */
void boxes_leave(struct boxes *b, const char *id, boxes_turn_cb turn, void *arg);
/* A collection of box id ended; seen (taken, may be NULL) is what it saw. */
void boxes_collected(struct boxes *b, const char *id, json_t *seen);

/* Box id died: forgotten and stopped; the sessions in it find out on
 * their own. */
void boxes_discard(struct boxes *b, const char *id);

/* Shutdown: every unused box is released now, every other one as soon as
 * its last session leaves. */
void boxes_release_all(struct boxes *b);

/* Boxes held now (in use, collected, kept or coming). */
unsigned boxes_count(const struct boxes *b);

#endif
