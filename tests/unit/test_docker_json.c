/* Unit tests for docker_json: the engine's replies (abridged from real
 * ones) -> C values, and what each reader says of a reply that lacks a
 * field or has it of the wrong type. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "docker_json.h"

#define ID  "0b15ef0997d3d10eab0fa4c622b7bb2ffe566d986be0834805b30fe1909a41f9"
#define ID2 "5231e661dc65ed6072d3cd58fd0572330d00de3248ca5b80eaab5aaa1cf60ca5"

static json_t *load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

/* The reader's result on text; *why is what it said (NULL when it said
 * nothing). */
static int id_of(const char *text, const char **id, const char **why)
{
	json_t *j = load(text);
	int e;

	*why = NULL;
	e = docker_json_id(j, id, why);
	json_decref(j);
	return e;
}

static void test_id(void **state)
{
	const char *id = NULL, *why;
	json_t *j = load("{\"Id\":\"" ID "\",\"Warnings\":[]}");

	assert_int_equal(docker_json_id(j, &id, &why), 0);
	assert_string_equal(id, ID);
	assert_ptr_equal(id, json_string_value(json_object_get(j, "Id")));
	json_decref(j);

	assert_int_equal(id_of("{\"Warnings\":[]}", &id, &why), -EPROTO);
	assert_string_equal(why, "Id: missing");
	assert_int_equal(id_of("{\"Id\":12}", &id, &why), -EPROTO);
	assert_string_equal(why, "Id: not a string");
	assert_int_equal(id_of("{\"Id\":\"0b15ef0997d3\"}", &id, &why), -EPROTO);
	assert_string_equal(why, "Id: not a Docker id");
	assert_int_equal(id_of("{\"Id\":\"../../containers/x/kill?signal=9&a=aaaaaaaaaaaaaaaaaaaa"
	                       "aaaaaaaaaaaa\"}",
	                       &id, &why),
	                 -EPROTO);
	assert_int_equal(id_of("[\"" ID "\"]", &id, &why), -EPROTO);
	assert_string_equal(why, "reply: not an object");
	/* A body that was no JSON, and a caller that wants no reason. */
	assert_int_equal(docker_json_id(NULL, &id, NULL), -EPROTO);
}

static void test_id_valid(void **state)
{
	assert_true(docker_id_valid(ID));
	assert_false(docker_id_valid(NULL));
	assert_false(docker_id_valid(""));
	assert_false(docker_id_valid(ID "0"));
	assert_false(
	    docker_id_valid("0B15EF0997D3D10EAB0FA4C622B7BB2FFE566D986BE0834805B30FE1909A41F9"));
	assert_false(
	    docker_id_valid("0b15ef0997d3d10eab0fa4c622b7bb2ffe566d986be0834805b30fe1909a41g9"));
}

static void test_label(void **state)
{
	const char *v = NULL, *why = NULL;
	json_t *j = load("{\"Id\":\"sha256:0d28\",\"Config\":{\"Labels\":{\"hermes.agent\":\"22\","
	                 "\"hermes.session_parent\":\"/usr/sbin/sshd\",\"n\":3}}}");

	assert_int_equal(docker_json_label(j, "hermes.agent", &v, &why), 0);
	assert_string_equal(v, "22");
	assert_int_equal(docker_json_label(j, "hermes.session_parent", &v, &why), 0);
	assert_string_equal(v, "/usr/sbin/sshd");
	assert_int_equal(docker_json_label(j, "hermes.instance", &v, &why), -ENOENT);
	assert_string_equal(why, "Config.Labels: no such label");
	assert_int_equal(docker_json_label(j, "n", &v, &why), -EPROTO);
	assert_string_equal(why, "Config.Labels: the label is not a string");
	json_decref(j);

	/* Docker writes null for an image without labels. */
	j = load("{\"Config\":{\"Labels\":null}}");
	assert_int_equal(docker_json_label(j, "hermes.agent", &v, &why), -ENOENT);
	json_decref(j);
	j = load("{\"Config\":{}}");
	assert_int_equal(docker_json_label(j, "hermes.agent", &v, &why), -ENOENT);
	json_decref(j);
	j = load("{\"Config\":{\"Labels\":[\"hermes.agent=22\"]}}");
	assert_int_equal(docker_json_label(j, "hermes.agent", &v, &why), -EPROTO);
	assert_string_equal(why, "Config.Labels: not an object");
	json_decref(j);
	j = load("{\"Config\":\"hermes.agent=22\"}");
	assert_int_equal(docker_json_label(j, "hermes.agent", &v, &why), -EPROTO);
	assert_string_equal(why, "Config: not an object");
	json_decref(j);
	j = load("{}");
	assert_int_equal(docker_json_label(j, "hermes.agent", &v, &why), -EPROTO);
	assert_string_equal(why, "Config: missing");
	json_decref(j);
}

static int pid_of(const char *text, int *pid, const char **why)
{
	json_t *j = load(text);
	int e = docker_json_running_pid(j, pid, why);

	json_decref(j);
	return e;
}

static void test_running_pid(void **state)
{
	const char *why = NULL;
	int pid = 0;

	assert_int_equal(pid_of("{\"State\":{\"Status\":\"running\",\"Running\":true,\"Pid\":18616,"
	                        "\"FinishedAt\":\"0001-01-01T00:00:00Z\"}}",
	                        &pid, &why),
	                 0);
	assert_int_equal(pid, 18616);
	pid = 7;
	assert_int_equal(pid_of("{\"State\":{\"Running\":false,\"Pid\":0}}", &pid, &why), -ESRCH);
	assert_string_equal(why, "State.Running: false");
	assert_int_equal(pid, 7); /* left alone */
	assert_int_equal(pid_of("{\"State\":{\"Running\":true,\"Pid\":1}}", &pid, &why), -EPROTO);
	assert_string_equal(why, "State.Pid: out of range");
	assert_int_equal(pid_of("{\"State\":{\"Running\":true,\"Pid\":4194305}}", &pid, &why),
	                 -EPROTO);
	assert_int_equal(pid_of("{\"State\":{\"Running\":true,\"Pid\":4194304}}", &pid, &why), 0);
	assert_int_equal(pid_of("{\"State\":{\"Running\":true,\"Pid\":-18616}}", &pid, &why),
	                 -EPROTO);
	assert_int_equal(pid_of("{\"State\":{\"Running\":true,\"Pid\":\"18616\"}}", &pid, &why),
	                 -EPROTO);
	assert_string_equal(why, "State.Pid: not an integer");
	assert_int_equal(pid_of("{\"State\":{\"Running\":true}}", &pid, &why), -EPROTO);
	assert_string_equal(why, "State.Pid: missing");
	assert_int_equal(pid_of("{\"State\":{\"Running\":\"true\",\"Pid\":18616}}", &pid, &why),
	                 -EPROTO);
	assert_string_equal(why, "State.Running: not a boolean");
	assert_int_equal(pid_of("{\"State\":\"running\"}", &pid, &why), -EPROTO);
	assert_string_equal(why, "State: not an object");
	assert_int_equal(pid, 4194304);
}

static void test_stopped_at(void **state)
{
	const char *why = NULL, *text = NULL;
	time_t when = 0;
	json_t *j = load("{\"State\":{\"Status\":\"exited\",\"Running\":false,\"Pid\":0,"
	                 "\"FinishedAt\":\"2026-12-05T03:20:40.161156741Z\"}}");

	assert_int_equal(docker_json_stopped_at(j, &when, &text, &why), 0);
	assert_int_equal(when, 1796440840);
	assert_string_equal(text, "2026-12-05T03:20:40.161156741Z");
	json_decref(j);

	/* Created, never run: year 1. */
	j = load("{\"State\":{\"Running\":false,\"FinishedAt\":\"0001-01-01T00:00:00Z\"}}");
	assert_int_equal(docker_json_stopped_at(j, &when, NULL, &why), 0);
	assert_true(when < 0);
	json_decref(j);
	j = load("{\"State\":{\"Running\":true,\"FinishedAt\":\"0001-01-01T00:00:00Z\"}}");
	assert_int_equal(docker_json_stopped_at(j, &when, &text, &why), -EBUSY);
	assert_string_equal(why, "State.Running: true");
	json_decref(j);
	j = load("{\"State\":{\"Running\":false,\"FinishedAt\":\"yesterday\"}}");
	assert_int_equal(docker_json_stopped_at(j, &when, &text, &why), -EPROTO);
	assert_string_equal(why, "State.FinishedAt: not a time");
	json_decref(j);
	j = load("{\"State\":{\"Running\":false,\"FinishedAt\":1796440840}}");
	assert_int_equal(docker_json_stopped_at(j, &when, &text, &why), -EPROTO);
	assert_string_equal(why, "State.FinishedAt: not a string");
	json_decref(j);
	j = load("{\"State\":{\"FinishedAt\":\"2026-12-05T03:20:40Z\"}}");
	assert_int_equal(docker_json_stopped_at(j, &when, &text, &why), -EPROTO);
	assert_string_equal(why, "State.Running: missing");
	json_decref(j);
}

static void test_size_rw(void **state)
{
	const char *why = NULL;
	int64_t size = 0;
	json_t *j = load("{\"Id\":\"" ID "\",\"SizeRw\":40960,\"SizeRootFs\":396776323}");

	assert_int_equal(docker_json_size_rw(j, &size, &why), 0);
	assert_int_equal(size, 40960);
	json_decref(j);
	/* Without ?size=1 there is none. */
	j = load("{\"Id\":\"" ID "\"}");
	assert_int_equal(docker_json_size_rw(j, &size, &why), -EPROTO);
	assert_string_equal(why, "SizeRw: missing");
	json_decref(j);
	j = load("{\"SizeRw\":4.5e9}");
	assert_int_equal(docker_json_size_rw(j, &size, &why), -EPROTO);
	assert_string_equal(why, "SizeRw: not an integer");
	json_decref(j);
	assert_int_equal(size, 40960);
}

static void test_exec(void **state)
{
	const char *why = NULL;
	bool running = false;
	int64_t code = -1;
	json_t *j = load("{\"ID\":\"" ID "\",\"Running\":true,\"ExitCode\":null,\"Pid\":4242}");

	assert_int_equal(docker_json_exec(j, &running, &code, &why), 0);
	assert_true(running);
	assert_int_equal(code, -1); /* no exit code while it runs */
	json_decref(j);
	j = load("{\"ID\":\"" ID "\",\"Running\":false,\"ExitCode\":137,\"Pid\":4242}");
	assert_int_equal(docker_json_exec(j, &running, &code, &why), 0);
	assert_false(running);
	assert_int_equal(code, 137);
	json_decref(j);
	j = load("{\"Running\":false,\"ExitCode\":null}");
	assert_int_equal(docker_json_exec(j, &running, &code, &why), -EPROTO);
	assert_string_equal(why, "ExitCode: not an integer");
	json_decref(j);
	j = load("{\"Running\":0,\"ExitCode\":0}");
	assert_int_equal(docker_json_exec(j, &running, &code, &why), -EPROTO);
	assert_string_equal(why, "Running: not a boolean");
	json_decref(j);
}

static void test_list(void **state)
{
	const char *why = NULL, *id = NULL;
	struct docker_listed c;
	size_t n = 0;
	json_t *j =
	    load("[{\"Id\":\"" ID "\",\"Names\":[\"/hermes-pool-3bdb799e7673\"],"
	         "\"State\":\"exited\",\"Labels\":{}},"
	         "{\"Id\":\"" ID2 "\",\"Names\":[\"hermes-target-1\"],\"State\":\"running\"},"
	         "{\"Id\":\"" ID "\",\"Names\":[],\"State\":\"running\"},"
	         "{\"Id\":\"" ID "\",\"Names\":[7],\"State\":\"running\"},"
	         "{\"Id\":\"" ID "\",\"Names\":[\"/x\"]},"
	         "{\"Id\":\"x\",\"Names\":[\"/x\"],\"State\":\"running\"},"
	         "\"" ID "\"]");

	assert_int_equal(docker_json_list(j, &n, &why), 0);
	assert_int_equal(n, 7);
	assert_int_equal(docker_json_listed(j, 0, &c, &why), 0);
	assert_string_equal(c.id, ID);
	assert_string_equal(c.name, "hermes-pool-3bdb799e7673");
	assert_string_equal(c.state, "exited");
	assert_int_equal(docker_json_listed(j, 1, &c, &why), 0);
	assert_string_equal(c.id, ID2);
	assert_string_equal(c.name, "hermes-target-1");
	assert_string_equal(c.state, "running");
	assert_int_equal(docker_json_listed(j, 2, &c, &why), -EPROTO);
	assert_string_equal(why, "Names: empty");
	assert_int_equal(docker_json_listed(j, 3, &c, &why), -EPROTO);
	assert_string_equal(why, "Names[0]: not a string");
	assert_int_equal(docker_json_listed(j, 4, &c, &why), -EPROTO);
	assert_string_equal(why, "State: missing");
	/* The Id alone is all a caller may need. */
	assert_int_equal(docker_json_listed_id(j, 4, &id, &why), 0);
	assert_string_equal(id, ID);
	assert_int_equal(docker_json_listed_id(j, 5, &id, &why), -EPROTO);
	assert_string_equal(why, "Id: not a Docker id");
	assert_int_equal(docker_json_listed_id(j, 6, &id, &why), -EPROTO);
	assert_string_equal(why, "entry: not an object");
	assert_int_equal(docker_json_listed(j, 7, &c, &why), -ENOENT);
	assert_int_equal(docker_json_listed_id(j, 7, &id, &why), -ENOENT);
	json_decref(j);

	j = load("{\"message\":\"page not found\"}");
	n = 3;
	assert_int_equal(docker_json_list(j, &n, &why), -EPROTO);
	assert_string_equal(why, "reply: not a list");
	assert_int_equal(n, 3);
	assert_int_equal(docker_json_listed_id(j, 0, &id, &why), -EPROTO);
	json_decref(j);
}

static void test_message(void **state)
{
	const char *why = NULL, *m = NULL;
	json_t *j = load("{\"message\":\"No such container: nonexistent\"}");

	assert_int_equal(docker_json_message(j, &m, &why), 0);
	assert_string_equal(m, "No such container: nonexistent");
	json_decref(j);
	j = load("{\"message\":12}");
	assert_int_equal(docker_json_message(j, &m, &why), -EPROTO);
	assert_string_equal(why, "message: not a string");
	json_decref(j);
	assert_int_equal(docker_json_message(NULL, &m, &why), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_id),         cmocka_unit_test(test_id_valid),
	    cmocka_unit_test(test_label),      cmocka_unit_test(test_running_pid),
	    cmocka_unit_test(test_stopped_at), cmocka_unit_test(test_size_rw),
	    cmocka_unit_test(test_exec),       cmocka_unit_test(test_list),
	    cmocka_unit_test(test_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
