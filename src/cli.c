/*
 * cli: the analyst commands; see cli.h.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "index.h"
#include "table.h"
#include "util.h"

/* Cells of the list tables are cut to this; `show` prints them whole. */
#define MAX_CELL 64

#define SHA256_HEX 64 /* the hex digits of a stored file's name */

/* "file.created" -> "created", "artifact.skipped" -> "skipped" */
#define ARTIFACT_EVENT "substr(event, instr(event, '.') + 1) AS event"

struct opts {
	const char *config, *since, *ip, *user, *session;
	bool json, has_commands, raw;
	long limit;
	double speed;
	char since_buf[32];
};

struct ctx {
	struct config *cfg;
	struct index *ix;
	const char *events; /* the daemon's events.jsonl */
	struct opts o;
};

static const char *const commands[] = {"sessions", "show",      "stats", "replay",
                                       "reindex",  "artifacts", "export"};

bool cli_is_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i]) == 0)
			return true;
	return false;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hermes sessions --config FILE [--since T] [--ip IP] [--user U]\n"
	           "                       [--has-commands] [--limit N] [--json]\n"
	           "       hermes show SESSION --config FILE [--json]\n"
	           "       hermes stats --config FILE [--since T] [--limit N] [--json]\n"
	           "       hermes replay SESSION --config FILE [--speed N] [--raw]\n"
	           "       hermes artifacts --config FILE [--session SESSION] [--since T]\n"
	           "                        [--limit N] [--json]\n"
	           "       hermes export SESSION DIR --config FILE [--json]\n"
	           "       hermes reindex --config FILE\n"
	           "T: 2026-11-24, 2026-11-24T10:30[:00] (UTC), or 30m, 12h, 7d ago\n"
	           "SESSION: a session id or a unique prefix of one\n");
}

/* --since: an RFC 3339 prefix the stored timestamps compare against. */
static int parse_since(const char *s, char out[32])
{
	size_t n = strlen(s);
	char *end;

	if (n >= 2 && isdigit((unsigned char)s[0]) && strchr("smhd", s[n - 1]) != NULL) {
		errno = 0;
		long v = strtol(s, &end, 10);
		if (errno != 0 || end != s + n - 1 || v < 0 || v > 100000)
			return -1;
		long mult = s[n - 1] == 's'   ? 1
		            : s[n - 1] == 'm' ? 60
		            : s[n - 1] == 'h' ? 3600
		                              : 86400;
		time_t t = time(NULL) - (time_t)(v * mult);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		return 0;
	}
	/* YYYY-MM-DD, then optionally [T ]HH:MM, then :SS */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	if (n != 10 && n != 16 && n != 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char want = shape[i];
		if (want == 'd'   ? !isdigit((unsigned char)s[i])
		    : want == 'T' ? s[i] != 'T' && s[i] != ' '
		                  : s[i] != want)
			return -1;
	}
	memcpy(out, s, n + 1);
	if (n > 10)
		out[10] = 'T';
	return 0;
}

/* Runs sql with text parameters (NULL binds NULL) and returns its rows as
 * objects keyed by column name, or NULL after printing why. */
static json_t *query(struct ctx *c, const char *sql, const char *const *params, int nparams)
{
	sqlite3 *db = index_db(c->ix);
	sqlite3_stmt *st = NULL;
	json_t *rows = json_array();

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "hermes: query: %s\n", sqlite3_errmsg(db));
		json_decref(rows);
		return NULL;
	}
	for (int i = 0; i < nparams; i++)
		if (params[i] != NULL)
			sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_object();
		for (int k = 0; k < sqlite3_column_count(st); k++) {
			const char *name = sqlite3_column_name(st, k);
			json_t *v;
			switch (sqlite3_column_type(st, k)) {
			case SQLITE_INTEGER:
				v = json_integer(sqlite3_column_int64(st, k));
				break;
			case SQLITE_FLOAT:
				v = json_real(sqlite3_column_double(st, k));
				break;
			case SQLITE_NULL:
				v = json_null();
				break;
			default:
				v = json_stringn((const char *)sqlite3_column_text(st, k),
				                 (size_t)sqlite3_column_bytes(st, k));
				if (v == NULL) /* not UTF-8: cannot come from the log */
					v = json_string("\xef\xbf\xbd");
			}
			json_object_set_new(row, name, v);
		}
		json_array_append_new(rows, row);
	}
	if (r != SQLITE_DONE) {
		fprintf(stderr, "hermes: query: %s\n", sqlite3_errmsg(db));
		json_decref(rows);
		rows = NULL;
	}
	sqlite3_finalize(st);
	return rows;
}

static int print_json(json_t *v)
{
	int rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0 ? 0 : 1;
	putchar('\n');
	return rc;
}

/* Text: the title (when given) and the rows as a table, or "(none)". */
static void print_section(const char *title, json_t *rows, size_t max_cell)
{
	if (title != NULL)
		printf("\n%s\n", title);
	if (json_array_size(rows) == 0)
		printf("  (none)\n");
	else
		table_print(stdout, rows, max_cell);
}

/* --limit as the text parameter the queries CAST; 0 (no limit) is -1. */
static const char *limit_param(long limit, char out[24])
{
	snprintf(out, 24, "%ld", limit > 0 ? limit : -1);
	return out;
}

static int cmd_sessions(struct ctx *c)
{
	/* The newest N, shown oldest first. */
	static const char sql[] =
	    "SELECT * FROM (SELECT id AS session, replace(substr(start, 1, 19), 'T', ' ') AS start,"
	    " src_ip AS ip, username AS user, attempts AS logins, commands,"
	    " round(duration, 1) AS duration, reason AS end, alerts, client_version AS client"
	    " FROM sessions WHERE (?1 IS NULL OR start >= ?1) AND (?2 IS NULL OR src_ip = ?2)"
	    " AND (?3 IS NULL OR username = ?3) AND (?4 IS NULL OR commands > 0)"
	    " ORDER BY start DESC LIMIT CAST(?5 AS INTEGER)) ORDER BY start";
	char limit[24];
	const char *p[] = {c->o.since, c->o.ip, c->o.user, c->o.has_commands ? "1" : NULL,
	                   limit_param(c->o.limit, limit)};
	json_t *rows = query(c, sql, p, 5);

	if (rows == NULL)
		return 1;
	int rc = 0;
	if (c->o.json)
		rc = print_json(rows);
	else if (json_array_size(rows) == 0)
		printf("no sessions\n");
	else
		table_print(stdout, rows, MAX_CELL);
	json_decref(rows);
	return rc;
}

/* A session id from an id or a unique prefix; prints why not. */
static int resolve_session(struct ctx *c, const char *arg, char out[64])
{
	size_t n = strlen(arg);

	if (n == 0 || n > 32 || strspn(arg, "0123456789abcdef") != n) {
		fprintf(stderr, "hermes: %s: not a session id (hex digits)\n", arg);
		return -1;
	}
	const char *p[] = {arg};
	json_t *rows = query(c,
	                     "SELECT id FROM sessions WHERE id >= ?1 AND id < ?1 || 'g'"
	                     " ORDER BY id LIMIT 2",
	                     p, 1);
	if (rows == NULL)
		return -1;
	size_t found = json_array_size(rows);
	if (found == 1)
		snprintf(out, 64, "%s",
		         json_string_value(json_object_get(json_array_get(rows, 0), "id")));
	else
		fprintf(stderr, "hermes: %s: %s\n", arg,
		        found == 0 ? "no such session" : "ambiguous prefix; give more digits");
	json_decref(rows);
	return found == 1 ? 0 : -1;
}

static const struct section {
	const char *key, *title, *sql;
} show_sections[] = {
    {"logins", "Logins",
     "SELECT replace(substr(timestamp, 12, 12), 'T', ' ') AS time, CASE success WHEN 1 THEN"
     " 'accepted' ELSE 'failed' END AS result, method, username, password, fingerprint"
     " FROM logins WHERE session = ?1 ORDER BY rowid"},
    {"channels", "Channels",
     "SELECT channel, kind, tty, coalesce(command, subsystem) AS command, exit_status AS exit,"
     " exit_signal AS signal, recording FROM channels WHERE session = ?1 ORDER BY rowid"},
    {"commands", "Commands",
     "SELECT substr(timestamp, 12, 12) AS time, channel, source, command, at,"
     " trim(CASE recalled WHEN 1 THEN 'recalled ' ELSE '' END || CASE unresolved WHEN 1"
     " THEN 'unresolved ' ELSE '' END || CASE completion WHEN 1 THEN 'completion ' ELSE ''"
     " END || CASE truncated WHEN 1 THEN 'truncated' ELSE '' END) AS flags"
     " FROM commands WHERE session = ?1 ORDER BY rowid"},
    {"transfers", "Transfers",
     "SELECT substr(timestamp, 12, 12) AS time, protocol, direction, path, bytes, status"
     " FROM transfers WHERE session = ?1 ORDER BY rowid"},
    {"artifacts", "Artifacts",
     "SELECT " ARTIFACT_EVENT ", path, type, size, sha256, mode, transfer, reason"
     " FROM artifacts WHERE session = ?1 ORDER BY rowid"},
    {"forwards", "Forwarding",
     "SELECT substr(timestamp, 12, 12) AS time, kind, coalesce(dst_host, bind_host) AS host,"
     " coalesce(dst_port, bind_port) AS port, accepted, bytes"
     " FROM forwards WHERE session = ?1 ORDER BY rowid"},
    {"alerts", "Alerts",
     "SELECT substr(timestamp, 12, 12) AS time, type, event, path FROM alerts"
     " WHERE session = ?1 ORDER BY rowid"},
};

/* The session and every section about it: what `show --json` prints. NULL
 * after printing why. */
static json_t *show_json(struct ctx *c, const char *id)
{
	const char *p[] = {id};
	json_t *sess = query(c,
	                     "SELECT id AS session, start, end, src_ip, src_port, dst_port,"
	                     " client_version, hassh, attempts AS logins, username, password,"
	                     " login_method, commands, duration, reason, exit_status, exit_signal,"
	                     " bytes_in, bytes_out, container_id, container_name, recordings,"
	                     " metadata, manifest, alerts, previous_session FROM sessions"
	                     " WHERE id = ?1",
	                     p, 1);
	if (sess == NULL)
		return NULL;
	json_t *all = json_object();
	json_object_set(all, "session", json_array_get(sess, 0));
	json_decref(sess);
	for (size_t i = 0; i < sizeof(show_sections) / sizeof(show_sections[0]); i++) {
		json_t *rows = query(c, show_sections[i].sql, p, 1);
		if (rows == NULL) {
			json_decref(all);
			return NULL;
		}
		json_object_set_new(all, show_sections[i].key, rows);
	}
	return all;
}

static int cmd_show(struct ctx *c, const char *arg)
{
	char id[64];

	if (resolve_session(c, arg, id) < 0)
		return 1;
	json_t *all = show_json(c, id);
	if (all == NULL)
		return 1;
	int rc = 0;
	if (c->o.json) {
		rc = print_json(all);
	} else {
		/* The session as "key: value" lines, then each section. */
		json_t *sess = json_object_get(all, "session");
		const char *key;
		json_t *v;
		size_t w = 0;
		json_object_foreach(sess, key, v)
		{
			if (strlen(key) > w)
				w = strlen(key);
		}
		json_object_foreach(sess, key, v)
		{
			char *cell = table_cell(v, 0);
			printf("%-*s  %s\n", (int)w + 1, key, cell ? cell : "?");
			free(cell);
		}
		for (size_t i = 0; i < sizeof(show_sections) / sizeof(show_sections[0]); i++)
			print_section(show_sections[i].title,
			              json_object_get(all, show_sections[i].key), 0);
	}
	json_decref(all);
	return rc;
}

static const struct section stats_sections[] = {
    {"source_ips", "Source IPs (sessions)",
     "SELECT src_ip AS ip, count(*) AS sessions FROM sessions WHERE (?1 IS NULL OR start >= ?1)"
     " GROUP BY src_ip ORDER BY sessions DESC, ip LIMIT CAST(?2 AS INTEGER)"},
    {"usernames", "Usernames (login attempts)",
     "SELECT username, count(*) AS attempts, sum(success) AS accepted FROM logins"
     " WHERE (?1 IS NULL OR timestamp >= ?1) GROUP BY username"
     " ORDER BY attempts DESC, username LIMIT CAST(?2 AS INTEGER)"},
    {"passwords", "Passwords (login attempts)",
     "SELECT password, count(*) AS attempts FROM logins WHERE password IS NOT NULL AND"
     " (?1 IS NULL OR timestamp >= ?1) GROUP BY password"
     " ORDER BY attempts DESC, password LIMIT CAST(?2 AS INTEGER)"},
    {"commands", "Commands",
     "SELECT command, count(*) AS times, count(DISTINCT session) AS sessions FROM commands"
     " WHERE (?1 IS NULL OR timestamp >= ?1) GROUP BY command"
     " ORDER BY times DESC, command LIMIT CAST(?2 AS INTEGER)"},
    {"client_versions", "Client versions (sessions)",
     "SELECT client_version AS client, count(*) AS sessions FROM sessions"
     " WHERE (?1 IS NULL OR start >= ?1) GROUP BY client_version"
     " ORDER BY sessions DESC, client LIMIT CAST(?2 AS INTEGER)"},
    {"hassh", "HASSH (sessions)",
     "SELECT hassh, count(*) AS sessions, min(client_version) AS client FROM sessions"
     " WHERE hassh IS NOT NULL AND (?1 IS NULL OR start >= ?1) GROUP BY hassh"
     " ORDER BY sessions DESC, hassh LIMIT CAST(?2 AS INTEGER)"},
    {"alerts", "Alerts",
     "SELECT type, path, count(*) AS times, count(DISTINCT session) AS sessions FROM alerts"
     " WHERE (?1 IS NULL OR timestamp >= ?1) GROUP BY type, path"
     " ORDER BY times DESC, type, path LIMIT CAST(?2 AS INTEGER)"},
    {"per_day", "Sessions per day",
     "SELECT substr(start, 1, 10) AS day, count(*) AS sessions, count(username) AS logged_in"
     " FROM sessions WHERE (?1 IS NULL OR start >= ?1) GROUP BY day ORDER BY day DESC"
     " LIMIT CAST(?2 AS INTEGER)"},
};

static int cmd_stats(struct ctx *c)
{
	char limit[24];
	const char *p[] = {c->o.since, limit_param(c->o.limit, limit)};
	json_t *all = json_object();

	for (size_t i = 0; i < sizeof(stats_sections) / sizeof(stats_sections[0]); i++) {
		json_t *rows = query(c, stats_sections[i].sql, p, 2);
		if (rows == NULL) {
			json_decref(all);
			return 1;
		}
		json_object_set_new(all, stats_sections[i].key, rows);
	}
	int rc = 0;
	if (c->o.json)
		rc = print_json(all);
	else
		for (size_t i = 0; i < sizeof(stats_sections) / sizeof(stats_sections[0]); i++)
			print_section(stats_sections[i].title,
			              json_object_get(all, stats_sections[i].key), MAX_CELL);
	json_decref(all);
	return rc;
}

/* Plays one asciicast v2 file's output: with its timing divided by speed,
 * or, raw, all at once. */
static int play(const char *path, double speed, bool raw)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	double last = 0;
	bool header = true;

	if (f == NULL) {
		fprintf(stderr, "hermes: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *ev = json_loadb(line, (size_t)n, 0, NULL);
		if (header) {
			header = false;
			json_decref(ev);
			continue;
		}
		const char *type = json_string_value(json_array_get(ev, 1));
		if (json_is_array(ev) && type != NULL && strcmp(type, "o") == 0) {
			double t = json_number_value(json_array_get(ev, 0));
			if (!raw && t > last) {
				double d = (t - last) / speed;
				struct timespec ts = {(time_t)d,
				                      (long)((d - (double)(time_t)d) * 1e9)};
				nanosleep(&ts, NULL);
			}
			if (t > last)
				last = t;
			json_t *data = json_array_get(ev, 2);
			fwrite(json_string_value(data), 1, json_string_length(data), stdout);
			fflush(stdout);
		}
		json_decref(ev);
	}
	free(line);
	fclose(f);
	return 0;
}

static int cmd_replay(struct ctx *c, const char *arg)
{
	char id[64];

	if (resolve_session(c, arg, id) < 0)
		return 1;
	const char *p[] = {id};
	json_t *rows =
	    query(c,
	          "SELECT recording FROM channels WHERE session = ?1 AND recording IS NOT"
	          " NULL ORDER BY rowid",
	          p, 1);
	if (rows == NULL)
		return 1;
	int rc = 0;
	if (json_array_size(rows) == 0) {
		fprintf(stderr, "hermes: %s: no recording\n", id);
		rc = 1;
	}
	for (size_t i = 0; rc == 0 && i < json_array_size(rows); i++)
		rc = play(json_string_value(json_object_get(json_array_get(rows, i), "recording")),
		          c->o.speed, c->o.raw);
	json_decref(rows);
	return rc;
}

/* True if s is exactly n lower-case hex digits: our session ids and the
 * names of stored files, the only outside names that become file names. */
static bool is_hex(const char *s, size_t n)
{
	return s != NULL && strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* <artifacts_dir>/<sha256> in out when that file is stored, else -1. */
static int stored_file(struct ctx *c, const char *sha256, char *out, size_t cap)
{
	struct stat st;

	if (!is_hex(sha256, SHA256_HEX))
		return -1;
	int n = snprintf(out, cap, "%s/%s", c->cfg->forensics.artifacts_dir, sha256);
	if (n < 0 || (size_t)n >= cap || stat(out, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return 0;
}

/* Text: every cell cut to MAX_CELL but the column named whole, which holds
 * one of our paths and is printed whole. */
static int print_cut(json_t *rows, const char *whole)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		for (void *it = json_object_iter(row); it != NULL;
		     it = json_object_iter_next(row, it)) {
			if (strcmp(json_object_iter_key(it), whole) == 0)
				continue;
			char *cell = table_cell(json_object_iter_value(it), MAX_CELL);
			if (cell == NULL)
				return -1;
			json_object_iter_set_new(row, it, json_string(cell));
			free(cell);
		}
	}
	return table_print(stdout, rows, 0);
}

static int cmd_artifacts(struct ctx *c)
{
	/* The newest N, shown oldest first. */
	static const char sql[] =
	    "SELECT session, time, event, path, type, size, sha256, mode, transfer, reason FROM"
	    " (SELECT rowid AS n, session, replace(substr(timestamp, 1, 19), 'T', ' ') AS time,"
	    " " ARTIFACT_EVENT ", path, type, size, sha256, mode, transfer, reason"
	    " FROM artifacts"
	    " WHERE (?1 IS NULL OR session = ?1) AND (?2 IS NULL OR timestamp >= ?2)"
	    " ORDER BY rowid DESC LIMIT CAST(?3 AS INTEGER)) ORDER BY n";
	char id[64], limit[24], path[4200];

	if (c->o.session != NULL && resolve_session(c, c->o.session, id) < 0)
		return 1;
	const char *p[] = {c->o.session != NULL ? id : NULL, c->o.since,
	                   limit_param(c->o.limit, limit)};
	json_t *rows = query(c, sql, p, 3);
	size_t i;
	json_t *row;

	if (rows == NULL)
		return 1;
	json_array_foreach(rows, i, row)
	{
		const char *sha256 = json_string_value(json_object_get(row, "sha256"));
		json_t *stored = NULL;
		if (stored_file(c, sha256, path, sizeof(path)) == 0)
			stored = json_string(path);
		json_object_set_new(row, "stored", stored != NULL ? stored : json_null());
	}
	int rc = 0;
	if (c->o.json)
		rc = print_json(rows);
	else if (json_array_size(rows) == 0)
		printf("no artifacts\n");
	else
		rc = print_cut(rows, "stored") == 0 ? 0 : 1;
	json_decref(rows);
	return rc;
}

/* One export under way: the directory, what was written, what was not. */
struct export_job {
	struct ctx *c;
	int dirfd;
	json_t *files, *failed;
};

static void wrote(struct export_job *x, const char *name, const char *src, long long bytes)
{
	json_t *f = json_object();

	json_object_set_new(f, "file", json_string(name));
	json_object_set_new(f, "source", src != NULL ? json_string(src) : json_null());
	json_object_set_new(f, "bytes", json_integer(bytes));
	json_array_append_new(x->files, f);
}

static void failed(struct export_job *x, const char *name, const char *src, const char *why)
{
	json_t *f = json_object();

	if (src != NULL)
		fprintf(stderr, "hermes: export: %s (from %s): %s\n", name, src, why);
	else
		fprintf(stderr, "hermes: export: %s: %s\n", name, why);
	json_object_set_new(f, "file", json_string(name));
	json_object_set_new(f, "source", src != NULL ? json_string(src) : json_null());
	json_object_set_new(f, "error", json_string(why));
	json_array_append_new(x->failed, f);
}

/* A new file in the export directory, never one that is there already. */
static int create_in(struct export_job *x, const char *name, mode_t mode)
{
	return openat(x->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

/* Copies the regular file src to name. Returns the bytes copied, or -1 with
 * the reason in why (and no partial copy left). */
static long long copy_file(struct export_job *x, const char *name, const char *src, mode_t mode,
                           char *why, size_t whysz)
{
	struct stat st;
	char buf[65536];
	long long total = 0;
	int err = 0;
	/* O_NONBLOCK: a FIFO in the source's place must not hang us. */
	int in = open(src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (in < 0) {
		snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "not a regular file");
		close(in);
		return -1;
	}
	int out = create_in(x, name, mode);
	if (out < 0) {
		snprintf(why, whysz, "cannot create it: %s", strerror(errno));
		close(in);
		return -1;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		size_t done;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		int r = util_write_all(out, buf, (size_t)n, &done);
		if (r < 0) {
			err = -r;
			break;
		}
		total += n;
	}
	if (close(out) < 0 && err == 0)
		err = errno;
	close(in);
	if (err != 0) {
		unlinkat(x->dirfd, name, 0);
		snprintf(why, whysz, "%s", strerror(err));
		return -1;
	}
	return total;
}

static void export_copy(struct export_job *x, const char *name, const char *src, mode_t mode)
{
	char why[512];
	long long n = copy_file(x, name, src, mode, why, sizeof(why));

	if (n < 0)
		failed(x, name, src, why);
	else
		wrote(x, name, src, n);
}

/* session.json: the session as `hermes show SESSION --json` prints it. */
static void export_summary(struct export_job *x, json_t *all)
{
	static const char name[] = "session.json";
	int fd = create_in(x, name, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (f == NULL) {
		failed(x, name, NULL, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	bool bad = json_dumpf(all, f, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0;
	bad = fputc('\n', f) == EOF || bad;
	long long bytes = ftello(f);
	bad = ferror(f) || bad;
	if (fclose(f) != 0 || bad) {
		unlinkat(x->dirfd, name, 0);
		failed(x, name, NULL, "write failed");
		return;
	}
	wrote(x, name, NULL, bytes);
}

/* Whether one line of the log is an event of session id. */
static bool line_of(const char *line, size_t len, const char *id)
{
	/* Most lines are another session's: no parse for them. */
	if (memmem(line, len, id, strlen(id)) == NULL)
		return false;
	json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *s = json_string_value(json_object_get(ev, "session"));
	bool yes = s != NULL && strcmp(s, id) == 0;
	json_decref(ev);
	return yes;
}

/* events.jsonl: the log's whole lines of this session, byte for byte. */
static void export_events(struct export_job *x, const char *id)
{
	static const char name[] = "events.jsonl";
	const char *src = x->c->events;
	FILE *in = fopen(src, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long long bytes = 0;

	if (in == NULL) {
		failed(x, name, src, strerror(errno));
		return;
	}
	int fd = create_in(x, name, 0644);
	FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (out == NULL) {
		failed(x, name, NULL, strerror(errno));
		if (fd >= 0)
			close(fd);
		fclose(in);
		return;
	}
	/* A last line without its newline is still being written. */
	while ((n = getline(&line, &cap, in)) > 0 && line[n - 1] == '\n')
		if (line_of(line, (size_t)n - 1, id)) {
			fwrite(line, 1, (size_t)n, out);
			bytes += n;
		}
	free(line);
	bool bad_in = ferror(in), bad_out = ferror(out);
	fclose(in);
	if (fclose(out) != 0 || bad_in || bad_out) {
		unlinkat(x->dirfd, name, 0);
		failed(x, name, src, bad_in ? "read failed" : "write failed");
		return;
	}
	wrote(x, name, src, bytes);
}

/* The channels' recordings, named as the daemon names them: <id>.cast for
 * the first, <id>-<channel>.cast for the others. */
static void export_recordings(struct export_job *x, const char *id)
{
	const char *p[] = {id};
	json_t *rows = query(x->c,
	                     "SELECT channel, recording FROM channels WHERE session = ?1 AND"
	                     " recording IS NOT NULL GROUP BY recording ORDER BY min(rowid)",
	                     p, 1);
	size_t i;
	json_t *row;
	char name[SESSION_ID_LEN + 32], first[SESSION_ID_LEN + 8];

	if (rows == NULL) {
		failed(x, "*.cast", NULL, "cannot read the index");
		return;
	}
	snprintf(first, sizeof(first), "%s.cast", id);
	json_array_foreach(rows, i, row)
	{
		const char *src = json_string_value(json_object_get(row, "recording"));
		if (src == NULL) {
			failed(x, "*.cast", NULL, "a recording in the index is not a path");
			continue;
		}
		const char *base = strrchr(src, '/');
		base = base != NULL ? base + 1 : src;
		if (strcmp(base, first) == 0)
			snprintf(name, sizeof(name), "%s", first);
		else
			snprintf(name, sizeof(name), "%s-%lld.cast", id,
			         (long long)json_integer_value(json_object_get(row, "channel")));
		export_copy(x, name, src, 0644);
	}
	json_decref(rows);
}

/* artifacts/<sha256>: each file the session left that was stored. */
static void export_artifacts(struct export_job *x, const char *id)
{
	const char *p[] = {id};
	json_t *rows = query(x->c,
	                     "SELECT sha256 FROM artifacts WHERE session = ?1 AND sha256 IS NOT"
	                     " NULL GROUP BY sha256 ORDER BY min(rowid)",
	                     p, 1);
	size_t i;
	json_t *row;
	char name[SHA256_HEX + 16], src[4200];
	bool made = false;

	if (rows == NULL) {
		failed(x, "artifacts/", NULL, "cannot read the index");
		return;
	}
	json_array_foreach(rows, i, row)
	{
		const char *sha256 = json_string_value(json_object_get(row, "sha256"));
		if (!is_hex(sha256, SHA256_HEX)) {
			failed(x, "artifacts/", NULL, "a sha256 in the index is not 64 hex digits");
			continue;
		}
		if (!made && mkdirat(x->dirfd, "artifacts", 0755) < 0) {
			failed(x, "artifacts/", NULL, strerror(errno));
			break;
		}
		made = true;
		snprintf(name, sizeof(name), "artifacts/%s", sha256);
		snprintf(src, sizeof(src), "%s/%s", x->c->cfg->forensics.artifacts_dir, sha256);
		/* Read-only and never executable, as the store keeps them. */
		export_copy(x, name, src, 0440);
	}
	if (made) /* gone again if nothing could be copied into it */
		unlinkat(x->dirfd, "artifacts", AT_REMOVEDIR);
	json_decref(rows);
}

/* The export directory, open: made when missing, else it must be an empty
 * directory. -1 after printing why. */
static int open_export_dir(const char *dir)
{
	struct stat st;
	struct dirent *e;

	if (stat(dir, &st) < 0) {
		int r = errno == ENOENT ? util_mkdirs(dir, 0755) : -errno;
		if (r < 0) {
			fprintf(stderr, "hermes: %s: %s\n", dir, strerror(-r));
			return -1;
		}
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd2 = fd >= 0 ? dup(fd) : -1;
	DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (d == NULL) {
		fprintf(stderr, "hermes: %s: %s\n", dir, strerror(errno));
		if (fd2 >= 0)
			close(fd2);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	bool empty = true;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	if (!empty) {
		fprintf(stderr, "hermes: %s: not empty; export into a new or empty directory\n",
		        dir);
		close(fd);
		return -1;
	}
	return fd;
}

static int cmd_export(struct ctx *c, const char *arg, const char *dir)
{
	char id[64];

	if (resolve_session(c, arg, id) < 0)
		return 1;
	if (!is_hex(id, SESSION_ID_LEN)) {
		fprintf(stderr, "hermes: %s: not a session id of ours (%d hex digits)\n", arg,
		        SESSION_ID_LEN);
		return 1;
	}
	json_t *all = show_json(c, id);
	if (all == NULL)
		return 1;
	struct export_job x = {.c = c, .files = json_array(), .failed = json_array()};
	if ((x.dirfd = open_export_dir(dir)) < 0) {
		json_decref(all);
		json_decref(x.files);
		json_decref(x.failed);
		return 1;
	}
	json_t *sess = json_object_get(all, "session");
	const char *metadata = json_string_value(json_object_get(sess, "metadata"));
	const char *manifest = json_string_value(json_object_get(sess, "manifest"));
	char name[SESSION_ID_LEN + 8];

	export_summary(&x, all);
	export_events(&x, id);
	export_recordings(&x, id);
	snprintf(name, sizeof(name), "%s.json", id);
	if (metadata != NULL)
		export_copy(&x, name, metadata, 0644);
	if (manifest != NULL)
		export_copy(&x, "manifest.json", manifest, 0644);
	export_artifacts(&x, id);
	close(x.dirfd);

	int rc = json_array_size(x.failed) > 0 ? 1 : 0;
	if (c->o.json) {
		json_t *out = json_object(), *d = json_string(dir);
		json_object_set_new(out, "session", json_string(id));
		json_object_set_new(out, "dir", d != NULL ? d : json_null());
		json_object_set(out, "files", x.files);
		json_object_set(out, "failed", x.failed);
		if (print_json(out) != 0)
			rc = 1;
		json_decref(out);
	} else {
		/* DIR as given, without its trailing slashes. */
		size_t len = strlen(dir);
		while (len > 1 && dir[len - 1] == '/')
			len--;
		size_t i;
		json_t *f;
		json_array_foreach(x.files, i, f)
		{
			const char *file = json_string_value(json_object_get(f, "file"));
			printf("%.*s/%s\n", (int)len, dir, file);
		}
	}
	json_decref(x.files);
	json_decref(x.failed);
	json_decref(all);
	return rc;
}

int cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"since", required_argument, NULL, 's'},
	    {"ip", required_argument, NULL, 'i'},
	    {"user", required_argument, NULL, 'u'},
	    {"has-commands", no_argument, NULL, 'H'},
	    {"limit", required_argument, NULL, 'n'},
	    {"speed", required_argument, NULL, 'S'},
	    {"raw", no_argument, NULL, 'r'},
	    {"session", required_argument, NULL, 'e'}, /* hermes artifacts */
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0];
	struct ctx c = {0};
	int opt;
	char *end;

	c.o.limit = strcmp(cmd, "stats") == 0 ? 10 : 50;
	c.o.speed = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			c.o.config = optarg;
			break;
		case 'j':
			c.o.json = true;
			break;
		case 's':
			if (parse_since(optarg, c.o.since_buf) < 0) {
				fprintf(stderr, "hermes: --since: cannot read \"%s\"\n", optarg);
				usage(stderr);
				return 2;
			}
			c.o.since = c.o.since_buf;
			break;
		case 'i':
			c.o.ip = optarg;
			break;
		case 'u':
			c.o.user = optarg;
			break;
		case 'H':
			c.o.has_commands = true;
			break;
		case 'n':
			c.o.limit = strtol(optarg, &end, 10);
			if (*end != '\0' || c.o.limit < 0) {
				fprintf(stderr, "hermes: --limit: not a count: \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'S':
			c.o.speed = strtod(optarg, &end);
			if (*end != '\0' || !(c.o.speed > 0 && c.o.speed <= 1000)) {
				fprintf(stderr, "hermes: --speed: want a number in (0, 1000]\n");
				return 2;
			}
			break;
		case 'r':
			c.o.raw = true;
			break;
		case 'e':
			c.o.session = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	int args = strcmp(cmd, "export") == 0                               ? 2
	           : strcmp(cmd, "show") == 0 || strcmp(cmd, "replay") == 0 ? 1
	                                                                    : 0;
	if (c.o.config == NULL || argc - optind != args) {
		usage(stderr);
		return 2;
	}

	if ((c.cfg = config_load_or_report(c.o.config)) == NULL)
		return 2;
	char err[512], events[4096];
	int rc = 1;
	snprintf(events, sizeof(events), "%s/events.jsonl", c.cfg->logging.output_dir);
	c.events = events;
	c.ix = index_open(c.cfg->forensics.database, err, sizeof(err));
	if (c.ix == NULL) {
		fprintf(stderr, "hermes: index: %s\n", err);
		goto out;
	}
	if (strcmp(cmd, "reindex") == 0 && index_reset(c.ix, err, sizeof(err)) < 0) {
		fprintf(stderr, "hermes: index: %s\n", err);
		goto out;
	}
	long n = index_catch_up(c.ix, events, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "hermes: index: %s\n", err);
		goto out;
	}
	if (strcmp(cmd, "reindex") == 0) {
		printf("indexed %ld events from %s (%ld lines skipped)\n", n, events,
		       index_bad_lines(c.ix));
		rc = 0;
	} else if (strcmp(cmd, "sessions") == 0) {
		rc = cmd_sessions(&c);
	} else if (strcmp(cmd, "show") == 0) {
		rc = cmd_show(&c, argv[optind]);
	} else if (strcmp(cmd, "stats") == 0) {
		rc = cmd_stats(&c);
	} else if (strcmp(cmd, "artifacts") == 0) {
		rc = cmd_artifacts(&c);
	} else if (strcmp(cmd, "export") == 0) {
		rc = cmd_export(&c, argv[optind], argv[optind + 1]);
	} else {
		rc = cmd_replay(&c, argv[optind]);
	}
out:
	index_close(c.ix);
	config_free(c.cfg);
	return rc;
}
