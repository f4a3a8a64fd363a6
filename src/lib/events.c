/*
 * events: builds event objects and appends them to events.jsonl.
 *
 * The monitor is the only writer. Each event is serialized whole and leaves
 * in one write(2) on an O_APPEND descriptor, so readers tailing the file see
 * whole lines only and a crash never loses a line already written. A full
 * disk costs events, never the daemon: failures are counted and reported to
 * the diagnostic log at a bounded rate. What each event type contains is the
 * callers' business (docs/events.md), not this file's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_budget.h"
#include "log.h"
#include "util.h"

#define EVENTS_FILE      "events.jsonl"
#define EVENTS_LOG_EVERY 100 /* report one failed write in this many */
#define EVENTS_FLAGS     (JSON_COMPACT | JSON_PRESERVE_ORDER)

struct events {
	int fd;
	unsigned long failures;
	void (*hook)(void *arg, json_t *obj);
	void *hook_arg;
	void (*tee)(void *arg, const json_t *obj, const char *text, size_t len);
	void *tee_arg;
	struct event_budget *budget; /* NULL: sessions are not limited */
};

struct events *events_open(const char *dir)
{
	struct events *ev;
	char *path;
	int r, saved;

	if (dir == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((r = util_mkdirs(dir, 0750)) != 0) {
		errno = -r;
		return NULL;
	}
	if (asprintf(&path, "%s/%s", dir, EVENTS_FILE) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	if ((ev = calloc(1, sizeof(*ev))) == NULL) {
		free(path);
		errno = ENOMEM;
		return NULL;
	}
	ev->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	saved = errno;
	free(path);
	if (ev->fd < 0) {
		free(ev);
		errno = saved;
		return NULL;
	}
	return ev;
}

void events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	close(ev->fd);
	event_budget_free(ev->budget);
	free(ev);
}

/* Attacker-influenced text must be valid UTF-8 before jansson sees it, or
 * json_string() refuses it and the field would vanish. */
static json_t *text_or_null(const char *s)
{
	json_t *j;
	char *clean;

	if (s == NULL)
		return json_null();
	if ((clean = util_utf8_sanitize(s, strlen(s))) == NULL)
		return NULL;
	j = json_string(clean);
	free(clean);
	return j;
}

json_t *event_new(const char *type, const char *session, const char *src_ip, int src_port)
{
	char ts[32];
	json_t *o;
	int bad = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	util_rfc3339(util_wall(), ts);
	bad |= json_object_set_new(o, "timestamp", json_string(ts));
	bad |= json_object_set_new(o, "event", text_or_null(type));
	bad |= json_object_set_new(o, "session", text_or_null(session));
	bad |= json_object_set_new(o, "src_ip", text_or_null(src_ip));
	bad |=
	    json_object_set_new(o, "src_port", src_port > 0 ? json_integer(src_port) : json_null());
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *events_line(const json_t *obj, size_t *len)
{
	size_t n, m;
	char *s;

	n = json_dumpb(obj, NULL, 0, EVENTS_FLAGS);
	if (n == 0 || n > SIZE_MAX - 1 || (s = malloc(n + 1)) == NULL)
		return NULL;
	m = json_dumpb(obj, s, n, EVENTS_FLAGS);
	if (m != n) {
		free(s);
		return NULL;
	}
	s[n] = '\n';
	*len = n + 1;
	return s;
}

void events_set_hook(struct events *ev, void (*hook)(void *arg, json_t *obj), void *arg)
{
	ev->hook = hook;
	ev->hook_arg = arg;
}

void events_set_tee(struct events *ev,
                    void (*tee)(void *arg, const json_t *obj, const char *text, size_t len),
                    void *arg)
{
	ev->tee = tee;
	ev->tee_arg = arg;
}

/* Events that are written whatever the session's budget: its first and
 * last, and the budget's own. */
static bool exempt(const char *type)
{
	return strcmp(type, "session.connect") == 0 || strcmp(type, "session.closed") == 0 ||
	       strncmp(type, "events.", 7) == 0;
}

/* A budget event: the session's fields copied from `of`. */
static json_t *budget_event(const char *type, const json_t *of)
{
	json_t *port = json_object_get(of, "src_port");

	return event_new(type, json_string_value(json_object_get(of, "session")),
	                 json_string_value(json_object_get(of, "src_ip")),
	                 json_is_integer(port) ? (int)json_integer_value(port) : 0);
}

int events_emit(struct events *ev, json_t *obj)
{
	size_t len;
	char *line;
	int r;
	json_t *marker = NULL;

	if (ev == NULL || obj == NULL) {
		json_decref(obj);
		return -EINVAL;
	}
	if (ev->hook != NULL)
		ev->hook(ev->hook_arg, obj);
	line = events_line(obj, &len);
	if (line == NULL) {
		json_decref(obj);
		r = -ENOMEM;
		goto fail;
	}
	const char *session = json_string_value(json_object_get(obj, "session"));
	const char *type = json_string_value(json_object_get(obj, "event"));
	if (ev->budget != NULL && session != NULL && type != NULL && !exempt(type)) {
		switch (event_budget_charge(ev->budget, session, len)) {
		case BUDGET_WRITE:
			break;
		case BUDGET_FIRST_OVER:
			marker = budget_event("events.limit_reached", obj);
			json_object_set_new(
			    marker, "limit_bytes",
			    json_integer((json_int_t)event_budget_limit(ev->budget)));
			json_object_set_new(marker, "first_dropped", json_string(type));
			/* fall through */
		case BUDGET_DROP:
			free(line);
			json_decref(obj);
			if (marker != NULL)
				events_emit(ev, marker);
			return -EDQUOT;
		}
	}
	r = util_append_whole(ev->fd, line, len);
	if (r == 0 && ev->tee != NULL)
		ev->tee(ev->tee_arg, obj, line, len - 1); /* the line, not its newline */
	json_decref(obj);
	free(line);
	if (r == 0)
		return 0;
fail:
	/* A full disk fails every event: say so, but not for each one. */
	if (ev->failures++ % EVENTS_LOG_EVERY == 0)
		error("cannot write event log: %s (%lu failed so far)", strerror(-r), ev->failures);
	return r;
}

int events_set_session_budget(struct events *ev, uint64_t bytes)
{
	event_budget_free(ev->budget);
	ev->budget = NULL;
	if (bytes > 0 && (ev->budget = event_budget_new(bytes)) == NULL)
		return -ENOMEM;
	return 0;
}

void events_session_open(struct events *ev, const char *session)
{
	if (ev->budget != NULL && event_budget_open(ev->budget, session) < 0)
		warn("session %.8s: out of memory: its events are not limited", session);
}

void events_session_close(struct events *ev, const char *session, const char *src_ip, int src_port)
{
	struct budget_totals t;

	if (ev->budget == NULL || !event_budget_close(ev->budget, session, &t) ||
	    t.dropped_events == 0)
		return;
	json_t *e = event_new("events.dropped", session, src_ip, src_port);
	json_object_set_new(e, "events", json_integer((json_int_t)t.dropped_events));
	json_object_set_new(e, "bytes", json_integer((json_int_t)t.dropped_bytes));
	json_object_set_new(e, "limit_bytes",
	                    json_integer((json_int_t)event_budget_limit(ev->budget)));
	events_emit(ev, e);
}

int event_set_bytes(json_t *obj, const char *key, const void *data, size_t len)
{
	char *clean, *b64, *key64;
	int bad = 0;

	if (obj == NULL || key == NULL || (data == NULL && len > 0))
		return -EINVAL;
	if (data == NULL)
		data = "";
	if ((clean = util_utf8_sanitize(data, len)) == NULL)
		return -ENOMEM;
	bad |= json_object_set_new(obj, key, json_string(clean));
	free(clean);
	if (bad)
		return -EINVAL;
	if (util_utf8_valid(data, len))
		return 0;
	/* The sanitized text loses bytes; keep them exactly as sent. */
	if (asprintf(&key64, "%s_b64", key) < 0)
		return -ENOMEM;
	if ((b64 = util_base64(data, len)) == NULL) {
		free(key64);
		return -ENOMEM;
	}
	bad |= json_object_set_new(obj, key64, json_string(b64));
	free(b64);
	free(key64);
	return bad ? -ENOMEM : 0;
}

int event_set_name(json_t *obj, const char *key, const void *data, size_t len)
{
	char *text, *b64 = NULL, *key64 = NULL;
	bool exact;
	int bad;

	if (obj == NULL || key == NULL || (data == NULL && len > 0))
		return -EINVAL;
	if ((text = util_escape_bytes(data ? data : "", len, &exact)) == NULL)
		return -ENOMEM;
	bad = json_object_set_new(obj, key, json_string(text));
	free(text);
	if (bad)
		return -EINVAL;
	if (exact)
		return 0;
	if (asprintf(&key64, "%s_b64", key) < 0)
		return -ENOMEM;
	if ((b64 = util_base64(data, len)) == NULL ||
	    json_object_set_new(obj, key64, json_string(b64)) != 0) {
		free(b64);
		free(key64);
		return -ENOMEM;
	}
	free(b64);
	free(key64);
	return 0;
}
