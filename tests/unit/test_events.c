/*
 * Unit tests for events (the JSON-lines event log) and for log (the
 * diagnostic log it reports failures to): what lands in the file and on
 * stderr is read back and parsed.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "events.h"
#include "log.h"
#include "util.h"

struct fixture {
	char base[512]; /* a fresh temporary directory */
	char dir[600];  /* base/logs, not created yet */
	char file[640]; /* dir/events.jsonl */
};

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->base, sizeof(f->base), "%s/test_events.XXXXXX", tmp);
	if (mkdtemp(f->base) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/logs", f->base);
	snprintf(f->file, sizeof(f->file), "%s/events.jsonl", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->file);
	rmdir(f->dir);
	rmdir(f->base);
	free(f);
	return 0;
}

static char *slurp_fd(int fd, size_t *len)
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

static char *slurp_path(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *s;

	assert_true(fd >= 0);
	s = slurp_fd(fd, len);
	close(fd);
	return s;
}

/* Every line must be a JSON object; returns them as an array. */
static json_t *parse_objects(const char *s, size_t len)
{
	json_t *lines = json_array(), *j;
	json_error_t err;
	const char *nl;

	assert_true(len == 0 || s[len - 1] == '\n');
	while (len > 0 && (nl = memchr(s, '\n', len)) != NULL) {
		j = json_loadb(s, (size_t)(nl - s), 0, &err);
		if (j == NULL)
			fail_msg("line is not JSON: %s", err.text);
		if (!json_is_object(j))
			fail_msg("line is not a JSON object");
		json_array_append_new(lines, j);
		len -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	return lines;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("%s is not a string", key);
	return json_string_value(v);
}

static void test_emit_two(void **state)
{
	struct fixture *f = *state;
	struct events *ev;
	struct stat st;
	json_t *o, *lines, *a, *b;
	size_t len;
	char *raw;
	mode_t old = umask(022);

	assert_non_null(ev = events_open(f->dir));
	umask(old);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);
	assert_int_equal(stat(f->file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	o = event_new("login.failed", "0123456789abcdef0123456789abcdef", "203.0.113.9", 50022);
	assert_non_null(o);
	json_object_set_new(o, "username", json_string("root"));
	assert_int_equal(events_emit(ev, o), 0);
	assert_non_null(o = event_new("session.connect", NULL, NULL, 0));
	assert_int_equal(events_emit(ev, o), 0);
	events_close(ev);

	raw = slurp_path(f->file, &len);
	/* Compact, and the common fields first, in this order. */
	assert_int_equal(strncmp(raw, "{\"timestamp\":\"", 14), 0);
	assert_non_null(strstr(raw, "Z\",\"event\":\"login.failed\",\"session\":"
	                            "\"0123456789abcdef0123456789abcdef\",\"src_ip\":"
	                            "\"203.0.113.9\",\"src_port\":50022,\"username\":\"root\"}\n"));
	assert_non_null(strstr(raw, "Z\",\"event\":\"session.connect\",\"session\":null,"
	                            "\"src_ip\":null,\"src_port\":null}\n"));
	lines = parse_objects(raw, len);
	assert_int_equal(json_array_size(lines), 2);
	a = json_array_get(lines, 0);
	b = json_array_get(lines, 1);
	assert_int_equal(strlen(str(a, "timestamp")), 27);
	assert_int_equal(str(a, "timestamp")[26], 'Z');
	assert_string_equal(str(a, "event"), "login.failed");
	assert_int_equal(json_integer_value(json_object_get(a, "src_port")), 50022);
	assert_string_equal(str(b, "event"), "session.connect");
	assert_true(json_is_null(json_object_get(b, "session")));
	assert_true(strcmp(str(a, "timestamp"), str(b, "timestamp")) <= 0);
	json_decref(lines);
	free(raw);

	/* Reopening appends. */
	assert_non_null(ev = events_open(f->dir));
	assert_int_equal(events_emit(ev, event_new("x", NULL, NULL, 0)), 0);
	events_close(ev);
	raw = slurp_path(f->file, &len);
	lines = parse_objects(raw, len);
	assert_int_equal(json_array_size(lines), 3);
	json_decref(lines);
	free(raw);
}

static void test_set_bytes(void **state)
{
	json_t *o = json_object();

	(void)state;
	assert_int_equal(event_set_bytes(o, "password", "s3cr\xc3\xa9t", 7), 0);
	assert_string_equal(str(o, "password"), "s3cr\xc3\xa9t");
	assert_null(json_object_get(o, "password_b64"));

	assert_int_equal(event_set_bytes(o, "username", "r\xffot", 4), 0);
	assert_string_equal(str(o, "username"), "r\xef\xbf\xbdot");
	assert_string_equal(str(o, "username_b64"), "cv9vdA==");

	assert_int_equal(event_set_bytes(o, "cmd", "a\0b", 3), 0);
	assert_string_equal(str(o, "cmd"), "a\xef\xbf\xbd\x62");
	assert_string_equal(str(o, "cmd_b64"), "YQBi");

	assert_int_equal(event_set_bytes(o, "empty", NULL, 0), 0);
	assert_string_equal(str(o, "empty"), "");
	assert_int_equal(event_set_bytes(o, "bad", NULL, 3), -EINVAL);
	assert_int_equal(event_set_bytes(NULL, "k", "v", 1), -EINVAL);
	json_decref(o);
}

static void test_set_name(void **state)
{
	json_t *o = json_object();

	(void)state;
	assert_int_equal(event_set_name(o, "path", "/root/ok.sh", 11), 0);
	assert_string_equal(json_string_value(json_object_get(o, "path")), "/root/ok.sh");
	assert_null(json_object_get(o, "path_b64"));
	/* Two names that differ only in an invalid byte stay two names. */
	assert_int_equal(event_set_name(o, "path", "/root/a\xff", 8), 0);
	assert_string_equal(json_string_value(json_object_get(o, "path")), "/root/a\\xff");
	assert_string_equal(json_string_value(json_object_get(o, "path_b64")), "L3Jvb3QvYf8=");
	assert_int_equal(event_set_name(o, "other", "/root/a\xfe", 8), 0);
	assert_string_equal(json_string_value(json_object_get(o, "other")), "/root/a\\xfe");
	assert_int_equal(event_set_name(o, "bad", NULL, 3), -EINVAL);
	json_decref(o);
}

static void test_emit_steals(void **state)
{
	(void)state;
	/* Under ASan a leak here fails the run. */
	assert_int_equal(events_emit(NULL, event_new("x", NULL, NULL, 0)), -EINVAL);
	assert_null(events_open(NULL));
}

/* Reads everything from a pipe until EOF; returns the number of lines. */
static size_t read_pipe_lines(int fd, char **out)
{
	size_t cap = 4096, n = 0, i, lines = 0;
	char *s = malloc(cap);
	ssize_t r;

	assert_non_null(s);
	while ((r = read(fd, s + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n < 2)
			assert_non_null(s = realloc(s, cap *= 2));
	}
	s[n] = '\0';
	for (i = 0; i < n; i++)
		lines += s[i] == '\n';
	*out = s;
	return lines;
}

static void test_emit_failures(void **state)
{
	struct fixture *f = *state;
	int logp[2], saved, i;
	struct rlimit old, lim;
	struct events *ev;
	json_t *lines;
	size_t len;
	char *raw, *logged;

	/* stderr goes to a pipe: the file size limit below would cut a file. */
	assert_int_equal(pipe(logp), 0);
	signal(SIGXFSZ, SIG_IGN);
	log_setup(LOG_INFO, 0, "monitor");
	saved = dup(STDERR_FILENO);
	dup2(logp[1], STDERR_FILENO);
	close(logp[1]);

	assert_non_null(ev = events_open(f->dir));
	assert_int_equal(events_emit(ev, event_new("first", NULL, NULL, 0)), 0);
	free(slurp_path(f->file, &len));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	/* Room for part of a line: the first failure is a torn write. */
	lim.rlim_cur = len + 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (i = 0; i < 150; i++)
		assert_int_equal(events_emit(ev, event_new("lost", "s", "ip", 1)), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(events_emit(ev, event_new("last", NULL, NULL, 0)), 0);
	events_close(ev);

	dup2(saved, STDERR_FILENO);
	close(saved);
	/* 150 failures are reported twice: the 1st and the 101st. */
	assert_int_equal(read_pipe_lines(logp[0], &logged), 2);
	assert_non_null(strstr(logged, " ERROR monitor["));
	assert_non_null(
	    strstr(logged, "] events_emit: cannot write event log: File too large (1 "));
	assert_non_null(strstr(logged, "(101 failed so far)\n"));
	free(logged);
	close(logp[0]);

	raw = slurp_path(f->file, &len);
	lines = parse_objects(raw, len);
	assert_int_equal(json_array_size(lines), 2);
	assert_string_equal(str(json_array_get(lines, 1), "event"), "last");
	json_decref(lines);
	free(raw);
}

static void test_log(void **state)
{
	int logfd = memfd_create("stderr", MFD_CLOEXEC), saved;
	json_t *lines, *o;
	json_error_t err;
	size_t len;
	char *raw, *nl, pid[32];

	(void)state;
	assert_true(logfd >= 0);
	assert_int_equal(log_level_parse("warning"), LOG_WARNING);
	assert_int_equal(log_level_parse("CRITICAL"), LOG_CRITICAL);
	assert_int_equal(log_level_parse("verbose"), -1);
	assert_int_equal(log_level_parse(NULL), -1);
	saved = dup(STDERR_FILENO);
	dup2(logfd, STDERR_FILENO);

	log_setup(LOG_WARNING, 0, "worker");
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_ERROR));
	info("not shown");
	errno = EAGAIN;
	warn("user \"%s\"\n\x1b[2J", "r\xffot");
	assert_int_equal(errno, EAGAIN); /* logging keeps errno */

	log_setup(LOG_DEBUG, 1, "monitor");
	debug("user %s", "r\xffot\n");
	error("%d%%", 5);

	dup2(saved, STDERR_FILENO);
	close(saved);
	raw = slurp_fd(logfd, &len);
	close(logfd);

	/* Text: one line, controls escaped, invalid bytes replaced. */
	nl = strchr(raw, '\n');
	assert_non_null(nl);
	*nl = '\0';
	snprintf(pid, sizeof(pid), " WARNING worker[%ld] ", (long)getpid());
	assert_int_equal(raw[26], 'Z');
	assert_int_equal(strncmp(raw + 27, pid, strlen(pid)), 0);
	assert_string_equal(raw + 27 + strlen(pid),
	                    "test_log: user \"r\xef\xbf\xbdot\"\\x0a\\x1b[2J");

	/* JSON: one object per line, fields in order. */
	lines = json_array();
	for (char *s = nl + 1; *s != '\0'; s = nl + 1) {
		assert_non_null(nl = strchr(s, '\n'));
		o = json_loadb(s, (size_t)(nl - s), 0, &err);
		assert_non_null(o);
		json_array_append_new(lines, o);
		assert_int_equal(strncmp(s, "{\"timestamp\":", 13), 0);
	}
	assert_int_equal(json_array_size(lines), 2);
	o = json_array_get(lines, 0);
	assert_string_equal(str(o, "level"), "DEBUG");
	assert_string_equal(str(o, "process"), "monitor");
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
	assert_string_equal(str(o, "func"), "test_log");
	assert_string_equal(str(o, "message"), "user r\xef\xbf\xbdot\n");
	o = json_array_get(lines, 1);
	assert_string_equal(str(o, "level"), "ERROR");
	assert_string_equal(str(o, "message"), "5%");
	json_decref(lines);
	free(raw);
	log_setup(LOG_INFO, 0, "test");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_emit_two, setup, teardown),
	    cmocka_unit_test(test_set_bytes),
	    cmocka_unit_test(test_set_name),
	    cmocka_unit_test(test_emit_steals),
	    cmocka_unit_test_setup_teardown(test_emit_failures, setup, teardown),
	    cmocka_unit_test(test_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
