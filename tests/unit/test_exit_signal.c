/* Unit tests for exit_signal: the session parent's report and SSH's
 * signal names. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "exit_signal.h"

static int parse(const char *s, int *sig, bool *core)
{
	return exit_signal_parse(s, strlen(s), sig, core);
}

static void test_reports(void **state)
{
	int sig = 0;
	bool core = true;

	assert_int_equal(parse("signal 9\n", &sig, &core), 0);
	assert_int_equal(sig, 9);
	assert_false(core);
	assert_int_equal(parse("signal 11 core\n", &sig, &core), 0);
	assert_int_equal(sig, 11);
	assert_true(core);
	assert_int_equal(parse("signal 64", &sig, &core), 0);
	assert_int_equal(sig, 64);
}

static void test_refused(void **state)
{
	const char *bad[] = {"",
	                     "signal",
	                     "signal \n",
	                     "signal 0\n",
	                     "signal 65\n",
	                     "signal 09\n",
	                     "signal -1\n",
	                     "signal 9 dumped\n",
	                     "signal 9\n\n",
	                     "Signal 9\n",
	                     "signal 99999999999\n",
	                     "signal 9 core \n",
	                     "exited 0\n"};
	int sig;
	bool core;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &sig, &core), -1);
	assert_int_equal(exit_signal_parse(NULL, 0, &sig, &core), -1);
	/* An embedded NUL is not a number's end. */
	assert_int_equal(exit_signal_parse("signal 9\0x", 10, &sig, &core), -1);
}

static void test_names(void **state)
{
	assert_string_equal(exit_signal_name(SIGKILL), "KILL");
	assert_string_equal(exit_signal_name(SIGTERM), "TERM");
	assert_string_equal(exit_signal_name(SIGSEGV), "SEGV");
	assert_string_equal(exit_signal_name(SIGUSR2), "USR2");
	assert_string_equal(exit_signal_name(SIGCHLD), "SIG@openssh.com");
	assert_string_equal(exit_signal_name(0), "SIG@openssh.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reports),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
