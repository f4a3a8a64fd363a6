/* Unit tests for orphans: the last container.allocated of a container in
 * a log, whole lines only, fields checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "orphans.h"

#define CID "d0dbe68323c1c61733ca0237c30979720fe69548fafe5c93fcc8fed66d35c263"
#define S1  "0123456789abcdef0123456789abcdef"
#define S2  "fedcba9876543210fedcba9876543210"

static int find(const char *log, struct orphan_session *o)
{
	memset(o, 0, sizeof(*o));
	return orphans_find(log, strlen(log), CID, o);
}

static void test_found(void **state)
{
	struct orphan_session o;
	static const char log[] =
	    "{\"event\":\"session.connect\",\"session\":\"" S1 "\",\"src_ip\":\"10.0.0.1\"}\n"
	    "{\"event\":\"container.allocated\",\"session\":\"" S1
	    "\",\"src_ip\":\"10.0.0.1\",\"src_port\":5555,\"container_id\":\"" CID "\"}\n"
	    "{\"event\":\"session.shell\",\"session\":\"" S1 "\",\"container_id\":\"" CID "\"}\n";

	(void)state;
	assert_int_equal(find(log, &o), 1);
	assert_string_equal(o.session_id, S1);
	assert_string_equal(o.src_ip, "10.0.0.1");
	assert_int_equal(o.src_port, 5555);
}

static void test_last_wins_and_bad_lines(void **state)
{
	struct orphan_session o;
	static const char log[] =
	    "{\"event\":\"container.allocated\",\"session\":\"" S1 "\",\"container_id\":\"" CID
	    "\"}\n"
	    "not json container.allocated " CID "\n"
	    "{\"event\":\"container.allocated\",\"session\":\"../../x\",\"container_id\":\"" CID
	    "\"}\n"
	    "{\"event\":\"container.allocated\",\"session\":\"" S2 "\",\"container_id\":\"" CID
	    "\"}\n"
	    /* a last line still being written does not count */
	    "{\"event\":\"container.allocated\",\"session\":\"" S1 "\",\"container_id\":\"" CID
	    "\"}";

	(void)state;
	assert_int_equal(find(log, &o), 1);
	assert_string_equal(o.session_id, S2);
	assert_string_equal(o.src_ip, "");
	assert_int_equal(o.src_port, 0);
}

static void test_not_found(void **state)
{
	struct orphan_session o;

	(void)state;
	assert_int_equal(find("", &o), 0);
	assert_int_equal(find("{\"event\":\"container.created\",\"session\":\"" S1
	                      "\",\"container_id\":\"" CID "\"}\n",
	                      &o),
	                 0);
	assert_int_equal(find("{\"event\":\"container.allocated\",\"session\":\"" S1
	                      "\",\"container_id\":\"" CID "00\"}\n",
	                      &o),
	                 0);
	assert_int_equal(orphans_find("x\n", 2, "", &o), 0);
	assert_int_equal(orphans_find_in_log("/nonexistent/events.jsonl", CID, &o), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_found),
	    cmocka_unit_test(test_last_wins_and_bad_lines),
	    cmocka_unit_test(test_not_found),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
