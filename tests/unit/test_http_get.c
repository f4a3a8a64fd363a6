/* Unit tests for http_get: what hermes-metrics answers to a scraper's
 * bytes, and the answer's form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_get.h"

static int parse(const char *s, bool *head)
{
	return http_get_parse(s, strlen(s), head);
}

static void test_a_scrape_is_served(void **state)
{
	bool head = true;
	assert_int_equal(
	    parse("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n", &head), 200);
	assert_false(head);
	assert_int_equal(parse("GET /metrics?name[]=up HTTP/1.0\r\n\r\n", &head), 200);
	assert_int_equal(parse("HEAD /metrics HTTP/1.1\n\n", &head), 200);
	assert_true(head);
}

static void test_an_unfinished_head_waits(void **state)
{
	bool head;
	assert_int_equal(parse("", &head), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &head), 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n\r", &head), 0);
}

static void test_what_is_refused(void **state)
{
	bool head;
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(parse("GET /metricsx HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(parse("GET /metrics/ HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(parse("GET /metric HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &head), 405);
	assert_int_equal(parse("get /metrics HTTP/1.1\r\n\r\n", &head), 405);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &head), 505);
	assert_int_equal(parse("GET /metrics HTTP/1.2\r\n\r\n", &head), 505);
	assert_int_equal(parse("GET /metrics\r\n\r\n", &head), 400);
	assert_int_equal(parse("GET  /metrics HTTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(parse("GET /metrics HTTP/1.1 x\r\n\r\n", &head), 400);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nX: a\x01\r\n\r\n", &head), 400);
	assert_int_equal(parse("\r\n\r\n", &head), 400);
	assert_int_equal(http_get_parse("GET /me\0rics HTTP/1.1\r\n\r\n", 25, &head), 400);
}

static void test_a_head_too_long_is_refused(void **state)
{
	size_t n = HTTP_GET_HEAD_MAX + 10;
	char *p = malloc(n);
	bool head;
	assert_non_null(p);
	memset(p, 'a', n);
	memcpy(p, "GET /metrics HTTP/1.1\r\nX: ", 26);
	assert_int_equal(http_get_parse(p, HTTP_GET_HEAD_MAX - 1, &head), 0);
	assert_int_equal(http_get_parse(p, HTTP_GET_HEAD_MAX, &head), 431);
	/* an end after the bound is not looked for */
	memcpy(p + HTTP_GET_HEAD_MAX + 2, "\n\n", 2);
	assert_int_equal(http_get_parse(p, n, &head), 431);
	free(p);
}

static void test_answers(void **state)
{
	struct buf b;
	buf_init(&b);
	assert_int_equal(http_get_answer(&b, 200, false, "up 1\n", 5), 0);
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
	                 "charset=utf-8\r\nContent-Length: 5\r\nConnection: close\r\n\r\nup 1\n";
	assert_int_equal(b.len, strlen(ok));
	assert_memory_equal(b.data, ok, b.len);
	buf_reset(&b);
	assert_int_equal(http_get_answer(&b, 200, true, "up 1\n", 5), 0);
	assert_int_equal(b.len, strlen(ok) - 5); /* HEAD: the length, no body */
	buf_reset(&b);
	assert_int_equal(http_get_answer(&b, 405, false, NULL, 0), 0);
	const char *no = "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; "
	                 "charset=utf-8\r\nContent-Length: 23\r\nAllow: GET, HEAD\r\nConnection: "
	                 "close\r\n\r\n405 Method Not Allowed\n";
	assert_int_equal(b.len, strlen(no));
	assert_memory_equal(b.data, no, b.len);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_scrape_is_served),
	    cmocka_unit_test(test_an_unfinished_head_waits),
	    cmocka_unit_test(test_what_is_refused),
	    cmocka_unit_test(test_a_head_too_long_is_refused),
	    cmocka_unit_test(test_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
