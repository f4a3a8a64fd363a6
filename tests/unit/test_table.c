/* Unit tests for table: terminal-safe cells and aligned columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table.h"

static void check_cell(json_t *v, size_t max, const char *want)
{
	char *s = table_cell(v, max);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
	json_decref(v);
}

static void test_cells(void **state)
{
	check_cell(json_string("root"), 0, "root");
	/* An escape sequence never reaches the terminal; nor does a C1 CSI. */
	check_cell(json_string("a\x1b[2Jb"), 0, "a\\x1b[2Jb");
	check_cell(json_string("x\xc2\x9b"
	                       "31my\x7f"),
	           0, "x\\x9b31my\\x7f");
	check_cell(json_string("tab\there\n"), 0, "tab\\x09here\\x0a");
	/* Cut to 8 code points with the dots; UTF-8 counted as one each. */
	check_cell(json_string("0123456789"), 8, "01234...");
	check_cell(json_string("01234567"), 8, "01234567");
	check_cell(json_string("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), 4, "\xc3\xa9...");
	check_cell(json_integer(-42), 0, "-42");
	check_cell(json_real(1.25), 0, "1.2");
	check_cell(json_true(), 0, "yes");
	check_cell(json_null(), 0, "-");
	assert_int_equal(table_width("\xc3\xa9t\xc3\xa9"), 3);
}

static void test_print(void **state)
{
	json_t *rows =
	    json_loads("[{\"ip\":\"10.0.0.1\",\"n\":3},{\"ip\":\"1.2.3.4\",\"n\":120}]", 0, NULL);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(rows);
	assert_int_equal(table_print(f, rows, 0), 0);
	fclose(f);
	assert_string_equal(out, "IP        N\n10.0.0.1  3\n1.2.3.4   120\n");
	free(out);
	json_decref(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cells),
	    cmocka_unit_test(test_print),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
