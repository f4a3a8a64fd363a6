/*
 * Unit tests for jmsg over a SOCK_SEQPACKET socketpair: round trips with
 * and without a descriptor; datagrams that are refused (not an object, not
 * JSON, a duplicate key, two descriptors, over JMSG_MAX) and that every
 * descriptor that came with one is closed (the write end of a pipe sent
 * along: its reader sees EOF once no copy is left open); end of stream;
 * nothing waiting; a message too large to send.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "jmsg.h"

static int pair[2];

static int setup(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair);
}

static int teardown(void **state)
{
	(void)state;
	if (pair[0] >= 0)
		close(pair[0]);
	if (pair[1] >= 0)
		close(pair[1]);
	return 0;
}

static void nonblocking(int fd)
{
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

/* A datagram of n bytes with k descriptors, as a hostile peer sends it. */
static void send_raw(int sock, const void *p, size_t n, const int *fds, size_t k)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	assert_true(k <= 4);
	if (k > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.space;
		mh.msg_controllen = CMSG_SPACE(k * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(k * sizeof(int));
		memcpy(CMSG_DATA(c), fds, k * sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)n);
}

/* A pipe whose read end does not block: p[0] read, p[1] write. */
static void pipe_nb(int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	nonblocking(p[0]);
}

/* Whether every copy of the pipe's write end is closed: its reader sees
 * EOF (0), not "nothing yet" (EAGAIN). */
static int writers_gone(int rd)
{
	char c;
	ssize_t n = read(rd, &c, 1);

	if (n == 0)
		return 1;
	assert_true(n < 0 && errno == EAGAIN);
	return 0;
}

static void test_roundtrip(void **state)
{
	json_t *m = json_pack("{s:s, s:I, s:[i, s], s:{s:b}}", "t", "fetch", "id",
	                      (json_int_t)1234567890123, "list", 1, "two", "obj", "ok", 1);
	json_t *got = NULL;
	int fd = 7;

	(void)state;
	assert_non_null(m);
	assert_int_equal(jmsg_send(pair[0], m, -1), 0);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), 1);
	assert_int_equal(fd, -1);
	assert_non_null(got);
	assert_true(json_equal(m, got));
	json_decref(got);

	/* Each send is one datagram: two sends, two receives. */
	json_t *e = json_object();
	assert_int_equal(jmsg_send(pair[0], e, -1), 0);
	assert_int_equal(jmsg_send(pair[0], m, -1), 0);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), 1);
	assert_true(json_equal(e, got));
	json_decref(got);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), 1);
	assert_true(json_equal(m, got));
	json_decref(got);
	json_decref(e);
	json_decref(m);
}

static void test_roundtrip_fd(void **state)
{
	json_t *m = json_pack("{s:s}", "t", "body");
	json_t *got = NULL;
	int p[2], fd = -1;
	char buf[8];

	(void)state;
	pipe_nb(p);
	assert_int_equal(jmsg_send(pair[0], m, p[1]), 0);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), 1);
	assert_true(json_equal(m, got));
	assert_true(fd >= 0);
	assert_int_not_equal(fd, p[1]);
	/* The same pipe, now the receiver's, close-on-exec. */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fd, "hi", 2), 2);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	close(p[1]);
	assert_false(writers_gone(p[0]));
	close(fd);
	assert_true(writers_gone(p[0]));
	close(p[0]);
	json_decref(got);
	json_decref(m);
}

/* The datagram p[0..n) with k pipes' write ends is refused, and every
 * one of them closed. */
static void expect_refused(const void *data, size_t n, size_t k)
{
	int pipes[4][2], ends[4];
	json_t *got = (json_t *)1;
	int fd = 7;

	for (size_t i = 0; i < k; i++) {
		pipe_nb(pipes[i]);
		ends[i] = pipes[i][1];
	}
	send_raw(pair[0], data, n, ends, k);
	for (size_t i = 0; i < k; i++)
		close(pipes[i][1]);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), -EBADMSG);
	assert_null(got);
	assert_int_equal(fd, -1);
	for (size_t i = 0; i < k; i++) {
		assert_true(writers_gone(pipes[i][0]));
		close(pipes[i][0]);
	}
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
	    "[1, 2]",
	    "\"text\"",
	    "42",
	    "null",
	    "true", /* JSON, not an object */
	    "{",
	    "{\"a\":}",
	    "x",
	    "{} {}",
	    "{\"a\":1} x",       /* not JSON */
	    "{\"a\":1,\"a\":2}", /* a duplicate key */
	    "{\"a\":\"\xff\"}",  /* not UTF-8 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_refused(bad[i], strlen(bad[i]), 0);
		expect_refused(bad[i], strlen(bad[i]), 1);
	}
	/* A NUL byte inside. */
	static const char nul[] = "{\"a\":\"x\0y\"}";
	expect_refused(nul, sizeof(nul) - 1, 1);
	/* Two descriptors (or more) with a good object: refused, all closed. */
	expect_refused("{}", 2, 2);
	expect_refused("{\"t\":\"x\"}", 9, 4);
	/* A datagram of descriptors alone (no bytes) is no end of stream. */
	expect_refused("", 0, 1);

	/* The socket is still good for the next message. */
	json_t *m = json_pack("{s:i}", "after", 1), *got;
	int fd;
	assert_int_equal(jmsg_send(pair[0], m, -1), 0);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), 1);
	assert_true(json_equal(m, got));
	json_decref(got);
	json_decref(m);
}

/* Two SCM_RIGHTS messages of one descriptor each: two descriptors too. */
static void test_two_cmsgs(void **state)
{
	union {
		struct cmsghdr h;
		char space[2 * CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)"{}", .iov_len = 2};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.space,
	                    .msg_controllen = sizeof(ctl.space)};
	int a[2], b[2], fd;
	json_t *got;

	(void)state;
	pipe_nb(a);
	pipe_nb(b);
	memset(&ctl, 0, sizeof(ctl));
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &a[1], sizeof(int));
	c = CMSG_NXTHDR(&mh, c);
	assert_non_null(c);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &b[1], sizeof(int));
	assert_int_equal(sendmsg(pair[0], &mh, MSG_NOSIGNAL), 2);
	close(a[1]);
	close(b[1]);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), -EBADMSG);
	assert_null(got);
	assert_int_equal(fd, -1);
	assert_true(writers_gone(a[0]));
	assert_true(writers_gone(b[0]));
	close(a[0]);
	close(b[0]);
}

/* JMSG_MAX bytes of text go; one more does not, either way. */
static void test_size(void **state)
{
	char *s = malloc(JMSG_MAX + 2);
	json_t *m, *got;
	int fd;

	(void)state;
	assert_non_null(s);
	/* {"s":"xxx...x"}: 8 bytes around the string. */
	memset(s, 'x', JMSG_MAX - 8);
	s[JMSG_MAX - 8] = '\0';
	m = json_pack("{s:s}", "s", s);
	assert_int_equal(jmsg_send(pair[0], m, -1), 0);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), 1);
	assert_true(json_equal(m, got));
	json_decref(got);
	json_decref(m);

	s[JMSG_MAX - 8] = 'x';
	s[JMSG_MAX - 7] = '\0';
	m = json_pack("{s:s}", "s", s);
	assert_int_equal(jmsg_send(pair[0], m, -1), -EMSGSIZE);
	json_decref(m);
	/* Nothing was sent. */
	nonblocking(pair[1]);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), -EAGAIN);

	/* A peer that sends such an object all the same (or one byte more,
	 * which does not fit the receiver's buffer): refused. */
	for (size_t n = JMSG_MAX + 1; n <= JMSG_MAX + 2; n++) {
		memset(s, 'x', n);
		memcpy(s, "{\"s\":\"", 6);
		memcpy(s + n - 2, "\"}", 2);
		expect_refused(s, n, 1);
	}
	free(s);
}

static void test_eof_eagain(void **state)
{
	json_t *got = (json_t *)1;
	int fd = 7;

	(void)state;
	nonblocking(pair[1]);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), -EAGAIN);
	assert_null(got);
	assert_int_equal(fd, -1);
	/* What was sent before the end is still read, then the end. */
	json_t *m = json_object();
	assert_int_equal(jmsg_send(pair[0], m, -1), 0);
	json_decref(m);
	close(pair[0]);
	pair[0] = -1;
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), 1);
	json_decref(got);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), 0);
	assert_null(got);
	assert_int_equal(fd, -1);
	assert_int_equal(jmsg_recv(pair[1], &got, &fd), 0);
}

/* To a peer that is gone: an error, not SIGPIPE. */
static void test_send_errors(void **state)
{
	json_t *m = json_object();

	(void)state;
	close(pair[1]);
	pair[1] = -1;
	assert_int_equal(jmsg_send(pair[0], m, -1), -EPIPE);
	assert_int_equal(jmsg_send(-1, m, -1), -EBADF);
	json_decref(m);
}

static void test_parse(void **state)
{
	json_t *j;

	(void)state;
	j = jmsg_parse("{\"t\":\"dns\"}", 11);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "t")), "dns");
	json_decref(j);
	/* Only the n bytes given. */
	j = jmsg_parse("{}garbage", 2);
	assert_non_null(j);
	json_decref(j);
	assert_null(jmsg_parse("{\"t\":1}", 6));
	assert_null(jmsg_parse("", 0));
	assert_null(jmsg_parse("[]", 2));
	assert_null(jmsg_parse("{\"a\":1,\"a\":1}", 13));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip_fd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_cmsgs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eof_eagain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_errors, setup, teardown),
	    cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
