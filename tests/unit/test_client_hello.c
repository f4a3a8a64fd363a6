/* Unit tests for client_hello: the client's identification line and
 * KEXINIT, read without taking a byte past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "client_hello.h"

static const char *const lists[HELLO_LISTS] = {
    "curve25519-sha256,ext-info-c",
    "ssh-ed25519,rsa-sha2-512",
    "chacha20-poly1305@openssh.com,aes128-ctr",
    "aes256-ctr",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "none,zlib@openssh.com",
    "none",
    "",
    "",
};

/* A binary packet around payload, padded as RFC 4253 6 says. */
static void put_packet(struct buf *b, const struct buf *payload)
{
	size_t pad = 8 - (5 + payload->len) % 8;

	if (pad < 4)
		pad += 8;
	buf_put_u32(b, (uint32_t)(1 + payload->len + pad));
	buf_put_u8(b, (uint8_t)pad);
	buf_put(b, payload->data, payload->len);
	for (size_t i = 0; i < pad; i++)
		buf_put_u8(b, 0);
}

/* "SSH-2.0-test\r\n", a KEXINIT with the lists above, then a packet that
 * must not be taken. Returns the length of the part that must be. */
static size_t make_hello(struct buf *b, const char *const *l, uint8_t type)
{
	struct buf p;

	buf_init(&p);
	buf_put_u8(&p, type);
	for (int i = 0; i < 16; i++)
		buf_put_u8(&p, (uint8_t)i);
	for (int i = 0; i < HELLO_LISTS; i++)
		buf_put_cstr(&p, l[i]);
	buf_put_u8(&p, 1);
	buf_put_u32(&p, 0);
	buf_put(b, "SSH-2.0-test\r\n", 14);
	put_packet(b, &p);
	size_t hello = b->len;
	buf_reset(&p);
	buf_put_u8(&p, 30); /* KEX_ECDH_INIT */
	buf_put_cstr(&p, "0123456789abcdef0123456789abcdef");
	put_packet(b, &p);
	buf_free(&p);
	return hello;
}

static void check_lists(const struct client_hello *h)
{
	assert_int_equal(h->state, HELLO_DONE);
	for (int i = 0; i < HELLO_LISTS; i++) {
		assert_int_equal(h->list_len[i], strlen(lists[i]));
		assert_memory_equal(h->list[i], lists[i], h->list_len[i]);
	}
	assert_int_equal(h->first_kex_follows, 1);

	struct buf in;
	buf_init(&in);
	assert_int_equal(client_hello_hassh_input(h, &in), 0);
	const char *want = "curve25519-sha256,ext-info-c;chacha20-poly1305@openssh.com,"
	                   "aes128-ctr;hmac-sha2-256;none,zlib@openssh.com";
	assert_int_equal(in.len, strlen(want));
	assert_memory_equal(in.data, want, in.len);
	buf_free(&in);
}

static void test_whole(void **state)
{
	struct buf b;
	struct client_hello h;

	buf_init(&b);
	size_t want = make_hello(&b, lists, 20);
	client_hello_init(&h);
	assert_int_equal(client_hello_take(&h, b.data, b.len), want);
	check_lists(&h);
	/* Ended: takes nothing more. */
	assert_int_equal(client_hello_take(&h, b.data + want, b.len - want), 0);
	client_hello_free(&h);
	buf_free(&b);
}

static void test_byte_by_byte(void **state)
{
	struct buf b;
	struct client_hello h;
	size_t taken = 0;

	buf_init(&b);
	size_t want = make_hello(&b, lists, 20);
	client_hello_init(&h);
	for (size_t i = 0; i < b.len; i++)
		taken += client_hello_take(&h, b.data + i, 1);
	assert_int_equal(taken, want);
	check_lists(&h);
	client_hello_free(&h);
	buf_free(&b);
}

/* The identification line as OpenSSH's server judges it (measured against
 * Debian 12's sshd, tests/integration/test_stealth_wire.py): its answer,
 * and how many bytes it reads before it answers (what is left is unread,
 * and the close a reset). */
static void test_identification_rules(void **state)
{
	static const char invalid[] = "Invalid SSH identification string.";
	static const struct {
		const char *in;
		size_t len;
		const char *answer; /* NULL: accepted */
		size_t taken;
	} cases[] = {
	    {"GET / HTTP/1.1\r\n\r\n", 18, invalid, 16},
	    {"SSH-1.5-foo\r\n", 13, "Protocol major versions differ.", 13},
	    {"SSH-3.0-foo\r\n", 13, "Protocol major versions differ.", 13},
	    {"SSH-2.0\r\n", 9, invalid, 9},
	    {"SSH-2.0-\r\n", 10, invalid, 10},
	    {"SSH-\r\n", 6, invalid, 6},
	    {"SSH-x.0-a\r\n", 11, invalid, 11},
	    {"\x00\x01\x02\r\n", 5, invalid, 1},
	    {"SSH-2.0-a\rb\n", 12, invalid, 11},
	    {"\r\n", 2, invalid, 2},
	    {"hello\r\nSSH-2.0-x\r\n", 18, invalid, 7},
	    {"SSH-2.0-x\n", 10, NULL, 10},
	    {"SSH-1.99-foo\r\n", 14, NULL, 14},
	    {"SSH-2.0-x y z\r\n", 15, NULL, 15},
	};
	struct client_hello h;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		client_hello_init(&h);
		size_t t = client_hello_take(&h, (const uint8_t *)cases[i].in, cases[i].len);
		if (t != cases[i].taken)
			fail_msg("case %zu: took %zu, not %zu", i, t, cases[i].taken);
		if (cases[i].answer == NULL) {
			assert_int_equal(h.state, HELLO_PACKET);
			assert_null(h.ident_error);
		} else {
			assert_int_equal(h.state, HELLO_FAILED);
			assert_string_equal(h.ident_error, cases[i].answer);
		}
		client_hello_free(&h);
	}
	/* A software version of 300 bytes is sshd's to take; past 8192 bytes
	 * without an end the line is refused there. */
	static char line[9000];
	memset(line, 'B', sizeof(line));
	memcpy(line, "SSH-2.0-", 8);
	memcpy(line + 308, "\r\n", 2);
	client_hello_init(&h);
	assert_int_equal(client_hello_take(&h, (const uint8_t *)line, 310), 310);
	assert_int_equal(h.state, HELLO_PACKET);
	client_hello_free(&h);
	memset(line + 308, 'B', 2);
	client_hello_init(&h);
	assert_int_equal(client_hello_take(&h, (const uint8_t *)line, 4000), 4000);
	assert_int_equal(h.state, HELLO_LINE);
	assert_int_equal(client_hello_take(&h, (const uint8_t *)line + 4000, 5000), 4193);
	assert_int_equal(h.state, HELLO_FAILED);
	assert_string_equal(h.ident_error, invalid);
	client_hello_free(&h);
}

/* Feeds s whole; returns the state and checks nothing past limit went. */
static int feed(struct client_hello *h, const void *s, size_t n, size_t limit)
{
	client_hello_init(h);
	size_t t = client_hello_take(h, s, n);
	assert_true(t <= limit);
	return h->state;
}

static void test_refused(void **state)
{
	struct buf b;
	struct client_hello h;
	char line[400];

	/* Not a KEXINIT first. */
	buf_init(&b);
	size_t want = make_hello(&b, lists, 21);
	assert_int_equal(feed(&h, b.data, b.len, want), HELLO_FAILED);
	assert_string_equal(h.why, "first packet is not a KEXINIT");
	client_hello_free(&h);

	/* A name-list with a byte outside printable US-ASCII. */
	const char *bad[HELLO_LISTS];
	memcpy(bad, lists, sizeof(bad));
	bad[2] = "aes128-ctr\x01";
	buf_reset(&b);
	want = make_hello(&b, bad, 20);
	assert_int_equal(feed(&h, b.data, b.len, want), HELLO_FAILED);
	client_hello_free(&h);

	/* A packet length beyond the bound: only the length is taken. */
	buf_reset(&b);
	buf_put(&b, "SSH-2.0-x\r\n", 11);
	buf_put_u32(&b, 1u << 20);
	buf_put(&b, "rest", 4);
	assert_int_equal(feed(&h, b.data, b.len, 15), HELLO_FAILED);
	client_hello_free(&h);

	/* A name-list that claims more than the packet holds. */
	buf_reset(&b);
	buf_put(&b, "SSH-2.0-x\r\n", 11);
	buf_put_u32(&b, 1 + 1 + 16 + 4 + 4);
	buf_put_u8(&b, 4);
	buf_put_u8(&b, 20);
	for (int i = 0; i < 16; i++)
		buf_put_u8(&b, 0);
	buf_put_u32(&b, 1000);
	buf_put_u32(&b, 0);
	assert_int_equal(feed(&h, b.data, b.len, b.len), HELLO_FAILED);
	assert_string_equal(h.why, "KEXINIT name-list longer than the packet");
	client_hello_free(&h);

	/* A line that does not end yet: still reading. */
	memset(line, 'A', sizeof(line));
	memcpy(line, "SSH-2.0-", 8);
	assert_int_equal(feed(&h, line, sizeof(line), sizeof(line)), HELLO_LINE);
	client_hello_free(&h);

	/* Not SSH at all: only its first line is read. */
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(feed(&h, http, strlen(http), 16), HELLO_FAILED);
	assert_string_equal(h.why, "not an SSH identification line");
	client_hello_free(&h);

	/* Not done: no HASSH input. */
	struct buf in;
	buf_init(&in);
	client_hello_init(&h);
	assert_int_equal(client_hello_hassh_input(&h, &in), -1);
	buf_free(&in);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_byte_by_byte),
	    cmocka_unit_test(test_identification_rules),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
