/*
 * libFuzzer harness for docker_json: byte 0 picks the reader (its low three
 * bits; for the label reader, the next two pick the label), the rest is the
 * reply's body, parsed as docker.c parses it. Beyond "no crash": every
 * failure says why, in "Field: problem" form, with a code the header
 * allows; every success hands out what the reply holds (strings pointing
 * into it, ids valid, pids in range); a reader asked without a why answers
 * the same; and the list's entries agree with each other.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "docker_json.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const labels[] = {"hermes.instance", "hermes.session_parent", "hermes.agent",
                                     ""};

/* A failure's code is one of those allowed, and its reason is there. */
static void failed(int e, const char *why, int also)
{
	CHECK(e == -EPROTO || (also != 0 && e == also));
	CHECK(why != NULL && strstr(why, ": ") != NULL);
}

/* s is a string of the reply: one of its values (not a copy). */
static void of_reply(const char *s, const json_t *v)
{
	CHECK(s != NULL && s == json_string_value(v));
}

static void id(const json_t *j)
{
	const char *v = NULL, *why = NULL;
	int e = docker_json_id(j, &v, &why);

	CHECK(docker_json_id(j, &v, NULL) == e);
	if (e < 0) {
		failed(e, why, 0);
		return;
	}
	of_reply(v, json_object_get(j, "Id"));
	CHECK(docker_id_valid(v) && strlen(v) == DOCKER_ID_LEN);
}

static void label(const json_t *j, const char *name)
{
	const char *v = NULL, *why = NULL;
	int e = docker_json_label(j, name, &v, &why);

	CHECK(docker_json_label(j, name, &v, NULL) == e);
	if (e < 0) {
		failed(e, why, -ENOENT);
		return;
	}
	of_reply(v, json_object_get(json_object_get(json_object_get(j, "Config"), "Labels"), name));
}

static void running_pid(const json_t *j)
{
	const char *why = NULL;
	int pid = -12345;
	int e = docker_json_running_pid(j, &pid, &why);

	if (e < 0) {
		failed(e, why, -ESRCH);
		CHECK(pid == -12345);
		CHECK(docker_json_running_pid(j, &pid, NULL) == e);
		return;
	}
	CHECK(pid >= 2 && pid <= DOCKER_PID_MAX);
	CHECK(pid == json_integer_value(json_object_get(json_object_get(j, "State"), "Pid")));
	CHECK(json_is_true(json_object_get(json_object_get(j, "State"), "Running")));
}

static void stopped_at(const json_t *j)
{
	const char *why = NULL, *text = NULL;
	time_t when = 0;
	int e = docker_json_stopped_at(j, &when, &text, &why);

	CHECK(docker_json_stopped_at(j, &when, NULL, NULL) == e);
	if (e < 0) {
		failed(e, why, -EBUSY);
		return;
	}
	of_reply(text, json_object_get(json_object_get(j, "State"), "FinishedAt"));
	CHECK(json_is_false(json_object_get(json_object_get(j, "State"), "Running")));
}

static void size_rw(const json_t *j)
{
	const char *why = NULL;
	int64_t size = 0;
	int e = docker_json_size_rw(j, &size, &why);

	CHECK(docker_json_size_rw(j, &size, NULL) == e);
	if (e < 0)
		failed(e, why, 0);
	else
		CHECK(size == json_integer_value(json_object_get(j, "SizeRw")));
}

static void exec(const json_t *j)
{
	const char *why = NULL;
	bool running = false;
	int64_t code = INT64_MIN;
	int e = docker_json_exec(j, &running, &code, &why);

	if (e < 0) {
		failed(e, why, 0);
		CHECK(docker_json_exec(j, &running, &code, NULL) == e);
		return;
	}
	CHECK(running == json_is_true(json_object_get(j, "Running")));
	if (running)
		CHECK(code == INT64_MIN);
	else
		CHECK(code == json_integer_value(json_object_get(j, "ExitCode")));
}

static void list(const json_t *j)
{
	const char *why = NULL, *v = NULL;
	struct docker_listed c;
	size_t n = 0;
	int e = docker_json_list(j, &n, &why);

	if (e < 0) {
		failed(e, why, 0);
		CHECK(docker_json_listed_id(j, 0, &v, &why) == -EPROTO);
		CHECK(docker_json_listed(j, 0, &c, &why) == -EPROTO);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int ei = docker_json_listed_id(j, i, &v, &why);
		if (ei < 0)
			failed(ei, why, 0);
		int el = docker_json_listed(j, i, &c, &why);
		if (el < 0) {
			failed(el, why, 0);
			continue;
		}
		/* A whole entry has the Id alone has. */
		CHECK(ei == 0 && c.id == v && docker_id_valid(c.id));
		CHECK(c.name != NULL && c.state != NULL);
		const char *name0 = json_string_value(
		    json_array_get(json_object_get(json_array_get(j, i), "Names"), 0));
		CHECK(c.name == name0 + (name0[0] == '/'));
		of_reply(c.state, json_object_get(json_array_get(j, i), "State"));
	}
	CHECK(docker_json_listed_id(j, n, &v, &why) == -ENOENT);
	CHECK(docker_json_listed(j, n, &c, &why) == -ENOENT);
}

static void message(const json_t *j)
{
	const char *why = NULL, *m = NULL;
	int e = docker_json_message(j, &m, &why);

	CHECK(docker_json_message(j, &m, NULL) == e);
	if (e < 0)
		failed(e, why, 0);
	else
		of_reply(m, json_object_get(j, "message"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* As docker.c reads a body: no flags. NULL (not JSON) is a reply too. */
	json_t *j = json_loadb((const char *)data + 1, size - 1, 0, NULL);

	switch (data[0] & 7) {
	case 0:
		id(j);
		break;
	case 1:
		label(j, labels[(data[0] >> 3) & 3]);
		break;
	case 2:
		running_pid(j);
		break;
	case 3:
		stopped_at(j);
		break;
	case 4:
		size_rw(j);
		break;
	case 5:
		exec(j);
		break;
	case 6:
		list(j);
		break;
	default:
		message(j);
		break;
	}
	json_decref(j);
	return 0;
}
