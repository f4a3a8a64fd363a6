/* Unit tests for honeytoken: which command lines name a bait file, which
 * events touch one, and the alert they get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "honeytoken.h"

static bool names(const char *cmd, const char *path)
{
	return honeytoken_names(cmd, strlen(cmd), path);
}

static void test_full_and_relative_names(void **state)
{
	const char *env = "/etc/config/app.env";

	assert_true(names("cat /etc/config/app.env", env));
	assert_true(names("cat '/etc/config/app.env' | grep PASS", env));
	assert_true(names("grep -r PASS config/app.env", env));
	assert_true(names("cd /etc/config && cat ./app.env", env));
	assert_true(names("cat ../config/app.env", env));
	assert_true(names("cat /etc/x/../config/app.env", env));
	assert_true(names("cat /etc//config/./app.env", env));
	assert_true(names("cat app.env", env)); /* a bare name with a dot */
	assert_true(names("less<app.env", env));
	assert_true(names("x=$(cat /etc/config/app.env);echo $x", env));
	/* Not this file: another directory, a longer name, a directory of that name. */
	assert_false(names("cat /opt/app.env", env));
	assert_false(names("cat /etc/other/app.env", env));
	assert_false(names("cat /x/etc/config/app.env", env));
	assert_false(names("cat /etc/config/app.env.bak", env));
	assert_false(names("cat /etc/config/myapp.env", env));
	assert_false(names("ls /etc/config/app.env/", env));
	assert_false(names("cat /etc/config/x/../app.envy", env));
	assert_false(names("ls /etc/config", env));
	assert_false(names("", env));
}

static void test_home_and_plain_words(void **state)
{
	const char *ssh = "/root/.ssh/config";
	const char *hist = "/home/admin/.bash_history";

	assert_true(names("cat ~/.ssh/config", ssh));
	assert_true(names("cat /root/.ssh/config", ssh));
	assert_true(names("cat .ssh/config", ssh));
	assert_false(names("git config --list", ssh)); /* "config" alone is a word */
	assert_false(names("cat ~admin/.ssh/config", ssh));
	assert_false(names("cat /etc/ssh/ssh_config", ssh));
	assert_true(names("cat ~admin/.bash_history", hist));
	assert_true(names("cat .bash_history", hist));
	assert_false(names("cat ~/.bash_history", hist)); /* root's, not admin's */
	assert_false(names("cat ~bob/.bash_history", hist));
	assert_false(names("cat /root/.bash_history", hist));
	/* Bytes that are not text, and paths that are not files. */
	assert_false(honeytoken_names("cat \0/etc", 9, "/etc/"));
	assert_false(names("cat /", "/"));
	assert_false(names("anything", "nopath"));
}

static struct strlist bait(void)
{
	static char *items[] = {"/etc/config/app.env", "/root/.ssh/config", NULL};
	return (struct strlist){.items = items, .n = 2};
}

static json_t *ev(const char *type, const char *key, const char *value)
{
	return json_pack("{s:s, s:s}", "event", type, key, value);
}

static void assert_alert(json_t *e, size_t n, const char *first)
{
	json_t *a = json_object_get(e, "alert");

	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "type")), "bait_file");
	assert_int_equal(json_array_size(json_object_get(a, "paths")), n);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "paths"), 0)),
	                    first);
}

static void test_events_marked(void **state)
{
	struct strlist b = bait();
	json_t *e;

	e = ev("command.input", "command", "cat /etc/config/app.env ~/.ssh/config");
	assert_int_equal(honeytoken_mark(&b, e), 2);
	assert_alert(e, 2, "/etc/config/app.env");
	json_decref(e);

	/* SFTP paths relative to the home directory, and rename's second path. */
	e = ev("file.transfer", "path", ".ssh/config");
	assert_int_equal(honeytoken_mark(&b, e), 1);
	assert_alert(e, 1, "/root/.ssh/config");
	json_decref(e);
	e = json_pack("{s:s, s:s, s:s}", "event", "file.operation", "path", "/tmp/x", "path2",
	              "/etc/config/../config/app.env");
	assert_int_equal(honeytoken_mark(&b, e), 1);
	json_decref(e);
	e = ev("file.changed", "path", "/etc/config/app.env");
	assert_int_equal(honeytoken_mark(&b, e), 1);
	json_decref(e);
	e = ev("file.deleted", "path", "/../etc/config/app.env");
	assert_int_equal(honeytoken_mark(&b, e), 1);
	json_decref(e);
}

static void test_events_left_alone(void **state)
{
	struct strlist b = bait(), none = {0};
	json_t *e;

	e = ev("command.input", "command", "uname -a");
	assert_int_equal(honeytoken_mark(&b, e), 0);
	assert_null(json_object_get(e, "alert"));
	json_decref(e);
	/* A path field of an event that names no container file. */
	e = ev("session.shell", "command", "cat /etc/config/app.env");
	assert_int_equal(honeytoken_mark(&b, e), 0);
	json_decref(e);
	e = ev("file.created", "path", "/etc/config/app.env.new");
	assert_int_equal(honeytoken_mark(&b, e), 0);
	json_decref(e);
	e = ev("command.input", "command", "cat /etc/config/app.env");
	assert_int_equal(honeytoken_mark(&none, e), 0);
	assert_int_equal(honeytoken_mark(NULL, e), 0);
	json_decref(e);
	e = json_pack("{s:s, s:i}", "event", "file.changed", "path", 3);
	assert_int_equal(honeytoken_mark(&b, e), 0);
	json_decref(e);
	e = json_object();
	assert_int_equal(honeytoken_mark(&b, e), 0);
	json_decref(e);

	json_t *a = honeytoken_login_alert();
	assert_string_equal(json_string_value(json_object_get(a, "type")), "honeytoken_login");
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_and_relative_names),
	    cmocka_unit_test(test_home_and_plain_words),
	    cmocka_unit_test(test_events_marked),
	    cmocka_unit_test(test_events_left_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
