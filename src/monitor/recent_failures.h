/*
 * recent_failures: failed logins of connections that never logged in, kept
 * per source address for the box that address gets next, in the monitor.
 *
 * A real server's sshd writes every failed attempt to auth.log and btmp at
 * once. A Hermes box exists only from a login on, so the failures of a
 * brute-force run reach the box's sshd in the HELLO of the login that
 * follows (docs/agent-protocol.md): the last few per address, as many as
 * HELLO carries. Bounded in addresses too; the oldest address yields.
 * Pure: no I/O, unit-tested.
 */
#ifndef HERMES_RECENT_FAILURES_H
#define HERMES_RECENT_FAILURES_H

#include <stddef.h>

#define FAILURE_USER_MAX 64

struct failure {
	double time;                     /* wall clock */
	unsigned port;                   /* the client's, of the connection that failed */
	char user[FAILURE_USER_MAX + 1]; /* sanitized, cut */
	const char *method;              /* a static string: "password", ... */
};

struct recent_failures;

/* per_address: failures kept per address; addresses: how many addresses. */
struct recent_failures *recent_failures_new(size_t per_address, size_t addresses);
void recent_failures_free(struct recent_failures *r);

/* Adds n failures of ip (oldest first); only the last per_address stay. */
void recent_failures_add(struct recent_failures *r, const char *ip, const struct failure *f,
                         size_t n);
/* Moves ip's failures (oldest first, at most cap) into out; returns how
 * many. ip has none kept afterwards. */
size_t recent_failures_take(struct recent_failures *r, const char *ip, struct failure *out,
                            size_t cap);

#endif
