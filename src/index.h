/*
 * index: the SQLite index of events.jsonl (forensics.database) that the
 * analyst commands query.
 *
 * events.jsonl stays the source of truth. The index reads it forward from
 * the byte offset it has recorded (with the file's inode, so a replaced
 * log is read from its start), one whole line at a time, and records the
 * new offset in the same transaction as the rows: whoever catches up - the
 * daemon's indexer or an analyst command - continues where the last one
 * stopped, and a crash repeats nothing. A line that is not a JSON object
 * is counted and skipped. Each event type maps to a few SQL statements
 * whose named parameters (:session, :username, ...) are the event's own
 * field names, so the mapping is a table of SQL, not code.
 */
#ifndef HERMES_INDEX_H
#define HERMES_INDEX_H

#include <stddef.h>

#include <sqlite3.h>

struct index;

/* Opens the database at path, creating it and its schema; a database of
 * an older schema is emptied and rebuilt on the next catch-up. NULL with
 * the reason in err on failure. */
struct index *index_open(const char *path, char *err, size_t errsz);
void index_close(struct index *ix);

/* Indexes what events_path holds past the recorded offset. Returns the
 * number of events indexed (>= 0), or -1 with the reason in err. A
 * missing file is 0 events. */
long index_catch_up(struct index *ix, const char *events_path, char *err, size_t errsz);

/* Empties every table and the offset: the next catch-up reads the whole
 * file again (hermes reindex). */
int index_reset(struct index *ix, char *err, size_t errsz);

/* Lines that were not JSON objects, over the index's life. */
long index_bad_lines(struct index *ix);

sqlite3 *index_db(struct index *ix);

#endif
