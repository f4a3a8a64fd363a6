/*
 * cowrie_stream: the sessions of events.jsonl written again as Cowrie
 * 2.5.0's JSON log writes them (logging.cowrie_json), for the tools that
 * read Cowrie's: T-Pot's logstash pipeline, ewsposter, DShield's output.
 * docs/events.md ("The Cowrie stream") gives the mapping, event by event,
 * and what differs from Cowrie.
 *
 * Fed by the event log's tee (events_set_tee): every event written, in
 * order. Only a session's events are translated: nothing of the daemon,
 * the pool or retention. It keeps, per live session, the connection's
 * addresses (on every line) and its channels' recordings (for
 * cowrie.log.closed).
 */
#ifndef HERMES_COWRIE_STREAM_H
#define HERMES_COWRIE_STREAM_H

#include <jansson.h>

struct cowrie_stream;

/* A stream appending to `path` (made 0640 with its directory), or with
 * path NULL one that only translates (the tests). `sensor` is every line's
 * "sensor"; `artifacts_dir` where a stored file's "outfile" is. NULL +
 * errno. */
struct cowrie_stream *cowrie_stream_open(const char *path, const char *sensor,
                                         const char *artifacts_dir);
void cowrie_stream_close(struct cowrie_stream *cs);

/* The Cowrie lines for one Hermes event, in order, appended to the array
 * `out` (none for an event Cowrie has no line for). Keeps the session's
 * state. Returns how many, or a negative errno. */
int cowrie_translate(struct cowrie_stream *cs, const json_t *event, json_t *out);

/* Translates one event written to the event log and appends its lines,
 * each whole (util_append_whole). A failed write is reported (not for
 * each line) and never stops the event log. */
void cowrie_stream_tee(struct cowrie_stream *cs, const json_t *event);

#endif
