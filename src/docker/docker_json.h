/*
 * docker_json: the Docker engine's JSON replies -> C values, for the pool,
 * the sessions, the monitor's start-up check, the disk watch, the agent's
 * dialling and the artifact collection.
 *
 * The engine runs our containers, but what it says is not trusted: a proxy
 * may sit in between, the engine may be old, buggy or compromised, and some
 * of it is the attacker's own (labels read back, exit codes). Every function
 * reads one kind of reply for one need, checks each field it reports for
 * presence and type, and says what was wrong; it reads nothing it does not
 * report. Not here: the HTTP layer (http.c) and the changes list
 * (changes.c).
 *
 * Each returns 0, or a negative errno with *why (when why is not NULL) set to
 * a static "Field: problem" string, e.g. "State.Pid: not an integer":
 * -EPROTO for a reply without the field or with one of the wrong type or
 * value; the few other codes are said where they occur. Strings handed out
 * are borrowed from the reply and live as long as it does. reply may be NULL
 * (a body that was not JSON): that is -EPROTO too. Pure and fuzzed
 * (tests/fuzz/fuzz_docker_json.c).
 */
#ifndef HERMES_DOCKER_JSON_H
#define HERMES_DOCKER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#define DOCKER_ID_LEN  64
#define DOCKER_PID_MAX 0x400000 /* Linux's PID_MAX_LIMIT */

/* Docker ids are 64 lower-case hex digits; anything else is refused before
 * it is put into a URL. */
bool docker_id_valid(const char *id);

/* "Id": the answer to POST /containers/create or /containers/{id}/exec, or
 * a container inspect. A valid Docker id, or -EPROTO. */
int docker_json_id(const json_t *reply, const char **id, const char **why);

/* Config.Labels[name] of a container or image inspect (GET
 * /containers/{id}/json, /images/{name}/json): a string. -ENOENT when there
 * is no such label (Docker writes null for no labels at all). */
int docker_json_label(const json_t *inspect, const char *name, const char **value,
                      const char **why);

/* The pid of a running container's init in the host's namespace (State.Pid
 * of a container inspect): 0 when State.Running is true and State.Pid in
 * 2..DOCKER_PID_MAX; -ESRCH when State.Running is false. */
int docker_json_running_pid(const json_t *inspect, int *pid, const char **why);

/* When a stopped container stopped: State.Running false and
 * State.FinishedAt an RFC 3339 time, read to the second into *when (UTC; a
 * container that never ran has year 1, so a time before 1970). *text is the
 * time as Docker wrote it (may be NULL). -EBUSY while State.Running is true. */
int docker_json_stopped_at(const json_t *inspect, time_t *when, const char **text,
                           const char **why);

/* SizeRw of GET /containers/{id}/json?size=1: the writable layer's size, an
 * integer, as Docker gives it. */
int docker_json_size_rw(const json_t *inspect, int64_t *size, const char **why);

/* GET /exec/{id}/json: Running (a boolean) and, when it is false,
 * ExitCode (an integer); *exit_code is left alone while running. */
int docker_json_exec(const json_t *reply, bool *running, int64_t *exit_code, const char **why);

/* GET /containers/json: the list's length (-EPROTO when it is not a list). */
int docker_json_list(const json_t *reply, size_t *n, const char **why);

struct docker_listed {
	const char *id;    /* a valid Docker id */
	const char *name;  /* Names[0], its leading '/' left out */
	const char *state; /* "running", "exited"... */
};

/* Entry i of the list (i < the length, else -ENOENT): its Id alone, or Id,
 * Names[0] and State all present and strings. */
int docker_json_listed_id(const json_t *reply, size_t i, const char **id, const char **why);
int docker_json_listed(const json_t *reply, size_t i, struct docker_listed *out, const char **why);

/* "message" of an error reply (any status but 2xx): a string. */
int docker_json_message(const json_t *reply, const char **message, const char **why);

#endif
