/* Unit tests for worker_events: the types a worker may report in each phase, and for each
 * type the fields, their JSON types and ranges; everything else is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "worker_events.h"

static json_t *check(const char *type, bool authed, const char *fields, const char **why)
{
	const char *t = NULL;
	json_t *o = worker_event_check((const uint8_t *)type, strlen(type), authed,
	                               (const uint8_t *)fields, strlen(fields), &t, why);

	if (o != NULL)
		assert_string_equal(t, type);
	return o;
}

static void refused(const char *type, bool authed, const char *fields, const char *reason)
{
	const char *why = NULL;
	json_t *o = check(type, authed, fields, &why);

	if (o != NULL)
		fail_msg("%s %s was accepted", type, fields);
	assert_string_equal(why, reason);
}

static void test_known_events_pass_with_their_fields(void **state)
{
	const char *why;
	json_t *o;

	(void)state;
	o = check("command.input", true,
	          "{\"channel\":0,\"tty\":true,\"source\":\"interactive\",\"command\":\"ls\","
	          "\"at\":1.5,\"recalled\":true}",
	          &why);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 6);
	json_decref(o);
	/* Text that is not UTF-8 comes as NAME plus NAME_b64. */
	o = check("session.env", true,
	          "{\"channel\":1,\"name\":\"X\",\"value\":\"\\ufffd\",\"value_b64\":\"/w==\"}",
	          &why);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "value_b64")), "/w==");
	json_decref(o);
	o = check("file.transfer", true,
	          "{\"channel\":2,\"protocol\":\"sftp\",\"direction\":\"upload\",\"path\":\"/x\","
	          "\"bytes\":5,\"pflags\":26,\"status\":null}",
	          &why);
	assert_non_null(o);
	json_decref(o);
	o = check("client.kex", false, "{\"error\":\"bad packet\"}", &why);
	assert_non_null(o);
	json_decref(o);
}

static void test_phase_and_type(void **state)
{
	(void)state;
	refused("command.input", false, "{}", "event not allowed in this phase");
	refused("client.version", true, "{}", "event not allowed in this phase");
	refused("login.success", false, "{}", "unknown event type");
	refused("client.versio", false, "{}", "unknown event type");
	refused("", false, "{}", "unknown event type");
}

static void test_fields_outside_the_table_are_refused(void **state)
{
	(void)state;
	refused("client.version", false, "{\"version\":\"x\",\"alert\":{\"type\":\"honeytoken\"}}",
	        "event field not allowed");
	refused("client.version", false, "{\"timestamp\":\"2020\"}", "event field not allowed");
	refused("client.version", false, "{\"version_b64\":\"AA==\"}",
	        "event field _b64 without its text");
	refused("session.pty", true, "{\"channel\":0,\"width\":10001}",
	        "event field of the wrong type or range");
	refused("session.pty", true, "{\"channel\":-1}", "event field of the wrong type or range");
	refused("session.pty", true, "{\"channel\":4294967296}",
	        "event field of the wrong type or range");
	refused("forward.request", true, "{\"kind\":\"socks\"}",
	        "event field of the wrong type or range");
	refused("command.input", true, "{\"command\":[\"ls\"]}",
	        "event field of the wrong type or range");
	refused("command.input", true, "{\"at\":-1.0}", "event field of the wrong type or range");
	refused("file.operation", true, "{\"op\":\"upload\"}",
	        "event field of the wrong type or range");
	refused("client.version", false, "[\"version\"]", "event fields are not a JSON object");
	refused("client.version", false, "{\"version\":\"x\",\"version\":\"y\"}",
	        "event fields are not a JSON object");
}

static void test_deep_nesting_is_refused(void **state)
{
	static char deep[2 * 3000 + 64];
	size_t n = 0;

	(void)state;
	n += (size_t)sprintf(deep, "{\"version\":\"x\",\"alert\":");
	for (int i = 0; i < 2040; i++)
		deep[n++] = '[';
	for (int i = 0; i < 2040; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	const char *why = NULL;
	json_t *o = check("client.version", false, deep, &why);
	assert_null(o);
	assert_non_null(why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_events_pass_with_their_fields),
	    cmocka_unit_test(test_phase_and_type),
	    cmocka_unit_test(test_fields_outside_the_table_are_refused),
	    cmocka_unit_test(test_deep_nesting_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
