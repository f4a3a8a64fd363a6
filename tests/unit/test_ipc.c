/* Unit tests for ipc: round trips, fd passing, and refusal of messages that
 * do not match their layout. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "ipc.h"

static int pair[2];

static int setup(void **state)
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair);
}

static int teardown(void **state)
{
	close(pair[0]);
	close(pair[1]);
	return 0;
}

static struct ipc_str str(const char *s)
{
	return (struct ipc_str){(const uint8_t *)s, strlen(s)};
}

static void test_roundtrip_channel_open(void **state)
{
	struct ipc_msg m = {.type = IPC_CHANNEL_OPEN,
	                    .channel_open = {.channel = 3, .tty = 1, .width = 132, .height = 43}};
	struct ipc_msg r;
	struct buf store;

	m.channel_open.term = str("xterm-256color");
	m.channel_open.command = str("");
	assert_int_equal(ipc_send(pair[0], &m), 0);
	buf_init(&store);
	assert_int_equal(ipc_recv(pair[1], &r, &store), 1);
	assert_int_equal(r.type, IPC_CHANNEL_OPEN);
	assert_int_equal(r.channel_open.channel, 3);
	assert_int_equal(r.channel_open.tty, 1);
	assert_int_equal(r.channel_open.width, 132);
	assert_int_equal(r.channel_open.height, 43);
	assert_int_equal(r.channel_open.term.n, 14);
	assert_memory_equal(r.channel_open.term.p, "xterm-256color", 14);
	assert_int_equal(r.channel_open.command.n, 0);
	assert_int_equal(r.nfds, 0);
	buf_free(&store);
}

static void test_binary_strings_kept(void **state)
{
	static const uint8_t pw[] = {'a', 0, 0xff, 'b'};
	struct ipc_msg m = {.type = IPC_AUTH_PASSWORD};
	struct ipc_msg r;
	struct buf store;

	m.auth_password.user = str("root");
	m.auth_password.password = (struct ipc_str){pw, sizeof(pw)};
	assert_int_equal(ipc_send(pair[0], &m), 0);
	buf_init(&store);
	assert_int_equal(ipc_recv(pair[1], &r, &store), 1);
	assert_int_equal(r.auth_password.password.n, 4);
	assert_memory_equal(r.auth_password.password.p, pw, 4);
	assert_null(ipc_strdup(&r.auth_password.password)); /* a NUL inside: no C string */
	buf_free(&store);
}

static void test_fd_passing(void **state)
{
	int p[2];
	struct ipc_msg m = {.type = IPC_CHANNEL_READY, .channel_ready = {.channel = 1, .ok = 1}};
	struct ipc_msg r;
	struct buf store;
	char c = 0;

	assert_int_equal(pipe(p), 0);
	m.channel_ready.error = str("");
	m.channel_ready.container = str("abc");
	m.fds[0] = p[1];
	m.nfds = 1;
	assert_int_equal(ipc_send(pair[1], &m), 0);
	close(p[1]);
	buf_init(&store);
	assert_int_equal(ipc_recv(pair[0], &r, &store), 1);
	assert_int_equal(r.nfds, 1);
	assert_true(fcntl(r.fds[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(r.fds[0], "z", 1), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'z');
	close(r.fds[0]);
	close(p[0]);
	buf_free(&store);
}

static void test_fds_refused_where_layout_has_none(void **state)
{
	int p[2];
	struct ipc_msg m = {.type = IPC_RESIZE,
	                    .resize = {.channel = 1, .width = 80, .height = 24}};
	struct ipc_msg r;
	struct buf store;

	assert_int_equal(pipe(p), 0);
	m.fds[0] = p[0];
	m.nfds = 1;
	assert_int_equal(ipc_send(pair[0], &m), 0);
	buf_init(&store);
	assert_int_equal(ipc_recv(pair[1], &r, &store), -EBADMSG);
	assert_int_equal(r.nfds, 0);
	close(p[0]);
	close(p[1]);
	buf_free(&store);
}

static void test_decode_rejects_bad_layouts(void **state)
{
	struct ipc_msg m;
	/* resize with one u32 missing */
	static const uint8_t short_msg[] = {0, 0, 0, IPC_RESIZE, 0, 0, 0, 1, 0, 0, 0, 80};
	/* auth_reply with a trailing byte */
	static const uint8_t trailing[] = {
	    0, 0, 0, IPC_AUTH_REPLY, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
	/* unknown type */
	static const uint8_t unknown[] = {0, 0, 0, 99};
	/* a string claiming 4 GiB */
	static const uint8_t huge[] = {0, 0, 0, IPC_SESSION_END, 0xff, 0xff, 0xff, 0xff, 'x'};
	static const uint8_t ok[] = {0, 0, 0, IPC_AUTH_REPLY, 0,    0, 0, 1,    0,   0, 0,
	                             0, 0, 0, 0x0b,           0xb8, 0, 0, 0x1f, 0x40};

	memset(&m, 0, sizeof(m));
	assert_int_equal(ipc_decode(short_msg, sizeof(short_msg), &m), -EBADMSG);
	assert_int_equal(ipc_decode(trailing, sizeof(trailing), &m), -EBADMSG);
	assert_int_equal(ipc_decode(unknown, sizeof(unknown), &m), -EBADMSG);
	assert_int_equal(ipc_decode(huge, sizeof(huge), &m), -EBADMSG);
	assert_int_equal(ipc_decode(ok, sizeof(ok), &m), 0);
	assert_int_equal(m.auth_reply.accepted, 1);
	assert_int_equal(m.auth_reply.pam_ms, 3000);
	assert_int_equal(m.auth_reply.floor_us, 8000);
}

static void test_string_over_bound_not_sent(void **state)
{
	static uint8_t big[9000];
	struct ipc_msg m = {.type = IPC_SESSION_END};

	m.session_end.reason = (struct ipc_str){big, sizeof(big)};
	assert_int_equal(ipc_send(pair[0], &m), -EMSGSIZE);
}

static void test_eof(void **state)
{
	struct ipc_msg r;
	struct buf store;

	buf_init(&store);
	close(pair[0]);
	assert_int_equal(ipc_recv(pair[1], &r, &store), 0);
	pair[0] = open("/dev/null", O_RDONLY);
	buf_free(&store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip_channel_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binary_strings_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fd_passing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fds_refused_where_layout_has_none, setup,
	                                    teardown),
	    cmocka_unit_test(test_decode_rejects_bad_layouts),
	    cmocka_unit_test_setup_teardown(test_string_over_bound_not_sent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
