/*
 * Unit tests for util: the UTF-8 sanitizer against a table of RFC 3629 edge
 * cases, the RFC 3339 time stamps, RFC 4648 base64 vectors, session ids,
 * mkdir -p, names escaped byte for byte, temporary files that follow
 * nothing, and IPv4 networks as A.B.C.D/N.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

#define FFFD "\xef\xbf\xbd"

static const struct {
	const char *in;
	size_t len;
	const char *out;
	int valid;
} utf8_cases[] = {
    {"", 0, "", 1},
    {"plain ascii", 11, "plain ascii", 1},
    {"\x7f\x01", 2, "\x7f\x01", 1},
    /* valid multi-byte, at the edges of each length */
    {"\xc2\x80", 2, "\xc2\x80", 1},
    {"\xdf\xbf", 2, "\xdf\xbf", 1},
    {"\xe0\xa0\x80", 3, "\xe0\xa0\x80", 1},
    {"\xe2\x82\xac", 3, "\xe2\x82\xac", 1}, /* euro sign */
    {"\xed\x9f\xbf", 3, "\xed\x9f\xbf", 1}, /* U+D7FF, just below surrogates */
    {"\xee\x80\x80", 3, "\xee\x80\x80", 1}, /* U+E000, just above */
    {"\xef\xbf\xbf", 3, "\xef\xbf\xbf", 1},
    {"\xf0\x90\x80\x80", 4, "\xf0\x90\x80\x80", 1},
    {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80", 1},
    {"\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf", 1}, /* U+10FFFF */
    /* overlong forms */
    {"\xc0\xaf", 2, FFFD FFFD, 0},
    {"\xc1\xbf", 2, FFFD FFFD, 0},
    {"\xe0\x80\xaf", 3, FFFD FFFD FFFD, 0},
    {"\xe0\x9f\xbf", 3, FFFD FFFD FFFD, 0},
    {"\xf0\x80\x80\xaf", 4, FFFD FFFD FFFD FFFD, 0},
    {"\xf0\x8f\xbf\xbf", 4, FFFD FFFD FFFD FFFD, 0},
    /* surrogates */
    {"\xed\xa0\x80", 3, FFFD FFFD FFFD, 0},
    {"\xed\xbf\xbf", 3, FFFD FFFD FFFD, 0},
    /* beyond U+10FFFF and bytes that never appear */
    {"\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD, 0},
    {"\xf5\x80\x80\x80", 4, FFFD FFFD FFFD FFFD, 0},
    {"\xfe\xff", 2, FFFD FFFD, 0},
    /* lone continuation bytes */
    {"\x80", 1, FFFD, 0},
    {"a\xbfz", 3, "a" FFFD "z", 0},
    /* truncated sequences: one U+FFFD for the whole valid prefix */
    {"\xe2\x82", 2, FFFD, 0},
    {"\xf0\x9f\x98", 3, FFFD, 0},
    {"\xe2\x82\x41", 3, FFFD "A", 0},
    {"\xf0\x9f\xe2\x82\xac", 5, FFFD "\xe2\x82\xac", 0},
    {"\xc3", 1, FFFD, 0},
    /* NUL is valid UTF-8 but not allowed in our C strings */
    {"a\0b", 3, "a" FFFD "b", 0},
    {"\0", 1, FFFD, 0},
};

static void test_utf8_table(void **state)
{
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		out = util_utf8_sanitize(utf8_cases[i].in, utf8_cases[i].len);
		assert_non_null(out);
		if (strcmp(out, utf8_cases[i].out) != 0)
			fail_msg("case %zu: sanitized output differs", i);
		if (util_utf8_valid(utf8_cases[i].in, utf8_cases[i].len) != utf8_cases[i].valid)
			fail_msg("case %zu: validity %d expected", i, utf8_cases[i].valid);
		assert_true(util_utf8_valid(out, strlen(out)));
		free(out);
	}
}

static void test_rfc3339(void **state)
{
	char out[32];
	char now[32];
	size_t i;

	(void)state;
	util_rfc3339(1795460846.123456, out);
	assert_string_equal(out, "2026-11-23T19:07:26.123456Z");
	util_rfc3339(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000000Z");
	/* rounding that carries into the next second */
	util_rfc3339(1700000000.9999996, out);
	assert_string_equal(out, "2023-11-14T22:13:21.000000Z");
	util_rfc3339(951782400.5, out); /* leap day 2000 */
	assert_string_equal(out, "2000-02-29T00:00:00.500000Z");

	util_rfc3339(util_wall(), now);
	assert_int_equal(strlen(now), 27);
	for (i = 0; i < 27; i++) {
		switch (i) {
		case 4:
		case 7:
			assert_int_equal(now[i], '-');
			break;
		case 10:
			assert_int_equal(now[i], 'T');
			break;
		case 13:
		case 16:
			assert_int_equal(now[i], ':');
			break;
		case 19:
			assert_int_equal(now[i], '.');
			break;
		case 26:
			assert_int_equal(now[i], 'Z');
			break;
		default:
			assert_true(now[i] >= '0' && now[i] <= '9');
		}
	}
	assert_true(strncmp(now, "2024", 4) >= 0);
}

static void test_base64(void **state)
{
	static const char *const want[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
	                                   "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	size_t i;
	char *out;

	(void)state;
	/* RFC 4648 section 10 */
	for (i = 0; i < 7; i++) {
		out = util_base64("foobar", i);
		assert_non_null(out);
		assert_string_equal(out, want[i]);
		free(out);
	}
	out = util_base64("\xff\xfe\x00\x80", 4);
	assert_string_equal(out, "//4AgA==");
	free(out);
}

static int is_hex_id(const char *s)
{
	size_t i;

	if (strlen(s) != SESSION_ID_LEN)
		return 0;
	for (i = 0; i < SESSION_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void test_session_id(void **state)
{
	char a[SESSION_ID_LEN + 1], b[SESSION_ID_LEN + 1];

	(void)state;
	assert_int_equal(util_session_id(a), 0);
	assert_int_equal(util_session_id(b), 0);
	assert_true(is_hex_id(a));
	assert_true(is_hex_id(b));
	assert_string_not_equal(a, b);
}

static void test_clocks(void **state)
{
	int64_t m0 = util_mono_ms(), m1;
	double w = util_wall();

	(void)state;
	usleep(20000);
	m1 = util_mono_ms();
	assert_true(m1 - m0 >= 19 && m1 - m0 < 5000);
	assert_true(w > 1.7e9);
}

static void test_mkdirs(void **state)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
	char base[512], deep[600], file[620];
	struct stat st;
	FILE *f;

	(void)state;
	snprintf(base, sizeof(base), "%s/test_util.XXXXXX", tmp);
	assert_non_null(mkdtemp(base));
	snprintf(deep, sizeof(deep), "%s/a//b/c/", base);
	assert_int_equal(util_mkdirs(deep, 0750), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(util_mkdirs(deep, 0750), 0); /* exists already: fine */
	snprintf(file, sizeof(file), "%s/a/f", base);
	assert_non_null(f = fopen(file, "w"));
	fclose(f);
	snprintf(deep, sizeof(deep), "%s/a/f/g", base);
	assert_int_equal(util_mkdirs(deep, 0750), -ENOTDIR);
	assert_int_equal(util_mkdirs("", 0750), -EINVAL);

	unlink(file);
	snprintf(deep, sizeof(deep), "%s/a/b/c", base);
	rmdir(deep);
	snprintf(deep, sizeof(deep), "%s/a/b", base);
	rmdir(deep);
	snprintf(deep, sizeof(deep), "%s/a", base);
	rmdir(deep);
	assert_int_equal(rmdir(base), 0); /* everything above was removed */
}

/* Query values for Docker URLs: unreserved characters and '/' stay, the rest
 * is %XX (upper-case hex), and nothing is written past cap. */
static void test_url_encode(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(util_url_encode("/root/.x/bot-1_2~3", out, sizeof(out)), 0);
	assert_string_equal(out, "/root/.x/bot-1_2~3");
	assert_int_equal(util_url_encode("/a b?c&d#e%\xff", out, sizeof(out)), 0);
	assert_string_equal(out, "/a%20b%3Fc%26d%23e%25%FF");
	assert_int_equal(util_url_encode("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* exactly fits (3 + NUL), one more does not; cap 0 writes nothing */
	assert_int_equal(util_url_encode("%", out, 4), 0);
	assert_string_equal(out, "%25");
	assert_int_equal(util_url_encode("%", out, 3), -1);
	assert_int_equal(util_url_encode("ab", out, 2), -1);
	assert_int_equal(util_url_encode("", out, 0), -1);
}

static void test_parse_cidr4(void **state)
{
	static const char *const bad[] = {
	    "10.77.0.1/16", /* host bits */
	    "10.77.0.0/30", /* over the maximum */
	    "10.0.0.0/7",   /* under the minimum */
	    "10.77.0.0",
	    "10.77.0.0/",
	    "/16",
	    "garbage",
	    "10.77.0/16",
	    "10.77.0.0.0/16",
	    "10.77.0.256/16",
	    "10.77.0.0/16x",
	    "10.77.0.0/ 16",
	    "10.77.0.0 /16",
	    "10.77.0.0/+16",
	    "10.77.0.0/-16",
	    "10.77.0.0/1.6",
	    "10.77.0.0/16/16",
	    "fd00::/16",
	    "0x0a.0.0.0/8",
	    "10.77.0.0/99999999999999999999",
	    "255.255.255.255.255/16",
	};
	uint32_t net = 0;
	int prefix = 0;

	(void)state;
	assert_int_equal(util_parse_cidr4("10.77.0.0/16", 8, 28, &net, &prefix), 0);
	assert_int_equal(net, htonl(0x0a4d0000));
	assert_int_equal(prefix, 16);
	assert_int_equal(util_parse_cidr4("10.0.0.0/8", 8, 28, &net, &prefix), 0);
	assert_int_equal(net, htonl(0x0a000000));
	assert_int_equal(prefix, 8);
	assert_int_equal(util_parse_cidr4("192.168.7.240/28", 8, 28, &net, &prefix), 0);
	assert_int_equal(net, htonl(0xc0a807f0));
	assert_int_equal(prefix, 28);
	assert_int_equal(util_parse_cidr4("192.168.7.248/28", 8, 28, &net, &prefix), -1);
	/* The bounds are the caller's: /0 and /32 when it allows them. */
	assert_int_equal(util_parse_cidr4("0.0.0.0/0", 0, 32, &net, &prefix), 0);
	assert_int_equal(net, 0);
	assert_int_equal(prefix, 0);
	assert_int_equal(util_parse_cidr4("1.0.0.0/0", 0, 32, &net, &prefix), -1);
	assert_int_equal(util_parse_cidr4("203.0.113.9/32", 0, 32, &net, &prefix), 0);
	assert_int_equal(net, htonl(0xcb007109));
	assert_int_equal(prefix, 32);
	assert_int_equal(util_parse_cidr4("203.0.113.9/33", 0, 32, &net, &prefix), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (util_parse_cidr4(bad[i], 8, 28, &net, &prefix) != -1) {
			print_error("accepted: %s\n", bad[i]);
			fail();
		}
	assert_int_equal(util_parse_cidr4(NULL, 8, 28, &net, &prefix), -1);
}

static void test_hex(void **state)
{
	(void)state;
	assert_true(util_is_hex("0a9f", 4));
	assert_false(util_is_hex("0a9f", 3));
	assert_false(util_is_hex("0A9F", 4)); /* ours are lower case */
	assert_false(util_is_hex("0a9g", 4));
	assert_false(util_is_hex(NULL, 0));
	assert_true(util_hex_prefix("0a9f.cast", 4));
	assert_false(util_hex_prefix("0a9.cast", 4));
	assert_true(util_is_hex("", 0));
}

static void test_escape_bytes(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
		bool exact;
	} cases[] = {
	    {"/root/a.sh", 10, "/root/a.sh", true},
	    {"/root/a\xff"
	     "b",
	     9, "/root/a\\xffb", false},
	    {"\xe2\x82\xac", 3, "\xe2\x82\xac", true},     /* valid stays */
	    {"\xe2\x82", 2, "\\xe2\\x82", false},          /* each byte of a cut one */
	    {"\xed\xa0\x80", 3, "\\xed\\xa0\\x80", false}, /* a surrogate */
	    {"a\0b", 3, "a\\x00b", false},                 /* NUL: no C string cut */
	    {"back\\xff", 8, "back\\xff", true},           /* literal: exact says so */
	    {"", 0, "", true},
	};
	bool exact;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = util_escape_bytes(cases[i].in, cases[i].len, &exact);
		assert_non_null(out);
		assert_string_equal(out, cases[i].out);
		assert_int_equal(exact, cases[i].exact);
		free(out);
	}
}

static void test_open_tmp(void **state)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
	char base[512], path[600], tmp[700], tmp2[700], small[8];
	struct stat st;
	int fd, fd2;

	(void)state;
	snprintf(base, sizeof(base), "%s/test_util.XXXXXX", dir);
	assert_non_null(mkdtemp(base));
	snprintf(path, sizeof(path), "%s/file", base);
	fd = util_open_tmp(path, 0440, tmp, sizeof(tmp));
	assert_true(fd >= 0);
	assert_int_equal(strncmp(tmp, path, strlen(path)), 0);
	assert_int_equal(strlen(tmp), strlen(path) + 5 + 16);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0440);
	/* Two at once get two names. */
	fd2 = util_open_tmp(path, 0440, tmp2, sizeof(tmp2));
	assert_true(fd2 >= 0);
	assert_string_not_equal(tmp, tmp2);
	close(fd);
	close(fd2);
	unlink(tmp);
	unlink(tmp2);
	assert_int_equal(util_open_tmp(path, 0440, small, sizeof(small)), -ENAMETOOLONG);
	assert_string_equal(small, "");
	assert_int_equal(rmdir(base), 0);
}

/* A line the file-size limit cuts is taken back whole: in a child, whose
 * RLIMIT_FSIZE lets 10 bytes of a 100-byte line through. */
static void test_append_whole(void **state)
{
	(void)state;
	char path[] = "/tmp/hermes-append-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(util_append_whole(fd, "first line\n", 11), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char line[100];
		memset(line, 'x', sizeof(line));
		struct rlimit lim = {21, 21};
		signal(SIGXFSZ, SIG_IGN);
		_exit(setrlimit(RLIMIT_FSIZE, &lim) == 0 &&
		              util_append_whole(fd, line, sizeof(line)) == -EFBIG
		          ? 0
		          : 1);
	}
	int status = -1;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 11);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_table),   cmocka_unit_test(test_rfc3339),
	    cmocka_unit_test(test_base64),       cmocka_unit_test(test_session_id),
	    cmocka_unit_test(test_clocks),       cmocka_unit_test(test_mkdirs),
	    cmocka_unit_test(test_append_whole), cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_url_encode),   cmocka_unit_test(test_escape_bytes),
	    cmocka_unit_test(test_open_tmp),     cmocka_unit_test(test_parse_cidr4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
