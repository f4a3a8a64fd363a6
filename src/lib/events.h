/*
 * events: the structured event log, <logging.output_dir>/events.jsonl.
 *
 * One writer (the monitor), one JSON object per line, each written with a
 * single write(2) on an O_APPEND fd, so lines never interleave and a crash
 * loses nothing already written. Every event carries timestamp (RFC 3339,
 * UTC, microseconds), event, session, src_ip and src_port, then its own
 * fields. docs/events.md lists them.
 */
#ifndef HERMES_EVENTS_H
#define HERMES_EVENTS_H

#include <stdint.h>

#include <jansson.h>

struct events;

/* Opens (creating dir and file, mode 0640) DIR/events.jsonl. NULL + errno. */
struct events *events_open(const char *dir);
void events_close(struct events *ev);

/* A new event object with timestamp, event, session, src_ip, src_port set.
 * session and src_ip may be NULL (JSON null), src_port 0 -> null. */
json_t *event_new(const char *type, const char *session, const char *src_ip, int src_port);

/* hook(arg, obj) runs on every event before it is written: it may add
 * fields (the bait-file alert). NULL removes it. */
void events_set_hook(struct events *ev, void (*hook)(void *arg, json_t *obj), void *arg);

/* tee(arg, obj, text, len) runs on every event once it is written to the
 * log (not on one the session's budget dropped or a write that failed),
 * with the line as written (text, len: without its newline): the other
 * streams of the event log (monitor.c). It must keep neither. NULL removes
 * it. */
void events_set_tee(struct events *ev,
                    void (*tee)(void *arg, const json_t *obj, const char *text, size_t len),
                    void *arg);

/* obj as the log writes it, compact and with a newline: a fresh heap
 * string (*len its length, the newline included), or NULL. */
char *events_line(const json_t *obj, size_t *len);

/* Writes obj as one line and frees it (the reference is stolen). A failed
 * write is reported to the diagnostic log and counted, never fatal.
 * Returns 0 or a negative errno. */
int events_emit(struct events *ev, json_t *obj);

/* Per-session budget (event_budget.h): no session open with
 * events_session_open() adds more than `bytes` to the log (0 = no limit);
 * past it its events are dropped, marked by one events.limit_reached,
 * and counted in an events.dropped at events_session_close().
 * session.connect and session.closed are always written. A dropped event
 * makes events_emit() return -EDQUOT. 0 or -ENOMEM. */
int events_set_session_budget(struct events *ev, uint64_t bytes);
void events_session_open(struct events *ev, const char *session);
void events_session_close(struct events *ev, const char *session, const char *src_ip, int src_port);

/* Adds a string field made safe: bytes that are not valid UTF-8 are stored
 * sanitized under KEY and, raw, base64-encoded under KEY_b64. */
int event_set_bytes(json_t *obj, const char *key, const void *data, size_t len);

/* Adds a name (a file name from a container) keeping every byte: under KEY
 * as util_escape_bytes() writes it (each byte that is not valid UTF-8 as
 * the characters \xNN), and, only when that is not exact, the raw bytes
 * base64-encoded under KEY_b64. Returns 0 or a negative errno. */
int event_set_name(json_t *obj, const char *key, const void *data, size_t len);

#endif
