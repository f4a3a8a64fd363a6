/* Unit tests for past_pid: an earlier connection's sshd PID fits between
 * the live processes by their start times, and no live one holds it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "past_pid.h"

/* A booted box at 1000: its services, then a cron job at 1500, a session's
 * sshd (this connection's) at 2000. */
static const struct live_proc box[] = {
    {1, 1000}, {30, 1001}, {42, 1001}, {57, 1002}, {88, 1500}, {140, 2000}, {141, 2000},
};
#define N (sizeof(box) / sizeof(box[0]))

static void test_between_by_start_time(void **state)
{
	(void)state;
	/* A connection at 1800: above the cron job (88), below this one's
	 * sshd (140); two below it, then r's few more. */
	assert_int_equal(past_pid_choose(box, N, 1800, 140, 0), 138);
	assert_int_equal(past_pid_choose(box, N, 1800, 140, 3), 135);
	for (uint32_t r = 0; r < 40; r++) {
		pid_t p = past_pid_choose(box, N, 1800, 140, r);
		assert_true(p > 88 && p < 140);
	}
	/* At 1200: above the services, below the cron job started later. */
	for (uint32_t r = 0; r < 40; r++) {
		pid_t p = past_pid_choose(box, N, 1200, 140, r);
		assert_true(p > 57 && p < 88);
	}
	/* Below an earlier guess (the next connection's PID). */
	assert_int_equal(past_pid_choose(box, N, 1800, 120, 0), 118);
}

static void test_never_a_live_pid(void **state)
{
	static const struct live_proc crowded[] = {
	    {10, 100}, {13, 300}, {14, 300}, {16, 300}, {17, 300}, {18, 300}, {20, 300},
	};
	(void)state;
	/* At 200: between 10 and 13; 11 and 12 are free. */
	for (uint32_t r = 0; r < 12; r++) {
		pid_t p = past_pid_choose(crowded, 7, 200, 20, r);
		assert_true(p == 11 || p == 12);
	}
	/* At 350 below 20: above 18 nothing is free but 19. */
	assert_int_equal(past_pid_choose(crowded, 7, 350, 20, 5), 19);
	/* No room at all: 0. */
	static const struct live_proc full[] = {{10, 100}, {11, 300}};
	assert_int_equal(past_pid_choose(full, 2, 200, 11, 0), 0);
}

static void test_no_processes(void **state)
{
	(void)state;
	assert_int_equal(past_pid_choose(NULL, 0, 200, 50, 0), 48);
	assert_int_equal(past_pid_choose(NULL, 0, 200, 3, 0), 2);
	assert_int_equal(past_pid_choose(NULL, 0, 200, 2, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_between_by_start_time),
	    cmocka_unit_test(test_never_a_live_pid),
	    cmocka_unit_test(test_no_processes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
