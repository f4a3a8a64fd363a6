/* Unit tests for disk_pace: quick first looks, backing off while idle,
 * closing in on the quota while a writer writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "disk_pace.h"

#define MB (1024LL * 1024)

static void test_idle_backs_off(void **state)
{
	int64_t w = 0;

	(void)state;
	/* First answer: no rate yet. */
	w = disk_pace_next(DISK_PACE_MIN_MS, -1, 4096, 0, 1024 * MB);
	assert_int_equal(w, 2000);
	w = disk_pace_next(w, 4096, 4096, w, 1024 * MB);
	assert_int_equal(w, 4000);
	w = disk_pace_next(w, 4096, 4096, w, 1024 * MB);
	assert_int_equal(w, 8000);
	w = disk_pace_next(w, 4096, 4000, w, 1024 * MB); /* shrank: idle too */
	assert_int_equal(w, DISK_PACE_MAX_MS);
	w = disk_pace_next(w, 4096, 4096, w, 1024 * MB);
	assert_int_equal(w, DISK_PACE_MAX_MS);
	assert_int_equal(disk_pace_next(0, -1, 0, 0, MB), DISK_PACE_MIN_MS);
	assert_int_equal(disk_pace_next(INT64_MAX, 1, 1, 5, MB), DISK_PACE_MAX_MS);
}

static void test_writer_is_closed_in_on(void **state)
{
	(void)state;
	/* 100 MB/s with 800 MB to go: 8 s away, look again in 4. */
	assert_int_equal(disk_pace_next(10000, 0, 200 * MB, 2000, 1000 * MB), 4000);
	/* Slow growth, far from the quota: the longest wait. */
	assert_int_equal(disk_pace_next(10000, 0, MB, 10000, 1000 * MB), DISK_PACE_MAX_MS);
	/* Fast, close: the shortest. */
	assert_int_equal(disk_pace_next(1000, 900 * MB, 990 * MB, 1000, 1000 * MB),
	                 DISK_PACE_MIN_MS);
	/* At the quota (the caller ends the session above it). */
	assert_int_equal(disk_pace_next(1000, 900 * MB, 1000 * MB, 1000, 1000 * MB),
	                 DISK_PACE_MIN_MS);
	/* No overflow with absurd numbers. */
	assert_int_equal(disk_pace_next(1000, 0, 1, INT64_MAX, INT64_MAX), DISK_PACE_MAX_MS);
	assert_int_equal(disk_pace_next(1000, 0, INT64_MAX - 1, 1, INT64_MAX), DISK_PACE_MIN_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_idle_backs_off),
	    cmocka_unit_test(test_writer_is_closed_in_on),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
