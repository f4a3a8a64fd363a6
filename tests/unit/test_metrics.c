/* Unit tests for metrics: events and Docker calls counted, every label
 * value from a fixed list, and the text in Prometheus' exposition format
 * (version 0.0.4: HELP and TYPE before a metric's samples, cumulative
 * histogram buckets ending in +Inf equal to _count). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "metrics.h"

static void feed(struct metrics *m, const char *text)
{
	json_error_t err;
	json_t *e = json_loads(text, 0, &err);
	assert_non_null(e);
	metrics_event(m, e);
	json_decref(e);
}

static char *render(const struct metrics *m, const struct metrics_live *live)
{
	struct buf b;
	buf_init(&b);
	assert_int_equal(metrics_render(m, live, &b), 0);
	char *s = strndup((const char *)b.data, b.len);
	buf_free(&b);
	assert_non_null(s);
	return s;
}

/* The value of the sample named exactly `series` (name and labels), or -1. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

/* Every line: a comment that is HELP or TYPE, or NAME[{LABELS}] VALUE of
 * a metric whose TYPE came before; label values only [a-z0-9_.+-]. */
static void well_formed(const char *text)
{
	char typed[128][80];
	size_t n_typed = 0;
	const char *p = text;
	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		char line[512];
		size_t len = (size_t)(nl - p);
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[80], type[20];
			assert_int_equal(sscanf(line + 7, "%79s %19s", name, type), 2);
			assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
			            strcmp(type, "histogram") == 0);
			for (size_t i = 0; i < n_typed; i++)
				assert_string_not_equal(typed[i], name); /* once each */
			assert_true(n_typed < 128);
			snprintf(typed[n_typed++], sizeof(typed[0]), "%s", name);
			continue;
		}
		assert_true(line[0] != '#');
		size_t nl_name = strspn(line, "abcdefghijklmnopqrstuvwxyz_0123456789");
		assert_true(nl_name > 0);
		char name[80];
		snprintf(name, sizeof(name), "%.*s", (int)nl_name, line);
		bool known = false;
		for (size_t i = 0; i < n_typed && !known; i++) {
			size_t tl = strlen(typed[i]);
			known =
			    strcmp(name, typed[i]) == 0 ||
			    (strncmp(name, typed[i], tl) == 0 &&
			     (strcmp(name + tl, "_bucket") == 0 || strcmp(name + tl, "_sum") == 0 ||
			      strcmp(name + tl, "_count") == 0));
		}
		assert_true(known);
		const char *q = line + nl_name;
		if (*q == '{') {
			const char *end = strchr(q, '}');
			assert_non_null(end);
			for (const char *c = q + 1; c < end; c++)
				assert_true(strchr("abcdefghijklmnopqrstuvwxyz0123456789_.+-=\",I",
				                   *c) != NULL);
			q = end + 1;
		}
		assert_true(*q == ' ');
		char *stop;
		strtod(q + 1, &stop);
		assert_true(stop != q + 1 && *stop == '\0');
	}
}

static const struct metrics_live live0 = {0};

static void test_connections_and_logins(void **state)
{
	struct metrics *m = metrics_new(1765000000.5);
	assert_non_null(m);
	feed(m, "{\"event\":\"session.connect\",\"src_ip\":\"198.51.100.7\"}");
	feed(m, "{\"event\":\"session.connect\"}");
	feed(m, "{\"event\":\"session.rejected\",\"reason\":\"max_startups\"}");
	feed(m, "{\"event\":\"session.rejected\",\"reason\":\"whatever\\\"}\"}");
	feed(m, "{\"event\":\"login.failed\",\"method\":\"password\",\"username\":\"root\"}");
	feed(m, "{\"event\":\"login.failed\",\"method\":\"publickey\"}");
	feed(m, "{\"event\":\"login.failed\",\"method\":\"gssapi\\nx\"}");
	feed(m, "{\"event\":\"login.success\",\"method\":\"password\",\"username\":\"root\"}");
	feed(m, "{\"event\":\"session.closed\",\"username\":\"root\",\"reason\":\"client_closed\","
	        "\"duration\":12.5,\"bytes_in\":100,\"bytes_out\":2000}");
	feed(m, "{\"event\":\"session.closed\",\"username\":null,\"reason\":\"max_auth_tries\","
	        "\"duration\":0.4,\"bytes_in\":0,\"bytes_out\":0}");
	struct metrics_live live = {.connections = 3,
	                            .sessions = 1,
	                            .boxes_ready = 2,
	                            .boxes_warming = 1,
	                            .boxes_held = 4,
	                            .docker_pending = 5};
	char *t = render(m, &live);
	well_formed(t);
	assert_int_equal(sample(t, "hermes_ssh_connections_total"), 2);
	assert_int_equal(sample(t, "hermes_ssh_current_connections"), 3);
	assert_int_equal(sample(t, "hermes_ssh_current_sessions"), 1);
	assert_int_equal(
	    sample(t, "hermes_ssh_connections_rejected_total{reason=\"max_startups\"}"), 1);
	assert_int_equal(sample(t, "hermes_ssh_connections_rejected_total{reason=\"other\"}"), 1);
	assert_int_equal(
	    sample(t, "hermes_ssh_connections_rejected_total{reason=\"max_startups\"}"), 1);
	assert_int_equal(sample(t, "hermes_auth_failures_total{authtype=\"password\"}"), 1);
	assert_int_equal(sample(t, "hermes_auth_failures_total{authtype=\"publickey\"}"), 1);
	assert_int_equal(sample(t, "hermes_auth_failures_total{authtype=\"other\"}"), 1);
	assert_int_equal(sample(t, "hermes_auth_success_total{authtype=\"password\"}"), 1);
	assert_int_equal(sample(t, "hermes_ssh_connections_closed_total{result=\"logged_in\","
	                           "reason=\"client_closed\"}"),
	                 1);
	assert_int_equal(sample(t, "hermes_ssh_connections_closed_total{result=\"not_logged_in\","
	                           "reason=\"max_auth_tries\"}"),
	                 1);
	assert_int_equal(sample(t, "hermes_ssh_session_duration_seconds_bucket{le=\"1\"}"), 1);
	assert_int_equal(sample(t, "hermes_ssh_session_duration_seconds_bucket{le=\"10\"}"), 1);
	assert_int_equal(sample(t, "hermes_ssh_session_duration_seconds_bucket{le=\"30\"}"), 2);
	assert_int_equal(sample(t, "hermes_ssh_session_duration_seconds_bucket{le=\"+Inf\"}"), 2);
	assert_int_equal(sample(t, "hermes_ssh_session_duration_seconds_count"), 2);
	assert_true(sample(t, "hermes_ssh_session_duration_seconds_sum") == 12.9);
	assert_int_equal(sample(t, "hermes_ssh_bytes_total{direction=\"in\"}"), 100);
	assert_int_equal(sample(t, "hermes_ssh_bytes_total{direction=\"out\"}"), 2000);
	assert_int_equal(sample(t, "hermes_boxes{state=\"ready\"}"), 2);
	assert_int_equal(sample(t, "hermes_boxes{state=\"warming\"}"), 1);
	assert_int_equal(sample(t, "hermes_boxes{state=\"held\"}"), 4);
	assert_int_equal(sample(t, "hermes_backend_pending_requests"), 5);
	assert_int_equal(sample(t, "hermes_events_total{event=\"session.connect\"}"), 2);
	assert_true(sample(t, "hermes_start_time_seconds") == 1765000000.5);
	/* no address, no user name, no attacker string anywhere */
	assert_null(strstr(t, "198.51"));
	assert_null(strstr(t, "root"));
	assert_null(strstr(t, "gssapi"));
	assert_null(strstr(t, "whatever"));
	free(t);
	metrics_free(m);
}

static void test_alerts_drops_and_artifacts(void **state)
{
	struct metrics *m = metrics_new(0);
	feed(m, "{\"event\":\"login.success\",\"method\":\"password\",\"alert\":{\"type\":"
	        "\"honeytoken_login\"}}");
	feed(m, "{\"event\":\"command.input\",\"alert\":{\"type\":\"bait_file\"}}");
	feed(m, "{\"event\":\"command.input\",\"alert\":{\"type\":\"rm -rf /\"}}");
	feed(m, "{\"event\":\"events.limit_reached\"}");
	feed(m, "{\"event\":\"events.dropped\",\"events\":7,\"bytes\":70000}");
	feed(m, "{\"event\":\"egress.limited\",\"connections_refused\":3,\"events_dropped\":4}");
	feed(m, "{\"event\":\"egress.dns\"}");
	feed(m, "{\"event\":\"egress.http\"}");
	feed(m, "{\"event\":\"file.downloaded\",\"source\":\"live\"}");
	feed(m, "{\"event\":\"artifacts.collected\",\"files\":3,\"bytes\":4096}");
	feed(m, "{\"event\":\"artifact.skipped\",\"reason\":\"name not UTF-8: bad\"}");
	feed(m, "{\"event\":\"artifact.skipped\",\"reason\":\"max_file_size\"}");
	feed(m, "{\"event\":\"artifact.skipped\",\"reason\":\"Docker said: no such file\"}");
	feed(m, "{\"event\":\"container.error\",\"operation\":\"agent\"}");
	feed(m, "{\"event\":\"events.dropped\",\"events\":-5,\"bytes\":\"x\"}");
	char *t = render(m, &live0);
	well_formed(t);
	assert_int_equal(sample(t, "hermes_alerts_total{type=\"honeytoken_login\"}"), 1);
	assert_int_equal(sample(t, "hermes_alerts_total{type=\"bait_file\"}"), 1);
	assert_int_equal(sample(t, "hermes_alerts_total{type=\"other\"}"), 1);
	assert_int_equal(sample(t, "hermes_events_limit_reached_total"), 1);
	assert_int_equal(sample(t, "hermes_events_dropped_total"), 7);
	assert_int_equal(sample(t, "hermes_events_dropped_bytes_total"), 70000);
	assert_int_equal(sample(t, "hermes_egress_refused_connections_total"), 3);
	assert_int_equal(sample(t, "hermes_egress_dropped_events_total"), 4);
	assert_int_equal(sample(t, "hermes_egress_events_total{kind=\"dns\"}"), 1);
	assert_int_equal(sample(t, "hermes_egress_events_total{kind=\"http\"}"), 1);
	assert_int_equal(sample(t, "hermes_egress_events_total{kind=\"smtp\"}"), 0);
	assert_int_equal(sample(t, "hermes_downloads_total{source=\"live\"}"), 1);
	assert_int_equal(sample(t, "hermes_artifacts_stored_files_total"), 3);
	assert_int_equal(sample(t, "hermes_artifacts_stored_bytes_total"), 4096);
	assert_int_equal(sample(t, "hermes_artifacts_skipped_total{reason=\"name_not_utf8\"}"), 1);
	assert_int_equal(sample(t, "hermes_artifacts_skipped_total{reason=\"max_file_size\"}"), 1);
	assert_int_equal(sample(t, "hermes_artifacts_skipped_total{reason=\"other\"}"), 1);
	assert_int_equal(sample(t, "hermes_container_errors_total{operation=\"agent\"}"), 1);
	assert_null(strstr(t, "Docker said"));
	assert_null(strstr(t, "rm -rf"));
	free(t);
	metrics_free(m);
}

static void test_event_names_are_bounded(void **state)
{
	struct metrics *m = metrics_new(0);
	char e[128];
	for (int i = 0; i < 200; i++) {
		snprintf(e, sizeof(e), "{\"event\":\"x.e%d\"}", i);
		feed(m, e);
	}
	feed(m, "{\"event\":\"Bad Name\"}");
	feed(m, "{\"event\":\"x.e0\"}");
	char *t = render(m, &live0);
	well_formed(t);
	assert_int_equal(sample(t, "hermes_events_total{event=\"x.e0\"}"), 2);
	assert_int_equal(sample(t, "hermes_events_total{event=\"x.e63\"}"), 1);
	assert_true(sample(t, "hermes_events_total{event=\"x.e64\"}") < 0); /* absent */
	assert_int_equal(sample(t, "hermes_events_total{event=\"other\"}"), 200 - 64 + 1);
	assert_true(strlen(t) < 64 * 1024);
	free(t);
	metrics_free(m);
}

static void test_docker_operations(void **state)
{
	static const char *const cases[][2] = {
	    {"POST /containers/create?name=hermes-x", "containers_create"},
	    {"POST /containers/0123abcd/start", "containers_start"},
	    {"POST /containers/0123abcd/exec", "containers_exec"},
	    {"POST /exec/feed/start", "exec_start"},
	    {"GET /exec/feed/json", "exec_inspect"},
	    {"GET /containers/0123abcd/json", "containers_inspect"},
	    {"GET /containers/json?all=1&filters=x", "containers_list"},
	    {"DELETE /containers/0123abcd?force=1", "containers_remove"},
	    {"GET /containers/0123abcd/archive?path=/tmp", "containers_archive"},
	    {"GET /containers/0123abcd/changes", "containers_changes"},
	    {"GET /images/library/ubuntu:22.04/json", "images_inspect"},
	    {"GET /info", "info"},
	    {"GET /_ping", "ping"},
	    {"GET /version", "version"},
	    {"GET /containers/abc", "other"},
	    {"GET /secrets/x/json", "other"},
	    {"GET /containers/x/Start", "other"},
	    {"GET /containers/x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "other"},
	    {"GET", "other"},
	    {"", "other"},
	    {"GET /", "other"},
	};
	char out[32];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_docker_op(cases[i][0], out);
		assert_string_equal(out, cases[i][1]);
	}
	metrics_docker_op(NULL, out);
	assert_string_equal(out, "other");

	struct metrics *m = metrics_new(0);
	metrics_docker_call(m, "POST /containers/create", false, 30000);
	metrics_docker_call(m, "POST /containers/create", true, 2000000);
	metrics_docker_call(m, "POST /exec/x/start", false, 1000);
	char *t = render(m, &live0);
	well_formed(t);
	assert_int_equal(
	    sample(t, "hermes_backend_requests_total{operation=\"containers_create\"}"), 2);
	assert_int_equal(sample(t, "hermes_backend_errors_total{operation=\"containers_create\"}"),
	                 1);
	assert_int_equal(sample(t, "hermes_backend_errors_total{operation=\"exec_start\"}"), 0);
	assert_int_equal(sample(t, "hermes_backend_request_duration_seconds_bucket{operation="
	                           "\"containers_create\",le=\"0.025\"}"),
	                 0);
	assert_int_equal(sample(t, "hermes_backend_request_duration_seconds_bucket{operation="
	                           "\"containers_create\",le=\"0.05\"}"),
	                 1);
	assert_int_equal(sample(t, "hermes_backend_request_duration_seconds_bucket{operation="
	                           "\"containers_create\",le=\"2.5\"}"),
	                 2);
	assert_int_equal(sample(t, "hermes_backend_request_duration_seconds_count{operation="
	                           "\"containers_create\"}"),
	                 2);
	assert_true(sample(t, "hermes_backend_request_duration_seconds_sum{operation="
	                      "\"containers_create\"}") == 2.03);
	free(t);
	metrics_free(m);
}

static void test_operations_are_bounded(void **state)
{
	struct metrics *m = metrics_new(0);
	char what[64];
	for (int i = 0; i < 40; i++) {
		snprintf(what, sizeof(what), "POST /containers/x/verb%c%c", 'a' + i % 26,
		         'a' + i / 26);
		metrics_docker_call(m, what, false, 1);
	}
	char *t = render(m, &live0);
	well_formed(t);
	assert_int_equal(sample(t, "hermes_backend_requests_total{operation=\"other\"}"), 40 - 24);
	free(t);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connections_and_logins),
	    cmocka_unit_test(test_alerts_drops_and_artifacts),
	    cmocka_unit_test(test_event_names_are_bounded),
	    cmocka_unit_test(test_docker_operations),
	    cmocka_unit_test(test_operations_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
