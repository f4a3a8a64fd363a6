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

#define SCHEMA_VERSION 3          /* a database of another version is rebuilt */
#define LINE_MAX_BYTES (16 << 20) /* a longer line is skipped as bad */
#define LINE_MAX_DEPTH 32         /* so is a deeper one (ours nest 3 deep) */
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
    "CREATE INDEX IF NOT EXISTS alerts_time ON alerts(timestamp);"
    /* What the boxes did on the sinkhole's network (egress.*): a row per
     * event, kind its name's last word (dns, http, connect, limited,
     * smtp). The columns the commands select and group by; the rest of the
     * event's own fields in detail, a JSON object. */
    "CREATE TABLE IF NOT EXISTS egress("
    " session TEXT, timestamp TEXT, kind TEXT, proto TEXT, method TEXT, url TEXT, host TEXT,"
    " dst TEXT, dport INT, status INT, sha256 TEXT, cmdline TEXT, detail TEXT);"
    "CREATE INDEX IF NOT EXISTS egress_session ON egress(session);"
    "CREATE INDEX IF NOT EXISTS egress_url ON egress(url, session, timestamp);"
    "CREATE INDEX IF NOT EXISTS egress_host ON egress(host, kind, session, timestamp);"
    /* file.downloaded: a body a box fetched, kept in the store. Not a row
     * of artifacts: those are what a session left in its container, by
     * path, as the diff found them; a download has a URL and no path, may
     * never have been written to the box's disk, and is served again from
     * the cache to other sessions - listing it with the files a session
     * left would say something the log does not. */
    "CREATE TABLE IF NOT EXISTS downloads("
    " session TEXT, timestamp TEXT, url TEXT, sha256 TEXT, size INT, content_type TEXT,"
    " source TEXT, container_id TEXT, cmdline TEXT);"
    "CREATE INDEX IF NOT EXISTS downloads_session ON downloads(session);"
    "CREATE INDEX IF NOT EXISTS downloads_sha256 ON downloads(sha256, session);";

static const char *const tables[] = {"sessions",  "logins",   "commands", "channels", "transfers",
                                     "artifacts", "forwards", "alerts",   "egress",   "downloads"};

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

/* egress.*: the columns, by the event's fields, then the rest of the
 * event in detail - an object of names and values without the ones the
 * event did not have (json_patch drops the nulls). */
#define EGRESS(columns, pairs)                                                                     \
	"INSERT INTO egress(session, timestamp, kind, proto, method, url, host, dst, dport,"       \
	" status, sha256, cmdline, detail) VALUES(:session, :timestamp, " columns ","              \
	" json_patch('{}', json_object(" pairs ", 'container_id', :container_id,"                  \
	" 'box_ip', :box_ip)))"
/* In detail, an array of the event (bound as its JSON text) is JSON again
 * (json_valid: a line whose field is not an array stays a good line), and
 * true is true. */
#define DNS_COLUMNS                                                                                \
	"'dns', coalesce(:proto, 'udp'), NULL, NULL, :query, :server, :dport, NULL, NULL,"         \
	" :cmdline"
#define DNS_DETAIL "'qtype', :qtype, 'answer', :answer, 'rcode', :rcode, 'bytes', :bytes"
#define HTTP_COLUMNS                                                                               \
	"'http', coalesce(:proto, 'tcp'), :method, :url, :host, :dst, :dport, :status, :sha256,"   \
	" :cmdline"
#define HTTP_DETAIL                                                                                \
	"'sport', :sport, 'sni', :sni, 'user_agent', :user_agent, 'fetch', :fetch,"                \
	" 'bytes', :bytes, 'address', :address, 'error', :error,"                                  \
	" 'tls', CASE WHEN :tls THEN json('true') END,"                                            \
	" 'headers', CASE WHEN json_valid(:headers) THEN json(:headers) ELSE :headers END"
#define CONNECT_COLUMNS                                                                            \
	"'connect', :proto, NULL, :url, :host, :dst, :dport, NULL, :sha256, :cmdline"
#define CONNECT_DETAIL                                                                             \
	"'sport', :sport, 'bytes', :bytes, 'head', :head, 'data_b64', :data_b64, 'type', :type,"   \
	" 'sni', :sni, 'tftp', :tftp, 'tls', CASE WHEN :tls THEN json('true') END"
#define LIMITED_COLUMNS "'limited', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
#define LIMITED_DETAIL                                                                             \
	"'connections_refused', :connections_refused, 'events_dropped', :events_dropped"
#define SMTP_COLUMNS "'smtp', 'tcp', NULL, NULL, NULL, :dst, :dport, NULL, :sha256, :cmdline"
#define SMTP_DETAIL                                                                                \
	"'helo', :helo, 'mail_from', :mail_from, 'subject', :subject, 'bytes', :bytes,"            \
	" 'rcpt_to', CASE WHEN json_valid(:rcpt_to) THEN json(:rcpt_to) ELSE :rcpt_to END"

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
    {"egress.dns", {EGRESS(DNS_COLUMNS, DNS_DETAIL)}},
    {"egress.http", {EGRESS(HTTP_COLUMNS, HTTP_DETAIL)}},
    {"egress.connect", {EGRESS(CONNECT_COLUMNS, CONNECT_DETAIL)}},
    {"egress.limited", {EGRESS(LIMITED_COLUMNS, LIMITED_DETAIL)}},
    {"egress.smtp", {EGRESS(SMTP_COLUMNS, SMTP_DETAIL)}},
    {"file.downloaded",
     {"INSERT INTO downloads(session, timestamp, url, sha256, size, content_type, source,"
      " container_id, cmdline) VALUES(:session, :timestamp, :url, :sha256, :size,"
      " :content_type, :source, :container_id, :cmdline)"}},
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

/* Reads every table, no rows: fails only when the database does (a table
 * gone, the file unreadable), never for a line's data. */
static const char probe_sql[] = "SELECT 1 FROM sessions, logins, commands, channels, transfers,"
                                " artifacts, forwards, alerts, egress, downloads, meta LIMIT 0";

struct index {
	sqlite3 *db;
	sqlite3_stmt *ensure;
	sqlite3_stmt *stmt[NRULES][2];
	sqlite3_stmt *alert[2];
	sqlite3_stmt *meta_get, *meta_set;
	sqlite3_stmt *line_begin, *line_keep, *line_undo; /* a savepoint per line */
	sqlite3_stmt *probe;
	char failed[256]; /* why index_add_line() last returned -1 */
	/* The log as the last catch-up that ended well found it: while it is
	 * the same, there is nothing to read and nothing to write. */
	bool seen;
	ino_t seen_ino;
	off_t seen_size;
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
	 * commit (the log is the truth, the index can be rebuilt); temporary
	 * files in memory: each line's savepoint journal would otherwise be a
	 * file (twice the time to index). */
	if (sqlite3_exec(ix->db,
	                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	                 " PRAGMA temp_store=MEMORY;",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    drop_other_schema(ix->db) < 0 ||
	    sqlite3_exec(ix->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, errsz, path, ix->db);
		index_close(ix);
		return NULL;
	}
	if (prepare(ix, "SELECT value FROM meta WHERE key = ?", &ix->meta_get) != SQLITE_OK ||
	    prepare(ix, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", &ix->meta_set) !=
	        SQLITE_OK ||
	    prepare(ix, ensure_sql, &ix->ensure) != SQLITE_OK ||
	    prepare(ix, "SAVEPOINT line", &ix->line_begin) != SQLITE_OK ||
	    prepare(ix, "RELEASE line", &ix->line_keep) != SQLITE_OK ||
	    prepare(ix, "ROLLBACK TO line", &ix->line_undo) != SQLITE_OK ||
	    prepare(ix, probe_sql, &ix->probe) != SQLITE_OK) {
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
	sqlite3_finalize(ix->line_begin);
	sqlite3_finalize(ix->line_keep);
	sqlite3_finalize(ix->line_undo);
	sqlite3_finalize(ix->probe);
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

/* Runs one statement for the event: SQLITE_OK or SQLite's error code. */
static int run(struct index *ix, sqlite3_stmt *st, json_t *ev)
{
	bind_event(st, ev);
	int r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(ix->db);
}

static int run_all(struct index *ix, sqlite3_stmt *const st[2], json_t *ev)
{
	int r = SQLITE_OK;

	for (size_t k = 0; r == SQLITE_OK && k < 2 && st[k] != NULL; k++)
		r = run(ix, st[k], ev);
	return r;
}

/* Every statement the event calls for: SQLITE_OK or the first error. */
static int apply_event(struct index *ix, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "event"));
	int r = SQLITE_OK;

	if (json_is_string(json_object_get(ev, "session")))
		r = run(ix, ix->ensure, ev);
	for (size_t i = 0; r == SQLITE_OK && i < NRULES; i++)
		if (strcmp(rules[i].event, type) == 0)
			r = run_all(ix, ix->stmt[i], ev);
	if (r == SQLITE_OK && json_is_object(json_object_get(ev, "alert")))
		r = run_all(ix, ix->alert, ev);
	return r;
}

/* Whether a statement failed for the line's data - a constraint, a type,
 * a value SQLite's functions refuse (SQLITE_ERROR: "malformed JSON") or
 * one too big - rather than for the database: a full disk, an I/O error,
 * a lock, no memory are everyone's, and so is a plain SQLITE_ERROR when a
 * table is gone, which the probe tells apart. */
static bool line_fault(struct index *ix, int code)
{
	if (code != SQLITE_CONSTRAINT && code != SQLITE_MISMATCH && code != SQLITE_TOOBIG &&
	    code != SQLITE_RANGE && code != SQLITE_ERROR)
		return false;
	int r = sqlite3_step(ix->probe);
	sqlite3_reset(ix->probe);
	return r == SQLITE_DONE;
}

/* Nesting deeper than max, by its brackets outside strings. A line that is
 * not JSON may pass: the parser refuses it next. */
static bool too_deep(const char *s, size_t len, int max)
{
	bool in_string = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return true;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return false;
}

/* -1, with SQLite's reason kept: the statements run after a failure
 * would overwrite it. */
static int db_failed(struct index *ix)
{
	snprintf(ix->failed, sizeof(ix->failed), "%s", sqlite3_errmsg(ix->db));
	return -1;
}

static int step_once(struct index *ix, sqlite3_stmt *st)
{
	int r = sqlite3_step(st);

	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : db_failed(ix);
}

int index_add_line(struct index *ix, const char *line, size_t len)
{
	if (len > LINE_MAX_BYTES || too_deep(line, len, LINE_MAX_DEPTH))
		return 1;
	json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(ev) || !json_is_string(json_object_get(ev, "event"))) {
		json_decref(ev);
		return 1;
	}
	/* All of a line or none of it: a bad line leaves no half rows. */
	if (step_once(ix, ix->line_begin) < 0) {
		json_decref(ev);
		return -1;
	}
	int code = apply_event(ix, ev);
	json_decref(ev);
	if (code == SQLITE_OK)
		return step_once(ix, ix->line_keep);
	db_failed(ix);
	if (step_once(ix, ix->line_undo) < 0 || step_once(ix, ix->line_keep) < 0)
		return -1;
	return line_fault(ix, code) ? 1 : -1;
}

static int commit_at(struct index *ix, off_t offset, long bad)
{
	if (meta_set(ix, "offset", offset) < 0 ||
	    (bad > 0 && meta_set(ix, "bad_lines", meta_get(ix, "bad_lines") + bad) < 0))
		return -1;
	return sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* events.jsonl read forward in blocks, one line at a time, keeping at
 * most LINE_MAX_BYTES + 1 bytes of a line: a longer one is passed over,
 * never held whole, however long it is. */
struct lines {
	FILE *f;
	char *line; /* the line's first len bytes, without its newline */
	size_t len, cap;
	size_t total; /* the line's length, newline included */
	size_t at, end;
	char block[65536];
};

static void lines_free(struct lines *r)
{
	if (r->f != NULL)
		fclose(r->f);
	free(r->line);
	free(r);
}

/* The next whole line: 1; 0 at the end of what is written (a last line
 * without its newline is still being written: it is read next time); -1
 * when the file cannot be read, or no memory, with errno. */
static int lines_next(struct lines *r)
{
	r->len = r->total = 0;
	for (;;) {
		if (r->at == r->end) {
			r->at = 0;
			r->end = fread(r->block, 1, sizeof(r->block), r->f);
			if (r->end == 0)
				return ferror(r->f) ? -1 : 0;
		}
		char *from = r->block + r->at;
		char *nl = memchr(from, '\n', r->end - r->at);
		size_t n = nl != NULL ? (size_t)(nl - from) : r->end - r->at;
		size_t keep = r->len > LINE_MAX_BYTES ? 0 : LINE_MAX_BYTES + 1 - r->len;
		keep = n < keep ? n : keep;
		if (r->len + keep > r->cap) {
			size_t cap = r->cap * 2 > r->len + keep ? r->cap * 2 : r->len + keep;
			char *p = realloc(r->line, cap);
			if (p == NULL)
				return -1;
			r->line = p;
			r->cap = cap;
		}
		memcpy(r->line + r->len, from, keep);
		r->len += keep;
		r->total += n;
		r->at += n;
		if (nl != NULL) {
			r->at++;
			r->total++;
			return 1;
		}
	}
}

long index_catch_up(struct index *ix, const char *events_path, char *err, size_t errsz)
{
	struct lines *r;
	struct stat st;

	/* Nothing new since the last time: nothing opened, no transaction (an
	 * idle indexer would otherwise write the offset, and sync, every
	 * second). */
	if (ix->seen && stat(events_path, &st) == 0 && st.st_ino == ix->seen_ino &&
	    st.st_size == ix->seen_size)
		return 0;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if ((r->f = fopen(events_path, "re")) == NULL || fstat(fileno(r->f), &st) < 0) {
		long rc = r->f == NULL && errno == ENOENT ? 0 : -1;
		if (rc < 0)
			snprintf(err, errsz, "%s: %s", events_path, strerror(errno));
		lines_free(r);
		return rc;
	}
	/* One writer at a time: the offset is read and moved under the lock. */
	if (sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(err, errsz, "indexing", ix->db);
		lines_free(r);
		return -1;
	}
	off_t pos = (off_t)meta_get(ix, "offset");
	bool failed = false;
	if ((sqlite3_int64)st.st_ino != meta_get(ix, "inode") || st.st_size < pos) {
		/* Another file, or this one cut short: read it all again. */
		failed = clear_all(ix) < 0 || meta_set(ix, "inode", (sqlite3_int64)st.st_ino) < 0;
		pos = 0;
	}
	if (failed || fseeko(r->f, pos, SEEK_SET) < 0) {
		set_err(err, errsz, "indexing", ix->db);
		failed = true;
	}
	long count = 0, in_txn = 0, bad = 0;
	int got = 0;
	while (!failed && (got = lines_next(r)) > 0) {
		bool empty = r->total == 1;
		int added = empty                     ? 0
		            : r->len > LINE_MAX_BYTES ? 1
		                                      : index_add_line(ix, r->line, r->len);
		if (added < 0) {
			snprintf(err, errsz, "indexing: %s", ix->failed);
			failed = true;
			break;
		}
		bad += added;
		count += added == 0 && !empty;
		pos += (off_t)r->total;
		if (++in_txn >= TXN_LINES) {
			if (commit_at(ix, pos, bad) < 0 ||
			    sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
			        SQLITE_OK) {
				set_err(err, errsz, "indexing", ix->db);
				failed = true;
			}
			in_txn = bad = 0;
		}
	}
	if (!failed && got < 0) {
		snprintf(err, errsz, "%s: %s", events_path, strerror(errno));
		failed = true;
	}
	lines_free(r);
	if (!failed && commit_at(ix, pos, bad) < 0) {
		set_err(err, errsz, "indexing", ix->db);
		failed = true;
	}
	if (failed) {
		sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
		ix->seen = false;
		return -1;
	}
	ix->seen = true;
	ix->seen_ino = st.st_ino;
	ix->seen_size = st.st_size;
	return count;
}
