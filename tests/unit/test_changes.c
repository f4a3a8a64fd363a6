/* Unit tests for changes: Docker's changes list -> the plan of what to
 * collect: the leaf paths (Hermes's own accounting files included), names
 * that were not UTF-8, and a cap that keeps what matters and counts what
 * it drops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "changes.h"

#define FFFD "\xef\xbf\xbd"

static void plan(const char *json, size_t max, struct change_list *l)
{
	json_t *j = json_loads(json, 0, NULL);

	assert_non_null(j);
	assert_int_equal(changes_plan(j, max, l), 0);
	json_decref(j);
}

static void plan_json(json_t *j, size_t max, struct change_list *l)
{
	assert_int_equal(changes_plan(j, max, l), 0);
	json_decref(j);
}

static void add(json_t *list, const char *path, int kind)
{
	json_array_append_new(list, json_pack("{s:s, s:i}", "Path", path, "Kind", kind));
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every planned path (deleted ones and every group's entries), sorted. */
static size_t planned(const struct change_list *l, const char **out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n_deleted && n < cap; i++)
		out[n++] = l->deleted[i].path;
	for (size_t g = 0; g < l->n_groups; g++)
		for (size_t i = 0; i < l->groups[g].n && n < cap; i++)
			out[n++] = l->groups[g].items[i].path;
	qsort(out, n, sizeof(*out), by_str);
	return n;
}

static const struct change_group *group(const struct change_list *l, const char *dir)
{
	for (size_t g = 0; g < l->n_groups; g++)
		if (strcmp(l->groups[g].dir, dir) == 0)
			return &l->groups[g];
	return NULL;
}

static void test_leaves_only(void **state)
{
	struct change_list l;
	const char *got[32];

	plan("[{\"Path\":\"/root\",\"Kind\":0},{\"Path\":\"/root/.bash_history\",\"Kind\":1},"
	     "{\"Path\":\"/root/x\",\"Kind\":1},{\"Path\":\"/root/x/bot.sh\",\"Kind\":1},"
	     "{\"Path\":\"/root-x\",\"Kind\":1},{\"Path\":\"/etc\",\"Kind\":0},"
	     "{\"Path\":\"/etc/passwd\",\"Kind\":0},{\"Path\":\"/var/log\",\"Kind\":0},"
	     "{\"Path\":\"/var/log/wtmp\",\"Kind\":0},{\"Path\":\"/run\",\"Kind\":0},"
	     "{\"Path\":\"/run/sshd\",\"Kind\":0},{\"Path\":\"/run/sshd/0123abcd\",\"Kind\":1},"
	     "{\"Path\":\"/run/utmp\",\"Kind\":1},{\"Path\":\"/usr/bin/wget\",\"Kind\":2},"
	     "{\"Path\":\"/root/x/bot.sh\",\"Kind\":1}]",
	     100, &l);
	/* Hermes's own accounting files are collected like any other: root
	 * in the box can write there too (/run/sshd/ was a place to hide). */
	const char *want[] = {
	    "/etc/passwd",        "/root-x",   "/root/.bash_history", "/root/x/bot.sh",
	    "/run/sshd/0123abcd", "/run/utmp", "/usr/bin/wget",       "/var/log/wtmp"};
	assert_int_equal(planned(&l, got, 32), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(got[i], want[i]);
	assert_int_equal(l.n_deleted, 1);
	assert_string_equal(l.deleted[0].path, "/usr/bin/wget");
	assert_int_equal(l.deleted[0].kind, CHANGE_DELETED);
	const struct change_group *g = group(&l, "/etc");
	assert_non_null(g);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->items[0].kind, CHANGE_MODIFIED);
	assert_false(g->batch); /* one file: its own archive */
	assert_int_equal(group(&l, "/root/x")->items[0].kind, CHANGE_ADDED);
	assert_int_equal(l.dropped.total, 0);
	assert_int_equal(l.malformed, 0);
	changes_free(&l);
}

/* Two leaves of one directory already cost one archive, not two. */
static void test_batch_from_two(void **state)
{
	struct change_list l;

	(void)state;
	plan("[{\"Path\":\"/etc/ssh\",\"Kind\":0},{\"Path\":\"/etc/ssh/a_key\",\"Kind\":1},"
	     "{\"Path\":\"/etc/ssh/a_key.pub\",\"Kind\":1},{\"Path\":\"/etc/machine-id\","
	     "\"Kind\":0}]",
	     100, &l);
	const struct change_group *ssh = group(&l, "/etc/ssh"), *etc = group(&l, "/etc");
	assert_non_null(ssh);
	assert_non_null(etc);
	assert_int_equal(ssh->n, 2);
	assert_true(ssh->batch);
	assert_int_equal(etc->n, 1);
	assert_false(etc->batch);
	changes_free(&l);
}

static void test_deleted_tree_kept_whole(void **state)
{
	struct change_list l;

	plan("[{\"Path\":\"/opt/app\",\"Kind\":2},{\"Path\":\"/opt/app/a\",\"Kind\":2}]", 10, &l);
	assert_int_equal(l.n_deleted, 2);
	assert_int_equal(l.n_groups, 0);
	changes_free(&l);
}

static void test_engine_files(void **state)
{
	struct change_list l;
	const char *got[8];

	/* What the engine (or hermes-runtime) put at these three is read back
	 * from the engine's copy, not the box: not planned. Their directory
	 * stays a parent, not a leaf; a deletion is kept. */
	plan(
	    "[{\"Path\":\"/etc\",\"Kind\":0},{\"Path\":\"/etc/hostname\",\"Kind\":0},"
	    "{\"Path\":\"/etc/hosts\",\"Kind\":1},{\"Path\":\"/etc/resolv.conf\",\"Kind\":2},"
	    "{\"Path\":\"/etc/hosts.allow\",\"Kind\":1},{\"Path\":\"/root/etc/hosts\",\"Kind\":1}]",
	    10, &l);
	assert_int_equal(planned(&l, got, 8), 3);
	assert_string_equal(got[0], "/etc/hosts.allow");
	assert_string_equal(got[1], "/etc/resolv.conf");
	assert_string_equal(got[2], "/root/etc/hosts");
	assert_int_equal(l.n_deleted, 1);
	assert_null(group(&l, "/"));
	changes_free(&l);
}

static void test_bad_entries_and_cap(void **state)
{
	struct change_list l;

	plan("[{\"Path\":\"relative\",\"Kind\":1},{\"Path\":\"/a/../etc/shadow\",\"Kind\":1},"
	     "{\"Path\":\"/b/..\",\"Kind\":1},{\"Path\":\"/c\",\"Kind\":7},{\"Path\":3,\"Kind\":1},"
	     "{\"Kind\":1},\"x\",{\"Path\":\"/d\",\"Kind\":\"1\"},{\"Path\":\"/ok1\",\"Kind\":1},"
	     "{\"Path\":\"/ok2\",\"Kind\":1},{\"Path\":\"/ok3\",\"Kind\":1}]",
	     2, &l);
	assert_int_equal(l.malformed, 8);
	/* The cap cuts through "/": all three are planned, two to take;
	 * "/" itself is never read whole, so the two its paths chose. */
	assert_int_equal(l.n_groups, 1);
	assert_string_equal(l.groups[0].dir, "/");
	assert_int_equal(l.groups[0].n, 3);
	assert_int_equal(l.groups[0].quota, 2);
	assert_false(l.groups[0].batch);
	assert_true(l.groups[0].items[0].kept && l.groups[0].items[1].kept);
	assert_false(l.groups[0].items[2].kept);
	assert_int_equal(l.dropped.total, 0); /* the group's cut is counted when made */
	changes_free(&l);

	plan("[]", 10, &l);
	assert_int_equal(l.n_groups + l.n_deleted, 0);
	changes_free(&l);
	json_t *o = json_object();
	assert_int_equal(changes_plan(o, 10, &l), -1);
	json_decref(o);
}

/* A path listed twice is collected once and is no directory of itself; the
 * root was the exception (found by fuzz_changes): one of two "/" counted as
 * the other's directory. "/" is a directory of any other path. */
static void test_same_path_twice(void **state)
{
	struct change_list l;

	const char *p[8];

	plan("[{\"Path\":\"/a\",\"Kind\":1},{\"Path\":\"/a\",\"Kind\":1}]", 10, &l);
	assert_int_equal(planned(&l, p, 8), 1);
	changes_free(&l);
	plan("[{\"Path\":\"/\",\"Kind\":1},{\"Path\":\"/\",\"Kind\":1}]", 10, &l);
	assert_int_equal(planned(&l, p, 8), 1);
	assert_string_equal(p[0], "/");
	changes_free(&l);
	plan("[{\"Path\":\"/\",\"Kind\":0},{\"Path\":\"/\",\"Kind\":0},"
	     "{\"Path\":\"/x\",\"Kind\":1}]",
	     10, &l);
	assert_int_equal(planned(&l, p, 8), 1);
	assert_string_equal(p[0], "/x");
	changes_free(&l);
}

/* 5000 files in one directory do not push out one file elsewhere; where
 * the cap cuts, directories share it. */
static void test_cap_prefers_what_matters(void **state)
{
	struct change_list l;
	json_t *j = json_array();
	char path[64];

	add(j, "/0", 1);
	for (int i = 0; i < 5000; i++) {
		snprintf(path, sizeof(path), "/0/%d", i);
		add(j, path, 1);
	}
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "/1/%d", i);
		add(j, path, 1);
	}
	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "/usr/share/doc/p%d", i);
		add(j, path, 2);
	}
	add(j, "/root", 0);
	add(j, "/root/real.sh", 1);
	add(j, "/usr/bin/wget", 2);
	plan_json(j, 100, &l);

	const struct change_group *root = group(&l, "/root");
	assert_non_null(root);
	assert_int_equal(root->quota, 1);
	assert_string_equal(root->items[0].path, "/root/real.sh");
	/* The most telling first: the script, then the deleted program. */
	assert_string_equal(l.groups[0].dir, "/root");
	assert_string_equal(l.deleted[0].path, "/usr/bin/wget");
	const struct change_group *g0 = group(&l, "/0"), *g1 = group(&l, "/1");
	assert_non_null(g0);
	assert_non_null(g1);
	assert_int_equal(g0->n, 5000);
	assert_int_equal(g1->n, 3000);
	/* 100 places: real.sh, wget, then rank by rank across /0, /1 and
	 * /usr/share/doc: 32 whole ranks and two of the 33rd. */
	assert_int_equal(g0->quota, 33);
	assert_int_equal(g1->quota, 33);
	assert_int_equal(l.n_deleted, 1 + 32);
	assert_true(g0->batch && g1->batch);
	/* Deletions over the cap are counted at once, not one event each. */
	assert_int_equal(l.dropped.total, 168);
	assert_int_equal(l.dropped.kind[CHANGE_DELETED], 168);
	json_t *d = changes_dropped_json(&l.dropped);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "deleted")), 168);
	assert_int_equal(json_array_size(json_object_get(d, "sample")), CHANGES_SAMPLE);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(d, "dirs"), "/usr/share/doc")), 168);
	json_decref(d);
	changes_free(&l);
}

static void test_dropped_counts(void **state)
{
	struct change_list l;
	char path[64];

	memset(&l, 0, sizeof(l));
	assert_null(changes_dropped_json(&l.dropped));
	for (int i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/d%d/f", i);
		changes_drop(&l.dropped, path, CHANGE_ADDED);
	}
	for (int i = 0; i < 50; i++)
		changes_drop(&l.dropped, "/big/f", CHANGE_MODIFIED);
	changes_drop(&l.dropped, "/top", CHANGE_ADDED);
	json_t *d = changes_dropped_json(&l.dropped);
	assert_int_equal(json_integer_value(json_object_get(d, "created")), 101);
	assert_int_equal(json_integer_value(json_object_get(d, "changed")), 50);
	json_t *dirs = json_object_get(d, "dirs");
	assert_int_equal(json_object_size(dirs), CHANGES_DIRS);
	/* Counted apart: the first CHANGES_DIR_SLOTS directories; /big came
	 * after, so it is among the others (36 + 50 + "/" 1), with the slots
	 * not named (64 - 10). */
	assert_null(json_object_get(dirs, "/big"));
	assert_int_equal(json_integer_value(json_object_get(dirs, "/d0")), 1);
	assert_int_equal(json_integer_value(json_object_get(d, "dirs_other")), 36 + 50 + 1 + 54);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "sample"), 0)),
	                    "/d0/f");
	json_decref(d);
	changes_free(&l);
}

static void test_lossy_names(void **state)
{
	struct change_list l;

	/* What Docker wrote for /root/a\xffb, /root/d\xfe/in.sh, /\xfftop. */
	plan("[{\"Path\":\"/root\",\"Kind\":0},{\"Path\":\"/root/a\\ufffdb\",\"Kind\":1},"
	     "{\"Path\":\"/root/d\\ufffd\",\"Kind\":1},{\"Path\":\"/root/d\\ufffd/in.sh\","
	     "\"Kind\":1},{\"Path\":\"/root/real.sh\",\"Kind\":1},{\"Path\":\"/\\ufffdtop\","
	     "\"Kind\":1},{\"Path\":\"/gone\\ufffd\",\"Kind\":2}]",
	     100, &l);
	const struct change_group *root = group(&l, "/root");
	assert_non_null(root);
	/* One archive of /root holds the real bytes of both. */
	assert_true(root->batch);
	assert_int_equal(root->n, 3);
	assert_string_equal(root->items[0].path, "/root/a" FFFD "b");
	assert_true(root->items[0].lossy);
	assert_string_equal(root->items[1].path, "/root/d" FFFD "/in.sh");
	assert_true(root->items[1].lossy);
	assert_false(root->items[2].lossy);
	/* Directly under /: no intact directory to read. */
	const struct change_group *top = group(&l, "/");
	assert_non_null(top);
	assert_false(top->batch);
	assert_true(top->items[0].lossy);
	assert_int_equal(l.n_deleted, 1);
	assert_true(l.deleted[0].lossy);
	changes_free(&l);
}

static void test_class(void **state)
{
	assert_int_equal(changes_class("/root/real.sh"), 0);
	assert_int_equal(changes_class("/tmp/x.PY"), 0);
	assert_int_equal(changes_class("/usr/local/bin/kworker"), 0);
	assert_int_equal(changes_class("/root/.ssh/authorized_keys"), 0);
	assert_int_equal(changes_class("/etc/cron.d/job"), 0);
	assert_int_equal(changes_class("/etc/ld.so.preload"), 0);
	assert_int_equal(changes_class("/home/u/.bashrc"), 0);
	assert_int_equal(changes_class("/root/bin"), 1); /* a file named bin */
	assert_int_equal(changes_class("/root/.sh"), 1); /* a dot file, no extension */
	assert_int_equal(changes_class("/root/notes.txt"), 1);
	assert_int_equal(changes_class("/run/sshd/0123abcd"), 1);
	assert_int_equal(changes_class("/etc/motd"), 1);
	assert_int_equal(changes_class("/0/17"), 2);
	assert_int_equal(changes_class("/usr/share/doc/x"), 2);
}

static void test_docker_name(void **state)
{
	static const struct {
		const char *raw;
		size_t len;
		const char *want;
	} cases[] = {
	    {"/root/a\xff"
	     "b",
	     9, "/root/a" FFFD "b"},
	    {"/x\xe2\x82", 4, "/x" FFFD FFFD}, /* a cut sequence: one per byte, as Go */
	    {"/\xe2\x82\xac", 4, "/\xe2\x82\xac"},
	    {"/ok", 3, "/ok"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = changes_docker_name(cases[i].raw, cases[i].len);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

static void test_candidates(void **state)
{
	static const uint8_t script[] = "#!/bin/sh\necho\n", elf[] = "\x7f"
	                                                             "ELF....";
	struct tar_entry e = {
	    .type = '0', .mode = 0644, .data = (const uint8_t *)"junk", .size = 4};
	struct change_candidate c[7];

	changes_candidate(&c[0], &e, 0, 0); /* plain, old, small */
	e.mtime = 200;
	changes_candidate(&c[1], &e, 512, 1); /* plain, recent */
	e.size = 3;
	changes_candidate(&c[2], &e, 1024, 2); /* plain, recent, smaller */
	e.mtime = 0;
	e.mode = 0755;
	changes_candidate(&c[3], &e, 1536, 3); /* an x bit */
	e.mode = 0644;
	e.data = script;
	e.size = sizeof(script) - 1;
	changes_candidate(&c[4], &e, 2048, 4); /* "#!" without an x bit */
	e.data = elf;
	e.size = 8;
	changes_candidate(&c[5], &e, 2560, 5); /* an ELF header */
	e.type = '5';
	e.mode = 0755;
	e.mtime = 300;
	changes_candidate(&c[6], &e, 3072, 6); /* a directory: never runnable */
	changes_sort_candidates(c, 7);
	const size_t want[] = {3, 5, 4, 6, 2, 1, 0};
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(c[i].item, want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leaves_only),
	    cmocka_unit_test(test_engine_files),
	    cmocka_unit_test(test_batch_from_two),
	    cmocka_unit_test(test_deleted_tree_kept_whole),
	    cmocka_unit_test(test_bad_entries_and_cap),
	    cmocka_unit_test(test_same_path_twice),
	    cmocka_unit_test(test_cap_prefers_what_matters),
	    cmocka_unit_test(test_dropped_counts),
	    cmocka_unit_test(test_lossy_names),
	    cmocka_unit_test(test_class),
	    cmocka_unit_test(test_docker_name),
	    cmocka_unit_test(test_candidates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
