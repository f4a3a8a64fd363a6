/*
 * Unit tests for http_head: heads as wget, curl and scanners send them
 * (CRLF, bare LF, absolute-form, no Host), heads not yet whole, and every
 * kind that is refused (not a method, a bad request line or field, too
 * many fields, over HTTP_HEAD_MAX); the URL each one asks for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_head.h"

static struct http_head h;

static int parse(const char *s)
{
	return http_head_parse(s, strlen(s), &h);
}

/* Every string the head gives is inside its own store. */
static void check_inside(void)
{
	const char *lo = h.store, *hi = h.store + h.len;

	assert_true(h.method >= lo && h.method < hi);
	assert_true(h.target >= lo && h.target < hi);
	assert_true(h.version >= lo && h.version < hi);
	if (h.host)
		assert_true(h.host >= lo && h.host <= hi);
	for (size_t i = 0; i < h.n_headers; i++) {
		assert_true(h.headers[i].name >= lo && h.headers[i].name < hi);
		assert_true(h.headers[i].value >= lo && h.headers[i].value <= hi);
	}
}

static void test_wget(void **state)
{
	static const char head[] = "GET /x.sh HTTP/1.1\r\n"
	                           "User-Agent: Wget/1.21.2\r\n"
	                           "Accept: */*\r\n"
	                           "Accept-Encoding: identity\r\n"
	                           "Host: evil.example:8080\r\n"
	                           "Connection: Keep-Alive\r\n"
	                           "\r\n";
	char with_body[sizeof(head) + 16];

	(void)state;
	assert_int_equal(parse(head), 1);
	assert_int_equal(h.len, strlen(head));
	assert_string_equal(h.method, "GET");
	assert_string_equal(h.target, "/x.sh");
	assert_string_equal(h.version, "HTTP/1.1");
	assert_string_equal(h.host, "evil.example:8080");
	assert_int_equal(h.n_headers, 5);
	assert_string_equal(h.headers[0].name, "User-Agent");
	assert_string_equal(h.headers[0].value, "Wget/1.21.2");
	assert_string_equal(h.headers[4].name, "Connection");
	assert_string_equal(h.headers[4].value, "Keep-Alive");
	check_inside();

	/* A body after the head is not part of it. */
	snprintf(with_body, sizeof(with_body), "%sBODY", head);
	assert_int_equal(parse(with_body), 1);
	assert_int_equal(h.len, strlen(head));
	assert_int_equal(h.n_headers, 5);
}

static void test_bare_lf(void **state)
{
	(void)state;
	assert_int_equal(parse("POST /cgi-bin/x HTTP/1.0\nHost: a.b\nContent-Length: 3\n\nabc"), 1);
	assert_string_equal(h.method, "POST");
	assert_string_equal(h.target, "/cgi-bin/x");
	assert_string_equal(h.version, "HTTP/1.0");
	assert_string_equal(h.host, "a.b");
	assert_int_equal(h.n_headers, 2);
	assert_int_equal(h.len,
	                 strlen("POST /cgi-bin/x HTTP/1.0\nHost: a.b\nContent-Length: 3\n\n"));
	check_inside();

	/* Mixed: a bare LF, then CRLF, ending in a bare LF then CRLF. */
	assert_int_equal(parse("GET / HTTP/1.1\nA: 1\r\nB: 2\n\r\n"), 1);
	assert_int_equal(h.n_headers, 2);
	assert_string_equal(h.headers[0].value, "1");
	assert_string_equal(h.headers[1].value, "2");
	assert_null(h.host);
	assert_int_equal(h.len, strlen("GET / HTTP/1.1\nA: 1\r\nB: 2\n\r\n"));

	/* No fields at all. */
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n"), 1);
	assert_int_equal(h.n_headers, 0);
	assert_null(h.host);
	assert_int_equal(parse("HEAD /a HTTP/1.1\n\n"), 1);
	assert_string_equal(h.method, "HEAD");
}

static void test_fields(void **state)
{
	(void)state;
	/* Spaces and tabs around a value go; inside it they stay. A value may
	 * be empty. The first Host counts, whatever its case. */
	assert_int_equal(parse("GET / HTTP/1.1\r\n"
	                       "X-A:\t  two  words \t\r\n"
	                       "X-Empty:\r\n"
	                       "X-Blank:   \r\n"
	                       "HOST: first\r\n"
	                       "host: second\r\n"
	                       "X-Colon: a:b:c\r\n"
	                       "\r\n"),
	                 1);
	assert_int_equal(h.n_headers, 6);
	assert_string_equal(h.headers[0].value, "two  words");
	assert_string_equal(h.headers[1].value, "");
	assert_string_equal(h.headers[2].value, "");
	assert_string_equal(h.host, "first");
	assert_string_equal(h.headers[4].value, "second");
	assert_string_equal(h.headers[5].name, "X-Colon");
	assert_string_equal(h.headers[5].value, "a:b:c");
	check_inside();

	/* Bytes that are not ASCII are kept as they came. */
	assert_int_equal(parse("GET /\xc3\xa9\xff HTTP/1.1\r\nUser-Agent: \x01\xfe\r\n\r\n"), 1);
	assert_string_equal(h.target, "/\xc3\xa9\xff");
	assert_string_equal(h.headers[0].value, "\x01\xfe");
}

static void test_partial(void **state)
{
	static const char head[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";

	(void)state;
	/* Every proper prefix: not yet. */
	for (size_t k = 0; k < strlen(head); k++)
		assert_int_equal(http_head_parse(head, k, &h), 0);
	assert_int_equal(http_head_parse(head, strlen(head), &h), 1);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
	    "SSH-2.0-OpenSSH_8.9\r\n\r\n",
	    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	    "get / HTTP/1.1\r\n\r\n", /* methods are case-sensitive */
	    "GETS / HTTP/1.1\r\n\r\n",
	    "BREW /pot HTTP/1.1\r\n\r\n",
	    "\r\nGET / HTTP/1.1\r\n\r\n",
	    /* request lines */
	    "GET /HTTP/1.1\r\n\r\n",
	    "GET  / HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1 extra\r\n\r\n",
	    "GET / \r\n\r\n",
	    "GET /\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n",
	    "GET / http/1.1\r\n\r\n",
	    "GET / SIP/2.0\r\n\r\n",
	    /* fields */
	    "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
	    "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
	    "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
	    "GET / HTTP/1.1\r\nName : x\r\n\r\n",
	    "GET / HTTP/1.1\r\nA(b): x\r\n\r\n",
	    "GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n",
	    "GET / HTTP/1.1\r\n\x80: x\r\n\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i]) != -1) {
			print_error("accepted: %s\n", bad[i]);
			fail();
		}
	}
	/* A NUL byte anywhere in the head. */
	static const char nul1[] = "GET / HTTP/1.1\r\nA: x\0y\r\n\r\n";
	static const char nul2[] = "GET /\0 HTTP/1.1\r\n\r\n";
	assert_int_equal(http_head_parse(nul1, sizeof(nul1) - 1, &h), -1);
	assert_int_equal(http_head_parse(nul2, sizeof(nul2) - 1, &h), -1);
}

static void test_bounds(void **state)
{
	char *big = malloc(HTTP_HEAD_MAX + 64);
	size_t n;

	(void)state;
	assert_non_null(big);

	/* HTTP_HEADERS_MAX fields fit; one more does not. */
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX; i++)
		n += (size_t)sprintf(big + n, "X-%d: %d\r\n", i, i);
	strcpy(big + n, "\r\n");
	assert_int_equal(parse(big), 1);
	assert_int_equal(h.n_headers, HTTP_HEADERS_MAX);
	assert_string_equal(h.headers[HTTP_HEADERS_MAX - 1].name, "X-63");
	check_inside();
	n += (size_t)sprintf(big + n, "X-last: 1\r\n");
	strcpy(big + n, "\r\n");
	assert_int_equal(parse(big), -1);

	/* A head of exactly HTTP_HEAD_MAX bytes: one long field. */
	static const char start[] = "GET / HTTP/1.1\r\nX-Pad: ";
	size_t pad = HTTP_HEAD_MAX - (sizeof(start) - 1) - 4;
	memcpy(big, start, sizeof(start) - 1);
	memset(big + sizeof(start) - 1, 'p', pad);
	memcpy(big + sizeof(start) - 1 + pad, "\r\n\r\n", 5);
	assert_int_equal(strlen(big), HTTP_HEAD_MAX);
	assert_int_equal(parse(big), 1);
	assert_int_equal(h.len, HTTP_HEAD_MAX);
	assert_int_equal(strlen(h.headers[0].value), pad);
	check_inside();
	/* One byte more: over the bound, whether the rest has come or not. */
	memset(big + sizeof(start) - 1, 'p', pad + 1);
	memcpy(big + sizeof(start) - 1 + pad + 1, "\r\n\r\n", 5);
	assert_int_equal(parse(big), -1);
	assert_int_equal(http_head_parse(big, HTTP_HEAD_MAX, &h), -1);
	/* Short of the bound and not whole: not yet. */
	assert_int_equal(http_head_parse(big, HTTP_HEAD_MAX - 1, &h), 0);
	free(big);
}

static void test_looks_like(void **state)
{
	static const char *const yes[] = {
	    "GET ",    "GET",    "G",         "GE",      "POST /",        "HEAD / H", "PUT ",
	    "DELETE ", "PATCH ", "OPTIONS *", "CONNECT", "CONNECT a:443", "TRACE / "};
	static const char *const no[] = {"",         "GETX",  "GET/", "get ", "X",
	                                 "\x16\x03", "SSH-2", "POS ", " GET", "HEADS"};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_int_equal(http_head_looks_like(yes[i], strlen(yes[i])), 1);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (http_head_looks_like(no[i], strlen(no[i])) != 0) {
			print_error("looks like a request: %s\n", no[i]);
			fail();
		}
	/* Only the n bytes given are looked at. */
	assert_int_equal(http_head_looks_like("GETX", 3), 1);
	assert_int_equal(http_head_looks_like("XGET ", 0), 0);
}

static void test_url(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(parse("GET /bins/x86?a=1 HTTP/1.1\r\nHost: evil.example:8080\r\n\r\n"), 1);
	assert_int_equal(http_head_url(&h, 0, "203.0.113.5", out, sizeof(out)),
	                 strlen("http://evil.example:8080/bins/x86?a=1"));
	assert_string_equal(out, "http://evil.example:8080/bins/x86?a=1");
	assert_true(http_head_url(&h, 1, "203.0.113.5", out, sizeof(out)) > 0);
	assert_string_equal(out, "https://evil.example:8080/bins/x86?a=1");

	/* No Host: the address the box connected to. */
	assert_int_equal(parse("GET /x.sh HTTP/1.0\n\n"), 1);
	assert_true(http_head_url(&h, 0, "203.0.113.5:81", out, sizeof(out)) > 0);
	assert_string_equal(out, "http://203.0.113.5:81/x.sh");

	/* A Host that could not stand in a URL: the address too. */
	static const char *const bad_hosts[] = {"a/b", "a b", "user@evil", "a?b",
	                                        "a#b", "",    "a\\b",      "\xc3\xa9.example"};
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		char head[128];
		snprintf(head, sizeof(head), "GET /p HTTP/1.1\r\nHost: %s\r\n\r\n", bad_hosts[i]);
		assert_int_equal(parse(head), 1);
		assert_true(http_head_url(&h, 0, "192.0.2.1", out, sizeof(out)) > 0);
		assert_string_equal(out, "http://192.0.2.1/p");
	}
	/* IPv6 literal hosts are fine. */
	assert_int_equal(parse("GET /p HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n"), 1);
	assert_true(http_head_url(&h, 0, "192.0.2.1", out, sizeof(out)) > 0);
	assert_string_equal(out, "http://[2001:db8::1]:80/p");

	/* Absolute-form (a proxy request): the target itself, whatever Host says. */
	assert_int_equal(
	    parse("GET http://other.example/a.sh HTTP/1.1\r\nHost: evil.example\r\n\r\n"), 1);
	assert_true(http_head_url(&h, 0, "192.0.2.1", out, sizeof(out)) > 0);
	assert_string_equal(out, "http://other.example/a.sh");
	assert_int_equal(parse("GET HTTPS://other.example/ HTTP/1.1\r\n\r\n"), 1);
	assert_true(http_head_url(&h, 0, "192.0.2.1", out, sizeof(out)) > 0);
	assert_string_equal(out, "HTTPS://other.example/");

	/* Neither: authority-form (CONNECT), another scheme, a bare word. */
	assert_int_equal(parse("CONNECT evil.example:443 HTTP/1.1\r\n\r\n"), 1);
	assert_int_equal(http_head_url(&h, 0, "192.0.2.1", out, sizeof(out)), -1);
	assert_int_equal(parse("GET ftp://evil.example/x HTTP/1.1\r\n\r\n"), 1);
	assert_int_equal(http_head_url(&h, 0, "192.0.2.1", out, sizeof(out)), -1);
	assert_int_equal(parse("GET x.sh HTTP/1.1\r\n\r\n"), 1);
	assert_int_equal(http_head_url(&h, 0, "192.0.2.1", out, sizeof(out)), -1);

	/* The URL must fit, with its NUL. */
	assert_int_equal(parse("GET /abc HTTP/1.1\r\nHost: h\r\n\r\n"), 1);
	assert_int_equal(http_head_url(&h, 0, "x", out, 13), 12); /* "http://h/abc" + NUL */
	assert_string_equal(out, "http://h/abc");
	assert_int_equal(http_head_url(&h, 0, "x", out, 12), -1);
	assert_int_equal(http_head_url(&h, 0, "x", out, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wget),       cmocka_unit_test(test_bare_lf),
	    cmocka_unit_test(test_fields),     cmocka_unit_test(test_partial),
	    cmocka_unit_test(test_refused),    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_looks_like), cmocka_unit_test(test_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
