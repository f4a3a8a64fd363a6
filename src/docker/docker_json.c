/* docker_json: see docker_json.h. */
#include "docker_json.h"

#include <errno.h>
#include <string.h>

/* The error paths: why (if wanted) says what, the code says how bad. */
static int fail(const char **why, const char *what, int e)
{
	if (why != NULL)
		*why = what;
	return e;
}

enum kind { K_OBJECT, K_ARRAY, K_STRING, K_INTEGER, K_BOOLEAN };

static bool is_kind(const json_t *v, enum kind k)
{
	switch (k) {
	case K_OBJECT:
		return json_is_object(v);
	case K_ARRAY:
		return json_is_array(v);
	case K_STRING:
		return json_is_string(v);
	case K_INTEGER:
		return json_is_integer(v);
	case K_BOOLEAN:
		return json_is_boolean(v);
	}
	return false;
}

/* obj[key], present and of kind k; else -EPROTO with one of the two
 * messages (static strings: FIELD below spells them). */
static int get(const json_t *obj, const char *key, enum kind k, const json_t **out,
               const char *missing, const char *wrong, const char **why)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return fail(why, missing, -EPROTO);
	if (!is_kind(v, k))
		return fail(why, wrong, -EPROTO);
	*out = v;
	return 0;
}

#define FIELD(obj, key, path, k, kname, out)                                                       \
	get(obj, key, k, out, path ": missing", path ": not " kname, why)

bool docker_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return false;
	for (; id[n] != '\0'; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == DOCKER_ID_LEN;
}

/* The Id of obj (a reply or a list's entry, named so in the message when it
 * is no object). */
static int id_of(const json_t *obj, const char *not_object, const char **id, const char **why)
{
	const json_t *v;
	int e;

	if (!json_is_object(obj))
		return fail(why, not_object, -EPROTO);
	if ((e = FIELD(obj, "Id", "Id", K_STRING, "a string", &v)) < 0)
		return e;
	if (!docker_id_valid(json_string_value(v)))
		return fail(why, "Id: not a Docker id", -EPROTO);
	*id = json_string_value(v);
	return 0;
}

int docker_json_id(const json_t *reply, const char **id, const char **why)
{
	return id_of(reply, "reply: not an object", id, why);
}

int docker_json_label(const json_t *inspect, const char *name, const char **value, const char **why)
{
	const json_t *config, *labels, *v;
	int e;

	if (!json_is_object(inspect))
		return fail(why, "reply: not an object", -EPROTO);
	if ((e = FIELD(inspect, "Config", "Config", K_OBJECT, "an object", &config)) < 0)
		return e;
	labels = json_object_get(config, "Labels");
	if (labels == NULL || json_is_null(labels))
		return fail(why, "Config.Labels: none", -ENOENT);
	if (!json_is_object(labels))
		return fail(why, "Config.Labels: not an object", -EPROTO);
	if ((v = json_object_get(labels, name)) == NULL)
		return fail(why, "Config.Labels: no such label", -ENOENT);
	if (!json_is_string(v))
		return fail(why, "Config.Labels: the label is not a string", -EPROTO);
	*value = json_string_value(v);
	return 0;
}

/* State.Running of a container inspect; *state is State. */
static int state_running(const json_t *inspect, const json_t **state, bool *running,
                         const char **why)
{
	const json_t *v;
	int e;

	if (!json_is_object(inspect))
		return fail(why, "reply: not an object", -EPROTO);
	if ((e = FIELD(inspect, "State", "State", K_OBJECT, "an object", state)) < 0 ||
	    (e = FIELD(*state, "Running", "State.Running", K_BOOLEAN, "a boolean", &v)) < 0)
		return e;
	*running = json_is_true(v);
	return 0;
}

int docker_json_running_pid(const json_t *inspect, int *pid, const char **why)
{
	const json_t *state, *v;
	bool running;
	int e;

	if ((e = state_running(inspect, &state, &running, why)) < 0)
		return e;
	if (!running)
		return fail(why, "State.Running: false", -ESRCH);
	if ((e = FIELD(state, "Pid", "State.Pid", K_INTEGER, "an integer", &v)) < 0)
		return e;
	if (json_integer_value(v) < 2 || json_integer_value(v) > DOCKER_PID_MAX)
		return fail(why, "State.Pid: out of range", -EPROTO);
	*pid = (int)json_integer_value(v);
	return 0;
}

int docker_json_stopped_at(const json_t *inspect, time_t *when, const char **text, const char **why)
{
	const json_t *state, *v;
	struct tm tm = {0};
	bool running;
	int e;

	if ((e = state_running(inspect, &state, &running, why)) < 0)
		return e;
	if (running)
		return fail(why, "State.Running: true", -EBUSY);
	if ((e = FIELD(state, "FinishedAt", "State.FinishedAt", K_STRING, "a string", &v)) < 0)
		return e;
	/* "2026-11-23T19:25:55.188890123Z": the seconds are enough. */
	if (strptime(json_string_value(v), "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return fail(why, "State.FinishedAt: not a time", -EPROTO);
	*when = timegm(&tm);
	if (text != NULL)
		*text = json_string_value(v);
	return 0;
}

int docker_json_size_rw(const json_t *inspect, int64_t *size, const char **why)
{
	const json_t *v;
	int e;

	if (!json_is_object(inspect))
		return fail(why, "reply: not an object", -EPROTO);
	if ((e = FIELD(inspect, "SizeRw", "SizeRw", K_INTEGER, "an integer", &v)) < 0)
		return e;
	*size = (int64_t)json_integer_value(v);
	return 0;
}

int docker_json_exec(const json_t *reply, bool *running, int64_t *exit_code, const char **why)
{
	const json_t *v;
	int e;

	if (!json_is_object(reply))
		return fail(why, "reply: not an object", -EPROTO);
	if ((e = FIELD(reply, "Running", "Running", K_BOOLEAN, "a boolean", &v)) < 0)
		return e;
	if (json_is_true(v)) {
		*running = true; /* ExitCode is null until it ends */
		return 0;
	}
	if ((e = FIELD(reply, "ExitCode", "ExitCode", K_INTEGER, "an integer", &v)) < 0)
		return e;
	*running = false;
	*exit_code = (int64_t)json_integer_value(v);
	return 0;
}

int docker_json_list(const json_t *reply, size_t *n, const char **why)
{
	if (!json_is_array(reply))
		return fail(why, "reply: not a list", -EPROTO);
	*n = json_array_size(reply);
	return 0;
}

/* Entry i, or NULL with the error in *e. */
static const json_t *entry(const json_t *reply, size_t i, int *e, const char **why)
{
	if (!json_is_array(reply)) {
		*e = fail(why, "reply: not a list", -EPROTO);
		return NULL;
	}
	if (i >= json_array_size(reply)) {
		*e = fail(why, "reply: no such entry", -ENOENT);
		return NULL;
	}
	return json_array_get(reply, i);
}

int docker_json_listed_id(const json_t *reply, size_t i, const char **id, const char **why)
{
	const json_t *c;
	int e = 0;

	if ((c = entry(reply, i, &e, why)) == NULL)
		return e;
	return id_of(c, "entry: not an object", id, why);
}

int docker_json_listed(const json_t *reply, size_t i, struct docker_listed *out, const char **why)
{
	const json_t *c, *names, *name, *state;
	const char *id;
	int e = 0;

	if ((c = entry(reply, i, &e, why)) == NULL)
		return e;
	if ((e = id_of(c, "entry: not an object", &id, why)) < 0 ||
	    (e = FIELD(c, "Names", "Names", K_ARRAY, "a list", &names)) < 0 ||
	    (e = FIELD(c, "State", "State", K_STRING, "a string", &state)) < 0)
		return e;
	if ((name = json_array_get(names, 0)) == NULL)
		return fail(why, "Names: empty", -EPROTO);
	if (!json_is_string(name))
		return fail(why, "Names[0]: not a string", -EPROTO);
	out->id = id;
	out->name = json_string_value(name);
	if (out->name[0] == '/')
		out->name++;
	out->state = json_string_value(state);
	return 0;
}

int docker_json_message(const json_t *reply, const char **message, const char **why)
{
	const json_t *v;
	int e;

	if (!json_is_object(reply))
		return fail(why, "reply: not an object", -EPROTO);
	if ((e = FIELD(reply, "message", "message", K_STRING, "a string", &v)) < 0)
		return e;
	*message = json_string_value(v);
	return 0;
}
