/*
 * Unit tests for http.c: response heads and bodies as dockerd sends them,
 * fed whole, byte by byte and in pieces, and malformed ones.
 *
 * Every input is copied into a heap block of exactly its length, so that
 * a read past the end shows up under AddressSanitizer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

static int head_exact(const void *p, size_t n, struct http_response *r)
{
	uint8_t *copy = malloc(n ? n : 1);
	int e;

	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	e = http_parse_head(copy, n, r);
	free(copy);
	return e;
}

static int body_exact(const struct http_response *r, const void *p, size_t n, bool eof,
                      struct buf *out)
{
	uint8_t *copy = malloc(n ? n : 1);
	int e;

	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	e = http_body(r, copy, n, eof, out);
	free(copy);
	return e;
}

static const char docker_head[] = "HTTP/1.1 200 OK\r\n"
                                  "Api-Version: 1.41\r\n"
                                  "Content-Type: application/json\r\n"
                                  "Docker-Experimental: false\r\n"
                                  "Ostype: linux\r\n"
                                  "Server: Docker/20.10.24+dfsg1 (linux)\r\n"
                                  "Date: Sun, 23 Nov 2025 19:07:26 GMT\r\n"
                                  "Content-Length: 19\r\n"
                                  "\r\n";

static void test_head_byte_by_byte(void **state)
{
	struct http_response r;
	size_t n = strlen(docker_head), i;

	(void)state;
	for (i = 0; i < n; i++) {
		memset(&r, 0x5a, sizeof(r));
		assert_int_equal(head_exact(docker_head, i, &r), 0);
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(head_exact(docker_head, n, &r), 1);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.content_length, 19);
	assert_false(r.chunked);
	assert_int_equal(r.head_len, n);
}

static void test_head_then_body_bytes(void **state)
{
	char msg[512];
	const char *body = "{\"Id\":\"4f1c2b3a9d\"}";
	struct http_response r;
	struct buf out;

	(void)state;
	snprintf(msg, sizeof(msg), "%s%s", docker_head, body);
	assert_int_equal(head_exact(msg, strlen(msg), &r), 1);
	assert_int_equal(r.head_len, strlen(docker_head));
	buf_init(&out);
	assert_int_equal(body_exact(&r, msg + r.head_len, strlen(msg) - r.head_len, false, &out),
	                 1);
	assert_int_equal(out.len, strlen(body));
	assert_memory_equal(out.data, body, strlen(body));
	buf_free(&out);
}

static void test_head_bare_lf_and_case(void **state)
{
	const char *h = "HTTP/1.0 404 Not Found\ncontent-LENGTH:  42 \nX-Empty:\n\n";
	const char *mixed = "HTTP/1.1 201 Created\r\nTRANSFER-ENCODING: Chunked\n\r\nrest";
	struct http_response r;

	(void)state;
	assert_int_equal(head_exact(h, strlen(h), &r), 1);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.content_length, 42);
	assert_int_equal(r.head_len, strlen(h));

	assert_int_equal(head_exact(mixed, strlen(mixed), &r), 1);
	assert_int_equal(r.status, 201);
	assert_true(r.chunked);
	assert_int_equal(r.content_length, -1);
	assert_int_equal(r.head_len, strlen(mixed) - 4);
}

static void test_head_status_variants(void **state)
{
	struct http_response r;

	(void)state;
	assert_int_equal(head_exact("HTTP/1.1 304\r\n\r\n", 16, &r), 1);
	assert_int_equal(r.status, 304);
	assert_int_equal(head_exact("HTTP/1.1 500 \r\n\r\n", 17, &r), 1);
	assert_int_equal(r.status, 500);
	/* agreeing duplicates and the largest length that fits */
	const char *dup = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\ncontent-length: 007\r\n\r\n";
	assert_int_equal(head_exact(dup, strlen(dup), &r), 1);
	assert_int_equal(r.content_length, 7);
	const char *max = "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n";
	assert_int_equal(head_exact(max, strlen(max), &r), 1);
	assert_int_equal(r.content_length, INT64_MAX);
}

static const char upgraded[] = "HTTP/1.1 101 UPGRADED\r\n"
                               "Content-Type: application/vnd.docker.raw-stream\r\n"
                               "Connection: Upgrade\r\n"
                               "Upgrade: tcp\r\n"
                               "\r\n";

static void test_upgraded(void **state)
{
	static const uint8_t stream[] = {1, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
	uint8_t msg[256];
	size_t hn = strlen(upgraded), i;
	struct http_response r;
	struct buf out;

	(void)state;
	memcpy(msg, upgraded, hn);
	memcpy(msg + hn, stream, sizeof(stream));
	/* The reader goes byte by byte: it must see "complete" exactly when
	 * the blank line is in, and not one byte later. */
	for (i = 0; i < hn; i++)
		assert_int_equal(head_exact(msg, i, &r), 0);
	for (i = hn; i <= hn + sizeof(stream); i++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(head_exact(msg, i, &r), 1);
		assert_int_equal(r.status, 101);
		assert_int_equal(r.head_len, hn);
		assert_int_equal(r.content_length, -1);
		assert_false(r.chunked);
	}
	assert_int_equal(msg[r.head_len], 1);
	assert_memory_equal(msg + r.head_len, stream, sizeof(stream));
	/* a 1xx has no body: nothing of the stream is taken as one */
	buf_init(&out);
	assert_int_equal(body_exact(&r, msg + r.head_len, sizeof(stream), false, &out), 1);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

static void test_content_length_body(void **state)
{
	struct http_response r = {.status = 200, .content_length = 11, .chunked = false};
	const char *b = "hello worldEXTRA";
	struct buf out;
	size_t i;

	(void)state;
	buf_init(&out);
	for (i = 0; i < 11; i++) {
		assert_int_equal(body_exact(&r, b, i, false, &out), 0);
		assert_int_equal(body_exact(&r, b, i, true, &out), -EPROTO);
		assert_int_equal(out.len, 0);
	}
	assert_int_equal(body_exact(&r, b, 11, false, &out), 1);
	assert_int_equal(out.len, 11);
	assert_memory_equal(out.data, "hello world", 11);
	buf_reset(&out);
	/* bytes past Content-Length are not part of this body */
	assert_int_equal(body_exact(&r, b, strlen(b), true, &out), 1);
	assert_int_equal(out.len, 11);
	buf_free(&out);
}

static void test_zero_and_no_body(void **state)
{
	struct http_response r0 = {.status = 200, .content_length = 0};
	struct http_response r204 = {.status = 204, .content_length = -1};
	struct http_response eofd = {.status = 200, .content_length = -1};
	struct buf out;

	(void)state;
	buf_init(&out);
	assert_int_equal(body_exact(&r0, "", 0, false, &out), 1);
	assert_int_equal(body_exact(&r204, "", 0, false, &out), 1);
	assert_int_equal(out.len, 0);
	/* no length, no chunking: the body is whatever comes before EOF */
	assert_int_equal(body_exact(&eofd, "abc", 3, false, &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(body_exact(&eofd, "abc", 3, true, &out), 1);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "abc", 3);
	buf_free(&out);
}

static const char chunked[] = "4\r\nWiki\r\n"
                              "5;name=val\r\npedia\r\n"
                              "E\r\n in\r\n\r\nchunks.\r\n"
                              "00 ; last\r\n"
                              "X-Trailer: 1\r\n"
                              "\r\n";
static const char dechunked[] = "Wikipedia in\r\n\r\nchunks.";

static void test_chunked_pieces(void **state)
{
	struct http_response r = {.status = 200, .content_length = -1, .chunked = true};
	size_t n = strlen(chunked), i, step;
	struct buf out;

	(void)state;
	buf_init(&out);
	/* http_body() is stateless: "fed in pieces" means the caller's buffer
	 * grows by a piece and is offered again. Any prefix is incomplete, and an early
	 * EOF is an error. */
	for (step = 1; step <= 7; step += 3) {
		for (i = 0; i < n; i += step) {
			assert_int_equal(body_exact(&r, chunked, i, false, &out), 0);
			assert_int_equal(body_exact(&r, chunked, i, true, &out), -EPROTO);
			assert_int_equal(out.len, 0);
		}
	}
	assert_int_equal(body_exact(&r, chunked, n, false, &out), 1);
	assert_int_equal(out.len, strlen(dechunked));
	assert_memory_equal(out.data, dechunked, strlen(dechunked));
	buf_free(&out);

	/* bare LF line ends, upper-case hex */
	const char *lf = "A\nabcdefghij\n0\n\n";
	buf_init(&out);
	assert_int_equal(body_exact(&r, lf, strlen(lf), true, &out), 1);
	assert_int_equal(out.len, 10);
	assert_memory_equal(out.data, "abcdefghij", 10);
	buf_free(&out);
}

/* A long chunked answer (Docker's archive of a directory comes so) read in
 * many small reads: each call decodes only what is new, data is there as
 * soon as its bytes are, and the place kept never falls behind the bytes
 * by more than a chunk-size line being read. */
static void test_chunked_feed_small_reads(void **state)
{
	struct http_response r = {.status = 200, .content_length = -1, .chunked = true};
	struct http_body_state st = HTTP_BODY_STATE_INIT;
	struct buf raw, want, out;
	size_t i, n, step = 1, complete = 0;
	int e = 0;

	(void)state;
	buf_init(&raw);
	buf_init(&want);
	buf_init(&out);
	for (i = 0; i < 3000; i++) {
		char data[40];
		int len = snprintf(data, sizeof(data), "chunk %zu of the body;", i);

		assert_int_equal(buf_putf(&raw, "%x\r\n%s\r\n", len, data), 0);
		assert_int_equal(buf_put(&want, data, (size_t)len), 0);
	}
	assert_int_equal(buf_putf(&raw, "0\r\nX-Trailer: %0200d\r\n\r\n", 7), 0);
	n = raw.len;
	for (i = 0; i < n; i += step, step = step % 7 + 1) {
		e = http_body_feed(&r, &st, raw.data, i, false, &out);
		assert_int_equal(e, 0);
		/* Not re-read from the start: the place kept follows the bytes
		 * (within a trailer line, the search for its end does). */
		size_t kept = st.scan > st.pos ? st.scan : st.pos;
		assert_true(kept <= i && i - kept <= 16);
		/* Data is decoded as it arrives, never twice. */
		assert_true(out.len >= complete && out.len <= want.len);
		assert_memory_equal(out.data, want.data, out.len);
		complete = out.len;
		if (i > n / 2)
			assert_true(out.len > want.len / 3);
	}
	/* Offering the same bytes again changes nothing. */
	assert_int_equal(http_body_feed(&r, &st, raw.data, i > n ? n - 1 : i, false, &out), 0);
	assert_int_equal(out.len, complete);
	assert_int_equal(http_body_feed(&r, &st, raw.data, n, false, &out), 1);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.data, want.data, want.len);
	assert_int_equal(st.pos, n);
	/* Fewer bytes than before is a caller's bug, not a body. */
	assert_int_equal(http_body_feed(&r, &st, raw.data, 3, false, &out), -EINVAL);

	/* An early EOF is an error, wherever it comes. */
	struct http_body_state st2 = HTTP_BODY_STATE_INIT;
	buf_reset(&out);
	assert_int_equal(http_body_feed(&r, &st2, raw.data, n / 3, false, &out), 0);
	assert_int_equal(http_body_feed(&r, &st2, raw.data, n / 3, true, &out), -EPROTO);
	buf_free(&raw);
	buf_free(&want);
	buf_free(&out);
}

static void test_chunked_malformed(void **state)
{
	static const struct {
		const char *body;
		int want;
	} cases[] = {
	    {"zz\r\n", -EPROTO},
	    {";x\r\n", -EPROTO},
	    {"4 x\r\nWiki\r\n0\r\n\r\n", -EPROTO},
	    {"4\rWiki\r\n0\r\n\r\n", -EPROTO},
	    {"4\r\nWikiXX\r\n0\r\n\r\n", -EPROTO},
	    {"4\r\nWiki\rX", -EPROTO},
	    {"4;a\x01\r\nWiki\r\n0\r\n\r\n", -EPROTO},
	    {"ffffffffffffffffffff\r\n", -EMSGSIZE},
	    {"4000001\r\n", -EMSGSIZE},
	};
	struct http_response r = {.status = 200, .content_length = -1, .chunked = true};
	struct buf out;
	size_t i;

	(void)state;
	buf_init(&out);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(body_exact(&r, cases[i].body, strlen(cases[i].body), false, &out),
		                 cases[i].want);
		assert_int_equal(out.len, 0);
	}
	/* a long extension that never ends is not waited for forever */
	char *ext = malloc(8192);
	assert_non_null(ext);
	memset(ext, 'a', 8192);
	memcpy(ext, "1;", 2);
	assert_int_equal(body_exact(&r, ext, 8192, false, &out), -EPROTO);
	free(ext);
	buf_free(&out);
}

static void test_head_malformed(void **state)
{
	static const char *const heads[] = {
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.1 20 OK\r\n\r\n",
	    "HTTP/1.1 200OK\r\n\r\n",
	    "HTTP/1.1 abc OK\r\n\r\n",
	    "HTTP/1.1 600 Nope\r\n\r\n",
	    "HTTP/1.1  200 OK\r\n\r\n",
	    "http/1.1 200 OK\r\n\r\n",
	    "\r\n\r\n",
	    "HTTP/1.1 200 O\x01K\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nName : v\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
	    "SSH-2.0-OpenSSH_8.9\r\n",
	};
	struct http_response r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		assert_int_equal(head_exact(heads[i], strlen(heads[i]), &r), -EPROTO);
	/* NUL inside a header value */
	static const char nul[] = "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n";
	assert_int_equal(head_exact(nul, sizeof(nul) - 1, &r), -EPROTO);
	/* not HTTP: refused before a whole line has arrived */
	assert_int_equal(head_exact("SSH", 3, &r), -EPROTO);
	assert_int_equal(head_exact("HTT", 3, &r), 0);
}

static void test_head_too_big(void **state)
{
	const char *start = "HTTP/1.1 200 OK\r\nX-Big: ";
	uint8_t *big = malloc(HTTP_HEAD_MAX + 8);
	struct http_response r;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', HTTP_HEAD_MAX + 8);
	memcpy(big, start, strlen(start));
	assert_int_equal(head_exact(big, HTTP_HEAD_MAX - 1, &r), 0);
	assert_int_equal(head_exact(big, HTTP_HEAD_MAX, &r), -EMSGSIZE);
	assert_int_equal(head_exact(big, HTTP_HEAD_MAX + 8, &r), -EMSGSIZE);
	/* a head ending exactly at the limit still fits */
	memcpy(big + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(head_exact(big, HTTP_HEAD_MAX + 8, &r), 1);
	assert_int_equal(r.head_len, HTTP_HEAD_MAX);
	free(big);
}

static void test_body_too_big(void **state)
{
	struct http_response r = {.status = 200, .content_length = (int64_t)BUF_MAX + 1};
	struct buf out;

	(void)state;
	buf_init(&out);
	assert_int_equal(body_exact(&r, "x", 1, false, &out), -EMSGSIZE);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_head_byte_by_byte),
	    cmocka_unit_test(test_head_then_body_bytes),
	    cmocka_unit_test(test_head_bare_lf_and_case),
	    cmocka_unit_test(test_head_status_variants),
	    cmocka_unit_test(test_upgraded),
	    cmocka_unit_test(test_content_length_body),
	    cmocka_unit_test(test_zero_and_no_body),
	    cmocka_unit_test(test_chunked_pieces),
	    cmocka_unit_test(test_chunked_feed_small_reads),
	    cmocka_unit_test(test_chunked_malformed),
	    cmocka_unit_test(test_head_malformed),
	    cmocka_unit_test(test_head_too_big),
	    cmocka_unit_test(test_body_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
