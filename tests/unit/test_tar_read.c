/* Unit tests for tar_read: archives as Docker's archive endpoint returns
 * them (ustar, PAX and GNU long names, files, directories, links) and the
 * damaged or foreign ones it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tar_read.h"

static uint8_t archive[TAR_BLOCK * 64];
static size_t used;

static void set_checksum(uint8_t *h)
{
	/* Six octal digits, NUL, space: what GNU tar writes. */
	snprintf((char *)h + 148, 8, "%06o", (unsigned)tar_header_sum(h));
	h[155] = ' ';
}

/* Appends one entry: a header then its contents, padded to a block. */
static uint8_t *add(char type, const char *name, const char *contents, size_t len)
{
	uint8_t *h = archive + used;

	memset(h, 0, TAR_BLOCK);
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
	memcpy(h + 100, "0000644", 8);
	snprintf((char *)h + 124, 12, "%011zo", len);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	set_checksum(h);
	memcpy(h + TAR_BLOCK, contents, len);
	used += TAR_BLOCK + (len + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
	return h;
}

static void reset(void)
{
	memset(archive, 0, sizeof(archive));
	used = 0;
}

static void test_regular_file(void **state)
{
	const uint8_t *d = NULL;
	size_t n = 0;

	reset();
	add('0', "A1B2C3", "signal 9\n", 9);
	assert_int_equal(tar_first_file(archive, used + 1024, &d, &n), 0);
	assert_int_equal(n, 9);
	assert_memory_equal(d, "signal 9\n", 9);

	reset();
	add('\0', "old", "", 0); /* old-style type flag, empty file */
	assert_int_equal(tar_first_file(archive, used, &d, &n), 0);
	assert_int_equal(n, 0);
}

static void test_walk(void **state)
{
	struct tar_entry e;
	size_t off = 0;
	uint8_t *h;

	reset();
	add('5', "tmp/", "", 0);
	h = add('0', "tmp/payload.sh", "#!/bin/sh\n", 10);
	memcpy(h + 100, "0000755", 8);
	set_checksum(h);
	h = add('2', "tmp/link", "", 0);
	memcpy(h + 157, "/etc/passwd", 11);
	set_checksum(h);

	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 1);
	assert_int_equal(e.type, '5');
	assert_string_equal(e.name, "tmp/");
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 1);
	assert_int_equal(e.type, '0');
	assert_string_equal(e.name, "tmp/payload.sh");
	assert_int_equal(e.mode, 0755);
	assert_int_equal(e.size, 10);
	assert_memory_equal(e.data, "#!/bin/sh\n", 10);
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 1);
	assert_int_equal(e.type, '2');
	assert_string_equal(e.link, "/etc/passwd");
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 0); /* zero block */
	off = used;
	assert_int_equal(tar_next(archive, used, &off, &e), 0); /* no bytes left */
}

static void test_long_names(void **state)
{
	char longname[300], record[400];
	struct tar_entry e;
	size_t off = 0;

	memset(longname, 'd', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';

	/* PAX: "LEN path=VALUE\n", LEN counting the whole record. */
	reset();
	int body = snprintf(record, sizeof(record), " path=%s\n", longname);
	int len = body + 3; /* three digits */
	snprintf(record, sizeof(record), "%d path=%s\n", len, longname);
	add('x', "PaxHeaders/x", record, (size_t)len);
	add('0', "truncated-name", "x", 1);
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 1);
	assert_string_equal(e.name, longname);
	assert_int_equal(e.size, 1);

	/* GNU: an 'L' entry holds the next entry's name. */
	reset();
	off = 0;
	add('L', "././@LongLink", longname, strlen(longname) + 1);
	add('0', "truncated-name", "y", 1);
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 1);
	assert_string_equal(e.name, longname);

	/* ustar prefix + name */
	reset();
	off = 0;
	uint8_t *h = add('0', "file", "z", 1);
	memcpy(h + 345, "var/lib", 7);
	set_checksum(h);
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 1);
	assert_string_equal(e.name, "var/lib/file");

	/* a malformed PAX record */
	reset();
	off = 0;
	add('x', "PaxHeaders/x", "99 path=x\n", 10);
	add('0', "f", "", 0);
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), -1);
}

static void test_mtime(void **state)
{
	struct tar_entry e;
	size_t off = 0;
	uint8_t *h;

	reset();
	h = add('0', "stamped", "x", 1);
	memcpy(h + 136, "15306033260", 12); /* octal seconds, NUL-ended */
	set_checksum(h);
	add('0', "unstamped", "y", 1); /* all NUL: no number */
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 1);
	assert_int_equal(e.mtime, 015306033260);
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 1);
	assert_int_equal(e.mtime, 0);

	/* A PAX time wins over the header's, its fraction dropped. */
	reset();
	off = 0;
	add('x', "PaxHeaders/t", "30 mtime=1733369140.180202629\n", 30);
	h = add('0', "t", "z", 1);
	memcpy(h + 136, "00000000001", 12);
	set_checksum(h);
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), 1);
	assert_int_equal(e.mtime, 1733369140);
}

static void test_refused(void **state)
{
	const uint8_t *d;
	size_t n;

	reset();
	add('2', "link", "", 0);
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);
	reset();
	add('5', "dir/", "", 0);
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);

	reset();
	add('0', "f", "signal 9\n", 9);
	archive[0] ^= 1; /* checksum no longer matches */
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);

	reset();
	add('0', "f", "x", 1);
	assert_int_equal(tar_first_file(archive, TAR_BLOCK - 1, &d, &n), -1); /* short header */
	assert_int_equal(tar_first_file(archive, TAR_BLOCK, &d, &n), -1);     /* data missing */
	assert_int_equal(tar_first_file(NULL, 0, &d, &n), -1);

	/* A size bigger than what arrived, or not octal. */
	reset();
	snprintf((char *)add('0', "f", "x", 1) + 124, 12, "%011o", 40000);
	set_checksum(archive);
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);
	reset();
	memcpy(add('0', "f", "x", 1) + 124, "0000000009x", 11);
	set_checksum(archive);
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);
	reset();
	add('0', "f", "x", 1)[124] = 0x80; /* base-256 size */
	set_checksum(archive);
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);

	/* Too many extended headers in a row. */
	reset();
	for (int i = 0; i < 6; i++)
		add('g', "g", "", 0);
	add('0', "f", "", 0);
	size_t off = 0;
	struct tar_entry e;
	assert_int_equal(tar_next(archive, sizeof(archive), &off, &e), -1);

	reset(); /* the end-of-archive blocks alone */
	assert_int_equal(tar_first_file(archive, sizeof(archive), &d, &n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regular_file), cmocka_unit_test(test_walk),
	    cmocka_unit_test(test_long_names),   cmocka_unit_test(test_mtime),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
