/*
 * admission: who may open another connection now. Pure functions over
 * counts, so every rule is unit-tested; the monitor counts and drops.
 *
 * - server.max_concurrent_sessions: logged-in sessions at once (each holds
 *   a container; the session refuses a login past it too);
 * - server.max_sessions_per_ip: connections at once from one address;
 * - server.max_startups (OpenSSH's MaxStartups start:rate:full): with
 *   `start` connections not yet logged in, a new one is dropped with
 *   probability rate %, rising linearly to 100 % at `full`: a flood of
 *   connections that never log in cannot hold more workers than that.
 */
#ifndef HERMES_ADMISSION_H
#define HERMES_ADMISSION_H

#include <stdint.h>

#include "config.h"

/* What the connections now open are. */
struct admission_load {
	unsigned authed;  /* logged in: each holds (or will hold) a container */
	unsigned from_ip; /* from the new one's address */
	unsigned unauth;  /* not logged in yet */
};

/* NULL: accept; else the reason to drop (a session.rejected reason).
 * rnd: a uniform random number (MaxStartups' early drop). */
const char *admission_check(const struct config *cfg, const struct admission_load *load,
                            uint32_t rnd);

#endif
