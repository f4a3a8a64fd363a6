/* Unit tests for tar_read: single-file archives as Docker's archive endpoint
 * returns them, and the damaged or foreign ones it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tar_read.h"

static uint8_t archive[TAR_BLOCK * 4];

static void set_checksum(uint8_t *h)
{
	/* Six octal digits, NUL, space: what GNU tar writes. */
	snprintf((char *)h + 148, 8, "%06o", (unsigned)tar_header_sum(h));
	h[155] = ' ';
}

/* A ustar header for a regular file of `len` bytes followed by its data. */
static size_t make(const char *contents, size_t len, char type)
{
	memset(archive, 0, sizeof(archive));
	strcpy((char *)archive, "A1B2C3");
	memcpy(archive + 100, "0000600", 8);
	snprintf((char *)archive + 124, 12, "%011zo", len);
	archive[156] = (uint8_t)type;
	memcpy(archive + 257, "ustar", 6);
	memcpy(archive + 263, "00", 2);
	set_checksum(archive);
	memcpy(archive + TAR_BLOCK, contents, len);
	return sizeof(archive);
}

static void test_regular_file(void **state)
{
	const uint8_t *d = NULL;
	size_t n = 0, total = make("signal 9\n", 9, '0');

	assert_int_equal(tar_first_file(archive, total, &d, &n), 0);
	assert_int_equal(n, 9);
	assert_memory_equal(d, "signal 9\n", 9);

	total = make("", 0, '\0'); /* old-style type flag, empty file */
	assert_int_equal(tar_first_file(archive, total, &d, &n), 0);
	assert_int_equal(n, 0);
}

static void test_refused(void **state)
{
	const uint8_t *d;
	size_t n, total;

	total = make("x", 1, '2'); /* a symlink */
	assert_int_equal(tar_first_file(archive, total, &d, &n), -1);
	total = make("x", 1, '5'); /* a directory */
	assert_int_equal(tar_first_file(archive, total, &d, &n), -1);

	total = make("signal 9\n", 9, '0');
	archive[0] ^= 1; /* checksum no longer matches */
	assert_int_equal(tar_first_file(archive, total, &d, &n), -1);

	make("x", 1, '0');
	assert_int_equal(tar_first_file(archive, TAR_BLOCK - 1, &d, &n), -1); /* short header */
	assert_int_equal(tar_first_file(archive, TAR_BLOCK, &d, &n), -1);     /* data missing */
	assert_int_equal(tar_first_file(NULL, 0, &d, &n), -1);

	/* A size bigger than what arrived, or not octal. */
	make("x", 1, '0');
	snprintf((char *)archive + 124, 12, "%011o", 4000);
	set_checksum(archive);
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);
	make("x", 1, '0');
	memcpy(archive + 124, "0000000009x", 11);
	set_checksum(archive);
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);
	make("x", 1, '0');
	archive[124] = 0x80; /* base-256 size */
	set_checksum(archive);
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);

	memset(archive, 0, sizeof(archive)); /* the end-of-archive blocks alone */
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regular_file),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
