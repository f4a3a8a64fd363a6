/*
 * Unit tests for buf: encodings on the wire, bounds of every getter, growth
 * and the size cap. Not a fuzz harness: these are the cases we can name.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_round_trip(void **state)
{
	struct buf b;
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	size_t n;
	char *s;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_put_u8(&b, 0xab), 0);
	assert_int_equal(buf_put_u32(&b, 0x01020304), 0);
	assert_int_equal(buf_put_u64(&b, 0x1122334455667788ULL), 0);
	assert_int_equal(buf_put_str(&b, "a\0b", 3), 0);
	assert_int_equal(buf_put_cstr(&b, "hello"), 0);
	assert_int_equal(buf_put_cstr(&b, NULL), 0);
	assert_int_equal(b.len, 1 + 4 + 8 + 7 + 9 + 4);

	assert_int_equal(buf_get_u8(&b, &u8), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(buf_get_u32(&b, &u32), 0);
	assert_int_equal(u32, 0x01020304);
	assert_int_equal(buf_get_u64(&b, &u64), 0);
	assert_true(u64 == 0x1122334455667788ULL);
	assert_int_equal(buf_get_str(&b, &p, &n, 100), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "a\0b", 3);
	assert_int_equal(buf_get_cstr(&b, &s, 100), 0);
	assert_string_equal(s, "hello");
	free(s);
	assert_int_equal(buf_get_cstr(&b, &s, 100), 0);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(buf_avail(&b), 0);
	buf_free(&b);
	assert_null(b.data);
	buf_free(&b); /* twice is fine */
	buf_free(NULL);
}

static void test_big_endian(void **state)
{
	static const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x00,
	                               0x00, 0x00, 0x00, 0x00, 0x01, 0x02};
	struct buf b;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_put_u32(&b, 0xdeadbeef), 0);
	assert_int_equal(buf_put_u64(&b, 0x0102), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	buf_free(&b);
}

static void test_short_reads_fail(void **state)
{
	struct buf b;
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	size_t n;
	char *s = NULL;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_get_u8(&b, &u8), -EBADMSG);
	assert_int_equal(buf_put(&b, "\x00\x00\x00", 3), 0);
	assert_int_equal(buf_get_u32(&b, &u32), -EBADMSG);
	assert_int_equal(buf_get_u64(&b, &u64), -EBADMSG);
	assert_int_equal(b.off, 0); /* failed getters consume nothing */
	assert_int_equal(buf_skip(&b, 4), -EBADMSG);
	assert_int_equal(buf_skip(&b, 3), 0);
	assert_int_equal(buf_get_u8(&b, &u8), -EBADMSG);
	buf_reset(&b);

	/* Length says 10, only 9 bytes follow. */
	assert_int_equal(buf_put_u32(&b, 10), 0);
	assert_int_equal(buf_put(&b, "123456789", 9), 0);
	assert_int_equal(buf_get_str(&b, &p, &n, 100), -EBADMSG);
	assert_int_equal(buf_get_cstr(&b, &s, 100), -EBADMSG);
	assert_null(s);
	assert_int_equal(b.off, 0);
	/* With the last byte it parses. */
	assert_int_equal(buf_put_u8(&b, '0'), 0);
	assert_int_equal(buf_get_str(&b, &p, &n, 100), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(p, "1234567890", 10);

	/* A huge length must not wrap the bounds check. */
	buf_reset(&b);
	assert_int_equal(buf_put_u32(&b, 0xffffffff), 0);
	assert_int_equal(buf_put(&b, "ab", 2), 0);
	assert_int_equal(buf_get_str(&b, &p, &n, SIZE_MAX), -EBADMSG);
	assert_int_equal(buf_avail(&b), 6);
	buf_free(&b);
}

static void test_max_string_length(void **state)
{
	struct buf b;
	const uint8_t *p;
	size_t n;
	char *s = NULL;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_put_str(&b, "abcdef", 6), 0);
	assert_int_equal(buf_get_str(&b, &p, &n, 5), -EMSGSIZE);
	assert_int_equal(buf_get_cstr(&b, &s, 5), -EMSGSIZE);
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_get_str(&b, &p, &n, 6), 0);
	assert_int_equal(n, 6);
	buf_free(&b);
}

static void test_cstr_refuses_nul(void **state)
{
	struct buf b;
	char *s = NULL;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_put_str(&b, "ro\0ot", 5), 0);
	assert_int_equal(buf_get_cstr(&b, &s, 100), -EINVAL);
	assert_null(s);
	assert_int_equal(b.off, 0);
	buf_free(&b);
}

static void test_growth(void **state)
{
	struct buf b;
	uint8_t chunk[1000];
	size_t i, last_cap = 0, grew = 0;

	(void)state;
	buf_init(&b);
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	for (i = 0; i < 300; i++) {
		chunk[0] = (uint8_t)i;
		assert_int_equal(buf_put(&b, chunk, sizeof(chunk)), 0);
		if (b.cap != last_cap) {
			grew++;
			last_cap = b.cap;
		}
	}
	assert_int_equal(b.len, 300 * sizeof(chunk));
	assert_true(b.cap >= b.len);
	assert_true(grew < 20); /* geometric, not one step per put */
	for (i = 0; i < 300; i++) {
		assert_int_equal(b.data[i * sizeof(chunk)], (uint8_t)i);
		assert_memory_equal(b.data + i * sizeof(chunk) + 1, chunk + 1, sizeof(chunk) - 1);
	}
	buf_free(&b);
}

static void test_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_reserve(&b, BUF_MAX + 1), -EMSGSIZE);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
	assert_int_equal(buf_put(&b, "x", 1), 0);
	assert_int_equal(buf_reserve(&b, BUF_MAX), -EMSGSIZE);
	assert_int_equal(buf_reserve(&b, BUF_MAX - 1), 0);
	assert_int_equal(b.cap, BUF_MAX);
	/* Fill to two bytes below the cap. */
	memset(b.data + 1, 'y', BUF_MAX - 3);
	b.len = BUF_MAX - 2;
	assert_int_equal(buf_put_u32(&b, 1), -EMSGSIZE);
	assert_int_equal(b.len, BUF_MAX - 2); /* a refused put appends nothing */
	assert_int_equal(buf_put_str(&b, "", 0), -EMSGSIZE);
	assert_int_equal(b.len, BUF_MAX - 2);
	assert_int_equal(buf_put(&b, "ab", 2), 0);
	assert_int_equal(b.len, BUF_MAX);
	assert_int_equal(buf_put_u8(&b, 0), -EMSGSIZE);
	assert_int_equal(b.cap, BUF_MAX);
	buf_free(&b);
}

static void test_putf_and_compact(void **state)
{
	struct buf b;
	uint8_t v;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_putf(&b, "%s=%d;", "port", 2222), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "port=2222;", 10);
	assert_int_equal(buf_skip(&b, 5), 0);
	buf_compact(&b);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(buf_peek(&b), "2222;", 5);
	assert_memory_equal(b.data + 5, "\0\0\0\0\0", 5); /* stale copy wiped */
	assert_int_equal(buf_get_u8(&b, &v), 0);
	assert_int_equal(v, '2');
	buf_reset(&b);
	assert_int_equal(buf_avail(&b), 0);
	assert_memory_equal(b.data, "\0\0\0\0\0", 5); /* reset wipes too */
	assert_non_null(buf_peek(&b));
	buf_free(&b);
	assert_non_null(buf_peek(&b)); /* even without memory */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_big_endian),
	    cmocka_unit_test(test_short_reads_fail),
	    cmocka_unit_test(test_max_string_length),
	    cmocka_unit_test(test_cstr_refuses_nul),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_putf_and_compact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
