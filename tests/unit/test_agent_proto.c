/* Unit tests for agent_proto: every type round trips, every bound is refused
 * on both sides, and a frame cut short only ever asks for more bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent_proto.h"

static struct agent_bytes bs(const char *s)
{
	return (struct agent_bytes){(const uint8_t *)s, (uint32_t)strlen(s)};
}

static void assert_bytes(struct agent_bytes b, const char *s)
{
	assert_int_equal(b.n, strlen(s));
	if (b.n > 0)
		assert_memory_equal(b.p, s, b.n);
}

/* Encodes m, checks that every prefix asks for more, decodes it whole. */
static size_t roundtrip(const struct agent_msg *m, uint8_t *buf, size_t cap, struct agent_msg *r)
{
	size_t n = agent_encode(buf, cap, m), used = 0;

	assert_true(n >= AGENT_HDR_LEN);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(agent_decode(buf, i, r, &used), 0);
	assert_int_equal(agent_decode(buf, n, r, &used), 1);
	assert_int_equal(used, n);
	assert_int_equal(r->type, m->type);
	assert_int_equal(r->channel, m->channel);
	return n;
}

static void test_hello(void **state)
{
	static uint8_t buf[AGENT_HDR_LEN + AGENT_MAX_PAYLOAD];
	struct agent_msg m = {.type = AGENT_HELLO}, r;
	struct agent_hello *h = &m.u.hello;

	h->version = 1;
	h->user = bs("root");
	h->method = bs("password");
	h->client_addr = bs("203.0.113.7");
	h->client_port = 50022;
	h->server_addr = bs("10.0.0.2");
	h->server_port = 22;
	h->session_id = bs("abc123");
	h->auth_log_kept = 70123;
	h->nfailures = 2;
	h->failures[0] = (struct agent_failure){1700000000, 41022, bs("admin"), bs("password")};
	h->failures[1] = (struct agent_failure){1700000001, 50022, bs("oracle"), bs("publickey")};
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_int_equal(r.u.hello.version, 1);
	assert_bytes(r.u.hello.user, "root");
	assert_bytes(r.u.hello.method, "password");
	assert_bytes(r.u.hello.client_addr, "203.0.113.7");
	assert_int_equal(r.u.hello.client_port, 50022);
	assert_bytes(r.u.hello.server_addr, "10.0.0.2");
	assert_int_equal(r.u.hello.server_port, 22);
	assert_bytes(r.u.hello.session_id, "abc123");
	assert_int_equal(r.u.hello.auth_log_kept, 70123);
	assert_int_equal(r.u.hello.nfailures, 2);
	assert_int_equal(r.u.hello.failures[0].time, 1700000000);
	assert_int_equal(r.u.hello.failures[0].port, 41022);
	assert_bytes(r.u.hello.failures[0].user, "admin");
	assert_bytes(r.u.hello.failures[0].method, "password");
	assert_int_equal(r.u.hello.failures[1].time, 1700000001);
	assert_int_equal(r.u.hello.failures[1].port, 50022);
	assert_bytes(r.u.hello.failures[1].user, "oracle");
	assert_bytes(r.u.hello.failures[1].method, "publickey");

	/* The most failures there may be. */
	h->nfailures = AGENT_MAX_FAILURES;
	for (int i = 0; i < AGENT_MAX_FAILURES; i++)
		h->failures[i] = (struct agent_failure){(uint32_t)i, 40000 + (uint32_t)i, bs("u"),
		                                        bs("password")};
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_int_equal(r.u.hello.nfailures, AGENT_MAX_FAILURES);
	assert_int_equal(r.u.hello.failures[15].time, 15);
	assert_int_equal(r.u.hello.failures[15].port, 40015);
}

static void test_open(void **state)
{
	static const char env[] = "LANG=C\0LC_ALL=C\0";
	uint8_t buf[512];
	struct agent_msg m = {.type = AGENT_OPEN, .channel = 7}, r;

	m.u.open.kind = AGENT_KIND_EXEC;
	m.u.open.pty = 1;
	m.u.open.cols = 132;
	m.u.open.rows = 43;
	m.u.open.window = 262144;
	m.u.open.term = bs("xterm-256color");
	m.u.open.command = bs("uname -a");
	m.u.open.env = (struct agent_bytes){(const uint8_t *)env, sizeof(env) - 1};
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_int_equal(r.u.open.kind, AGENT_KIND_EXEC);
	assert_int_equal(r.u.open.pty, 1);
	assert_int_equal(r.u.open.cols, 132);
	assert_int_equal(r.u.open.rows, 43);
	assert_int_equal(r.u.open.window, 262144);
	assert_bytes(r.u.open.term, "xterm-256color");
	assert_bytes(r.u.open.command, "uname -a");
	assert_int_equal(r.u.open.env.n, sizeof(env) - 1);
	assert_memory_equal(r.u.open.env.p, env, sizeof(env) - 1);

	/* A shell: empty strings. */
	memset(&m.u.open, 0, sizeof(m.u.open));
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_int_equal(r.u.open.kind, AGENT_KIND_SHELL);
	assert_int_equal(r.u.open.term.n, 0);
	assert_int_equal(r.u.open.command.n, 0);
	assert_int_equal(r.u.open.env.n, 0);
}

static void test_small_types(void **state)
{
	uint8_t buf[128];
	struct agent_msg m, r;

	m = (struct agent_msg){.type = AGENT_RESIZE, .channel = 1};
	m.u.resize.cols = 80;
	m.u.resize.rows = 24;
	assert_int_equal(roundtrip(&m, buf, sizeof(buf), &r), AGENT_HDR_LEN + 8);
	assert_int_equal(r.u.resize.cols, 80);
	assert_int_equal(r.u.resize.rows, 24);

	m = (struct agent_msg){.type = AGENT_SIGNAL, .channel = 2};
	m.u.text = bs("INT");
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_bytes(r.u.text, "INT");

	m = (struct agent_msg){.type = AGENT_CLOSE, .channel = 3};
	assert_int_equal(roundtrip(&m, buf, sizeof(buf), &r), AGENT_HDR_LEN);

	m = (struct agent_msg){.type = AGENT_HELLO_OK, .channel = 0};
	m.u.version = 1;
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_int_equal(r.u.version, 1);

	m = (struct agent_msg){.type = AGENT_OPEN_OK, .channel = 4};
	m.u.window = 4096;
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_int_equal(r.u.window, 4096);

	m = (struct agent_msg){.type = AGENT_OPEN_FAIL, .channel = 5};
	m.u.text = bs("unknown subsystem");
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_bytes(r.u.text, "unknown subsystem");

	m = (struct agent_msg){.type = AGENT_STDERR, .channel = 6};
	m.u.data = bs("oops\n");
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_bytes(r.u.data, "oops\n");

	m = (struct agent_msg){.type = AGENT_EXIT, .channel = 7};
	m.u.exit = (struct agent_exit){AGENT_EXIT_STATUS, 0, 3};
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_int_equal(r.u.exit.kind, AGENT_EXIT_STATUS);
	assert_int_equal(r.u.exit.core, 0);
	assert_int_equal(r.u.exit.value, 3);
	m.u.exit = (struct agent_exit){AGENT_EXIT_SIGNAL, 1, 11};
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_int_equal(r.u.exit.kind, AGENT_EXIT_SIGNAL);
	assert_int_equal(r.u.exit.core, 1);
	assert_int_equal(r.u.exit.value, 11);

	m = (struct agent_msg){.type = AGENT_DATA, .channel = 8};
	m.u.data = bs("x");
	assert_int_equal(roundtrip(&m, buf, sizeof(buf), &r), AGENT_HDR_LEN + 1);
	assert_bytes(r.u.data, "x");

	m = (struct agent_msg){.type = AGENT_EOF, .channel = 9};
	assert_int_equal(roundtrip(&m, buf, sizeof(buf), &r), AGENT_HDR_LEN);

	m = (struct agent_msg){.type = AGENT_WINDOW, .channel = 0xffffffff};
	m.u.window = 0x80000000u;
	roundtrip(&m, buf, sizeof(buf), &r);
	assert_int_equal(r.channel, 0xffffffff);
	assert_int_equal(r.u.window, 0x80000000u);
}

static void test_largest_data(void **state)
{
	static uint8_t data[AGENT_MAX_DATA], buf[AGENT_HDR_LEN + AGENT_MAX_DATA];
	struct agent_msg m = {.type = AGENT_DATA, .channel = 1}, r;

	memset(data, 'a', sizeof(data));
	m.u.data = (struct agent_bytes){data, AGENT_MAX_DATA};
	assert_int_equal(roundtrip(&m, buf, sizeof(buf), &r), sizeof(buf));
	assert_int_equal(r.u.data.n, AGENT_MAX_DATA);
	assert_ptr_equal(r.u.data.p, buf + AGENT_HDR_LEN);
	/* One byte short of room: refused, not cut. */
	assert_int_equal(agent_encode(buf, sizeof(buf) - 1, &m), 0);
}

static void test_two_frames_in_a_row(void **state)
{
	uint8_t buf[64];
	struct agent_msg m = {.type = AGENT_EOF, .channel = 1}, r;
	size_t n, k, used;

	n = agent_encode(buf, sizeof(buf), &m);
	m.type = AGENT_WINDOW;
	m.u.window = 9;
	k = agent_encode(buf + n, sizeof(buf) - n, &m);
	assert_true(n > 0 && k > 0);
	assert_int_equal(agent_decode(buf, n + k, &r, &used), 1);
	assert_int_equal(used, n);
	assert_int_equal(r.type, AGENT_EOF);
	assert_int_equal(agent_decode(buf + n, k, &r, &used), 1);
	assert_int_equal(r.type, AGENT_WINDOW);
	assert_int_equal(r.u.window, 9);
}

/* A frame made by hand: header with the given length, then payload. */
static size_t frame(uint8_t *out, uint8_t type, uint32_t channel, const void *p, uint32_t n)
{
	agent_encode_header(out, type, channel, n);
	if (n > 0)
		memcpy(out + AGENT_HDR_LEN, p, n);
	return AGENT_HDR_LEN + n;
}

static int dec(const uint8_t *buf, size_t n)
{
	struct agent_msg r;
	size_t used = 0;

	return agent_decode(buf, n, &r, &used);
}

static void test_header_refusals(void **state)
{
	uint8_t buf[AGENT_HDR_LEN + 16];
	size_t n;

	/* Too long: refused with the length alone, long before the bytes come. */
	agent_encode_header(buf, AGENT_DATA, 1, AGENT_MAX_PAYLOAD + 1);
	assert_int_equal(dec(buf, 3), 0);
	assert_int_equal(dec(buf, 4), -EBADMSG);
	assert_int_equal(dec(buf, AGENT_HDR_LEN), -EBADMSG);
	agent_encode_header(buf, AGENT_DATA, 1, 0xffffffff);
	assert_int_equal(dec(buf, 4), -EBADMSG);

	/* Unknown types: refused at the type byte. */
	agent_encode_header(buf, 0, 1, 0);
	assert_int_equal(dec(buf, 5), -EBADMSG);
	agent_encode_header(buf, AGENT_TYPE_MAX, 1, 0);
	assert_int_equal(dec(buf, 5), -EBADMSG);
	agent_encode_header(buf, 0xff, 1, 0);
	assert_int_equal(dec(buf, 5), -EBADMSG);

	/* Channel rules: refused at the channel. */
	agent_encode_header(buf, AGENT_EOF, 0, 0);
	assert_int_equal(dec(buf, AGENT_HDR_LEN - 1), 0);
	assert_int_equal(dec(buf, AGENT_HDR_LEN), -EBADMSG);
	n = frame(buf, AGENT_HELLO_OK, 1, "\0\0\0\1", 4);
	assert_int_equal(dec(buf, AGENT_HDR_LEN), -EBADMSG);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_HELLO_OK, 0, "\0\0\0\1", 4);
	assert_int_equal(dec(buf, n), 1);
	agent_encode_header(buf, AGENT_HELLO, 5, 0);
	assert_int_equal(dec(buf, AGENT_HDR_LEN), -EBADMSG);
}

static void test_payload_refusals(void **state)
{
	static uint8_t buf[AGENT_HDR_LEN + AGENT_MAX_PAYLOAD], p[AGENT_MAX_PAYLOAD];
	size_t n;

	/* Bytes left over, or missing, in fixed layouts. */
	n = frame(buf, AGENT_EOF, 1, "x", 1);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_CLOSE, 1, "x", 1);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_WINDOW, 1, "\0\0\0\1\0", 5);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_WINDOW, 1, "\0\0\1", 3);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_RESIZE, 1, "\0\0\0\1", 4);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_HELLO_OK, 0, "", 0);
	assert_int_equal(dec(buf, n), -EBADMSG);

	/* DATA and STDERR: 1..AGENT_MAX_DATA bytes. */
	n = frame(buf, AGENT_DATA, 1, "", 0);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_STDERR, 1, "", 0);
	assert_int_equal(dec(buf, n), -EBADMSG);
	memset(p, 'a', sizeof(p));
	n = frame(buf, AGENT_DATA, 1, p, AGENT_MAX_DATA + 1);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_STDERR, 1, p, AGENT_MAX_DATA + 1);
	assert_int_equal(dec(buf, n), -EBADMSG);

	/* A string longer than its frame, and one over its bound. */
	n = frame(buf, AGENT_SIGNAL, 1, "\0\0\0\5INT", 7);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_SIGNAL, 1, "\0\0\0\3INTx", 8);
	assert_int_equal(dec(buf, n), -EBADMSG);
	memset(p, 'a', sizeof(p));
	p[0] = 0;
	p[1] = 0;
	p[2] = (AGENT_MAX_STR + 1) >> 8;
	p[3] = (AGENT_MAX_STR + 1) & 0xff;
	n = frame(buf, AGENT_OPEN_FAIL, 1, p, 4 + AGENT_MAX_STR + 1);
	assert_int_equal(dec(buf, n), -EBADMSG);
	p[2] = AGENT_MAX_STR >> 8;
	p[3] = AGENT_MAX_STR & 0xff;
	n = frame(buf, AGENT_OPEN_FAIL, 1, p, 4 + AGENT_MAX_STR);
	assert_int_equal(dec(buf, n), 1);
	/* A length with the high bit set must not wrap. */
	n = frame(buf, AGENT_SIGNAL, 1,
	          "\xff\xff\xff\xfe"
	          "ab",
	          6);
	assert_int_equal(dec(buf, n), -EBADMSG);

	/* EXIT: kind 1 or 2, core a flag, status 0..255, signal 1..127. */
	n = frame(buf, AGENT_EXIT, 1, "\0\0\0\0\0\0", 6);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_EXIT, 1, "\3\0\0\0\0\0", 6);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_EXIT, 1, "\1\0\0\0\0\xff", 6);
	assert_int_equal(dec(buf, n), 1);
	n = frame(buf, AGENT_EXIT, 1, "\1\0\0\0\1\0", 6);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_EXIT, 1, "\1\1\0\0\0\0", 6);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_EXIT, 1, "\2\1\0\0\0\x0b", 6);
	assert_int_equal(dec(buf, n), 1);
	n = frame(buf, AGENT_EXIT, 1, "\2\2\0\0\0\x0b", 6);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_EXIT, 1, "\2\0\0\0\0\0", 6);
	assert_int_equal(dec(buf, n), -EBADMSG);
	n = frame(buf, AGENT_EXIT, 1, "\2\0\0\0\0\x80", 6);
	assert_int_equal(dec(buf, n), -EBADMSG);
}

/* OPEN's fixed head: kind, pty, cols, rows, window; then three strings. */
static size_t open_frame(uint8_t *buf, uint8_t kind, uint8_t pty, uint32_t cmd_len)
{
	static uint8_t p[AGENT_MAX_PAYLOAD];
	uint32_t n = 0;

	memset(p, 0, sizeof(p));
	p[n++] = kind;
	p[n++] = pty;
	n += 12; /* cols, rows, window */
	n += 4;  /* empty term */
	p[n++] = (uint8_t)(cmd_len >> 24);
	p[n++] = (uint8_t)(cmd_len >> 16);
	p[n++] = (uint8_t)(cmd_len >> 8);
	p[n++] = (uint8_t)cmd_len;
	memset(p + n, 'c', cmd_len);
	n += cmd_len;
	n += 4; /* empty env */
	return frame(buf, AGENT_OPEN, 1, p, n);
}

static void test_open_refusals(void **state)
{
	static uint8_t buf[AGENT_HDR_LEN + AGENT_MAX_PAYLOAD + 64];

	assert_int_equal(dec(buf, open_frame(buf, 0, 0, 0)), 1);
	assert_int_equal(dec(buf, open_frame(buf, 2, 1, 0)), 1);
	assert_int_equal(dec(buf, open_frame(buf, 3, 0, 0)), -EBADMSG);
	assert_int_equal(dec(buf, open_frame(buf, 0, 2, 0)), -EBADMSG);
	assert_int_equal(dec(buf, open_frame(buf, 1, 0, AGENT_MAX_COMMAND)), 1);
	assert_int_equal(dec(buf, open_frame(buf, 1, 0, AGENT_MAX_COMMAND + 1)), -EBADMSG);
}

/* The image's label says the version its agent speaks (the monitor uses
 * docker exec for another): this one. */
static void test_image_label_names_this_version(void **state)
{
	const char *root = getenv("HERMES_SOURCE_ROOT");
	char path[4096], line[256], want[64];
	int found = 0;
	FILE *f;

	(void)state;
	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/images/ubuntu/Dockerfile", root);
	assert_non_null(f = fopen(path, "r"));
	snprintf(want, sizeof(want), "LABEL hermes.agent_protocol=%d\n", AGENT_PROTO_VERSION);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "LABEL hermes.agent_protocol=", 28) == 0) {
			assert_string_equal(line, want);
			found++;
		}
	fclose(f);
	assert_int_equal(found, 1);
}

static void test_hello_refusals(void **state)
{
	static uint8_t buf[AGENT_HDR_LEN + AGENT_MAX_PAYLOAD];
	struct agent_msg m = {.type = AGENT_HELLO}, r;
	size_t n, used;

	m.u.hello.version = 1;
	m.u.hello.user = bs("root");
	m.u.hello.nfailures = 1;
	m.u.hello.failures[0].user = bs("x");
	n = agent_encode(buf, sizeof(buf), &m);
	assert_true(n > 0);
	assert_int_equal(agent_decode(buf, n, &r, &used), 1);
	/* nfailures is the u32 before the failure (time, port, user "x",
	 * an empty method): 17 is refused. */
	buf[n - (4 + 4 + 4 + 1 + 4) - 1] = AGENT_MAX_FAILURES + 1;
	assert_int_equal(agent_decode(buf, n, &r, &used), -EBADMSG);
	/* 0 with a failure's bytes after it: bytes left over. */
	buf[n - (4 + 4 + 4 + 1 + 4) - 1] = 0;
	assert_int_equal(agent_decode(buf, n, &r, &used), -EBADMSG);
}

static void test_encode_refusals(void **state)
{
	static uint8_t big[AGENT_MAX_COMMAND + 1], buf[AGENT_HDR_LEN + AGENT_MAX_PAYLOAD + 64];
	struct agent_msg m;

	memset(big, 'a', sizeof(big));
	m = (struct agent_msg){.type = 0, .channel = 1};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m = (struct agent_msg){.type = AGENT_TYPE_MAX, .channel = 1};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m = (struct agent_msg){.type = AGENT_EOF, .channel = 0};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m = (struct agent_msg){.type = AGENT_HELLO_OK, .channel = 1};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);

	m = (struct agent_msg){.type = AGENT_DATA, .channel = 1};
	m.u.data = (struct agent_bytes){big, 0};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.u.data = (struct agent_bytes){big, AGENT_MAX_DATA + 1};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.type = AGENT_STDERR;
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);

	m = (struct agent_msg){.type = AGENT_SIGNAL, .channel = 1};
	m.u.text = (struct agent_bytes){big, AGENT_MAX_STR + 1};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.u.text = (struct agent_bytes){NULL, 3};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);

	m = (struct agent_msg){.type = AGENT_OPEN, .channel = 1};
	m.u.open.command = (struct agent_bytes){big, AGENT_MAX_COMMAND + 1};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.u.open.command = (struct agent_bytes){big, AGENT_MAX_COMMAND};
	assert_true(agent_encode(buf, sizeof(buf), &m) > 0);
	m.u.open.env = (struct agent_bytes){big, AGENT_MAX_COMMAND};
	/* Each string in bounds, the payload over AGENT_MAX_PAYLOAD. */
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.u.open.env.n = 0;
	m.u.open.kind = 3;
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.u.open.kind = 0;
	m.u.open.pty = 2;
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);

	m = (struct agent_msg){.type = AGENT_HELLO, .channel = 0};
	m.u.hello.nfailures = AGENT_MAX_FAILURES + 1;
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.u.hello.nfailures = 1;
	m.u.hello.failures[0].user = (struct agent_bytes){big, AGENT_MAX_STR + 1};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.u.hello.failures[0].user.n = 0;
	m.u.hello.session_id = (struct agent_bytes){big, AGENT_MAX_STR + 1};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);

	m = (struct agent_msg){.type = AGENT_EXIT, .channel = 1};
	m.u.exit = (struct agent_exit){0, 0, 0};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.u.exit = (struct agent_exit){AGENT_EXIT_STATUS, 0, 256};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);
	m.u.exit = (struct agent_exit){AGENT_EXIT_SIGNAL, 0, 0};
	assert_int_equal(agent_encode(buf, sizeof(buf), &m), 0);

	/* No room: 0, and nothing written past cap. */
	m = (struct agent_msg){.type = AGENT_WINDOW, .channel = 1};
	memset(buf, 0xee, 32);
	assert_int_equal(agent_encode(buf, AGENT_HDR_LEN + 3, &m), 0);
	assert_int_equal(agent_encode(buf, 0, &m), 0);
	assert_int_equal(buf[0], 0xee);
	assert_int_equal(agent_encode(buf, AGENT_HDR_LEN + 4, &m), AGENT_HDR_LEN + 4);
}

static void test_type_names(void **state)
{
	assert_string_equal(agent_type_name(AGENT_HELLO), "HELLO");
	assert_string_equal(agent_type_name(AGENT_WINDOW), "WINDOW");
	assert_string_equal(agent_type_name(AGENT_DATA), "DATA");
	assert_string_equal(agent_type_name(0), "UNKNOWN");
	assert_string_equal(agent_type_name(200), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello),
	    cmocka_unit_test(test_open),
	    cmocka_unit_test(test_small_types),
	    cmocka_unit_test(test_largest_data),
	    cmocka_unit_test(test_two_frames_in_a_row),
	    cmocka_unit_test(test_header_refusals),
	    cmocka_unit_test(test_payload_refusals),
	    cmocka_unit_test(test_open_refusals),
	    cmocka_unit_test(test_hello_refusals),
	    cmocka_unit_test(test_image_label_names_this_version),
	    cmocka_unit_test(test_encode_refusals),
	    cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
