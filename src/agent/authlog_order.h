/*
 * authlog_order: where lines of the past go in auth.log. An earlier
 * connection's failures reach the box's sshd only at the login that follows
 * (docs/agent-protocol.md, HELLO); a server's sshd wrote them when they
 * happened, so they go into the file at their place in time, among what
 * rsyslog wrote since (cron's, logind's, the log history's lines), with
 * their own stamps. Pure: no I/O, unit-tested (tests/unit/test_authlog_order.c).
 */
#ifndef HERMES_AUTHLOG_ORDER_H
#define HERMES_AUTHLOG_ORDER_H

#include <stddef.h>
#include <time.h>

/* The time a line of auth.log is stamped with: rsyslog's RFC 3339
 * ("2026-12-06T18:15:20.637317+00:00 host ...") or the traditional
 * "Dec  6 18:15:20 host ..." (local time; of the year that puts it at most
 * a day after now). -1 when the line starts with neither. */
time_t authlog_stamp_time(const char *line, size_t len, time_t now);

struct authlog_new_line {
	time_t when;
	const char *text; /* the whole line with its stamp, '\n' included */
	size_t len;
};

/* The offset in text (whole lines, each ending in '\n') of the first line
 * stamped after `when`, or len when there is none: where a line of `when`
 * goes. A line without a stamp counts as of the line before it. */
size_t authlog_insert_at(const char *text, size_t len, time_t when, time_t now);

/* Writes text's lines and the n new ones (oldest first) to out, each new
 * one before the first of text's stamped after it: the file's tail from
 * where authlog_insert_at() said. Returns the length (len plus every new
 * line's), or -1 when it does not fit in cap. */
long authlog_merge(const char *text, size_t len, const struct authlog_new_line *lines, size_t n,
                   time_t now, char *out, size_t cap);

#endif
