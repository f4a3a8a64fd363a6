/* Unit tests for admission: the global and per-address caps, and MaxStartups'
 * random early drop at its edges and in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "admission.h"

static struct config cfg;

static void with(int total, int per_ip, int start, int rate, int full)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.server.max_concurrent_sessions = total;
	cfg.server.max_sessions_per_ip = per_ip;
	cfg.server.max_startups[0] = start;
	cfg.server.max_startups[1] = rate;
	cfg.server.max_startups[2] = full;
}

static const char *check(unsigned authed, unsigned from_ip, unsigned unauth, uint32_t rnd)
{
	struct admission_load l = {.authed = authed, .from_ip = from_ip, .unauth = unauth};
	return admission_check(&cfg, &l, rnd);
}

static void test_caps(void **state)
{
	(void)state;
	with(10, 4, 10, 30, 100);
	assert_null(check(0, 0, 0, 0));
	assert_null(check(9, 3, 9, 0));
	assert_string_equal(check(10, 0, 0, 99), "max_concurrent_sessions");
	assert_string_equal(check(5, 4, 0, 99), "max_sessions_per_ip");
}

static void test_max_startups(void **state)
{
	unsigned dropped = 0;

	(void)state;
	with(1000, 1000, 10, 30, 100);
	/* Below start: never, whatever the dice say. */
	for (uint32_t r = 0; r < 100; r++)
		assert_null(check(50, 0, 9, r));
	/* At start: rate %, so 30 of the 100 outcomes. */
	for (uint32_t r = 0; r < 100; r++)
		dropped += check(50, 0, 10, r) != NULL;
	assert_int_equal(dropped, 30);
	assert_string_equal(check(50, 0, 10, 29), "max_startups");
	assert_null(check(50, 0, 10, 30));
	/* Half way: 30 + 70 * 45 / 90 = 65 %. */
	dropped = 0;
	for (uint32_t r = 0; r < 100; r++)
		dropped += check(200, 0, 55, r) != NULL;
	assert_int_equal(dropped, 65);
	/* At full and past it: every one. */
	for (uint32_t r = 0; r < 100; r++) {
		assert_string_equal(check(200, 0, 100, r), "max_startups");
		assert_string_equal(check(200, 0, 500, r + 1000), "max_startups");
	}
	/* start == full: a hard cap there. */
	with(1000, 1000, 5, 100, 5);
	assert_null(check(50, 0, 4, 0));
	assert_string_equal(check(50, 0, 5, 99), "max_startups");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_max_startups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
