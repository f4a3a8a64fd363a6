/* Unit tests for forward_capture: the first 64 KiB a client sends into a
 * forward, and events that fit one IPC message whatever the hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "forward_capture.h"
#include "ipc.h"

/* The event's JSON text as the worker sends it: within an IPC field. */
static json_t *sendable(json_t *ev)
{
	char *text;

	assert_non_null(ev);
	text = json_dumps(ev, JSON_COMPACT);
	assert_non_null(text);
	assert_true(strlen(text) <= IPC_LONG_STR_MAX);
	free(text);
	return ev;
}

static const char *str(const json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));

	assert_non_null(s);
	return s;
}

static void test_capture(void **state)
{
	static uint8_t chunk[40000];
	struct forward_capture c;
	json_t *ev;

	forward_capture_init(&c);
	assert_false(forward_capture_take(&c, "GET / HTTP/1.1\r\n\r\n", 18));
	ev = sendable(forward_data_event(&c, 2, "example.com", 80));
	assert_int_equal(json_integer_value(json_object_get(ev, "forward")), 2);
	assert_string_equal(str(ev, "dst_host"), "example.com");
	assert_int_equal(json_integer_value(json_object_get(ev, "dst_port")), 80);
	assert_int_equal(json_integer_value(json_object_get(ev, "bytes")), 18);
	assert_string_equal(str(ev, "data_b64"), "R0VUIC8gSFRUUC8xLjENCg0K");
	assert_true(json_is_false(json_object_get(ev, "truncated")));
	json_decref(ev);

	/* Past 64 KiB: kept up to it, counted beyond. */
	memset(chunk, 'x', sizeof(chunk));
	assert_false(forward_capture_take(&c, chunk, sizeof(chunk)));
	assert_true(forward_capture_take(&c, chunk, sizeof(chunk)));
	assert_true(forward_capture_take(&c, chunk, 1));
	assert_int_equal(buf_avail(&c.data), FORWARD_CAPTURE);
	assert_int_equal(c.total, 18 + 2 * sizeof(chunk) + 1);
	ev = sendable(forward_data_event(&c, 2, NULL, 0));
	assert_true(json_is_true(json_object_get(ev, "truncated")));
	assert_int_equal(strlen(str(ev, "data_b64")), (FORWARD_CAPTURE + 2) / 3 * 4);
	assert_string_equal(str(ev, "dst_host"), "");
	json_decref(ev);
	forward_capture_free(&c);
	assert_int_equal(c.total, 0);
}

/* libssh hands over hosts as long as the packet (256 KiB): unbounded, they
 * made an event too large for the IPC, which the worker then could not
 * send - a forward request nobody would see. */
static void test_hosts_are_bounded(void **state)
{
	size_t n = 200 * 1024;
	char *host = malloc(n + 1);
	json_t *ev;

	assert_non_null(host);
	memset(host, 'a', n);
	host[n] = '\0';
	ev = sendable(forward_open_event(5, true, host, 443, host, 50000));
	assert_string_equal(str(ev, "kind"), "direct-tcpip");
	assert_int_equal(strlen(str(ev, "dst_host")), FORWARD_HOST_MAX);
	assert_int_equal(strlen(str(ev, "orig_host")), FORWARD_HOST_MAX);
	assert_int_equal(json_integer_value(json_object_get(ev, "forward")), 5);
	assert_true(json_is_true(json_object_get(ev, "accepted")));
	assert_int_equal(json_integer_value(json_object_get(ev, "orig_port")), 50000);
	json_decref(ev);

	/* The worst bytes for JSON: controls (six bytes each escaped) and
	 * invalid UTF-8 (replaced, and kept raw in base64 beside). */
	for (size_t i = 0; i < n; i++)
		host[i] = i % 2 ? '\x01' : '\xff';
	json_decref(sendable(forward_open_event(5, false, host, 443, host, 50000)));
	ev = sendable(forward_listen_event(false, host, 8080));
	assert_string_equal(str(ev, "kind"), "tcpip-forward");
	assert_int_equal(strlen(str(ev, "bind_host_b64")), (FORWARD_HOST_MAX + 2) / 3 * 4);
	json_decref(ev);
	free(host);
}

static void test_listen(void **state)
{
	json_t *ev = sendable(forward_listen_event(true, "0.0.0.0", 8080));

	assert_string_equal(str(ev, "kind"), "cancel-tcpip-forward");
	assert_string_equal(str(ev, "bind_host"), "0.0.0.0");
	assert_int_equal(json_integer_value(json_object_get(ev, "bind_port")), 8080);
	json_decref(ev);
	ev = sendable(forward_listen_event(false, NULL, 0));
	assert_string_equal(str(ev, "bind_host"), "");
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capture),
	    cmocka_unit_test(test_hosts_are_bounded),
	    cmocka_unit_test(test_listen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
