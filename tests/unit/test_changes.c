/* Unit tests for changes: Docker's changes list -> the leaf paths to collect,
 * without the session parent's own files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "changes.h"

static void plan(const char *json, size_t max, struct change_list *l)
{
	json_t *j = json_loads(json, 0, NULL);

	assert_non_null(j);
	assert_int_equal(changes_plan(j, max, l), 0);
	json_decref(j);
}

static void test_leaves_only(void **state)
{
	struct change_list l;

	plan("[{\"Path\":\"/root\",\"Kind\":0},{\"Path\":\"/root/.bash_history\",\"Kind\":1},"
	     "{\"Path\":\"/root/x\",\"Kind\":1},{\"Path\":\"/root/x/bot.sh\",\"Kind\":1},"
	     "{\"Path\":\"/root-x\",\"Kind\":1},{\"Path\":\"/etc\",\"Kind\":0},"
	     "{\"Path\":\"/etc/passwd\",\"Kind\":0},{\"Path\":\"/var/log\",\"Kind\":0},"
	     "{\"Path\":\"/var/log/wtmp\",\"Kind\":0},{\"Path\":\"/run\",\"Kind\":0},"
	     "{\"Path\":\"/run/sshd\",\"Kind\":0},{\"Path\":\"/run/sshd/0123abcd\",\"Kind\":1},"
	     "{\"Path\":\"/run/utmp\",\"Kind\":1},{\"Path\":\"/usr/bin/wget\",\"Kind\":2}]",
	     100, &l);
	/* /var/log and /run stay directories though all under them is noise. */
	const char *want[] = {"/etc/passwd", "/root-x", "/root/.bash_history", "/root/x/bot.sh",
	                      "/usr/bin/wget"};
	assert_int_equal(l.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < l.n; i++)
		assert_string_equal(l.items[i].path, want[i]);
	assert_int_equal(l.items[0].kind, CHANGE_MODIFIED);
	assert_int_equal(l.items[3].kind, CHANGE_ADDED);
	assert_int_equal(l.items[4].kind, CHANGE_DELETED);
	assert_int_equal(l.dropped, 0);
	changes_free(&l);
}

static void test_deleted_tree_kept_whole(void **state)
{
	struct change_list l;

	plan("[{\"Path\":\"/opt/app\",\"Kind\":2},{\"Path\":\"/opt/app/a\",\"Kind\":2}]", 10, &l);
	assert_int_equal(l.n, 2);
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
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].path, "/ok1");
	assert_int_equal(l.dropped, 9); /* 8 malformed, 1 over the cap */
	changes_free(&l);

	plan("[]", 10, &l);
	assert_int_equal(l.n, 0);
	changes_free(&l);
	json_t *o = json_object();
	assert_int_equal(changes_plan(o, 10, &l), -1);
	json_decref(o);
}

/* A path listed twice is kept twice and is no directory of itself; the
 * root was the exception (found by fuzz_changes): one of two "/" counted as
 * the other's directory. "/" is a directory of any other path. */
static void test_same_path_twice(void **state)
{
	struct change_list l;

	plan("[{\"Path\":\"/a\",\"Kind\":1},{\"Path\":\"/a\",\"Kind\":1}]", 10, &l);
	assert_int_equal(l.n, 2);
	changes_free(&l);
	plan("[{\"Path\":\"/\",\"Kind\":1},{\"Path\":\"/\",\"Kind\":1}]", 10, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[1].path, "/");
	changes_free(&l);
	plan("[{\"Path\":\"/\",\"Kind\":0},{\"Path\":\"/\",\"Kind\":0},"
	     "{\"Path\":\"/x\",\"Kind\":1}]",
	     10, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].path, "/x");
	changes_free(&l);
}

static void test_noise(void **state)
{
	assert_true(changes_is_noise("/run/sshd"));
	assert_true(changes_is_noise("/run/sshd/abc"));
	assert_false(changes_is_noise("/run/sshd-evil"));
	assert_true(changes_is_noise("/var/log/wtmp"));
	assert_false(changes_is_noise("/var/log/wtmp.1"));
	assert_false(changes_is_noise("/root/.bash_history"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leaves_only),
	    cmocka_unit_test(test_deleted_tree_kept_whole),
	    cmocka_unit_test(test_bad_entries_and_cap),
	    cmocka_unit_test(test_same_path_twice),
	    cmocka_unit_test(test_noise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
