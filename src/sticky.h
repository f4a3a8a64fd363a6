/*
 * sticky: containers kept running for returning attackers, in the monitor.
 *
 * With container_pool.sticky_ttl > 0, a logged-in session's container is
 * not stopped when the session ends (after its artifacts were collected)
 * but kept, running, for sticky_ttl seconds; the next login from the same
 * source address within that time gets it back, with whatever it left
 * there still running, so a second-stage login finds its implant. One
 * container is kept per address: a newer one replaces (and stops) the
 * older. When the time runs out, or at shutdown, the container is stopped
 * as any other (pool_release). No Docker call of its own: only timers.
 */
#ifndef HERMES_STICKY_H
#define HERMES_STICKY_H

#include <stdbool.h>

#include <jansson.h>

#include "loop.h"
#include "pool.h"
#include "util.h"

struct sticky;

struct sticky_container {
	char id[65];
	char name[80];
	char session_id[SESSION_ID_LEN + 1]; /* the session that left it */
	double ended;                        /* when that session ended (wall clock) */
	json_t *known; /* what its artifacts collection saw (artifacts.h), owned; or NULL */
};

/* ttl_s 0: every park is a release. */
struct sticky *sticky_new(struct loop *l, struct pool *p, int ttl_s);
/* Releases (stops) every container still kept. */
void sticky_free(struct sticky *t);

/* Keeps the container of session_id, which came from ip, for the next
 * login from ip, or releases it when ttl is 0. Takes c->known. */
void sticky_park(struct sticky *t, const char *ip, const struct sticky_container *c);

/* Takes the container kept for ip: true and *out filled (out->known is
 * the caller's now), or false. */
bool sticky_take(struct sticky *t, const char *ip, struct sticky_container *out);

/* Shutdown: every kept container is released, and so is every one parked
 * from now on. */
void sticky_release_all(struct sticky *t);

/* Containers kept now. */
unsigned sticky_count(const struct sticky *t);

#endif
