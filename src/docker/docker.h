/*
 * docker: an asynchronous Docker Engine API (v1.41) client for the
 * monitor's event loop.
 *
 * Each call opens its own connection to the Docker socket (unix, or tcp for a
 * socket proxy), sends one request, and reports the answer through a
 * callback from the loop, so no Docker call ever blocks the monitor: a slow
 * daemon delays only the calls waiting on it. docker_exec_start() performs
 * the exec "hijack" and hands over the raw stream socket. HTTP parsing is
 * http.c's; this file only moves bytes.
 */
#ifndef HERMES_DOCKER_H
#define HERMES_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "docker_json.h" /* docker_id_valid() and the replies' parsers */
#include "loop.h"

#define DOCKER_API "/v1.41"

struct docker;

struct docker_reply {
	int status;          /* HTTP status; 0 when no answer came */
	const char *error;   /* NULL on 2xx; else a readable reason */
	json_t *json;        /* the body when it parsed as JSON (borrowed), or NULL */
	const uint8_t *body; /* the raw body (borrowed; NULL when there was none) */
	size_t body_len;
	bool too_large; /* the answer passed the call's max_answer (or BUF_MAX) */
};

typedef void (*docker_cb)(void *arg, const struct docker_reply *r);
/* fd >= 0: the stream socket (caller owns it); fd < 0: error says why. */
typedef void (*docker_hijack_cb)(void *arg, int fd, const char *error);

/* base_url: NULL (use socket_path), "unix:///path" or "tcp://host:port".
 * Returns NULL with *err set (static string) on a bad address. */
struct docker *docker_new(struct loop *l, const char *socket_path, const char *base_url,
                          const char **err);
/* Cancels every call in flight; their callbacks are not called. */
void docker_free(struct docker *d);

/* What an answer may be by default: every answer is read into memory, and
 * some carry what root in a box chose (an archive, a file list), so no call
 * takes more than it needs. Calls that need more say how much. */
#define DOCKER_ANSWER_MAX ((size_t)1 << 20)

/*
 * Starts METHOD DOCKER_API+path with an optional JSON body (borrowed).
 * The answer may be at most DOCKER_ANSWER_MAX.
 * The callback always comes later, from the loop, exactly once, unless the
 * call is cancelled; cb may be NULL (fire and forget). timeout_ms <= 0: no timeout. Returns the
 * call's id, or 0 when out of memory (then no callback comes).
 */
uint64_t docker_request(struct docker *d, const char *method, const char *path, json_t *body,
                        int timeout_ms, docker_cb cb, void *arg);
/* The same, giving up (too_large, status 0) once the answer passes
 * max_answer bytes (headers not counted exactly: a bound, not a size). */
uint64_t docker_request_max(struct docker *d, const char *method, const char *path, json_t *body,
                            size_t max_answer, int timeout_ms, docker_cb cb, void *arg);
/* The same with a body that is not JSON (content_type says what it is:
 * "application/x-tar" for PUT .../archive), copied at once. */
uint64_t docker_request_data(struct docker *d, const char *method, const char *path,
                             const char *content_type, const void *data, size_t len, int timeout_ms,
                             docker_cb cb, void *arg);
uint64_t docker_exec_start(struct docker *d, const char *exec_id, bool tty, int timeout_ms,
                           docker_hijack_cb cb, void *arg);
void docker_cancel(struct docker *d, uint64_t id);
size_t docker_pending(const struct docker *d);

/* Told of every call that ends (not of a cancelled one), before its own
 * callback: `what` is "METHOD /path", failed whether it got no 2xx answer
 * (for an exec's start: no stream), usec how long it took. For the
 * metrics (metrics.h); NULL: none. */
typedef void (*docker_observe_cb)(void *arg, const char *what, bool failed, int64_t usec);
void docker_set_observer(struct docker *d, docker_observe_cb cb, void *arg);

/* An answer kept past its callback (docker_call_wait). */
struct docker_answer {
	int status;      /* 0 when no answer came */
	char error[256]; /* "" on 2xx */
	json_t *json;    /* the body as JSON (a reference of its own), or NULL */
	uint8_t *body;   /* a copy of the raw body, or NULL */
	size_t body_len;
};

/* A call waited for: runs the client's loop until the answer (start-up
 * only, before anything else is on the loop that must not wait). Fills
 * *a (docker_answer_clear frees it). Returns 0, or -ENOMEM when no call
 * could be started. */
int docker_call_wait(struct docker *d, const char *method, const char *path, json_t *body,
                     size_t max_answer, int timeout_ms, struct docker_answer *a);
void docker_answer_clear(struct docker_answer *a);

#endif
