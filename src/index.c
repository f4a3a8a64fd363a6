/*
 * index: events.jsonl into SQLite; see index.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "index.h"

#define SCHEMA_VERSION 2          /* a database of another version is rebuilt */
#define LINE_MAX_BYTES (16 << 20) /* a longer line is skipped as bad */
#define TXN_LINES      20000      /* events per transaction */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE IF NOT EXISTS sessions("
    " id TEXT PRIMARY KEY, start TEXT, end TEXT, src_ip TEXT, src_port INT, dst_port INT,"
    " client_version TEXT, hassh TEXT, attempts INT NOT NULL DEFAULT 0, username TEXT,"
    " password TEXT, login_method TEXT, commands INT NOT NULL DEFAULT 0, duration REAL,"
    " reason TEXT, exit_status INT, exit_signal TEXT, bytes_in INT, bytes_out INT,"
    " container_id TEXT, container_name TEXT, recordings TEXT, metadata TEXT, manifest TEXT,"
    " alerts INT NOT NULL DEFAULT 0, previous_session TEXT);"
    "CREATE INDEX IF NOT EXISTS sessions_start ON sessions(start);"
    "CREATE INDEX IF NOT EXISTS sessions_ip ON sessions(src_ip, start);"
    "CREATE INDEX IF NOT EXISTS sessions_user ON sessions(username, start);"
    "CREATE TABLE IF NOT EXISTS logins("
    " session TEXT, timestamp TEXT, src_ip TEXT, success INT, method TEXT, username TEXT,"
    " password TEXT, key_type TEXT, fingerprint TEXT, attempt INT);"
    "CREATE INDEX IF NOT EXISTS logins_session ON logins(session);"
    "CREATE INDEX IF NOT EXISTS logins_time ON logins(timestamp);"
    /* Covering indexes for hermes stats: its GROUP BYs read these, not
     * the table, and need no sort (bench/cli_million.py). */
    "CREATE INDEX IF NOT EXISTS logins_user ON logins(username, success, timestamp);"
    "CREATE INDEX IF NOT EXISTS logins_password ON logins(password, timestamp);"
    "CREATE TABLE IF NOT EXISTS commands("
    " session TEXT, timestamp TEXT, channel INT, source TEXT, tty INT, command TEXT, at REAL,"
    " recalled INT, unresolved INT, completion INT, truncated INT);"
    "CREATE INDEX IF NOT EXISTS commands_session ON commands(session);"
    "CREATE INDEX IF NOT EXISTS commands_time ON commands(timestamp);"
    "CREATE INDEX IF NOT EXISTS commands_text ON commands(command, session, timestamp);"
    "CREATE TABLE IF NOT EXISTS channels("
    " session TEXT, timestamp TEXT, channel INT, kind TEXT, tty INT, command TEXT,"
    " subsystem TEXT, recording TEXT, exit_status INT, exit_signal TEXT);"
    "CREATE INDEX IF NOT EXISTS channels_session ON channels(session);"
    "CREATE TABLE IF NOT EXISTS transfers("
    " session TEXT, timestamp TEXT, channel INT, protocol TEXT, direction TEXT, path TEXT,"
    " bytes INT, status INT);"
    "CREATE INDEX IF NOT EXISTS transfers_session ON transfers(session);"
    "CREATE TABLE IF NOT EXISTS artifacts("
    " session TEXT, timestamp TEXT, event TEXT, path TEXT, type TEXT, size INT, sha256 TEXT,"
    " mode TEXT, link TEXT, transfer INT, reason TEXT);"
    "CREATE INDEX IF NOT EXISTS artifacts_session ON artifacts(session);"
    "CREATE INDEX IF NOT EXISTS artifacts_sha256 ON artifacts(sha256);"
    "CREATE TABLE IF NOT EXISTS forwards("
    " session TEXT, timestamp TEXT, kind TEXT, forward INT, dst_host TEXT, dst_port INT,"
    " orig_host TEXT, orig_port INT, bind_host TEXT, bind_port INT, accepted INT, bytes INT);"
    "CREATE INDEX IF NOT EXISTS forwards_session ON forwards(session);"
    /* One row per alert and bait file: an event with an "alert". */
    "CREATE TABLE IF NOT EXISTS alerts("
    " session TEXT, timestamp TEXT, event TEXT, type TEXT, path TEXT);"
    "CREATE INDEX IF NOT EXISTS alerts_session ON alerts(session);"
    "CREATE INDEX IF NOT EXISTS alerts_time ON alerts(timestamp);";

static const char *const tables[] = {"sessions",  "logins",    "commands", "channels",
                                     "transfers", "artifacts", "forwards", "alerts"};

/* Every event with a session first makes sure its row exists, so a log
 * whose start is missing still indexes. */
static const char ensure_sql[] = "INSERT OR IGNORE INTO sessions(id, start, src_ip, src_port)"
                                 " VALUES(:session, :timestamp, :src_ip, :src_port)";

#define LOGIN_INSERT                                                                               \
	"INSERT INTO logins(session, timestamp, src_ip, success, method, username, password,"      \
	" key_type, fingerprint, attempt) VALUES(:session, :timestamp, :src_ip,"                   \
	" :event = 'login.success', :method, :username, :password, :key_type, :fingerprint,"       \
	" :attempt)"
#define ARTIFACT_INSERT                                                                            \
	"INSERT INTO artifacts(session, timestamp, event, path, type, size, sha256, mode, link,"   \
	" transfer, reason) VALUES(:session, :timestamp, :event, :path, :type, :size, :sha256,"    \
	" :mode, :link, :transfer, :reason)"

static const struct rule {
	const char *event;
	const char *sql[2];
} rules[] = {
    {"session.connect", {"UPDATE sessions SET dst_port = :dst_port WHERE id = :session"}},
    {"client.version", {"UPDATE sessions SET client_version = :version WHERE id = :session"}},
    {"client.kex", {"UPDATE sessions SET hassh = :hassh WHERE id = :session"}},
    {"login.failed",
     {LOGIN_INSERT, "UPDATE sessions SET attempts = attempts + 1 WHERE id = :session"}},
    {"login.success",
     {LOGIN_INSERT, "UPDATE sessions SET attempts = attempts + 1, username = :username,"
                    " password = :password, login_method = :method WHERE id = :session"}},
    {"command.input",
     {"INSERT INTO commands(session, timestamp, channel, source, tty, command, at, recalled,"
      " unresolved, completion, truncated) VALUES(:session, :timestamp, :channel, :source, :tty,"
      " :command, :at, :recalled, :unresolved, :completion, :truncated)",
      "UPDATE sessions SET commands = commands + 1 WHERE id = :session"}},
    {"session.shell",
     {"INSERT INTO channels(session, timestamp, channel, kind, tty, command, subsystem,"
      " recording) VALUES(:session, :timestamp, :channel, :kind, :tty, :command, :subsystem,"
      " :recording)",
      "UPDATE sessions SET container_id = :container_id, container_name = :container_name"
      " WHERE id = :session"}},
    {"session.channel_closed",
     {"UPDATE channels SET exit_status = :exit_status, exit_signal = :exit_signal"
      " WHERE session = :session AND channel = :channel"}},
    {"file.transfer",
     {"INSERT INTO transfers(session, timestamp, channel, protocol, direction, path, bytes,"
      " status) VALUES(:session, :timestamp, :channel, :protocol, :direction, :path, :bytes,"
      " :status)"}},
    {"file.created", {ARTIFACT_INSERT}},
    {"file.changed", {ARTIFACT_INSERT}},
    {"file.deleted", {ARTIFACT_INSERT}},
    {"artifact.skipped", {ARTIFACT_INSERT}},
    {"artifacts.collected", {"UPDATE sessions SET manifest = :manifest WHERE id = :session"}},
    {"forward.request",
     {"INSERT INTO forwards(session, timestamp, kind, forward, dst_host, dst_port, orig_host,"
      " orig_port, bind_host, bind_port, accepted) VALUES(:session, :timestamp, :kind, :forward,"
      " :dst_host, :dst_port, :orig_host, :orig_port, :bind_host, :bind_port, :accepted)"}},
    {"forward.data",
     {"UPDATE forwards SET bytes = :bytes WHERE session = :session AND forward = :forward"}},
    {"session.closed",
     {"UPDATE sessions SET end = :timestamp, duration = :duration, reason = :reason,"
      " exit_status = :exit_status, exit_signal = :exit_signal, bytes_in = :bytes_in,"
      " bytes_out = :bytes_out, container_id = coalesce(:container_id, container_id),"
      " container_name = coalesce(:container_name, container_name), username ="
      " coalesce(username, :username), recordings = :recordings, metadata = :metadata,"
      " previous_session = :previous_session WHERE id = :session"}},
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

/* Any event may carry an alert (docs/events.md): a row per bait file it
 * names, or one without a path. */
static const char *const alert_sql[2] = {
    "INSERT INTO alerts(session, timestamp, event, type, path) SELECT :session, :timestamp,"
    " :event, json_extract(:alert, '$.type'), value FROM (SELECT value FROM"
    " json_each(:alert, '$.paths') UNION ALL SELECT NULL WHERE json_extract(:alert,"
    " '$.paths') IS NULL)",
    "UPDATE sessions SET alerts = alerts + 1 WHERE id = :session",
};

struct index {
	sqlite3 *db;
	sqlite3_stmt *ensure;
	sqlite3_stmt *stmt[NRULES][2];
	sqlite3_stmt *alert[2];
	sqlite3_stmt *meta_get, *meta_set;
	long bad;
};

static void set_err(char *err, size_t errsz, const char *what, sqlite3 *db)
{
	snprintf(err, errsz, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static int prepare(struct index *ix, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v3(ix->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
}

static int meta_set(struct index *ix, const char *key, sqlite3_int64 v)
{
	sqlite3_reset(ix->meta_set);
	sqlite3_bind_text(ix->meta_set, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ix->meta_set, 2, v);
	return sqlite3_step(ix->meta_set) == SQLITE_DONE ? 0 : -1;
}

static sqlite3_int64 meta_get(struct index *ix, const char *key)
{
	sqlite3_int64 v = 0;

	sqlite3_reset(ix->meta_get);
	sqlite3_bind_text(ix->meta_get, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(ix->meta_get) == SQLITE_ROW)
		v = sqlite3_column_int64(ix->meta_get, 0);
	sqlite3_reset(ix->meta_get);
	return v;
}

/* A database made by another version of this schema: its tables go, and
 * the next catch-up reads the log again. */
static int drop_other_schema(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 version = 0;
	char sql[64];

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema'", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0; /* no meta table: a new database */
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (version == SCHEMA_VERSION)
		return 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", tables[i]);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return -1;
	}
	return sqlite3_exec(db, "DELETE FROM meta", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

struct index *index_open(const char *path, char *err, size_t errsz)
{
	struct index *ix = calloc(1, sizeof(*ix));

	if (ix == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		set_err(err, errsz, path, ix->db);
		index_close(ix);
		return NULL;
	}
	sqlite3_busy_timeout(ix->db, 10000);
	/* WAL: readers never wait for the indexer; NORMAL: no fsync per
	 * commit (the log is the truth, the index can be rebuilt). */
	if (sqlite3_exec(ix->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
	                 NULL) != SQLITE_OK ||
	    drop_other_schema(ix->db) < 0 ||
	    sqlite3_exec(ix->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, errsz, path, ix->db);
		index_close(ix);
		return NULL;
	}
	if (prepare(ix, "SELECT value FROM meta WHERE key = ?", &ix->meta_get) != SQLITE_OK ||
	    prepare(ix, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", &ix->meta_set) !=
	        SQLITE_OK ||
	    prepare(ix, ensure_sql, &ix->ensure) != SQLITE_OK) {
		set_err(err, errsz, "preparing statements", ix->db);
		index_close(ix);
		return NULL;
	}
	for (size_t i = 0; i < NRULES; i++)
		for (size_t k = 0; k < 2 && rules[i].sql[k] != NULL; k++)
			if (prepare(ix, rules[i].sql[k], &ix->stmt[i][k]) != SQLITE_OK) {
				set_err(err, errsz, rules[i].event, ix->db);
				index_close(ix);
				return NULL;
			}
	for (size_t k = 0; k < 2; k++)
		if (prepare(ix, alert_sql[k], &ix->alert[k]) != SQLITE_OK) {
			set_err(err, errsz, "alerts", ix->db);
			index_close(ix);
			return NULL;
		}
	meta_set(ix, "schema", SCHEMA_VERSION);
	return ix;
}

void index_close(struct index *ix)
{
	if (ix == NULL)
		return;
	sqlite3_finalize(ix->ensure);
	sqlite3_finalize(ix->meta_get);
	sqlite3_finalize(ix->meta_set);
	sqlite3_finalize(ix->alert[0]);
	sqlite3_finalize(ix->alert[1]);
	for (size_t i = 0; i < NRULES; i++)
		for (size_t k = 0; k < 2; k++)
			sqlite3_finalize(ix->stmt[i][k]);
	sqlite3_close(ix->db);
	free(ix);
}

sqlite3 *index_db(struct index *ix)
{
	return ix->db;
}

long index_bad_lines(struct index *ix)
{
	return (long)meta_get(ix, "bad_lines");
}

/* Empties every table and the meta data but the schema version, inside
 * the caller's transaction. */
static int clear_all(struct index *ix)
{
	char sql[64];

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s", tables[i]);
		if (sqlite3_exec(ix->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return -1;
	}
	if (sqlite3_exec(ix->db, "DELETE FROM meta", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	return meta_set(ix, "schema", SCHEMA_VERSION);
}

int index_reset(struct index *ix, char *err, size_t errsz)
{
	if (sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    clear_all(ix) < 0 || sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, errsz, "reset", ix->db);
		sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Binds each named parameter of st to the event's field of that name:
 * strings as text, numbers as numbers, booleans as 0/1, arrays and objects
 * as JSON text, a missing field or null as NULL. */
static void bind_event(sqlite3_stmt *st, json_t *ev)
{
	int n = sqlite3_bind_parameter_count(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (int i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		json_t *v = name != NULL ? json_object_get(ev, name + 1) : NULL;
		if (v == NULL)
			continue;
		switch (json_typeof(v)) {
		case JSON_STRING:
			sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v),
			                  SQLITE_TRANSIENT);
			break;
		case JSON_INTEGER:
			sqlite3_bind_int64(st, i, json_integer_value(v));
			break;
		case JSON_REAL:
			sqlite3_bind_double(st, i, json_real_value(v));
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			sqlite3_bind_int(st, i, json_is_true(v));
			break;
		case JSON_OBJECT:
		case JSON_ARRAY: {
			char *s = json_dumps(v, JSON_COMPACT);
			if (s != NULL)
				sqlite3_bind_text(st, i, s, -1, free);
			break;
		}
		case JSON_NULL:
			break;
		}
	}
}

static int run(sqlite3_stmt *st, json_t *ev)
{
	bind_event(st, ev);
	int r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : -1;
}

/* Runs a rule's statements: 0, 1 when the line does not fit the tables
 * (a constraint or type problem is this line's), -1 when the database
 * failed (a full disk or I/O error is everyone's). */
static int run_all(struct index *ix, sqlite3_stmt *const st[2], json_t *ev)
{
	for (size_t k = 0; k < 2 && st[k] != NULL; k++)
		if (run(st[k], ev) < 0) {
			int e = sqlite3_errcode(ix->db);
			return e == SQLITE_CONSTRAINT || e == SQLITE_MISMATCH ? 1 : -1;
		}
	return 0;
}

/* One line of the log. Returns 0, 1 for a line that is not an event (or
 * an event that does not fit the tables), -1 for a database failure. */
static int index_line(struct index *ix, const char *line, size_t len)
{
	json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = 0;

	if (!json_is_object(ev) || !json_is_string(json_object_get(ev, "event"))) {
		json_decref(ev);
		return 1;
	}
	const char *type = json_string_value(json_object_get(ev, "event"));
	if (json_is_string(json_object_get(ev, "session")) && run(ix->ensure, ev) < 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < NRULES; i++)
		if (strcmp(rules[i].event, type) == 0)
			rc = run_all(ix, ix->stmt[i], ev);
	if (rc == 0 && json_is_object(json_object_get(ev, "alert")))
		rc = run_all(ix, ix->alert, ev);
	json_decref(ev);
	return rc;
}

static int commit_at(struct index *ix, off_t offset, long bad)
{
	if (meta_set(ix, "offset", offset) < 0 ||
	    (bad > 0 && meta_set(ix, "bad_lines", meta_get(ix, "bad_lines") + bad) < 0))
		return -1;
	return sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

long index_catch_up(struct index *ix, const char *events_path, char *err, size_t errsz)
{
	FILE *f = fopen(events_path, "re");
	struct stat st;

	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", events_path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) < 0) {
		snprintf(err, errsz, "%s: %s", events_path, strerror(errno));
		fclose(f);
		return -1;
	}
	/* One writer at a time: the offset is read and moved under the lock. */
	if (sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, errsz, "indexing", ix->db);
		fclose(f);
		return -1;
	}
	off_t pos = (off_t)meta_get(ix, "offset");
	bool ok = true;
	if ((sqlite3_int64)st.st_ino != meta_get(ix, "inode") || st.st_size < pos) {
		/* Another file, or this one cut short: read it all again. */
		ok = clear_all(ix) == 0 && meta_set(ix, "inode", (sqlite3_int64)st.st_ino) == 0;
		pos = 0;
	}
	ok = ok && fseeko(f, pos, SEEK_SET) == 0;

	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long count = 0, in_txn = 0, bad = 0;
	/* A last line without its newline is still being written: it is
	 * read next time, whole. */
	while (ok && (n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		size_t len = (size_t)n - 1;
		int r = len == 0 ? 0 : len > LINE_MAX_BYTES ? 1 : index_line(ix, line, len);
		if (r < 0) {
			ok = false;
			break;
		}
		bad += r;
		count += r == 0 && len > 0;
		pos += n;
		if (++in_txn >= TXN_LINES) {
			ok = commit_at(ix, pos, bad) == 0 &&
			     sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
			in_txn = bad = 0;
		}
	}
	free(line);
	fclose(f);
	if (!ok || commit_at(ix, pos, bad) < 0) {
		set_err(err, errsz, "indexing", ix->db);
		sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return count;
}
