/* Unit tests for stealth_refusal: how late a refusal is answered, as sshd
 * and PAM answer it (docs/stealth.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stealth.h"

static void setup_profile(struct stealth *s, bool on)
{
	memset(s, 0, sizeof(*s));
	s->auth_delay = on;
	s->profile.delay.pam_ms = 2000;
	s->profile.delay.floor_lo_us = 5000;
	s->profile.delay.floor_hi_us = 9294;
	stealth_set_secret(s, "host key one", 12);
}

static struct stealth_wait refusal(const struct stealth *s, const char *user, bool password)
{
	return stealth_refusal(s, (const uint8_t *)user, strlen(user), password);
}

static void test_floor_per_user(void **state)
{
	struct stealth s, other;
	const char *users[] = {"root", "admin", "oracle7", "ubuntu", "test", "", "\xff\x01"};
	uint32_t floors[7];
	size_t distinct = 0;

	(void)state;
	setup_profile(&s, true);
	for (size_t i = 0; i < 7; i++) {
		struct stealth_wait w = refusal(&s, users[i], false);
		assert_in_range(w.floor_us, 5000, 9294);
		assert_int_equal(w.pam_ms, 0);
		/* Fixed for a name on one host. */
		assert_int_equal(refusal(&s, users[i], true).floor_us, w.floor_us);
		floors[i] = w.floor_us;
		size_t j;
		for (j = 0; j < i && floors[j] != w.floor_us; j++)
			;
		distinct += j == i;
	}
	assert_true(distinct >= 6);
	/* Another host, another floor for the same name (almost surely). */
	setup_profile(&other, true);
	stealth_set_secret(&other, "host key two", 12);
	size_t same = 0;
	for (size_t i = 0; i < 7; i++)
		same += refusal(&other, users[i], false).floor_us == floors[i];
	assert_true(same <= 1);
}

static void test_pam_delay(void **state)
{
	struct stealth s;

	(void)state;
	setup_profile(&s, true);
	for (int i = 0; i < 20; i++) {
		struct stealth_wait w = refusal(&s, "root", true);
		/* 2 s x (0.5 + a mean of three draws in [0, 1)). */
		assert_in_range(w.pam_ms, 1000, 3000);
	}
	s.profile.delay.pam_ms = 0;
	assert_int_equal(refusal(&s, "root", true).pam_ms, 0);
}

/* The draw over many seconds has the shape of Linux-PAM's: 2 s x (0.5 + the
 * mean of three uniform draws), so a mean of 2 s, half of the delays below
 * it and 4.5 x 0.25^3 = 7 % of them below 1.5 s (as many above 2.5 s). One
 * value per second, for every attempt in it. */
static void test_pam_delay_distribution(void **state)
{
	struct stealth s;
	const long long first = 1796000000, n = 4000;
	double sum = 0;
	long below_half = 0, below_mean = 0, above = 0, repeats = 0;
	uint32_t last = 0;

	(void)state;
	setup_profile(&s, true);
	for (long long t = first; t < first + n; t++) {
		uint32_t ms = stealth_pam_delay(&s, t);
		assert_in_range(ms, 1000, 2999);
		assert_int_equal(stealth_pam_delay(&s, t), ms);
		sum += ms;
		below_half += ms < 1500;
		below_mean += ms < 2000;
		above += ms >= 2500;
		repeats += ms == last;
		last = ms;
	}
	assert_in_range((long)(sum / (double)n), 1970, 2030);
	assert_in_range(below_mean, n * 47 / 100, n * 53 / 100);
	assert_in_range(below_half, n * 5 / 100, n * 9 / 100);
	assert_in_range(above, n * 5 / 100, n * 9 / 100);
	assert_true(repeats < 10);
}

static void test_off(void **state)
{
	struct stealth s;

	(void)state;
	setup_profile(&s, false);
	struct stealth_wait w = refusal(&s, "root", true);
	assert_int_equal(w.pam_ms, 0);
	assert_int_equal(w.floor_us, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_floor_per_user),
	    cmocka_unit_test(test_pam_delay),
	    cmocka_unit_test(test_pam_delay_distribution),
	    cmocka_unit_test(test_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
