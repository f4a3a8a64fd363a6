/* Unit tests for scp_cmd: the commands scp clients send, and what is not one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "scp_cmd.h"

static void expect(const char *cmd, int want, bool upload, const char *path)
{
	bool up = !upload;
	char *p = NULL;

	assert_int_equal(scp_cmd_parse(cmd, &up, &p), want);
	if (want == 1) {
		assert_true(up == upload);
		assert_string_equal(p, path);
	} else {
		assert_null(p);
	}
	free(p);
}

static void test_sink_and_source(void **state)
{
	expect("scp -t /root/x.bin", 1, true, "/root/x.bin");
	expect("scp -f /etc/hostname", 1, false, "/etc/hostname");
	expect("scp -v -p -t -- /tmp/a", 1, true, "/tmp/a");
	expect("scp -r -d -t /root/dir", 1, true, "/root/dir");
	expect("scp -pt /tmp/b", 1, true, "/tmp/b");
	expect("/usr/bin/scp -f /x", 1, false, "/x");
}

static void test_quoted_paths(void **state)
{
	expect("scp -t '/root/my file'", 1, true, "/root/my file");
	expect("scp -t \"/root/a \\\"b\\\"\"", 1, true, "/root/a \"b\"");
	expect("scp -f /root/odd\\ name", 1, false, "/root/odd name");
}

static void test_not_scp(void **state)
{
	expect("uname -a", 0, false, NULL);
	expect("scp", 0, false, NULL);
	expect("scp -t", 0, false, NULL);
	expect("scp /a /b", 0, false, NULL);    /* a client, not the remote half */
	expect("scp -t /a /b", 0, false, NULL); /* two paths: not what clients send */
	expect("scp -t '/unterminated", 0, false, NULL);
	expect("scpx -t /a", 0, false, NULL);
	expect("echo scp -t /a", 0, false, NULL);
	expect("", 0, false, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sink_and_source),
	    cmocka_unit_test(test_quoted_paths),
	    cmocka_unit_test(test_not_scp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
