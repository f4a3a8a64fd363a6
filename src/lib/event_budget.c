/*
 * event_budget: bytes of event log per session; see event_budget.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event_budget.h"

#define BUCKETS 1024 /* sessions open at once are a few thousand at most */

struct entry {
	struct entry *next;
	struct budget_totals t;
	bool over;
	char session[]; /* NUL-terminated */
};

struct event_budget {
	uint64_t limit;
	size_t count;
	struct entry *bucket[BUCKETS];
};

/* FNV-1a: the keys are the monitor's own random session ids. */
static size_t slot(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % BUCKETS;
}

static struct entry **find(struct event_budget *b, const char *session)
{
	struct entry **e = &b->bucket[slot(session)];

	while (*e != NULL && strcmp((*e)->session, session) != 0)
		e = &(*e)->next;
	return e;
}

struct event_budget *event_budget_new(uint64_t limit)
{
	struct event_budget *b;

	if (limit == 0 || (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->limit = limit;
	return b;
}

void event_budget_free(struct event_budget *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		while (b->bucket[i] != NULL) {
			struct entry *e = b->bucket[i];
			b->bucket[i] = e->next;
			free(e);
		}
	free(b);
}

uint64_t event_budget_limit(const struct event_budget *b)
{
	return b->limit;
}

int event_budget_open(struct event_budget *b, const char *session)
{
	struct entry **at = find(b, session), *e;
	size_t n = strlen(session);

	if (*at != NULL)
		return 0;
	if ((e = calloc(1, sizeof(*e) + n + 1)) == NULL)
		return -ENOMEM;
	memcpy(e->session, session, n + 1);
	*at = e;
	b->count++;
	return 0;
}

enum budget_verdict event_budget_charge(struct event_budget *b, const char *session, size_t bytes)
{
	struct entry *e = *find(b, session);

	if (e == NULL)
		return BUDGET_WRITE;
	if (!e->over && bytes <= b->limit - e->t.used) {
		e->t.used += bytes;
		return BUDGET_WRITE;
	}
	e->t.dropped_events++;
	e->t.dropped_bytes += bytes;
	if (e->over)
		return BUDGET_DROP;
	e->over = true;
	return BUDGET_FIRST_OVER;
}

bool event_budget_close(struct event_budget *b, const char *session, struct budget_totals *t)
{
	struct entry **at = find(b, session), *e = *at;

	if (e == NULL)
		return false;
	if (t != NULL)
		*t = e->t;
	*at = e->next;
	free(e);
	b->count--;
	return true;
}

size_t event_budget_open_count(const struct event_budget *b)
{
	return b->count;
}
