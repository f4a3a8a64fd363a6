/*
 * Unit tests for store: a file is stored once, read-only, by name; what
 * else may sit at its name (a planted symbolic link, a file with other
 * bytes, a FIFO, a directory) is never followed or trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

#define NAME "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const uint8_t data[] = "test";

struct dir {
	char path[512];
	char file[600];
	char other[600]; /* outside the store, what a link points to */
};

static void make_dir(struct dir *d)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;

	snprintf(d->path, sizeof(d->path), "%s/test_store.XXXXXX", tmp);
	assert_non_null(mkdtemp(d->path));
	snprintf(d->file, sizeof(d->file), "%s/%s", d->path, NAME);
	snprintf(d->other, sizeof(d->other), "%s/outside", d->path);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_stored(const struct dir *d)
{
	struct stat st;
	char got[16] = {0};
	FILE *f;

	assert_int_equal(lstat(d->file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0440);
	assert_int_equal(st.st_size, 4);
	assert_non_null(f = fopen(d->file, "r"));
	assert_int_equal(fread(got, 1, sizeof(got), f), 4);
	fclose(f);
	assert_memory_equal(got, "test", 4);
}

/* Nothing is left behind in the store but the file (and outside). */
static void clean(struct dir *d)
{
	unlink(d->file);
	unlink(d->other);
	assert_int_equal(rmdir(d->path), 0);
}

static void test_put_once(void **state)
{
	struct dir d;
	struct stat a, b;
	struct timespec old[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
	bool replaced = true;

	(void)state;
	make_dir(&d);
	assert_int_equal(store_put(d.path, NAME, data, 4, &replaced), 0);
	assert_false(replaced);
	assert_stored(&d);
	assert_int_equal(lstat(d.file, &a), 0);
	/* Stored already: kept (same inode), its time made now. */
	assert_int_equal(utimensat(AT_FDCWD, d.file, old, 0), 0);
	assert_int_equal(store_put(d.path, NAME, data, 4, &replaced), 0);
	assert_false(replaced);
	assert_int_equal(lstat(d.file, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_true(b.st_mtime > 1000000);
	clean(&d);
}

static void test_planted_symlink(void **state)
{
	struct dir d;
	struct stat st;
	bool replaced = false;
	char got[32] = {0};
	FILE *f;

	(void)state;
	make_dir(&d);
	/* A link at the name to a file with the very bytes: still not
	 * trusted (a reader would follow it anywhere). */
	write_file(d.other, "test");
	assert_int_equal(symlink(d.other, d.file), 0);
	assert_int_equal(store_put(d.path, NAME, data, 4, &replaced), 0);
	assert_true(replaced);
	assert_stored(&d);
	/* The link's target was neither written nor its time touched. */
	assert_int_equal(lstat(d.other, &st), 0);
	assert_non_null(f = fopen(d.other, "r"));
	assert_int_equal(fread(got, 1, sizeof(got), f), 4);
	fclose(f);
	unlink(d.file);

	/* A link to a file not there yet: not created through the link. */
	unlink(d.other);
	assert_int_equal(symlink(d.other, d.file), 0);
	assert_int_equal(store_put(d.path, NAME, data, 4, &replaced), 0);
	assert_true(replaced);
	assert_stored(&d);
	assert_int_equal(lstat(d.other, &st), -1);
	clean(&d);
}

static void test_wrong_contents(void **state)
{
	struct dir d;
	bool replaced = false;

	(void)state;
	make_dir(&d);
	write_file(d.file, "tesT"); /* same size, other bytes */
	assert_int_equal(store_put(d.path, NAME, data, 4, &replaced), 0);
	assert_true(replaced);
	assert_stored(&d);
	unlink(d.file);
	write_file(d.file, "te"); /* cut short */
	assert_int_equal(store_put(d.path, NAME, data, 4, &replaced), 0);
	assert_true(replaced);
	assert_stored(&d);
	unlink(d.file);
	/* A FIFO is neither opened (it would block) nor kept. */
	assert_int_equal(mkfifo(d.file, 0600), 0);
	assert_int_equal(store_put(d.path, NAME, data, 4, &replaced), 0);
	assert_true(replaced);
	assert_stored(&d);
	clean(&d);
}

static void test_directory_and_bad_names(void **state)
{
	struct dir d;
	struct stat st;
	bool replaced = false;

	(void)state;
	make_dir(&d);
	assert_int_equal(mkdir(d.file, 0700), 0);
	assert_true(store_put(d.path, NAME, data, 4, &replaced) < 0);
	assert_int_equal(lstat(d.file, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(rmdir(d.file), 0);
	assert_int_equal(store_put(d.path, "../x", data, 4, NULL), -EINVAL);
	assert_int_equal(store_put(d.path, "..", data, 4, NULL), -EINVAL);
	assert_int_equal(store_put(d.path, "", data, 4, NULL), -EINVAL);
	clean(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_once),
	    cmocka_unit_test(test_planted_symlink),
	    cmocka_unit_test(test_wrong_contents),
	    cmocka_unit_test(test_directory_and_bad_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
