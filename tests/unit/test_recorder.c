/*
 * Unit tests for recorder: every line written is read back with jansson and
 * checked, the header fields, event times and codes, UTF-8 carried across
 * calls, invalid bytes, control characters, cut-off files and write errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"
#include "recorder.h"

#define FFFD "\xef\xbf\xbd"

/* The whole content of fd, NUL-terminated, read without moving the offset
 * the recorder writes at. */
static char *slurp(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *s = malloc(cap);
	ssize_t r;

	assert_non_null(s);
	for (;;) {
		if (cap - n < 2) {
			cap *= 2;
			assert_non_null(s = realloc(s, cap));
		}
		r = pread(fd, s + n, cap - n - 1, (off_t)n);
		assert_true(r >= 0);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

/* Parses text as lines, each of which must be JSON; returns them as an
 * array. A last line without newline is ignored, as players ignore it. */
static json_t *parse_lines(const char *s, size_t len)
{
	json_t *lines = json_array();
	json_error_t err;
	const char *nl;
	json_t *j;

	while (len > 0 && (nl = memchr(s, '\n', len)) != NULL) {
		j = json_loadb(s, (size_t)(nl - s), 0, &err);
		if (j == NULL)
			fail_msg("line %zu is not JSON: %s", json_array_size(lines) + 1, err.text);
		json_array_append_new(lines, j);
		len -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	return lines;
}

static json_t *read_back(int fd)
{
	size_t len;
	char *s = slurp(fd, &len);
	json_t *lines;

	assert_true(len > 0);
	assert_int_equal(s[len - 1], '\n');
	lines = parse_lines(s, len);
	free(s);
	return lines;
}

static int new_memfd(void)
{
	int fd = memfd_create("test_recorder", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* Checks that event i is [t, code, data]. */
static void check_event(json_t *lines, size_t i, double t, const char *code, const char *data,
                        size_t data_len)
{
	json_t *e = json_array_get(lines, i);

	assert_non_null(e);
	assert_true(json_is_array(e));
	assert_int_equal(json_array_size(e), 3);
	assert_true(json_is_real(json_array_get(e, 0)));
	assert_true(json_real_value(json_array_get(e, 0)) > t - 1e-7);
	assert_true(json_real_value(json_array_get(e, 0)) < t + 1e-7);
	assert_string_equal(json_string_value(json_array_get(e, 1)), code);
	assert_int_equal(json_string_length(json_array_get(e, 2)), data_len);
	assert_memory_equal(json_string_value(json_array_get(e, 2)), data, data_len);
}

static void test_header(void **state)
{
	struct recorder_header h = {
	    .width = 132,
	    .height = 43,
	    .timestamp = 1795460846.75,
	    .title = "ssh root@prod-web-01",
	    .term = "xterm-256color",
	    .shell = "/bin/bash",
	    .session_id = "0123456789abcdef0123456789abcdef",
	    .src_ip = "203.0.113.9",
	    .src_port = 50022,
	    .username = "we\xffird\"user",
	    .container_id = "c0ffee",
	    .command = NULL,
	};
	int fd = new_memfd();
	struct recorder *r;
	json_t *lines, *hd, *hermes;

	(void)state;
	assert_non_null(r = recorder_new(dup(fd), &h));
	recorder_free(r);
	lines = read_back(fd);
	assert_int_equal(json_array_size(lines), 1);
	hd = json_array_get(lines, 0);
	assert_true(json_is_object(hd));
	assert_int_equal(json_integer_value(json_object_get(hd, "version")), 2);
	assert_int_equal(json_integer_value(json_object_get(hd, "width")), 132);
	assert_int_equal(json_integer_value(json_object_get(hd, "height")), 43);
	assert_true(json_is_integer(json_object_get(hd, "timestamp")));
	assert_int_equal(json_integer_value(json_object_get(hd, "timestamp")), 1795460846);
	assert_string_equal(json_string_value(json_object_get(hd, "title")),
	                    "ssh root@prod-web-01");
	assert_string_equal(json_string_value(json_object_get(json_object_get(hd, "env"), "TERM")),
	                    "xterm-256color");
	assert_string_equal(json_string_value(json_object_get(json_object_get(hd, "env"), "SHELL")),
	                    "/bin/bash");
	hermes = json_object_get(hd, "hermes");
	assert_true(json_is_object(hermes));
	assert_string_equal(json_string_value(json_object_get(hermes, "session_id")),
	                    "0123456789abcdef0123456789abcdef");
	assert_string_equal(json_string_value(json_object_get(hermes, "src_ip")), "203.0.113.9");
	assert_int_equal(json_integer_value(json_object_get(hermes, "src_port")), 50022);
	assert_string_equal(json_string_value(json_object_get(hermes, "username")),
	                    "we" FFFD "ird\"user");
	assert_string_equal(json_string_value(json_object_get(hermes, "container_id")), "c0ffee");
	assert_null(json_object_get(hermes, "command")); /* absent, not null */
	json_decref(lines);
	close(fd);
}

static void test_header_defaults(void **state)
{
	struct recorder_header h = {.timestamp = 1000.0};
	int fd = new_memfd();
	struct recorder *r;
	json_t *lines, *hd;
	size_t len;
	char *raw;

	(void)state;
	assert_non_null(r = recorder_new(dup(fd), &h));
	recorder_free(r);
	raw = slurp(fd, &len);
	/* The layout of the format's own examples, keys in this order. */
	assert_string_equal(raw, "{\"version\": 2, \"width\": 80, \"height\": 24, "
	                         "\"timestamp\": 1000, \"env\": {}, \"hermes\": {}}\n");
	lines = parse_lines(raw, len);
	hd = json_array_get(lines, 0);
	assert_null(json_object_get(hd, "title"));
	json_decref(lines);
	free(raw);
	close(fd);
}

static void test_events(void **state)
{
	struct recorder_header h = {0};
	int fd = new_memfd();
	struct recorder *r;
	json_t *lines;
	size_t len;
	char *raw;

	(void)state;
	assert_non_null(r = recorder_new(dup(fd), &h));
	assert_int_equal(recorder_event_at(r, 0.5, 'o', "hello", 5), 0);
	assert_int_equal(recorder_event_at(r, 1.25, 'i', "ls\r", 3), 0);
	assert_int_equal(recorder_event_at(r, 2.0000016, 'r', "100x30", 6), 0);
	assert_int_equal(recorder_event_at(r, 3, 'o', "", 0), 0); /* no event */
	assert_int_equal(recorder_event_at(r, 3, 'x', "a", 1), -EINVAL);
	assert_int_equal(recorder_resize(r, 90, 31), 0);
	assert_int_equal(recorder_resize(r, 0, 31), -EINVAL);
	assert_int_equal(recorder_output(r, "bye", 3), 0);
	recorder_free(r);

	raw = slurp(fd, &len);
	assert_non_null(strstr(raw, "\n[0.500000, \"o\", \"hello\"]\n"));
	assert_non_null(strstr(raw, "\n[1.250000, \"i\", \"ls\\r\"]\n"));
	assert_non_null(strstr(raw, "\n[2.000002, \"r\", \"100x30\"]\n"));
	lines = parse_lines(raw, len);
	assert_int_equal(json_array_size(lines), 6);
	check_event(lines, 1, 0.5, "o", "hello", 5);
	check_event(lines, 2, 1.25, "i", "ls\r", 3);
	check_event(lines, 3, 2.000002, "r", "100x30", 6);
	assert_string_equal(json_string_value(json_array_get(json_array_get(lines, 4), 2)),
	                    "90x31");
	/* Live times come from the monotonic clock: small, ordered. */
	assert_true(json_real_value(json_array_get(json_array_get(lines, 4), 0)) < 5.0);
	assert_true(json_real_value(json_array_get(json_array_get(lines, 5), 0)) >=
	            json_real_value(json_array_get(json_array_get(lines, 4), 0)));
	check_event(lines, 5, json_real_value(json_array_get(json_array_get(lines, 5), 0)), "o",
	            "bye", 3);
	json_decref(lines);
	free(raw);
	close(fd);
}

static void test_utf8_split(void **state)
{
	struct recorder_header h = {0};
	int fd = new_memfd();
	struct recorder *r;
	json_t *lines;

	(void)state;
	assert_non_null(r = recorder_new(dup(fd), &h));
	/* The euro sign E2 82 AC split after two bytes. */
	assert_int_equal(recorder_event_at(r, 1, 'o', "a\xe2\x82", 3), 0);
	assert_int_equal(recorder_event_at(r, 2, 'o', "\xac b", 3), 0);
	/* One byte per call: only the call that completes it writes. */
	assert_int_equal(recorder_event_at(r, 3, 'o', "\xf0", 1), 0);
	assert_int_equal(recorder_event_at(r, 4, 'o', "\x9f", 1), 0);
	assert_int_equal(recorder_event_at(r, 5, 'o', "\x98", 1), 0);
	assert_int_equal(recorder_event_at(r, 6, 'o', "\x80", 1), 0);
	/* Streams carry separately: input in between does not break it. */
	assert_int_equal(recorder_event_at(r, 7, 'o', "\xc3", 1), 0);
	assert_int_equal(recorder_event_at(r, 8, 'i', "x\xc3", 2), 0);
	assert_int_equal(recorder_event_at(r, 9, 'o', "\xa9", 1), 0);
	assert_int_equal(recorder_event_at(r, 10, 'i', "\xa8", 1), 0);
	/* A carried start that the next byte does not continue. */
	assert_int_equal(recorder_event_at(r, 11, 'o', "\xe2\x82", 2), 0);
	assert_int_equal(recorder_event_at(r, 12, 'o', "A", 1), 0);
	/* Left unfinished at the end: flushed by recorder_free. */
	assert_int_equal(recorder_event_at(r, 13, 'o', "z\xf0\x9f", 3), 0);
	recorder_free(r);

	lines = read_back(fd);
	assert_int_equal(json_array_size(lines), 10);
	check_event(lines, 1, 1, "o", "a", 1);
	check_event(lines, 2, 2, "o", "\xe2\x82\xac b", 5);
	check_event(lines, 3, 6, "o", "\xf0\x9f\x98\x80", 4);
	check_event(lines, 4, 8, "i", "x", 1);
	check_event(lines, 5, 9, "o", "\xc3\xa9", 2);
	check_event(lines, 6, 10, "i", "\xc3\xa8", 2);
	check_event(lines, 7, 12, "o", FFFD "A", 4);
	check_event(lines, 8, 13, "o", "z", 1);
	assert_string_equal(json_string_value(json_array_get(json_array_get(lines, 9), 2)), FFFD);
	json_decref(lines);
	close(fd);
}

static void test_invalid_and_control(void **state)
{
	struct recorder_header h = {0};
	int fd = new_memfd();
	struct recorder *r;
	char ctl[40];
	json_t *lines;
	size_t i, n = 0;

	(void)state;
	for (i = 1; i < 0x20; i++)
		ctl[n++] = (char)i;
	ctl[n++] = 0x7f;
	ctl[n++] = '"';
	ctl[n++] = '\\';
	ctl[n++] = '/';
	assert_non_null(r = recorder_new(dup(fd), &h));
	assert_int_equal(recorder_event_at(r, 1, 'o', ctl, n), 0);
	assert_int_equal(recorder_event_at(r, 2, 'o', "\xff\x61\xc0\xaf\x62\xed\xa0\x80", 8), 0);
	assert_int_equal(recorder_event_at(r, 3, 'i', "a\0b", 3), 0);
	recorder_free(r);

	lines = read_back(fd);
	assert_int_equal(json_array_size(lines), 4);
	check_event(lines, 1, 1, "o", ctl, n);
	check_event(lines, 2, 2, "o", FFFD "a" FFFD FFFD "b" FFFD FFFD FFFD, 20);
	check_event(lines, 3, 3, "i", "a" FFFD "b", 5);
	json_decref(lines);
	close(fd);
}

static void test_cut_anywhere(void **state)
{
	struct recorder_header h = {.username = "root"};
	int fd = new_memfd();
	struct recorder *r;
	json_t *lines;
	size_t len, cut, whole = 0;
	char *raw;
	int i;

	(void)state;
	assert_non_null(r = recorder_new(dup(fd), &h));
	for (i = 0; i < 20; i++) {
		assert_int_equal(recorder_event_at(r, i, 'o', "line\r\n\x1b[1m\xe2\x82", 11), 0);
		assert_int_equal(recorder_event_at(r, i + 0.5, 'i', "\xac\"\\\t", 4), 0);
	}
	recorder_free(r);
	raw = slurp(fd, &len);
	/* Cut after every byte: whatever whole lines remain all parse, and
	 * their number is the number of newlines before the cut. */
	for (cut = 1; cut <= len; cut++) {
		if (raw[cut - 1] == '\n')
			whole++;
		lines = parse_lines(raw, cut);
		assert_int_equal(json_array_size(lines), whole);
		json_decref(lines);
	}
	assert_int_equal(whole, 1 + 40 + 1); /* header, events, flushed carry */
	free(raw);
	close(fd);
}

static void test_big_chunks(void **state)
{
	struct recorder_header h = {0};
	size_t n = 3 * 1024 * 1024 + 1, i, got = 0;
	int fd = new_memfd();
	struct recorder *r;
	json_t *lines, *s;
	char *big;

	(void)state;
	assert_non_null(big = malloc(n));
	for (i = 0; i + 3 <= n; i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[n - 1] = '\n';
	assert_non_null(r = recorder_new(dup(fd), &h));
	assert_int_equal(recorder_event_at(r, 1, 'o', big, n), 0);
	recorder_free(r);
	lines = read_back(fd);
	assert_true(json_array_size(lines) > 2); /* split into several events */
	for (i = 1; i < json_array_size(lines); i++) {
		s = json_array_get(json_array_get(lines, i), 2);
		assert_true(got + json_string_length(s) <= n);
		assert_memory_equal(json_string_value(s), big + got, json_string_length(s));
		got += json_string_length(s);
	}
	assert_int_equal(got, n);
	json_decref(lines);
	free(big);
	close(fd);
}

static void test_write_errors(void **state)
{
	struct recorder_header h = {0};
	int p[2], logfd = new_memfd(), saved;
	struct recorder *r;
	size_t len, i, nl = 0;
	char *logged;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	log_setup(LOG_INFO, 0, "test");
	saved = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);

	assert_int_equal(pipe(p), 0);
	assert_non_null(r = recorder_new(p[1], &h));
	close(p[0]); /* the reader is gone, as if the disk were full */
	assert_int_equal(recorder_output(r, "a", 1), -EPIPE);
	assert_int_equal(recorder_output(r, "b", 1), -EPIPE); /* still trying */
	assert_int_equal(recorder_input(r, "c", 1), -EPIPE);
	recorder_free(r);

	/* A header that cannot be written: no recorder, fd closed. */
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	assert_null(recorder_new(p[1], &h));
	assert_int_equal(errno, EPIPE);
	assert_int_equal(fcntl(p[1], F_GETFD), -1);
	assert_null(recorder_new(-1, &h));

	dup2(saved, STDERR_FILENO);
	close(saved);
	logged = slurp(logfd, &len);
	for (i = 0; i < len; i++)
		nl += logged[i] == '\n';
	/* Once for the recorder's run of three failures, once for the header. */
	assert_int_equal(nl, 2);
	assert_non_null(strstr(logged, " ERROR test["));
	assert_non_null(strstr(logged, "] write_line: cannot write recording: Broken pipe\n"));
	free(logged);
	close(logfd);
}

/* A write cut short by the file size limit (as by a full disk) must not
 * leave half a line in front of the next one. */
static void test_torn_write(void **state)
{
	struct recorder_header h = {0};
	int fd = new_memfd(), logfd = new_memfd(), saved;
	struct rlimit old, lim;
	struct recorder *r;
	char data[200];
	json_t *lines;
	size_t len;

	(void)state;
	memset(data, 'x', sizeof(data));
	signal(SIGXFSZ, SIG_IGN);
	saved = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);
	assert_non_null(r = recorder_new(dup(fd), &h));
	assert_int_equal(recorder_event_at(r, 1, 'o', "first", 5), 0);
	free(slurp(fd, &len));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = len + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(recorder_event_at(r, 2, 'o', data, sizeof(data)), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(recorder_event_at(r, 3, 'o', "after", 5), 0);
	recorder_free(r);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(logfd);

	lines = read_back(fd);
	assert_int_equal(json_array_size(lines), 3);
	check_event(lines, 1, 1, "o", "first", 5);
	check_event(lines, 2, 3, "o", "after", 5);
	json_decref(lines);
	close(fd);
}

/* Two recordings of one session share a budget: the line that would pass
 * it becomes a marker, nothing follows, the file stays valid. */
static void test_session_budget(void **state)
{
	struct recorder_header h = {0};
	int fd1 = new_memfd(), fd2 = new_memfd();
	uint64_t budget = 60; /* two lines of 25-26 bytes, not three */
	struct recorder *a, *b;

	(void)state;
	assert_non_null(a = recorder_new(dup(fd1), &h));
	assert_non_null(b = recorder_new(dup(fd2), &h));
	recorder_set_budget(a, &budget);
	recorder_set_budget(b, &budget);
	assert_int_equal(recorder_event_at(a, 1, 'o', "first", 5), 0);  /* 25 bytes */
	assert_int_equal(recorder_event_at(b, 1, 'o', "second", 6), 0); /* 26 */
	assert_false(recorder_was_cut(a));
	assert_int_equal(budget, 60 - 25 - 26);
	assert_int_equal(recorder_event_at(a, 2, 'o', "third", 5), 0);
	assert_true(recorder_was_cut(a));
	assert_int_equal(recorder_event_at(a, 3, 'o', "fourth", 6), 0);
	assert_int_equal(recorder_resize(a, 100, 40), 0);
	assert_false(recorder_was_cut(b));
	assert_int_equal(recorder_event_at(b, 4, 'o', "fifth-is-long", 13), 0);
	assert_true(recorder_was_cut(b));
	recorder_free(a);
	recorder_free(b);

	json_t *la = read_back(fd1), *lb = read_back(fd2);
	assert_int_equal(json_array_size(la), 3); /* header, first, the marker */
	check_event(la, 1, 1, "o", "first", 5);
	json_t *m = json_array_get(la, 2);
	assert_string_equal(json_string_value(json_array_get(m, 1)), "m");
	assert_non_null(strstr(json_string_value(json_array_get(m, 2)), "max_session_size"));
	assert_int_equal(json_array_size(lb), 3);
	check_event(lb, 1, 1, "o", "second", 6);
	json_decref(la);
	json_decref(lb);
	close(fd1);
	close(fd2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_header_defaults),
	    cmocka_unit_test(test_events),
	    cmocka_unit_test(test_utf8_split),
	    cmocka_unit_test(test_invalid_and_control),
	    cmocka_unit_test(test_cut_anywhere),
	    cmocka_unit_test(test_big_chunks),
	    cmocka_unit_test(test_write_errors),
	    cmocka_unit_test(test_torn_write),
	    cmocka_unit_test(test_session_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
