/* Unit tests for authlog_order: the stamps of auth.log read back, and an
 * earlier connection's lines put at their place in time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authlog_order.h"

static const time_t now = 1796580920; /* 2026-12-06T18:15:20Z */

static void test_rfc3339(void **state)
{
	static const char l[] = "2026-12-06T18:15:20.637317+00:00 web sshd[62]: Accepted";

	(void)state;
	assert_int_equal(authlog_stamp_time(l, strlen(l), now), now);
	assert_int_equal(authlog_stamp_time("2026-12-06T19:15:20+01:00 x", 27, now), now);
	assert_int_equal(authlog_stamp_time("2026-12-06T13:15:20.5-05:00 x", 29, now), now);
	assert_int_equal(authlog_stamp_time("2026-12-06T18:15:20Z x", 22, now), now);
	/* Not a stamp: a month of 13, no offset, cut short, letters. */
	assert_int_equal(authlog_stamp_time("2026-13-06T18:15:20+00:00 x", 27, now), -1);
	assert_int_equal(authlog_stamp_time("2026-12-06T18:15:20 x", 21, now), -1);
	assert_int_equal(authlog_stamp_time("2026-12-06T18:15", 16, now), -1);
	assert_int_equal(authlog_stamp_time("2026-1x-06T18:15:20+00:00 x", 27, now), -1);
	/* Only as long as the line says. */
	assert_int_equal(authlog_stamp_time(l, 20, now), -1);
}

static void test_traditional(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	assert_int_equal(authlog_stamp_time("Dec  6 18:15:20 web sshd[62]: x", 31, now), now);
	assert_int_equal(authlog_stamp_time("Dec 06 18:15:20 web", 19, now), now);
	assert_int_equal(authlog_stamp_time("Nov 30 18:15:20 web", 19, now), now - 6 * 86400);
	/* A day ahead at most: later is last year's. */
	assert_int_equal(authlog_stamp_time("Dec  7 18:15:20 web", 19, now), now + 86400);
	assert_int_equal(authlog_stamp_time("Dec 25 00:00:00 web", 19, now),
	                 1766620800); /* 2025-12-25 */
	assert_int_equal(authlog_stamp_time("Foo  6 18:15:20 web", 19, now), -1);
	assert_int_equal(authlog_stamp_time("Dec  6 18:15", 12, now), -1);
	assert_int_equal(authlog_stamp_time("", 0, now), -1);
	assert_int_equal(authlog_stamp_time("Dec  6 25:15:20 web", 19, now), -1);
}

#define L(t, rest) t " web " rest "\n"

static const char file[] = L("2026-12-06T18:00:01.100000+00:00", "CRON[1]: a")
    L("2026-12-06T18:05:00.200000+00:00", "CRON[2]: b") "  a continuation without a stamp\n" L(
        "2026-12-06T18:10:00.300000+00:00", "CRON[3]: c")
        L("2026-12-06T18:10:00.400000+00:00", "CRON[4]: d");

static void test_insert_at(void **state)
{
	size_t len = strlen(file);
	const char *b = strstr(file, "2026-12-06T18:05"), *c = strstr(file, "2026-12-06T18:10");

	(void)state;
	/* 18:03 goes before b; 18:05:00 itself after b and its continuation;
	 * after d: the end; before a: the start. */
	assert_int_equal(authlog_insert_at(file, len, now - 12 * 60 - 20, now), b - file);
	assert_int_equal(authlog_insert_at(file, len, now - 10 * 60 - 20, now), c - file);
	assert_int_equal(authlog_insert_at(file, len, now - 5 * 60 - 20, now), len);
	assert_int_equal(authlog_insert_at(file, len, now - 3600, now), 0);
	assert_int_equal(authlog_insert_at("", 0, now, now), 0);
}

static void test_merge(void **state)
{
	const char *b = strstr(file, "2026-12-06T18:05");
	const struct authlog_new_line lines[] = {
	    {now - 12 * 60 - 20, "X1\n", 3}, /* 18:03:00 */
	    {now - 10 * 60 - 20, "X2\n", 3}, /* 18:05:00: after b, as rsyslog would have */
	    {now - 8 * 60, "X3\n", 3},       /* 18:07:20 */
	    {now - 60, "X4\n", 3},           /* 18:14:20: after all */
	};
	size_t at = (size_t)(b - file), len = strlen(file);
	char out[1024];
	long n;

	(void)state;
	n = authlog_merge(file + at, len - at, lines, 4, now, out, sizeof(out));
	assert_int_equal(n, (long)(len - at + 12));
	out[n] = '\0';
	assert_string_equal(
	    out,
	    "X1\n" L(
	        "2026-12-06T18:05:00.200000+00:00",
	        "CRON[2]: b") "  a continuation without a stamp\nX2\nX3\n" L("2026-12-06T18:10:00."
	                                                                     "300000+00:00",
	                                                                     "CRON[3]: c")
	        L("2026-12-06T18:10:00.400000+00:00", "CRON[4]: d") "X4\n");
	/* One byte short. */
	assert_int_equal(authlog_merge(file + at, len - at, lines, 4, now, out, (size_t)n - 1), -1);
	/* An empty file: the new lines alone. */
	n = authlog_merge("", 0, lines, 2, now, out, sizeof(out));
	assert_int_equal(n, 6);
	assert_memory_equal(out, "X1\nX2\n", 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc3339),
	    cmocka_unit_test(test_traditional),
	    cmocka_unit_test(test_insert_at),
	    cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
