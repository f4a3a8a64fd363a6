/* Unit tests for event_budget: bytes per session, one marker when first passed, counts of what
 * was dropped, sessions not open are not limited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "event_budget.h"

static void test_budget_marks_once_and_counts(void **state)
{
	struct event_budget *b = event_budget_new(100);
	struct budget_totals t;

	(void)state;
	assert_int_equal(event_budget_open(b, "s1"), 0);
	assert_int_equal(event_budget_charge(b, "s1", 60), BUDGET_WRITE);
	assert_int_equal(event_budget_charge(b, "s1", 40), BUDGET_WRITE); /* exactly the limit */
	assert_int_equal(event_budget_charge(b, "s1", 1), BUDGET_FIRST_OVER);
	assert_int_equal(event_budget_charge(b, "s1", 5), BUDGET_DROP);
	/* Once past, a small event is dropped as well: no holes in what is kept. */
	assert_int_equal(event_budget_charge(b, "s1", 0), BUDGET_DROP);
	assert_true(event_budget_close(b, "s1", &t));
	assert_int_equal(t.used, 100);
	assert_int_equal(t.dropped_events, 3);
	assert_int_equal(t.dropped_bytes, 6);
	assert_false(event_budget_close(b, "s1", &t));
	/* Closed: no longer limited. */
	assert_int_equal(event_budget_charge(b, "s1", 1000), BUDGET_WRITE);
	event_budget_free(b);
}

static void test_a_big_first_event_passes_the_budget(void **state)
{
	struct event_budget *b = event_budget_new(100);

	(void)state;
	assert_int_equal(event_budget_open(b, "s"), 0);
	assert_int_equal(event_budget_charge(b, "s", 101), BUDGET_FIRST_OVER);
	event_budget_free(b);
}

static void test_sessions_are_apart(void **state)
{
	struct event_budget *b = event_budget_new(10);
	char id[16];

	(void)state;
	/* Many sessions, so buckets are shared. */
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		assert_int_equal(event_budget_open(b, id), 0);
	}
	assert_int_equal(event_budget_open_count(b), 5000);
	assert_int_equal(event_budget_open(b, "s7"), 0); /* again: kept, not doubled */
	assert_int_equal(event_budget_open_count(b), 5000);
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		assert_int_equal(event_budget_charge(b, id, (size_t)(i % 11)), BUDGET_WRITE);
	}
	assert_int_equal(event_budget_charge(b, "s10", 1), BUDGET_FIRST_OVER);
	assert_int_equal(event_budget_charge(b, "s9", 1), BUDGET_WRITE);
	assert_int_equal(event_budget_charge(b, "unknown", 1 << 20), BUDGET_WRITE);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(id, sizeof(id), "s%d", i);
		assert_true(event_budget_close(b, id, NULL));
	}
	assert_int_equal(event_budget_open_count(b), 2500);
	/* The odd ones are still counted (s9 has 10 of 10), the even ones not. */
	assert_int_equal(event_budget_charge(b, "s9", 1), BUDGET_FIRST_OVER);
	assert_int_equal(event_budget_charge(b, "s8", 1000), BUDGET_WRITE);
	event_budget_free(b); /* frees what is still open */
}

static void test_zero_limit_is_no_budget(void **state)
{
	(void)state;
	assert_null(event_budget_new(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_budget_marks_once_and_counts),
	    cmocka_unit_test(test_a_big_first_event_passes_the_budget),
	    cmocka_unit_test(test_sessions_are_apart),
	    cmocka_unit_test(test_zero_limit_is_no_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
