/*
 * cli: the analyst commands; see cli.h.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "index.h"
#include "prune.h"
#include "table.h"
#include "util.h"
#include "cli_cmd.h"

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
json_t *cli_query(struct ctx *c, const char *sql, const char *const *params, int nparams)
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

int cli_print_json(json_t *v)
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
const char *cli_limit_param(long limit, char out[24])
{
	snprintf(out, 24, "%ld", limit > 0 ? limit : -1);
	return out;
}

static int cmd_sessions(struct ctx *c, char *const *args)
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
	                   cli_limit_param(c->o.limit, limit)};
	json_t *rows = cli_query(c, sql, p, 5);

	if (rows == NULL)
		return 1;
	int rc = 0;
	if (c->o.json)
		rc = cli_print_json(rows);
	else if (json_array_size(rows) == 0)
		printf("no sessions\n");
	else
		table_print(stdout, rows, MAX_CELL);
	json_decref(rows);
	return rc;
}

/* A session id from an id or a unique prefix; prints why not. */
int cli_resolve_session(struct ctx *c, const char *arg, char out[64])
{
	size_t n = strlen(arg);

	if (n == 0 || n > 32 || strspn(arg, "0123456789abcdef") != n) {
		fprintf(stderr, "hermes: %s: not a session id (hex digits)\n", arg);
		return -1;
	}
	const char *p[] = {arg};
	json_t *rows = cli_query(c,
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

/* What else an egress row that is neither DNS nor HTTP says, in a word or
 * a line: the box's limits, a mail's envelope, a TFTP request (its URL in
 * url), the first bytes a connection sent (text, or base64 for UDP), the
 * name TLS asked for, an ICMP echo. */
#define CONNECTION_WHAT                                                                            \
	"CASE kind WHEN 'limited' THEN 'connections refused: ' ||"                                 \
	" coalesce(json_extract(detail, '$.connections_refused'), 0) || ', events dropped: ' ||"   \
	" coalesce(json_extract(detail, '$.events_dropped'), 0)"                                   \
	" WHEN 'smtp' THEN 'mail from ' || coalesce(json_extract(detail, '$.mail_from'), '?') ||"  \
	" ' to ' || coalesce((SELECT group_concat(value, ', ') FROM json_each(detail,"             \
	" '$.rcpt_to')), '?') || coalesce(': ' || json_extract(detail, '$.subject'), '')"          \
	" ELSE coalesce('tftp ' || json_extract(detail, '$.tftp'),"                                \
	" json_extract(detail, '$.head'), 'base64 ' || json_extract(detail, '$.data_b64'),"        \
	" 'sni ' || json_extract(detail, '$.sni'), CASE proto WHEN 'icmp' THEN 'echo request'"     \
	" END) END"

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
    {"dns", "DNS queries",
     "SELECT substr(timestamp, 12, 12) AS time, host AS query,"
     " json_extract(detail, '$.qtype') AS qtype, json_extract(detail, '$.answer') AS answer,"
     " json_extract(detail, '$.rcode') AS rcode, detail"
     " FROM egress WHERE session = ?1 AND kind = 'dns' ORDER BY rowid"},
    {"http", "HTTP requests",
     "SELECT substr(timestamp, 12, 12) AS time, method, url, status,"
     " json_extract(detail, '$.fetch') AS fetch, json_extract(detail, '$.error') AS error,"
     " sha256, cmdline, detail"
     " FROM egress WHERE session = ?1 AND kind = 'http' ORDER BY rowid"},
    {"connections", "Other connections",
     "SELECT substr(timestamp, 12, 12) AS time, kind, CASE WHEN json_extract(detail, '$.tls')"
     " THEN proto || '/tls' ELSE proto END AS proto, dst, dport, host, url,"
     " json_extract(detail, '$.bytes') AS bytes, sha256, " CONNECTION_WHAT " AS what, detail"
     " FROM egress WHERE session = ?1 AND kind NOT IN ('dns', 'http') ORDER BY rowid"},
    {"downloads", "Downloads",
     "SELECT substr(timestamp, 12, 12) AS time, url, sha256, size, source,"
     " content_type AS type, cmdline FROM downloads WHERE session = ?1 ORDER BY rowid"},
};

/* A show section's column named detail is the event's other fields, as
 * the index keeps them (index.c, egress): JSON in --json, left out of the
 * text tables, whose other columns say what it holds. */
#define DETAIL_COLUMN "detail"

static void detail_as_json(json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		const char *text = json_string_value(json_object_get(row, DETAIL_COLUMN));
		json_t *v = text != NULL ? json_loads(text, 0, NULL) : NULL;
		if (v != NULL)
			json_object_set_new(row, DETAIL_COLUMN, v);
	}
}

static void detail_dropped(json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		json_object_del(row, DETAIL_COLUMN);
	}
}

/* The session and every section about it: what `show --json` prints. NULL
 * after printing why. */
json_t *cli_show_json(struct ctx *c, const char *id)
{
	const char *p[] = {id};
	json_t *sess =
	    cli_query(c,
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
		json_t *rows = cli_query(c, show_sections[i].sql, p, 1);
		if (rows == NULL) {
			json_decref(all);
			return NULL;
		}
		detail_as_json(rows);
		json_object_set_new(all, show_sections[i].key, rows);
	}
	return all;
}

static int cmd_show(struct ctx *c, char *const *args)
{
	char id[64];

	if (cli_resolve_session(c, args[0], id) < 0)
		return 1;
	json_t *all = cli_show_json(c, id);
	if (all == NULL)
		return 1;
	int rc = 0;
	if (c->o.json) {
		rc = cli_print_json(all);
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
		for (size_t i = 0; i < sizeof(show_sections) / sizeof(show_sections[0]); i++) {
			json_t *rows = json_object_get(all, show_sections[i].key);
			detail_dropped(rows);
			print_section(show_sections[i].title, rows, 0);
		}
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
    {"urls", "URLs requested (HTTP, HTTPS, TFTP)",
     "SELECT url, count(*) AS times, count(DISTINCT session) AS sessions FROM egress"
     " WHERE url IS NOT NULL AND (?1 IS NULL OR timestamp >= ?1) GROUP BY url"
     " ORDER BY times DESC, url LIMIT CAST(?2 AS INTEGER)"},
    {"domains", "Domains (DNS queries, HTTP requests)",
     "SELECT lower(host) AS domain, sum(kind = 'dns') AS queries, sum(kind = 'http') AS"
     " requests, count(DISTINCT session) AS sessions FROM egress WHERE kind IN ('dns', 'http')"
     " AND host IS NOT NULL AND host != '' AND (?1 IS NULL OR timestamp >= ?1)"
     " GROUP BY domain ORDER BY queries + requests DESC, domain LIMIT CAST(?2 AS INTEGER)"},
    /* url and size are those of the first download (SQLite: the bare
     * columns of the row min() picked). */
    {"payloads", "Payloads (downloads)",
     "SELECT sha256, url, size, replace(substr(min(timestamp), 1, 19), 'T', ' ') AS first,"
     " count(*) AS downloads, count(DISTINCT session) AS sessions"
     " FROM downloads WHERE sha256 IS NOT NULL AND"
     " (?1 IS NULL OR timestamp >= ?1) GROUP BY sha256"
     " ORDER BY sessions DESC, downloads DESC, sha256 LIMIT CAST(?2 AS INTEGER)"},
    {"per_day", "Sessions per day",
     "SELECT substr(start, 1, 10) AS day, count(*) AS sessions, count(username) AS logged_in"
     " FROM sessions WHERE (?1 IS NULL OR start >= ?1) GROUP BY day ORDER BY day DESC"
     " LIMIT CAST(?2 AS INTEGER)"},
};

static int cmd_stats(struct ctx *c, char *const *args)
{
	char limit[24];
	const char *p[] = {c->o.since, cli_limit_param(c->o.limit, limit)};
	json_t *all = json_object();

	for (size_t i = 0; i < sizeof(stats_sections) / sizeof(stats_sections[0]); i++) {
		json_t *rows = cli_query(c, stats_sections[i].sql, p, 2);
		if (rows == NULL) {
			json_decref(all);
			return 1;
		}
		json_object_set_new(all, stats_sections[i].key, rows);
	}
	int rc = 0;
	if (c->o.json)
		rc = cli_print_json(all);
	else
		for (size_t i = 0; i < sizeof(stats_sections) / sizeof(stats_sections[0]); i++)
			print_section(stats_sections[i].title,
			              json_object_get(all, stats_sections[i].key), MAX_CELL);
	json_decref(all);
	return rc;
}

/* One "o" event's text to stdout: as it is, or escaped as the tables are,
 * with its lines kept. A "\r" that ends the text waits in *cr for the next
 * one: before a "\n" it is part of the line break. */
static void put_output(const char *s, size_t n, bool escape, bool *cr)
{
	if (!escape) {
		fwrite(s, 1, n, stdout);
		return;
	}
	if (*cr && (n == 0 || s[0] != '\n'))
		fputs("\\x0d", stdout);
	*cr = n > 0 && s[n - 1] == '\r';
	char *safe = table_escape(s, *cr ? n - 1 : n, true);
	if (safe != NULL)
		fputs(safe, stdout);
	free(safe);
}

/* Plays one asciicast v2 file's output: with its timing divided by speed,
 * or, raw, all at once; escaped, with no control sequence left in it. */
static int play(const char *path, double speed, bool raw, bool escape)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	double last = 0;
	bool header = true, cr = false;

	if (f == NULL) {
		char *shown = table_escape(path, strlen(path), false); /* from the log */
		fprintf(stderr, "hermes: %s: %s\n", shown ? shown : "?", strerror(errno));
		free(shown);
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
			put_output(json_string_value(data), json_string_length(data), escape, &cr);
			fflush(stdout);
		}
		json_decref(ev);
	}
	if (cr)
		fputs("\\x0d", stdout);
	fflush(stdout);
	free(line);
	fclose(f);
	return 0;
}

/* SECURITY.md: replay warns that it plays the attacker's output. Said on
 * stderr when that output is about to reach a terminal, with time to read
 * it before the first byte can clear the screen. */
#define REPLAY_WARN_SECONDS 2

static void replay_warning(const char *id)
{
	fprintf(stderr,
	        "hermes: replay %s: what follows is the attacker's terminal output as recorded;\n"
	        "  its escape sequences act on this terminal. --escape shows them as text.\n"
	        "  Playing in %d s (Ctrl-C to stop).\n",
	        id, REPLAY_WARN_SECONDS);
	struct timespec ts = {REPLAY_WARN_SECONDS, 0};
	nanosleep(&ts, NULL);
}

static int cmd_replay(struct ctx *c, char *const *args)
{
	char id[64];

	if (cli_resolve_session(c, args[0], id) < 0)
		return 1;
	const char *p[] = {id};
	json_t *rows =
	    cli_query(c,
	              "SELECT recording FROM channels WHERE session = ?1 AND recording IS NOT"
	              " NULL ORDER BY rowid",
	              p, 1);
	if (rows == NULL)
		return 1;
	int rc = 0;
	if (json_array_size(rows) == 0) {
		fprintf(stderr, "hermes: %s: no recording\n", id);
		rc = 1;
	} else if (!c->o.escape && isatty(STDOUT_FILENO)) {
		replay_warning(id);
	}
	for (size_t i = 0; rc == 0 && i < json_array_size(rows); i++)
		rc = play(json_string_value(json_object_get(json_array_get(rows, i), "recording")),
		          c->o.speed, c->o.raw, c->o.escape);
	json_decref(rows);
	return rc;
}

static int cmd_reindex(struct ctx *c, char *const *args)
{
	printf("indexed %ld events from %s (%ld lines skipped)\n", c->indexed, c->events,
	       index_bad_lines(c->ix));
	return 0;
}

/* The analyst commands, one row each, in the order usage lists them:
 * what the command line takes, what --help says and what runs. Every row
 * but prune's shares one option parser (cli_main) and finds the index
 * brought up to date before its handler runs. */
static const struct command {
	const char *name;
	const char *args;    /* its arguments before the options (NULL: none) */
	const char *options; /* the rest of its usage line, "\n" where it wraps */
	long limit;          /* --limit when not given */
	bool reset;          /* the index emptied first: read the log again */
	int (*run)(struct ctx *c, char *const *args);
	int (*main)(int argc, char **argv); /* or a command line and usage of its own */
} commands[] = {
    {.name = "sessions",
     .options = "--config FILE [--since T] [--ip IP] [--user U]\n"
                "[--has-commands] [--limit N] [--json]",
     .limit = 50,
     .run = cmd_sessions},
    {.name = "show", .args = "SESSION", .options = "--config FILE [--json]", .run = cmd_show},
    {.name = "stats",
     .options = "--config FILE [--since T] [--limit N] [--json]",
     .limit = 10,
     .run = cmd_stats},
    {.name = "replay",
     .args = "SESSION",
     .options = "--config FILE [--speed N] [--raw] [--escape]",
     .run = cmd_replay},
    {.name = "artifacts",
     .options = "--config FILE [--session SESSION] [--since T]\n"
                "[--limit N] [--json]",
     .limit = 50,
     .run = cmd_artifacts},
    {.name = "export",
     .args = "SESSION DIR",
     .options = "--config FILE [--json]",
     .run = cmd_export},
    {.name = "reindex", .options = "--config FILE", .reset = true, .run = cmd_reindex},
    {.name = "prune", .main = prune_main}, /* usage: prune.c */
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

bool cli_is_command(const char *name)
{
	return find_command(name) != NULL;
}

void cli_print_names(FILE *f)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "%s%s", i > 0 ? "|" : "", commands[i].name);
}

/* Every row's usage line (prune has its own), a wrapped line indented
 * under its first option. */
static void usage(FILE *f)
{
	const char *lead = "usage:";

	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *cmd = &commands[i];
		if (cmd->options == NULL)
			continue;
		int indent = fprintf(f, "%s hermes %s%s%s ", lead, cmd->name, cmd->args ? " " : "",
		                     cmd->args ? cmd->args : "");
		for (const char *p = cmd->options;;) {
			size_t n = strcspn(p, "\n");
			fprintf(f, "%.*s\n", (int)n, p);
			if (p[n] == '\0')
				break;
			p += n + 1;
			fprintf(f, "%*s", indent, "");
		}
		lead = "      ";
	}
	fprintf(f, "T: 2026-11-24, 2026-11-24T10:30[:00] (UTC), or 30m, 12h, 7d ago\n"
	           "SESSION: a session id or a unique prefix of one\n");
}

/* The words of a row's args: how many arguments it takes. */
static int count_args(const char *args)
{
	int n = 0;

	for (const char *p = args; p != NULL && *p != '\0'; p++)
		n += *p != ' ' && (p == args || p[-1] == ' ');
	return n;
}

int cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},  {"json", no_argument, NULL, 'j'},
	    {"since", required_argument, NULL, 's'},   {"ip", required_argument, NULL, 'i'},
	    {"user", required_argument, NULL, 'u'},    {"has-commands", no_argument, NULL, 'H'},
	    {"limit", required_argument, NULL, 'n'},   {"speed", required_argument, NULL, 'S'},
	    {"raw", no_argument, NULL, 'r'},           {"escape", no_argument, NULL, 'E'},
	    {"session", required_argument, NULL, 'e'}, /* hermes artifacts */
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	const struct command *cmd = find_command(argv[0]);
	struct ctx c = {0};
	int opt;
	char *end;

	if (cmd == NULL) {
		usage(stderr);
		return 2;
	}
	if (cmd->main != NULL)
		return cmd->main(argc, argv);
	c.o.limit = cmd->limit;
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
		case 'E':
			c.o.escape = true;
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
	if (c.o.config == NULL || argc - optind != count_args(cmd->args)) {
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
	if (cmd->reset && index_reset(c.ix, err, sizeof(err)) < 0) {
		fprintf(stderr, "hermes: index: %s\n", err);
		goto out;
	}
	c.indexed = index_catch_up(c.ix, events, err, sizeof(err));
	if (c.indexed < 0) {
		fprintf(stderr, "hermes: index: %s\n", err);
		goto out;
	}
	rc = cmd->run(&c, argv + optind);
out:
	index_close(c.ix);
	config_free(c.cfg);
	return rc;
}
