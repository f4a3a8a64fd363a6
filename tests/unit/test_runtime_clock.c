/* Unit tests for runtime_clock's offsets: what a box's boot and monotonic
 * clocks read is the time since its boot, whatever the host's read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "box_boot.h"
#include "runtime_clock.h"

static const int64_t now = 1796515745250LL; /* ms */

static void check(int64_t boot, struct timespec mono, struct timespec btime, const char *want)
{
	char out[160];
	int n = runtime_clock_offsets(boot, now, &mono, &btime, out, sizeof(out));

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(out, want);
}

static void test_offsets(void **state)
{
	(void)state;
	/* Booted 2.5 s ago on a host up 100.5 s (monotonic) and 150.25 s
	 * (boot): the box's clocks go back by the difference, the
	 * nanoseconds in [0, 1e9) as the kernel takes them. */
	check(now - 2500, (struct timespec){100, 500000000}, (struct timespec){150, 250000000},
	      "monotonic -98 0\nboottime -148 250000000\n");
	/* A host up less than the box's age: forward. */
	check(now - 2500, (struct timespec){1, 0}, (struct timespec){0, 999999999},
	      "monotonic 1 500000000\nboottime 1 500000001\n");
	/* Whole seconds the other way: the nanoseconds stay 0. */
	check(now - 3000, (struct timespec){10, 0}, (struct timespec){10, 0},
	      "monotonic -7 0\nboottime -7 0\n");
}

static void test_boot_out_of_range(void **state)
{
	struct timespec t = {86400, 0};
	char out[160];
	/* BOX_BOOT_LEAD_MIN_MS before now, on a host up a day */
	const char *want = "monotonic -86399 200000000\nboottime -86399 200000000\n";

	_Static_assert(BOX_BOOT_LEAD_MIN_MS == 1200, "the text below is for a 1.2 s lead");
	(void)state;
	/* in the future, too far back, or exactly as far as allowed */
	assert_true(runtime_clock_offsets(now + 1, now, &t, &t, out, sizeof(out)) > 0);
	assert_string_equal(out, want);
	assert_true(runtime_clock_offsets(now - BOX_BOOT_MAX_AGE_MS - 1, now, &t, &t, out,
	                                  sizeof(out)) > 0);
	assert_string_equal(out, want);
	assert_true(
	    runtime_clock_offsets(now - BOX_BOOT_MAX_AGE_MS, now, &t, &t, out, sizeof(out)) > 0);
	assert_string_not_equal(out, want);
}

static void test_small_buffer(void **state)
{
	struct timespec t = {5, 0};
	char out[160];
	int n;

	(void)state;
	n = runtime_clock_offsets(now - 2000, now, &t, &t, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(runtime_clock_offsets(now - 2000, now, &t, &t, out, (size_t)n), -1);
	assert_int_equal(runtime_clock_offsets(now - 2000, now, &t, &t, out, (size_t)n + 1), n);
	assert_int_equal(runtime_clock_offsets(now - 2000, now, &t, &t, out, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offsets),
	    cmocka_unit_test(test_boot_out_of_range),
	    cmocka_unit_test(test_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
