/* Unit test for syslog_out over TCP on loopback: a collector that stops
 * reading and goes away in the middle of a frame, then comes back on the
 * same port, gets only whole frames from the new connection. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "loop.h"
#include "syslog_out.h"
#include "util.h"

static int listener(int port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

/* Runs the loop until the listener has a connection (at most ms). */
static int accept_within(struct loop *l, int lfd, int ms)
{
	int64_t end = util_mono_ms() + ms;
	while (util_mono_ms() < end) {
		int c = accept(lfd, NULL, NULL);
		if (c >= 0)
			return c;
		loop_once(l, 50);
	}
	return -1;
}

static void emit(struct syslog_out *so, int i)
{
	static char big[3001];
	memset(big, 'x', sizeof(big) - 1);
	json_t *ev =
	    json_pack("{s:s, s:s, s:s, s:i, s:s}", "timestamp", "2026-12-06T10:00:00.000000Z",
	              "event", "command.input", "session", "0123abcd", "n", i, "command", big);
	char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(line);
	syslog_out_send(so, ev, line, strlen(line));
	free(line);
	json_decref(ev);
}

static void test_frames_stay_whole_across_a_reconnect(void **state)
{
	(void)state;
	struct loop *l = loop_new();
	int l1 = listener(0, 4096), port = port_of(l1);
	char target[64];
	snprintf(target, sizeof(target), "tcp://127.0.0.1:%d", port);
	const char *why = NULL;
	struct syslog_out *so = syslog_out_new(l, target, "local0", "h", &why);
	assert_non_null(so);
	int c1 = accept_within(l, l1, 3000);
	assert_true(c1 >= 0);

	/* The collector reads a little, then stops: the kernel's buffers fill
	 * (loopback's grow to megabytes) and the rest waits in the queue, a
	 * frame cut somewhere. */
	for (int i = 0; i < 3000; i++) {
		emit(so, i);
		loop_once(l, 0);
	}
	char buf[65536];
	(void)recv(c1, buf, 1000, MSG_DONTWAIT);
	close(c1);
	close(l1);
	for (int i = 3000; i < 3010; i++) {
		emit(so, i);
		loop_once(l, 10);
	}

	/* Back on the same port: after the retry, only whole frames. */
	int l2 = listener(port, 1 << 20);
	int c2 = accept_within(l, l2, 8000);
	assert_true(c2 >= 0);
	size_t have = 0;
	int64_t end = util_mono_ms() + 3000;
	while (util_mono_ms() < end && have < sizeof(buf)) {
		loop_once(l, 20);
		ssize_t n = recv(c2, buf + have, sizeof(buf) - have, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t)n;
	}
	assert_true(have > 0);
	size_t off = 0;
	int frames = 0;
	while (off < have) {
		size_t len = 0, i = off;
		while (i < have && buf[i] >= '0' && buf[i] <= '9')
			len = len * 10 + (size_t)(buf[i++] - '0');
		assert_true(i > off); /* a length first */
		assert_true(i < have && buf[i] == ' ');
		if (i + 1 + len > have)
			break; /* the read stopped inside the last one */
		assert_memory_equal(buf + i + 1, "<134>1 ", 7);
		off = i + 1 + len;
		frames++;
	}
	assert_true(frames >= 1);
	close(c2);
	close(l2);
	syslog_out_free(so);
	loop_free(l);
}

/* unix:PATH (and "local", which is unix:/dev/log): one datagram an event. */
static void test_a_local_socket(void **state)
{
	(void)state;
	char dir[] = "/tmp/hermes-syslog-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/log", dir);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char target[160];
	snprintf(target, sizeof(target), "unix:%s", a.sun_path);
	struct loop *l = loop_new();
	const char *why = NULL;
	struct syslog_out *so = syslog_out_new(l, target, "daemon", "h", &why);
	assert_non_null(so);
	emit(so, 1);
	char buf[8192];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(n > 0);
	/* daemon.info = 3 * 8 + 6; the datagram is the message, no framing. */
	assert_memory_equal(buf, "<30>1 2026-12-06T10:00:00.000000Z h hermes ", 43);
	assert_int_equal(buf[n - 1], '}');
	syslog_out_free(so);
	loop_free(l);
	close(fd);
	unlink(a.sun_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames_stay_whole_across_a_reconnect),
	    cmocka_unit_test(test_a_local_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
