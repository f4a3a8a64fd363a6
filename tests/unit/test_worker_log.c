/* Unit tests for worker_log: a worker's stderr as the monitor logs it -
 * records keep their level and function, anything else is "stderr", every
 * line carries the worker's pid and session and is escaped, lines are cut,
 * split records are joined, floods are capped and counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"
#include "worker_log.h"

#define SID "abcd1234ffffffffffffffffffffffff"

static int out_fd = -1;

static int setup(void **state)
{
	(void)state;
	out_fd = memfd_create("log", MFD_CLOEXEC);
	log_set_fd(out_fd);
	return out_fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	log_set_fd(STDERR_FILENO);
	close(out_fd);
	return 0;
}

/* What was logged since the last call; the caller frees it. */
static char *logged(void)
{
	off_t n = lseek(out_fd, 0, SEEK_END);
	char *s = malloc((size_t)n + 1);

	assert_non_null(s);
	assert_int_equal(pread(out_fd, s, (size_t)n, 0), n);
	s[n] = '\0';
	assert_int_equal(ftruncate(out_fd, 0), 0);
	lseek(out_fd, 0, SEEK_SET);
	return s;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* A worker's log for session SID and pid, the monitor's log set up. */
static struct worker_log *start(int level, int json, long pid)
{
	struct worker_log *w;

	log_setup(level, json, "monitor");
	assert_non_null(w = worker_log_new(SID));
	worker_log_set_pid(w, pid);
	return w;
}

static void feed(struct worker_log *w, const char *s, int64_t now)
{
	worker_log_feed(w, s, strlen(s), now);
}

static void test_parse(void **state)
{
	char func[16];
	const char *msg;
	int level;
	const char *line = "30\ton_auth\tuser x";

	(void)state;
	assert_int_equal(worker_log_parse(line, strlen(line), &level, func, sizeof(func), &msg), 0);
	assert_int_equal(level, LOG_WARNING);
	assert_string_equal(func, "on_auth");
	assert_string_equal(msg, "user x");
	static const char *bad[] = {
	    "25\tf\tm",                                               /* not a level */
	    "\tf\tm",                                                 /* no level */
	    "200\tf\tm",                                              /* too many digits */
	    "20\t\tm",                                                /* no function */
	    "20\t1f\tm",                                              /* not an identifier */
	    "20\tf-g\tm",                                             /* nor this */
	    "20\tf",                                                  /* no message */
	    "20 f m",     "20\tthis_is_a_very_long_function_name\tm", /* longer than func[] */
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    worker_log_parse(bad[i], strlen(bad[i]), &level, func, sizeof(func), &msg), -1);
	/* The empty message is a message. */
	assert_int_equal(worker_log_parse("50\tf\t", 5, &level, func, sizeof(func), &msg), 0);
	assert_int_equal(level, LOG_CRITICAL);
	assert_string_equal(msg, "");
}

static void test_records_and_raw_lines(void **state)
{
	struct worker_log *w;
	char *s, want[128];

	(void)state;
	w = start(LOG_INFO, 0, 4242);
	/* A record, split over three reads; one below the level; raw bytes
	 * with a terminal escape and a line forged in the monitor's name. */
	feed(w, "20\ton_a", 1);
	feed(w, "uth\tuser \\x1b[2J ro", 2);
	feed(w, "ot\n10\tchatty\tnot shown\n", 3);
	feed(w, "\x1b]0;pwned\x07 ==7==ERROR: AddressSanitizer\r\n", 4);
	feed(w, "2026-12-02T00:00:00.000000Z INFO monitor[1] listening: forged\n", 5);
	feed(w, "20\tlast\tno newline", 6);
	worker_log_free(w);
	s = logged();
	assert_int_equal(count(s, "\n"), 4);
	assert_non_null(
	    strstr(s, " INFO worker[4242] on_auth: session abcd1234: user \\x1b[2J root\n"));
	assert_null(strstr(s, "not shown"));
	assert_null(strchr(s, '\x1b'));
	assert_null(strchr(s, '\r'));
	assert_non_null(strstr(s, " WARNING worker[4242] stderr: session abcd1234: "
	                          "\\x1b]0;pwned\\x07 ==7==ERROR: AddressSanitizer\n"));
	snprintf(want, sizeof(want), " WARNING worker[4242] stderr: session abcd1234: 2026-12-02T");
	assert_non_null(strstr(s, want));
	assert_int_equal(count(s, "monitor["), 1); /* only inside the forged text */
	assert_non_null(strstr(s, " INFO worker[4242] last: session abcd1234: no newline\n"));
	free(s);
}

static void test_long_lines_are_cut(void **state)
{
	struct worker_log *w;
	char *big, *s;
	size_t n = 3 * WORKER_LOG_LINE_MAX;

	(void)state;
	w = start(LOG_INFO, 0, 0);
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'a', n);
	big[n] = '\0';
	feed(w, big, 1);
	feed(w, "\n20\tafter\tok\n", 1);
	worker_log_free(w);
	free(big);
	s = logged();
	assert_int_equal(count(s, "\n"), 2);
	assert_true(strlen(s) < WORKER_LOG_LINE_MAX + 256);
	assert_non_null(strstr(s, "] after: session abcd1234: ok\n"));
	free(s);
}

static void test_floods_are_capped_and_counted(void **state)
{
	struct worker_log *w;
	char *s, want[128];

	(void)state;
	w = start(LOG_INFO, 0, 0);
	for (int i = 0; i < WORKER_LOG_BURST + 100; i++)
		feed(w, "20\tspam\tx\n", 1000);
	s = logged();
	assert_int_equal(count(s, "\n"), WORKER_LOG_BURST);
	free(s);
	/* A second later there is room for WORKER_LOG_RATE lines, and the
	 * first says how many were not logged. */
	for (int i = 0; i < 2 * WORKER_LOG_RATE; i++)
		feed(w, "20\tspam\ty\n", 2000);
	worker_log_free(w);
	s = logged();
	assert_int_equal(count(s, "] spam: session abcd1234: y\n"), WORKER_LOG_RATE);
	snprintf(want, sizeof(want), "session abcd1234: 100 lines of the worker's not logged");
	assert_non_null(strstr(s, want));
	snprintf(want, sizeof(want), "session abcd1234: %d lines of the worker's not logged",
	         WORKER_LOG_RATE);
	assert_non_null(strstr(s, want)); /* said when it is freed */
	free(s);
}

static void test_json(void **state)
{
	struct worker_log *w;
	json_error_t err;
	json_t *o;
	char *s;

	(void)state;
	w = start(LOG_DEBUG, 1, 99);
	feed(w, "10\tkex\tbad \xff byte\n", 1);
	worker_log_free(w);
	s = logged();
	o = json_loads(s, 0, &err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "process")), "worker");
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), 99);
	assert_string_equal(json_string_value(json_object_get(o, "level")), "DEBUG");
	assert_string_equal(json_string_value(json_object_get(o, "func")), "kex");
	assert_string_equal(json_string_value(json_object_get(o, "message")),
	                    "session abcd1234: bad \xef\xbf\xbd byte");
	json_decref(o);
	free(s);
}

/* The worker's side: log_setup_relay() writes records worker_log reads. */
static void test_relay_round_trip(void **state)
{
	struct worker_log *w;
	char *rec, *s;

	(void)state;
	log_setup_relay(LOG_INFO);
	debug("hidden");
	warn("user \"%s\"\n\tnext", "r\x1bot");
	rec = logged();
	assert_string_equal(rec, "30\ttest_relay_round_trip\tuser \"r\\x1bot\"\\x0a\\x09next\n");
	w = start(LOG_INFO, 0, 7);
	feed(w, rec, 1);
	worker_log_free(w);
	free(rec);
	s = logged();
	assert_non_null(strstr(s,
	                       " WARNING worker[7] test_relay_round_trip: session abcd1234: user "
	                       "\"r\\x1bot\"\\x0a\\x09next\n"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_records_and_raw_lines),
	    cmocka_unit_test(test_long_lines_are_cut),
	    cmocka_unit_test(test_floods_are_capped_and_counted),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_relay_round_trip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
