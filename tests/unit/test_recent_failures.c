/* Unit tests for recent_failures: the last N per address, oldest first, taken once; the address
 * used least recently yields its slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "recent_failures.h"

static struct failure fail_at(double t)
{
	struct failure f = {.time = t, .method = "password"};

	snprintf(f.user, sizeof(f.user), "u%d", (int)t);
	return f;
}

static void test_keeps_the_last_per_address_oldest_first(void **state)
{
	struct recent_failures *r = recent_failures_new(4, 8);
	struct failure out[8];

	(void)state;
	for (int i = 1; i <= 6; i++) {
		struct failure f = fail_at(i);
		recent_failures_add(r, "10.0.0.1", &f, 1);
	}
	assert_int_equal(recent_failures_take(r, "10.0.0.1", out, 8), 4);
	assert_true(out[0].time == 3 && out[3].time == 6);
	assert_string_equal(out[3].user, "u6");
	/* Taken: nothing is left for the next login. */
	assert_int_equal(recent_failures_take(r, "10.0.0.1", out, 8), 0);
	assert_int_equal(recent_failures_take(r, "10.0.0.2", out, 8), 0);
	recent_failures_free(r);
}

static void test_take_gives_the_newest_when_cap_is_small(void **state)
{
	struct recent_failures *r = recent_failures_new(4, 2);
	struct failure f[3] = {fail_at(1), fail_at(2), fail_at(3)}, out[2];

	(void)state;
	recent_failures_add(r, "a", f, 3);
	assert_int_equal(recent_failures_take(r, "a", out, 2), 2);
	assert_true(out[0].time == 2 && out[1].time == 3);
	recent_failures_free(r);
}

static void test_least_recent_address_yields(void **state)
{
	struct recent_failures *r = recent_failures_new(2, 2);
	struct failure f = fail_at(1), out[2];

	(void)state;
	recent_failures_add(r, "a", &f, 1);
	recent_failures_add(r, "b", &f, 1);
	recent_failures_add(r, "a", &f, 1); /* a is newer now */
	recent_failures_add(r, "c", &f, 1); /* takes b's slot */
	assert_int_equal(recent_failures_take(r, "b", out, 2), 0);
	assert_int_equal(recent_failures_take(r, "a", out, 2), 2);
	assert_int_equal(recent_failures_take(r, "c", out, 2), 1);
	/* Bounds: a NULL table, nothing to add, an address too long. */
	recent_failures_add(NULL, "a", &f, 1);
	recent_failures_add(r, "a", &f, 0);
	char longip[100];
	snprintf(longip, sizeof(longip), "%080d", 0);
	recent_failures_add(r, longip, &f, 1);
	assert_int_equal(recent_failures_take(r, longip, out, 2), 0);
	assert_null(recent_failures_new(0, 1));
	recent_failures_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keeps_the_last_per_address_oldest_first),
	    cmocka_unit_test(test_take_gives_the_newest_when_cap_is_small),
	    cmocka_unit_test(test_least_recent_address_yields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
