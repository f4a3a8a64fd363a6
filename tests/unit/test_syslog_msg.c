/* Unit tests for syslog_msg: targets, facilities, and events as RFC 5424
 * messages (the header's fields, the structured data's escapes, what a
 * field that cannot be written becomes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "syslog_msg.h"

static void test_targets(void **state)
{
	(void)state;
	struct syslog_target t;
	const char *why = NULL;

	assert_int_equal(syslog_target_parse("local", &t, &why), 0);
	assert_int_equal(t.kind, SYSLOG_LOCAL);
	assert_string_equal(t.host, "/dev/log");
	assert_int_equal(syslog_target_parse("unix:/run/collector.sock", &t, &why), 0);
	assert_int_equal(t.kind, SYSLOG_LOCAL);
	assert_string_equal(t.host, "/run/collector.sock");
	char longer[160] = "unix:/";
	memset(longer + 6, 'a', 120);
	assert_int_equal(syslog_target_parse(longer, &t, &why), -1);
	assert_int_equal(syslog_target_parse("udp://127.0.0.1:514", &t, &why), 0);
	assert_int_equal(t.kind, SYSLOG_UDP);
	assert_string_equal(t.host, "127.0.0.1");
	assert_string_equal(t.port, "514");
	assert_int_equal(syslog_target_parse("tcp://logs.example.org:6514", &t, &why), 0);
	assert_int_equal(t.kind, SYSLOG_TCP);
	assert_string_equal(t.host, "logs.example.org");
	assert_int_equal(syslog_target_parse("udp://[::1]:514", &t, &why), 0);
	assert_string_equal(t.host, "::1");
	assert_string_equal(t.port, "514");

	static const char *const bad[] = {
	    "",          "remote",        "udp://",      "udp://host",    "udp://:514",
	    "udp://h:0", "udp://h:65536", "udp://h:5x",  "udp://::1:514", "udp://[::1]514",
	    "tls://h:1", "tcp://a b:1",   "udp://h/x:1", "udp://h:-1",    "udp://h:+1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(syslog_target_parse(bad[i], &t, &why), -1);
		assert_non_null(why);
	}
}

static void test_facilities(void **state)
{
	(void)state;
	assert_int_equal(syslog_facility("user"), 1);
	assert_int_equal(syslog_facility("daemon"), 3);
	assert_int_equal(syslog_facility("authpriv"), 10);
	assert_int_equal(syslog_facility("local0"), 16);
	assert_int_equal(syslog_facility("local7"), 23);
	assert_int_equal(syslog_facility("local8"), -1);
	assert_int_equal(syslog_facility("LOCAL0"), -1);
	assert_int_equal(syslog_facility("kern"), -1);
}

static char *msg_of(const char *event_json, const char *host, size_t *len)
{
	json_error_t err;
	json_t *ev = json_loads(event_json, JSON_PRESERVE_ORDER, &err);
	assert_non_null(ev);
	/* The event's line as events.c writes it. */
	char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(line);
	char *m = syslog_msg(ev, line, strlen(line), 16, host, 4242, len);
	free(line);
	json_decref(ev);
	assert_non_null(m);
	assert_int_equal(strlen(m), *len);
	return m;
}

static void test_message(void **state)
{
	(void)state;
	size_t len;
	char *m =
	    msg_of("{\"timestamp\":\"2026-12-06T10:00:00.250000Z\",\"event\":\"login.failed\","
	           "\"session\":\"0123abcd\",\"src_ip\":\"198.51.100.7\",\"password\":\"a]\\\"\"}",
	           "sensor-1", &len);
	/* local0.info = 16 * 8 + 6 = 134; the event's JSON whole, as written. */
	assert_string_equal(m,
	                    "<134>1 2026-12-06T10:00:00.250000Z sensor-1 hermes 4242 login.failed "
	                    "[hermes@32473 event=\"login.failed\" session=\"0123abcd\"] "
	                    "{\"timestamp\":\"2026-12-06T10:00:00.250000Z\",\"event\":"
	                    "\"login.failed\",\"session\":\"0123abcd\",\"src_ip\":"
	                    "\"198.51.100.7\",\"password\":\"a]\\\"\"}");
	free(m);

	/* An alert is a warning (16 * 8 + 4); no session, no session param. */
	m = msg_of("{\"timestamp\":\"2026-12-06T10:00:00Z\",\"event\":\"x\",\"session\":null,"
	           "\"alert\":{\"type\":\"bait_file\"}}",
	           "h", &len);
	assert_true(strncmp(m,
	                    "<132>1 2026-12-06T10:00:00Z h hermes 4242 x [hermes@32473 "
	                    "event=\"x\"] {",
	                    strlen("<132>1 2026-12-06T10:00:00Z h hermes 4242 x [hermes@32473 "
	                           "event=\"x\"] {")) == 0);
	free(m);
}

static void test_fields_that_cannot_be_written(void **state)
{
	(void)state;
	size_t len;
	/* A timestamp not RFC 3339 (seven decimals, no Z, garbage), a host
	 * with a space, an event name with a space: each "-". A long event
	 * name is cut to MSGID's 32 characters; SD values are escaped. */
	static const char *const times[] = {"2026-12-06T10:00:00.1234567Z", "2026-12-06T10:00:00",
	                                    "2026-12-06 10:00:00Z", "yesterday", ""};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char ev[256];
		snprintf(ev, sizeof(ev), "{\"timestamp\":\"%s\",\"event\":\"e\"}", times[i]);
		char *m = msg_of(ev, "h", &len);
		assert_true(strncmp(m, "<134>1 - h hermes 4242 e ", 25) == 0);
		free(m);
	}
	char *m = msg_of("{\"event\":\"a b\",\"session\":\"s\\\\]\\\"\"}", "bad host", &len);
	assert_true(strncmp(m,
	                    "<134>1 - - hermes 4242 - [hermes@32473 event=\"a b\" "
	                    "session=\"s\\\\\\]\\\"\"] ",
	                    strlen("<134>1 - - hermes 4242 - [hermes@32473 event=\"a b\" "
	                           "session=\"s\\\\\\]\\\"\"] ")) == 0);
	free(m);
	m = msg_of("{\"event\":\"abcdefghijklmnopqrstuvwxyz0123456789\"}", NULL, &len);
	static const char cut[] = "<134>1 - - hermes 4242 abcdefghijklmnopqrstuvwxyz012345 [";
	assert_true(strncmp(m, cut, strlen(cut)) == 0);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_targets),
	    cmocka_unit_test(test_facilities),
	    cmocka_unit_test(test_message),
	    cmocka_unit_test(test_fields_that_cannot_be_written),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
