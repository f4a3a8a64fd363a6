/*
 * libFuzzer harness for http.c: any bytes as a response head, the rest as
 * its body (with and without EOF), and any bytes as a body under a framing
 * chosen by the first byte, so the de-chunker is reached without a valid
 * head. Beyond "no crash, no over-read" it checks the invariants callers
 * rely on (head_len inside the input, decoded sizes that add up), and that
 * a body fed in pieces (http_body_feed, as docker.c reads) decodes to what
 * the whole of it does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#include "fuzz_check.h"

/* A heap copy of exactly n bytes, so reading past the end is caught. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	CHECK(c != NULL);
	if (n)
		memcpy(c, p, n);
	return c;
}

/* The body offered as it grows, in steps the input chooses; the result and
 * the bytes must be those of the one-shot call (want, wlen). */
static void body_pieces(const struct http_response *r, const uint8_t *p, size_t n, int want,
                        const struct buf *whole)
{
	struct http_body_state st = HTTP_BODY_STATE_INIT;
	struct buf out;
	size_t i = 0;
	int e = 0;

	buf_init(&out);
	while (i < n && e == 0) {
		e = http_body_feed(r, &st, p, i, false, &out);
		CHECK(e == 1 || e == 0 || e < 0);
		i += 1 + p[i] % 13;
	}
	if (e == 0)
		e = http_body_feed(r, &st, p, n, false, &out);
	CHECK(e == want);
	if (e == 1)
		CHECK(out.len == whole->len &&
		      (out.len == 0 || memcmp(out.data, whole->data, out.len) == 0));
	buf_free(&out);
}

static void body_both(const struct http_response *r, const uint8_t *p, size_t n)
{
	uint8_t *copy = dup_exact(p, n);
	struct buf out;
	int e1, e2;

	buf_init(&out);
	e1 = http_body(r, copy, n, false, &out);
	CHECK(e1 == 1 || e1 == 0 || e1 < 0);
	if (e1 != 1)
		CHECK(out.len == 0);
	else if (!r->chunked && r->content_length >= 0 && r->status != 204 && r->status != 304 &&
	         r->status / 100 != 1)
		CHECK(out.len == (size_t)r->content_length);
	if (e1 == 1 && r->chunked)
		CHECK(out.len <= n);
	body_pieces(r, copy, n, e1, &out);
	buf_reset(&out);
	e2 = http_body(r, copy, n, true, &out);
	/* EOF can only turn "need more" into an answer, never change one */
	if (e1 != 0)
		CHECK(e2 == e1);
	else
		CHECK(e2 != 0);
	buf_free(&out);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_response r, again;
	int e;

	e = http_parse_head(data, size, &r);
	CHECK(e == 0 || e == 1 || e == -EPROTO || e == -EMSGSIZE);
	if (e == 1) {
		CHECK(r.head_len > 0 && r.head_len <= size && r.head_len <= HTTP_HEAD_MAX);
		CHECK(r.status >= 100 && r.status <= 599);
		CHECK(r.content_length >= -1);
		/* the head alone parses the same: nothing after it was read */
		uint8_t *head = dup_exact(data, r.head_len);
		CHECK(http_parse_head(head, r.head_len, &again) == 1);
		CHECK(memcmp(&again, &r, sizeof(r)) == 0);
		free(head);
		body_both(&r, data + r.head_len, size - r.head_len);
	}

	if (size >= 1) {
		struct http_response fake = {.status = 200, .content_length = -1};
		uint8_t mode = data[0];

		fake.chunked = mode & 1;
		if (!fake.chunked && (mode & 2))
			fake.content_length = mode >> 2;
		body_both(&fake, data + 1, size - 1);
	}
	return 0;
}
