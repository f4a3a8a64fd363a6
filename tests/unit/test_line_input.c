/* Unit tests for line_input: typed keys -> the lines the shell received,
 * with the flags that say what could not be known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "line_input.h"

#define MAX_LINES 16

struct got {
	char text[MAX_LINES][256];
	size_t len[MAX_LINES];
	unsigned flags[MAX_LINES];
	int n;
};

static void collect(void *arg, const char *text, size_t len, unsigned flags)
{
	struct got *g = arg;

	assert_true(g->n < MAX_LINES);
	assert_true(len < sizeof(g->text[0]));
	memcpy(g->text[g->n], text, len);
	g->text[g->n][len] = '\0';
	g->len[g->n] = len;
	g->flags[g->n] = flags;
	g->n++;
}

/* Types keys (a C string; "\x1b" and friends for special keys) into a fresh
 * terminal line editor and returns what came out. */
static void type(struct got *g, bool editing, const char *keys)
{
	struct line_input *li = line_input_new(editing, collect, g);

	assert_non_null(li);
	memset(g, 0, sizeof(*g));
	line_input_feed(li, (const uint8_t *)keys, strlen(keys));
	line_input_finish(li);
	line_input_free(li);
}

static void expect_one(const char *keys, const char *line, unsigned flags)
{
	struct got g;

	type(&g, true, keys);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.text[0], line);
	assert_int_equal(g.flags[0], flags);
}

static void test_plain_lines(void **state)
{
	struct got g;

	type(&g, true, "uname -a\rid\n\r   \rcat /etc/passwd\r");
	assert_int_equal(g.n, 3);
	assert_string_equal(g.text[0], "uname -a");
	assert_string_equal(g.text[1], "id");
	assert_string_equal(g.text[2], "cat /etc/passwd");
	assert_int_equal(g.flags[0] | g.flags[1] | g.flags[2], 0);
	/* Typed but never entered: not a command. */
	type(&g, true, "rm -rf /");
	assert_int_equal(g.n, 0);
}

static void test_deleting(void **state)
{
	expect_one("wgt\x7f\x7f"
	           "get x\r",
	           "wget x", 0);
	expect_one("ls\x08\x08pwd\r", "pwd", 0);
	expect_one("garbage\x15id\r", "id", 0);
	expect_one("cat /etc/shadow /etc/passwd\x17\x17/etc/hosts\r", "cat /etc/hosts", 0);
	expect_one("echo abc\x01\x0b"
	           "whoami\r",
	           "whoami", 0);
	/* Backspace removes a whole UTF-8 character. */
	expect_one("echo h\xc3\xa9\x7f"
	           "e\r",
	           "echo he", 0);
	/* Ctrl-C abandons the line; Ctrl-D deletes under the cursor. */
	expect_one("rm -rf /\x03id\r", "id", 0);
	expect_one("xid\x01\x04\r", "id", 0);
}

static void test_cursor_motion(void **state)
{
	/* Home, then insert; arrows; Delete key; End. */
	expect_one("ho\x1b[Hw\x1b[Fami\r", "whoami", 0);
	expect_one("ct /x\x1b[D\x1b[D\x1b[D\x1b[Da\r", "cat /x", 0);
	expect_one("lss\x1b[D\x1b[3~\r", "ls", 0);
	expect_one("cd /tmp\x1b"
	           "b\x1b"
	           "b\x1b"
	           "f \x01\x1b"
	           "f\x06X\r",
	           "cd X /tmp", 0);
	expect_one("echo one two\x1b[1;5D\x1b[1;5Dx\r", "echo xone two", 0);
	expect_one("ls\x1bOD\x1bOD-l \x1bOF\r", "-l ls", 0);
	/* Alt-D and Alt-Backspace kill words; Ctrl-Y yanks them back. */
	expect_one("foo bar\x01\x1b"
	           "d\x05 \x19\r",
	           " bar foo", 0);
	expect_one("echo secret\x1b\x7f\x19\x19\r", "echo secretsecret", 0);
	/* Successive kills add up for one yank. */
	expect_one("a b c\x17\x17\x19\r", "a b c", 0);
	/* Ctrl-T swaps the characters around the cursor. */
	expect_one("sl\x14\r", "ls", 0);
}

static void test_history_recall(void **state)
{
	struct got g;

	/* Up brings back the previous line, edited before Enter. */
	type(&g, true, "cat /etc/passwd\r\x1b[A\x17/etc/shadow\r");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.text[1], "cat /etc/shadow");
	assert_int_equal(g.flags[1], LINE_RECALLED);

	/* Two up, one down; Ctrl-P/Ctrl-N the same. */
	type(&g, true, "one\rtwo\rthree\r\x1b[A\x1b[A\x1b[B\r\x10\x10\x10\x0e\r");
	assert_int_equal(g.n, 5);
	assert_string_equal(g.text[3], "three");
	assert_string_equal(g.text[4], "two"); /* three, three, two back up; then down */

	/* Down after Up returns to what was being typed. */
	type(&g, true, "ls\rpartial\x1b[A\x1b[B line\r");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.text[1], "partial line");
	assert_int_equal(g.flags[1], 0);

	/* Above what this channel saw: bash may know older lines; we cannot. */
	type(&g, true, "\x1b[A\r");
	assert_int_equal(g.n, 1); /* something the shell may have run, text unknown */
	assert_int_equal(g.len[0], 0);
	assert_int_equal(g.flags[0], LINE_RECALLED | LINE_UNRESOLVED);
	type(&g, true, "x\x1b[A\r");
	assert_int_equal(g.n, 1);
	assert_string_equal(g.text[0], "x");
	assert_int_equal(g.flags[0], LINE_RECALLED | LINE_UNRESOLVED);

	/* ignoreboth: a leading space keeps a line out of history, and so does a repeat. */
	type(&g, true, "a\r secret\rb\rb\r\x1b[A\x1b[A\r");
	assert_int_equal(g.n, 5);
	assert_string_equal(g.text[4], "a");

	/* Alt-. inserts the last word of the previous line. */
	type(&g, true, "wget http://x/bot.sh\rchmod +x \x1b.\r");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.text[1], "chmod +x http://x/bot.sh");
	assert_int_equal(g.flags[1], LINE_RECALLED);
}

static void test_reverse_search(void **state)
{
	struct got g;

	type(&g, true, "wget http://a/x\rls\rcurl http://b/y\r\x12http\x12\r");
	assert_int_equal(g.n, 4);
	assert_string_equal(g.text[3], "wget http://a/x"); /* the second match back */
	assert_int_equal(g.flags[3], LINE_RECALLED);

	/* A key other than Enter ends the search and edits the match. */
	type(&g, true, "cat /etc/passwd\r\x12pass\x05 | head\r");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.text[1], "cat /etc/passwd | head");

	/* Ctrl-G gives back the line as it was. */
	type(&g, true, "id\recho \x12id\x07hi\r");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.text[1], "echo hi");
	assert_int_equal(g.flags[1], 0);

	/* No match here: older history might have one. */
	type(&g, true, "ls\r\x12zzz\r");
	assert_int_equal(g.n, 2);
	assert_int_equal(g.flags[1] & LINE_UNRESOLVED, LINE_UNRESOLVED);
}

static void test_what_cannot_be_known(void **state)
{
	expect_one("cat /etc/pas\t\r", "cat /etc/pas", LINE_COMPLETION);
	expect_one("ls\x1f\r", "ls", LINE_UNRESOLVED);     /* undo */
	expect_one("ls\x1bu\r", "ls", LINE_UNRESOLVED);    /* upcase-word */
	expect_one("ls\x18\x05\r", "ls", LINE_UNRESOLVED); /* Ctrl-X Ctrl-E */
	/* Ctrl-V quotes the next key. */
	expect_one("echo \x16\x03x\r", "echo \x03x", 0);
}

static void test_paste_and_terminal_reports(void **state)
{
	/* Bracketed paste: line breaks are text until Enter. */
	expect_one("\x1b[200~id\rwhoami\x1b[201~\r", "id\nwhoami", 0);
	/* Cursor position reports and focus events are no keys. */
	expect_one("l\x1b[12;40Rs\x1b[I\r", "ls", 0);
	/* An escape sequence split across reads. */
	struct got g;
	struct line_input *li = line_input_new(true, collect, &g);
	memset(&g, 0, sizeof(g));
	line_input_feed(li, (const uint8_t *)"ls\x1b", 3);
	line_input_feed(li, (const uint8_t *)"[", 1);
	line_input_feed(li, (const uint8_t *)"Dx\r", 3);
	line_input_free(li);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.text[0], "lxs");
}

/* Escape parameters are the attacker's digits: too many of them neither
 * overflow (UBSan in the sanitizer build) nor wrap round to a parameter that
 * means something: 4294967496 is 200 modulo 2^32, a paste's start, which
 * would swallow the Enter; 4294967299 is 3, Alt with an arrow. */
static void test_huge_escape_parameters(void **state)
{
	expect_one("\x1b[4294967496~id\r", "id", 0);
	expect_one("\x1b[99999999999999~x\r", "x", 0);
	expect_one("ab cd\x1b[1;4294967299D\x7f\r", "ab d", 0);
	expect_one("ab cd\x1b[1;3D\x7f\r", "abcd", 0); /* what 3 would have done */
	/* Sixteen digits are kept, more make the sequence too long to mean anything. */
	expect_one("\x1b[9999999999999999~\x1b[99999999999999999~ok\r", "ok", 0);
}

static void test_without_terminal(void **state)
{
	struct got g;

	/* Plain lines: control bytes are the shell's input as they are. */
	type(&g, false, "uname -a\nls\x7f\r\n\n   \nexit");
	assert_int_equal(g.n, 3);
	assert_string_equal(g.text[0], "uname -a");
	assert_string_equal(g.text[1], "ls\x7f\r");
	assert_string_equal(g.text[2], "exit"); /* the shell runs a last line without \n */
}

struct sizes {
	size_t len;
	unsigned flags;
	int n;
};

static void measure(void *arg, const char *text, size_t len, unsigned flags)
{
	struct sizes *z = arg;

	(void)text;
	z->len = len;
	z->flags = flags;
	z->n++;
}

static void test_long_lines_are_bounded(void **state)
{
	static uint8_t keys[LINE_INPUT_MAX + 100];
	struct sizes z = {0};
	struct line_input *li = line_input_new(true, measure, &z);

	assert_non_null(li);
	memset(keys, 'a', sizeof(keys));
	line_input_feed(li, keys, sizeof(keys));
	line_input_feed(li, (const uint8_t *)"\r", 1);
	assert_int_equal(z.n, 1);
	assert_int_equal(z.len, LINE_INPUT_MAX);
	assert_int_equal(z.flags, LINE_TRUNCATED);

	/* Editing the middle of a long line costs copying; the work a line may
	 * take is bounded by the bytes that came in, and past it the line is
	 * flagged rather than followed. */
	memset(&z, 0, sizeof(z));
	line_input_feed(li, keys, 8000);
	for (int i = 0; i < 20000; i++)
		line_input_feed(li, (const uint8_t *)"\x01x", 2); /* Home, insert */
	line_input_feed(li, (const uint8_t *)"\r", 1);
	assert_int_equal(z.n, 1);
	assert_true(z.len < 8000 + 20000);
	assert_int_equal(z.flags & LINE_UNRESOLVED, LINE_UNRESOLVED);
	line_input_free(li);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_lines),
	    cmocka_unit_test(test_deleting),
	    cmocka_unit_test(test_cursor_motion),
	    cmocka_unit_test(test_history_recall),
	    cmocka_unit_test(test_reverse_search),
	    cmocka_unit_test(test_what_cannot_be_known),
	    cmocka_unit_test(test_paste_and_terminal_reports),
	    cmocka_unit_test(test_huge_escape_parameters),
	    cmocka_unit_test(test_without_terminal),
	    cmocka_unit_test(test_long_lines_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
