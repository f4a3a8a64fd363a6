/*
 * recent_failures: failed logins kept per address; see recent_failures.h.
 *
 * A fixed table of addresses, each with a ring of its last failures; an
 * address not in it takes the slot used least recently.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recent_failures.h"

struct slot {
	char ip[64];
	uint64_t used; /* a tick of the table's clock; 0: free */
	size_t start, count;
	struct failure *ring; /* per_address entries */
};

struct recent_failures {
	size_t per, nslots;
	uint64_t clock;
	struct slot *slots;
	struct failure *store;
};

struct recent_failures *recent_failures_new(size_t per_address, size_t addresses)
{
	struct recent_failures *r = calloc(1, sizeof(*r));

	if (r == NULL || per_address == 0 || addresses == 0)
		goto fail;
	r->per = per_address;
	r->nslots = addresses;
	r->slots = calloc(addresses, sizeof(*r->slots));
	r->store = calloc(addresses * per_address, sizeof(*r->store));
	if (r->slots == NULL || r->store == NULL)
		goto fail;
	for (size_t i = 0; i < addresses; i++)
		r->slots[i].ring = r->store + i * per_address;
	return r;
fail:
	recent_failures_free(r);
	return NULL;
}

void recent_failures_free(struct recent_failures *r)
{
	if (r == NULL)
		return;
	free(r->slots);
	free(r->store);
	free(r);
}

static struct slot *find(struct recent_failures *r, const char *ip)
{
	for (size_t i = 0; i < r->nslots; i++)
		if (r->slots[i].used != 0 && strcmp(r->slots[i].ip, ip) == 0)
			return &r->slots[i];
	return NULL;
}

void recent_failures_add(struct recent_failures *r, const char *ip, const struct failure *f,
                         size_t n)
{
	struct slot *s;

	if (r == NULL || n == 0 || strlen(ip) >= sizeof(s->ip))
		return;
	if ((s = find(r, ip)) == NULL) {
		s = &r->slots[0];
		for (size_t i = 1; i < r->nslots; i++)
			if (r->slots[i].used < s->used)
				s = &r->slots[i];
		memcpy(s->ip, ip, strlen(ip) + 1);
		s->start = s->count = 0;
	}
	s->used = ++r->clock;
	for (size_t i = 0; i < n; i++) {
		if (s->count == r->per) {
			s->start = (s->start + 1) % r->per; /* the oldest goes */
			s->count--;
		}
		s->ring[(s->start + s->count) % r->per] = f[i];
		s->count++;
	}
}

size_t recent_failures_take(struct recent_failures *r, const char *ip, struct failure *out,
                            size_t cap)
{
	struct slot *s = r != NULL ? find(r, ip) : NULL;
	size_t n = 0;

	if (s == NULL)
		return 0;
	/* The newest cap of them, oldest first. */
	size_t skip = s->count > cap ? s->count - cap : 0;
	for (size_t i = skip; i < s->count; i++)
		out[n++] = s->ring[(s->start + i) % r->per];
	memset(s, 0, offsetof(struct slot, ring));
	return n;
}
