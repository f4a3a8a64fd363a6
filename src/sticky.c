/*
 * sticky: containers kept for returning attackers; see sticky.h.
 *
 * A short list: one entry per source address, at most as many as
 * max_concurrent_sessions could leave behind in one ttl, searched
 * linearly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sticky.h"

struct kept {
	struct kept *next;
	struct sticky *owner;
	char ip[64];
	struct sticky_container c;
	uint64_t timer;
};

struct sticky {
	struct loop *loop;
	struct pool *pool;
	int ttl_s;
	struct kept *list;
};

struct sticky *sticky_new(struct loop *l, struct pool *p, int ttl_s)
{
	struct sticky *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->loop = l;
	t->pool = p;
	t->ttl_s = ttl_s > 0 ? ttl_s : 0;
	return t;
}

static void unlink_kept(struct sticky *t, struct kept *k)
{
	for (struct kept **pp = &t->list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	loop_del_timer(t->loop, k->timer);
}

static void release(struct sticky *t, struct kept *k)
{
	unlink_kept(t, k);
	pool_release(t->pool, k->c.id, k->c.name);
	json_decref(k->c.known);
	free(k);
}

void sticky_release_all(struct sticky *t)
{
	t->ttl_s = 0;
	while (t->list != NULL)
		release(t, t->list);
}

void sticky_free(struct sticky *t)
{
	if (t == NULL)
		return;
	sticky_release_all(t);
	free(t);
}

static void on_expired(struct loop *l, void *arg)
{
	struct kept *k = arg;

	k->timer = 0;
	info("returning-attacker container %s of %s expired", k->c.name, k->ip);
	release(k->owner, k);
}

static struct kept *find(const struct sticky *t, const char *ip)
{
	for (struct kept *k = t->list; k != NULL; k = k->next)
		if (strcmp(k->ip, ip) == 0)
			return k;
	return NULL;
}

void sticky_park(struct sticky *t, const char *ip, const struct sticky_container *c)
{
	struct kept *k = NULL, *old;

	if (t->ttl_s > 0 && ip != NULL && strlen(ip) < sizeof(k->ip))
		k = calloc(1, sizeof(*k));
	if (k == NULL) {
		pool_release(t->pool, c->id, c->name);
		json_decref(c->known);
		return;
	}
	if ((old = find(t, ip)) != NULL)
		release(t, old); /* the newer one is what the attacker comes back to */
	k->owner = t;
	snprintf(k->ip, sizeof(k->ip), "%s", ip);
	k->c = *c;
	k->timer = loop_add_timer(t->loop, (int64_t)t->ttl_s * 1000, on_expired, k);
	k->next = t->list;
	t->list = k;
}

bool sticky_take(struct sticky *t, const char *ip, struct sticky_container *out)
{
	struct kept *k = t != NULL && ip != NULL ? find(t, ip) : NULL;

	if (k == NULL)
		return false;
	*out = k->c;
	unlink_kept(t, k);
	free(k);
	return true;
}

unsigned sticky_count(const struct sticky *t)
{
	unsigned n = 0;

	for (const struct kept *k = t->list; k != NULL; k = k->next)
		n++;
	return n;
}
