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

#define SID "\"session\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", "
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_refused_line_skipped_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deep_line_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_database_failure_is_loud, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
