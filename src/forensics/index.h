/*
 * index: the SQLite index of events.jsonl (forensics.database) that the
 * analyst commands query.
 *
 * events.jsonl stays the source of truth. The index reads it forward from
 * the byte offset it has recorded (with the file's inode, so a replaced
 * log is read from its start), one whole line at a time, and records the
 * new offset in the same transaction as the rows: whoever catches up - the
 * daemon's indexer or an analyst command - continues where the last one
 * stopped, and a crash repeats nothing. A line the index cannot take - not
 * a JSON object, longer than 16 MiB, nested deeper than 32, or refused by
 * SQLite for its data (a constraint, a value its JSON functions refuse) -
 * is counted and skipped whole, and the index moves past it; only a
 * failure of the database itself (disk full, I/O, a table gone) stops a
 * catch-up, which then moves nothing. Each event type maps to a few SQL
 * statements whose named parameters (:session, :username, ...) are the
 * event's own field names, so the mapping is a table of SQL, not code.
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

/* One line of the log, without its newline: 0 indexed, 1 a bad line
 * (nothing of it kept), -1 the database failed (nothing of it kept either).
 * Inside the caller's transaction when there is one. index_catch_up()
 * feeds it (and says why it failed); it is public for the fuzz harness. */
int index_add_line(struct index *ix, const char *line, size_t len);

/* Empties every table and the offset: the next catch-up reads the whole
 * file again (hermes reindex). */
int index_reset(struct index *ix, char *err, size_t errsz);

/* Bad lines skipped (see above), over the index's life. */
long index_bad_lines(struct index *ix);

sqlite3 *index_db(struct index *ix);

#endif
