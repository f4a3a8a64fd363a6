/*
 * event_budget: how much of the event log each session may fill.
 *
 * A session is attacker driven from its first byte to the end of its
 * artifact collection, and every event it causes is a line of the log:
 * without a bound, one connection could fill the disk or stall the loop.
 * Each session open here has a byte budget; events past it are dropped and
 * counted, with one marker when the budget is first passed. Sessions not
 * open here (or after close) are not limited.
 */
#ifndef HERMES_EVENT_BUDGET_H
#define HERMES_EVENT_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_budget;

enum budget_verdict {
	BUDGET_WRITE,      /* within the budget, or not a limited session */
	BUDGET_FIRST_OVER, /* this event passes the budget: drop it, write the marker */
	BUDGET_DROP        /* past the budget already */
};

struct budget_totals {
	uint64_t used;           /* bytes written */
	uint64_t dropped_events; /* events not written */
	uint64_t dropped_bytes;  /* their bytes */
};

/* limit: bytes per session (> 0). NULL when out of memory. */
struct event_budget *event_budget_new(uint64_t limit);
void event_budget_free(struct event_budget *b);
uint64_t event_budget_limit(const struct event_budget *b);

/* Starts counting for session (any string; reopening an open one keeps its
 * count). 0 or -ENOMEM. */
int event_budget_open(struct event_budget *b, const char *session);
/* An event of `bytes` for session: may it be written? */
enum budget_verdict event_budget_charge(struct event_budget *b, const char *session, size_t bytes);
/* Stops counting; *t gets the session's totals. false if it was not open. */
bool event_budget_close(struct event_budget *b, const char *session, struct budget_totals *t);
/* Sessions open now. */
size_t event_budget_open_count(const struct event_budget *b);

#endif
