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

/* Invisible characters that reorder or hide text: every format character
 * (Unicode category Cf) and the line and paragraph separators are shown
 * as escapes; visible non-ASCII text stays as it is. */
static void test_invisible(void **state)
{
	/* A right-to-left override: "exe.txt" shown for "txt.exe". */
	check_cell(json_string("invoice\xe2\x80\xaetxt.exe"), 0, "invoice\\u202etxt.exe");
	/* Isolates, marks, zero-width space and joiner, the BOM, the Arabic
	 * letter mark, the Mongolian vowel separator, line and paragraph
	 * separators, a soft hyphen. */
	check_cell(json_string("a\xe2\x81\xa6"
	                       "b\xe2\x81\xa9"
	                       "c\xe2\x80\x8e"
	                       "d\xe2\x80\x8b"
	                       "e\xe2\x80\x8d"
	                       "f\xef\xbb\xbf"
	                       "g\xd8\x9c"
	                       "h\xe1\xa0\x8e"
	                       "i\xe2\x80\xa8"
	                       "j\xe2\x80\xa9"
	                       "k\xc2\xad"),
	           0,
	           "a\\u2066b\\u2069c\\u200ed\\u200be\\u200df\\ufeffg\\u061ch\\u180ei\\u2028j\\u202"
	           "9k\\u00ad");
	/* Past U+FFFF: a tag character. */
	check_cell(json_string("x\xf3\xa0\x80\x81y"), 0, "x\\U000e0001y");
	/* Their neighbours are text: U+2027, U+2030, U+200A, U+FEFE, an emoji. */
	check_cell(json_string("\xe2\x80\xa7\xe2\x80\xb0\xe2\x80\x8a\xef\xbb\xbe\xf0\x9f\x98\x80"),
	           0, "\xe2\x80\xa7\xe2\x80\xb0\xe2\x80\x8a\xef\xbb\xbe\xf0\x9f\x98\x80");
	/* Every Cf of Unicode 15, by its ranges' ends. */
	static const unsigned cf[] = {0x00ad,  0x0600,  0x0605,  0x06dd,  0x070f,  0x0890,
	                              0x0891,  0x08e2,  0x200f,  0x202a,  0x2060,  0x2064,
	                              0x206f,  0xfff9,  0xfffb,  0x110bd, 0x110cd, 0x13430,
	                              0x1343f, 0x1bca0, 0x1bca3, 0x1d173, 0x1d17a, 0xe007f};
	for (size_t i = 0; i < sizeof(cf) / sizeof(cf[0]); i++) {
		char in[8], want[16];
		unsigned cp = cf[i];
		if (cp < 0x800)
			snprintf(in, sizeof(in), "%c%c", 0xc0 | cp >> 6, 0x80 | (cp & 0x3f));
		else if (cp < 0x10000)
			snprintf(in, sizeof(in), "%c%c%c", 0xe0 | cp >> 12, 0x80 | (cp >> 6 & 0x3f),
			         0x80 | (cp & 0x3f));
		else
			snprintf(in, sizeof(in), "%c%c%c%c", 0xf0 | cp >> 18,
			         0x80 | (cp >> 12 & 0x3f), 0x80 | (cp >> 6 & 0x3f),
			         0x80 | (cp & 0x3f));
		snprintf(want, sizeof(want), cp > 0xffff ? "\\U%08x" : "\\u%04x", cp);
		check_cell(json_string(in), 0, want);
	}
	/* Cut by the escape's width, like any other. */
	check_cell(json_string("ab\xe2\x80\xae"
	                       "cdefgh"),
	           8, "ab...");
}

/* Terminal output (hermes replay --escape): lines and tabs kept, CRLF as
 * a newline, everything else escaped as in cells. */
static void test_escape_lines(void **state)
{
	static const char out[] = "ok\r\n\tx\x1b]0;t\x07\rover\xe2\x80\xae\n";
	char *s = table_escape(out, strlen(out), true);

	assert_non_null(s);
	assert_string_equal(s, "ok\n\tx\\x1b]0;t\\x07\\x0dover\\u202e\n");
	free(s);
	s = table_escape("a\r\nb", 4, false);
	assert_string_equal(s, "a\\x0d\\x0ab");
	free(s);
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
	    cmocka_unit_test(test_invisible),
	    cmocka_unit_test(test_escape_lines),
	    cmocka_unit_test(test_print),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
