/* Unit tests for runtime_files: placing a file in a directory standing in
 * for a box's root, where the box may have put symlinks, directories or
 * files of its own in the way. */
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

#include "runtime_files.h"

struct root {
	char dir[64];
	int fd;
};

static int setup(void **state)
{
	struct root *r = calloc(1, sizeof(*r));
	char etc[96];

	snprintf(r->dir, sizeof(r->dir), "/tmp/hermes-rt-XXXXXX");
	if (mkdtemp(r->dir) == NULL)
		return -1;
	snprintf(etc, sizeof(etc), "%s/etc", r->dir);
	mkdir(etc, 0755);
	r->fd = open(r->dir, O_PATH | O_DIRECTORY);
	*state = r;
	return r->fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct root *r = *state;
	char cmd[128];

	close(r->fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	if (system(cmd) != 0)
		return -1;
	free(r);
	return 0;
}

static void put(struct root *r, const char *rel, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", r->dir, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *get(struct root *r, const char *rel)
{
	static char buf[256];
	char p[128];

	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", r->dir, rel);
	f = fopen(p, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_place_modes(void **state)
{
	struct root *r = *state;

	/* missing: written */
	assert_int_equal(runtime_place(r->fd, "/etc/hostname", "web\n", 4, RT_PLACE_IF_DIFFERENT),
	                 1);
	assert_string_equal(get(r, "etc/hostname"), "web\n");
	/* the same again: nothing to do */
	assert_int_equal(runtime_place(r->fd, "/etc/hostname", "web\n", 4, RT_PLACE_IF_DIFFERENT),
	                 0);
	assert_int_equal(runtime_place(r->fd, "/etc/hostname", "db\n", 3, RT_PLACE_IF_DIFFERENT),
	                 1);
	assert_string_equal(get(r, "etc/hostname"), "db\n");
	/* if-empty keeps a file with content of its own, fills an empty one */
	put(r, "etc/hosts", "mine\n");
	assert_int_equal(runtime_place(r->fd, "/etc/hosts", "x\n", 2, RT_PLACE_IF_EMPTY), 0);
	assert_string_equal(get(r, "etc/hosts"), "mine\n");
	put(r, "etc/resolv.conf", "");
	assert_int_equal(
	    runtime_place(r->fd, "/etc/resolv.conf", "nameserver 1\n", 13, RT_PLACE_IF_EMPTY), 1);
	assert_string_equal(get(r, "etc/resolv.conf"), "nameserver 1\n");
}

static void test_keeps_times(void **state)
{
	struct root *r = *state;
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	char p[128];
	struct stat st;
	int fd;

	put(r, "etc/hostname", "old\n");
	snprintf(p, sizeof(p), "%s/etc/hostname", r->dir);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(futimens(fd, old), 0);
	close(fd);
	assert_int_equal(runtime_place(r->fd, "/etc/hostname", "new\n", 4, RT_PLACE_IF_DIFFERENT),
	                 1);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mode & 07777, 0644);
}

static void test_refuses_links(void **state)
{
	struct root *r = *state;
	char p[640], target[96], etc[96];

	/* A symlink at the file: never followed, never replaced. */
	snprintf(target, sizeof(target), "%s/outside", r->dir);
	put(r, "outside", "host file\n");
	snprintf(p, sizeof(p), "%s/etc/hosts", r->dir);
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(runtime_place(r->fd, "/etc/hosts", "x\n", 2, RT_PLACE_IF_DIFFERENT),
	                 -ELOOP);
	assert_string_equal(get(r, "outside"), "host file\n");
	/* A directory in the way. */
	snprintf(p, sizeof(p), "%s/etc/resolv.conf", r->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(runtime_place(r->fd, "/etc/resolv.conf", "x\n", 2, RT_PLACE_IF_EMPTY),
	                 -EEXIST);
	/* /etc itself a symlink (to the host's /etc, were it followed). */
	snprintf(etc, sizeof(etc), "%s/etc", r->dir);
	snprintf(p, sizeof(p), "rm -rf '%s' && ln -s /etc '%s'", etc, etc);
	assert_int_equal(system(p), 0);
	assert_int_equal(runtime_place(r->fd, "/etc/hostname", "x\n", 2, RT_PLACE_IF_DIFFERENT),
	                 -ELOOP);
	/* A planted temporary name is replaced, not followed. */
	snprintf(p, sizeof(p), "rm '%s' && mkdir '%s' && ln -s '%s' '%s/.hostname.hermes-runtime'",
	         etc, etc, target, etc);
	assert_int_equal(system(p), 0);
	assert_int_equal(runtime_place(r->fd, "/etc/hostname", "x\n", 2, RT_PLACE_IF_DIFFERENT), 1);
	assert_string_equal(get(r, "etc/hostname"), "x\n");
	assert_string_equal(get(r, "outside"), "host file\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_place_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keeps_times, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_links, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
