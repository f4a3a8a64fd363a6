/* Unit tests for huge_text: which two-mebibyte chunks of a process's maps
 * may move onto huge pages, and the move itself in this process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "huge_text.h"

/* libcrypto as the kernel places it (a file of over 2 MiB mapped on a
 * 2 MiB boundary), between a small library and its own data. */
static const char crypto_maps[] =
    "55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1001 /usr/bin/hermes-worker\n"
    "55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:01 1001 /usr/bin/hermes-worker\n"
    "7f0000400000-7f00004c5000 r--p 00000000 fe:01 2002 /usr/lib/libcrypto.so.3\n"
    "7f00004c5000-7f0000742000 r-xp 000c5000 fe:01 2002 /usr/lib/libcrypto.so.3\n"
    "7f0000742000-7f0000820000 r--p 00342000 fe:01 2002 /usr/lib/libcrypto.so.3\n"
    "7f0000820000-7f0000882000 r--p 0041f000 fe:01 2002 /usr/lib/libcrypto.so.3\n"
    "7f0000882000-7f0000885000 rw-p 00481000 fe:01 2002 /usr/lib/libcrypto.so.3\n"
    "7f0000885000-7f0000888000 rw-p 00000000 00:00 0 \n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n";

static void test_library_chunks(void **state)
{
	(void)state;
	struct huge_text_chunk c[HUGE_TEXT_MAX];

	assert_int_equal(huge_text_plan(crypto_maps, c, HUGE_TEXT_MAX), 2);
	assert_int_equal(c[0].start, 0x7f0000400000);
	assert_int_equal(c[0].prot, PROT_READ | PROT_EXEC);
	/* The text ends at ...742000, inside the second chunk. */
	assert_int_equal(c[1].start, 0x7f0000600000);
	assert_int_equal(c[1].prot, PROT_READ | PROT_EXEC);
	/* Room for one only. */
	assert_int_equal(huge_text_plan(crypto_maps, c, 1), 1);
	assert_int_equal(c[0].start, 0x7f0000400000);
}

static void test_what_is_never_planned(void **state)
{
	(void)state;
	struct huge_text_chunk c[HUGE_TEXT_MAX];
	static const char *const none[] = {
	    /* writable */
	    "7f0000400000-7f0000800000 rw-p 00000000 fe:01 2002 /usr/lib/a.so\n",
	    /* shared */
	    "7f0000400000-7f0000800000 r-xs 00000000 fe:01 2002 /usr/lib/a.so\n",
	    /* anonymous */
	    "7f0000400000-7f0000800000 r-xp 00000000 00:00 0 \n",
	    /* unreadable */
	    "7f0000400000-7f0000800000 --xp 00000000 fe:01 2002 /usr/lib/a.so\n",
	    /* two files, side by side */
	    ("7f0000400000-7f0000500000 r-xp 00000000 fe:01 2002 /usr/lib/a.so\n"
	     "7f0000500000-7f0000600000 r-xp 00000000 fe:01 2003 /usr/lib/b.so\n"),
	    /* one file with a gap */
	    ("7f0000400000-7f0000500000 r-xp 00000000 fe:01 2002 /usr/lib/a.so\n"
	     "7f0000501000-7f0000601000 r--p 00100000 fe:01 2002 /usr/lib/a.so\n"),
	    /* one file, same inode on another device */
	    ("7f0000400000-7f0000500000 r-xp 00000000 fe:01 2002 /usr/lib/a.so\n"
	     "7f0000500000-7f0000600000 r--p 00100000 fe:02 2002 /usr/lib/a.so\n"),
	    /* long enough, but not across a boundary */
	    "7f0000401000-7f0000601000 r-xp 00000000 fe:01 2002 /usr/lib/a.so\n",
	    /* a writable page in the middle */
	    ("7f0000400000-7f0000500000 r-xp 00000000 fe:01 2002 /usr/lib/a.so\n"
	     "7f0000500000-7f0000501000 rw-p 00100000 fe:01 2002 /usr/lib/a.so\n"
	     "7f0000501000-7f0000600000 r--p 00101000 fe:01 2002 /usr/lib/a.so\n"),
	    "",
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(huge_text_plan(none[i], c, HUGE_TEXT_MAX), 0);
}

static void test_read_only_chunk_stays_unexecutable(void **state)
{
	(void)state;
	struct huge_text_chunk c[HUGE_TEXT_MAX];
	const char *maps = "7f0000300000-7f0000400000 r-xp 00000000 fe:01 7 /a.so\n"
	                   "7f0000400000-7f0000600000 r--p 00100000 fe:01 7 /a.so\n";

	assert_int_equal(huge_text_plan(maps, c, HUGE_TEXT_MAX), 1);
	assert_int_equal(c[0].start, 0x7f0000400000);
	assert_int_equal(c[0].prot, PROT_READ);
}

static void test_bad_lines(void **state)
{
	(void)state;
	struct huge_text_chunk c[HUGE_TEXT_MAX];
	static const char *const bad[] = {
	    "garbage\n",
	    "7f0000800000-7f0000400000 r-xp 00000000 fe:01 7 /a.so\n", /* backwards */
	    "7f0000400000-7f0000800000 r-xpq 00000000 fe:01 7 /a.so\n",
	    "7f0000400000-7f0000800000 r-xp 00000000 fe:01\n",
	    /* out of order */
	    ("7f0000600000-7f0000800000 r-xp 00000000 fe:01 7 /a.so\n"
	     "7f0000400000-7f0000600000 r-xp 00000000 fe:01 7 /a.so\n"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(huge_text_plan(bad[i], c, HUGE_TEXT_MAX), -1);
	/* A path longer than a line buffer is not read, and does no harm. */
	char longer[2048] = "7f0000400000-7f0000800000 r-xp 00000000 fe:01 7 /";
	memset(longer + strlen(longer), 'a', 1500);
	assert_int_equal(huge_text_plan(longer, c, HUGE_TEXT_MAX), 2);
}

/* SHA-256 of "abc" (FIPS 180-2, B.1), through libcrypto's code. */
static void assert_sha256_works(void)
{
	static const unsigned char want[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
	                                       0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
	                                       0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
	                                       0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	unsigned char md[32];
	unsigned int len = 0;

	assert_int_equal(EVP_Digest("abc", 3, md, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(len, 32);
	assert_memory_equal(md, want, 32);
}

/* The move in this process, which links libcrypto (over 4 MiB): its code
 * still runs from the huge pages, and what moved is not planned again.
 * How many chunks move depends on the kernel (huge pages, where it put
 * the library). */
static void test_apply_keeps_the_code_running(void **state)
{
	(void)state;
	assert_sha256_works();
	int n = huge_text_apply();
	assert_true(n >= 0 && n <= HUGE_TEXT_MAX);
	assert_sha256_works();
	assert_int_equal(huge_text_apply(), 0);
	assert_sha256_works();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_library_chunks),
	    cmocka_unit_test(test_what_is_never_planned),
	    cmocka_unit_test(test_read_only_chunk_stays_unexecutable),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_apply_keeps_the_code_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
