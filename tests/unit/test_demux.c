/*
 * Unit tests for demux.c: the same framed stream cut at every possible
 * place must give the same output, and bad headers must be refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "demux.h"

#define MAXOUT 1024

/* What the callback saw, byte by byte with its stream, so that both the
 * content and the interleaving of stdout and stderr are compared. */
struct sink {
	uint8_t stream[MAXOUT];
	uint8_t byte[MAXOUT];
	size_t n;
	size_t calls;
};

static void collect(void *arg, int stream, const uint8_t *data, size_t len)
{
	struct sink *s = arg;
	size_t i;

	assert_true(len > 0);
	assert_true(stream >= 0 && stream <= 2);
	s->calls++;
	for (i = 0; i < len; i++) {
		assert_true(s->n < MAXOUT);
		s->stream[s->n] = (uint8_t)stream;
		s->byte[s->n] = data[i];
		s->n++;
	}
}

/* Feed one piece from a heap copy of exactly its size (ASan sees over-reads). */
static int feed(struct demux *d, const uint8_t *p, size_t n, struct sink *s)
{
	uint8_t *copy = malloc(n ? n : 1);
	int e;

	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	e = demux_feed(d, copy, n, collect, s);
	free(copy);
	return e;
}

static uint8_t input[512];
static size_t input_len;
static struct sink expected;

static void add_frame(int stream, const char *payload, size_t n)
{
	uint8_t *h = input + input_len;
	size_t i;

	h[0] = (uint8_t)stream;
	h[1] = h[2] = h[3] = 0;
	h[4] = (uint8_t)(n >> 24);
	h[5] = (uint8_t)(n >> 16);
	h[6] = (uint8_t)(n >> 8);
	h[7] = (uint8_t)n;
	memcpy(h + 8, payload, n);
	input_len += 8 + n;
	for (i = 0; i < n; i++) {
		expected.stream[expected.n] = (uint8_t)stream;
		expected.byte[expected.n] = (uint8_t)payload[i];
		expected.n++;
	}
}

static int setup(void **state)
{
	char big[300];
	size_t i;

	(void)state;
	input_len = 0;
	memset(&expected, 0, sizeof(expected));
	add_frame(1, "hello\n", 6);
	add_frame(2, "bash: x: command not found\n", 27);
	add_frame(1, "", 0); /* zero-size frame */
	add_frame(0, "in", 2);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	add_frame(1, big, sizeof(big)); /* size needs two bytes: 0x012c */
	add_frame(2, "!", 1);
	return 0;
}

static void check_same(const struct sink *s)
{
	assert_int_equal(s->n, expected.n);
	assert_memory_equal(s->stream, expected.stream, expected.n);
	assert_memory_equal(s->byte, expected.byte, expected.n);
}

static void test_whole(void **state)
{
	struct demux d;
	struct sink s = {0};

	(void)state;
	demux_init(&d);
	assert_int_equal(feed(&d, input, input_len, &s), 0);
	check_same(&s);
	/* one call per non-empty frame: payload is passed on, not copied */
	assert_int_equal(s.calls, 5);
	assert_int_equal(d.hdr_have, 0);
	assert_int_equal(d.remaining, 0);
}

static void test_every_split(void **state)
{
	struct demux d;
	struct sink s;
	size_t i, j;

	(void)state;
	for (i = 0; i <= input_len; i++) {
		for (j = i; j <= input_len; j++) {
			memset(&s, 0, sizeof(s));
			demux_init(&d);
			assert_int_equal(feed(&d, input, i, &s), 0);
			assert_int_equal(feed(&d, input + i, j - i, &s), 0);
			assert_int_equal(feed(&d, input + j, input_len - j, &s), 0);
			check_same(&s);
		}
	}
}

static void test_byte_by_byte(void **state)
{
	struct demux d;
	struct sink s = {0};
	size_t i;

	(void)state;
	demux_init(&d);
	for (i = 0; i < input_len; i++)
		assert_int_equal(feed(&d, input + i, 1, &s), 0);
	check_same(&s);
}

static void test_bad_headers(void **state)
{
	static const uint8_t bad[][8] = {
	    {3, 0, 0, 0, 0, 0, 0, 1},    {0xff, 0, 0, 0, 0, 0, 0, 1}, {1, 1, 0, 0, 0, 0, 0, 1},
	    {1, 0, 0x80, 0, 0, 0, 0, 1}, {2, 0, 0, 1, 0, 0, 0, 1},
	};
	static const size_t bad_at[] = {0, 0, 1, 2, 3};
	struct demux d;
	struct sink s;
	uint8_t buf[16];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		demux_init(&d);
		assert_int_equal(feed(&d, bad[i], 8, &s), -EPROTO);
		assert_int_equal(s.n, 0);
		/* fed byte by byte: refused at the first bad byte, not later */
		demux_init(&d);
		for (j = 0; j < 8; j++) {
			int e = feed(&d, bad[i] + j, 1, &s);

			if (e) {
				assert_int_equal(e, -EPROTO);
				break;
			}
		}
		assert_int_equal(j, bad_at[i]);
		assert_int_equal(s.n, 0);
	}
	/* a good frame's payload is delivered before the bad header after it,
	 * which is refused before it is complete */
	memset(&s, 0, sizeof(s));
	memcpy(buf, (const uint8_t[]){1, 0, 0, 0, 0, 0, 0, 2, 'o', 'k'}, 10);
	memcpy(buf + 10, (const uint8_t[]){9, 0, 0, 0, 0, 0}, 6);
	demux_init(&d);
	assert_int_equal(feed(&d, buf, 16, &s), -EPROTO);
	assert_int_equal(s.n, 2);
	assert_memory_equal(s.byte, "ok", 2);
	assert_int_equal(s.stream[0], 1);
}

static void test_large_size(void **state)
{
	static const uint8_t h[] = {2, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe, 'a', 'b', 'c'};
	struct demux d;
	struct sink s = {0};

	(void)state;
	demux_init(&d);
	assert_int_equal(feed(&d, h, sizeof(h), &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.stream[0], 2);
	assert_int_equal(d.stream, 2);
	assert_int_equal(d.remaining, 0xfffffffeu - 3);
	/* bytes that look like a header are payload while the frame lasts */
	assert_int_equal(feed(&d, (const uint8_t[]){7, 7, 7, 7, 7, 7, 7, 7}, 8, &s), 0);
	assert_int_equal(s.n, 11);
	assert_int_equal(d.remaining, 0xfffffffeu - 11);
}

static void test_zero_size_only(void **state)
{
	static const uint8_t z[] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
	struct demux d;
	struct sink s = {0};

	(void)state;
	demux_init(&d);
	assert_int_equal(feed(&d, z, sizeof(z), &s), 0);
	assert_int_equal(s.calls, 0);
	assert_int_equal(d.hdr_have, 0);
	assert_int_equal(feed(&d, (const uint8_t[]){1, 0, 0, 0, 0, 0, 0, 1, 'x'}, 9, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.byte[0], 'x');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_whole, setup),
	    cmocka_unit_test_setup(test_every_split, setup),
	    cmocka_unit_test_setup(test_byte_by_byte, setup),
	    cmocka_unit_test(test_bad_headers),
	    cmocka_unit_test(test_large_size),
	    cmocka_unit_test(test_zero_size_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
