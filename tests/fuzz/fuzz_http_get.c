/*
 * libFuzzer harness for http_get.c: any bytes as what a scraper sent to
 * metrics.listen. Beyond "no crash, no over-read": the status is one
 * hermes-metrics knows; "not yet" only below HTTP_GET_HEAD_MAX; a
 * complete head gives the same status with anything appended; only a
 * GET or HEAD of /metrics is served; and the answer's Content-Length is
 * its body's length (none for HEAD).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_get.h"

#include "fuzz_check.h"

static void check_answer(int status, bool head)
{
	static const char body[] = "hermes_build_info 1\n";
	struct buf b;
	buf_init(&b);
	CHECK(http_get_answer(&b, status, head, body, sizeof(body) - 1) == 0);
	const char *text = (const char *)b.data;
	const char *end = memmem(text, b.len, "\r\n\r\n", 4);
	CHECK(end != NULL);
	const char *cl = memmem(text, (size_t)(end - text), "Content-Length: ", 16);
	CHECK(cl != NULL);
	size_t len = strtoul(cl + 16, NULL, 10);
	size_t got = b.len - (size_t)(end + 4 - text);
	CHECK(head ? got == 0 : got == len);
	CHECK(status != 200 || len == sizeof(body) - 1);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 16);
	bool head;

	CHECK(p != NULL);
	if (size)
		memcpy(p, data, size);
	int r = http_get_parse(p, size, &head);
	CHECK(r == 0 || r == 200 || r == 400 || r == 404 || r == 405 || r == 431 || r == 505);
	if (r == 0)
		CHECK(size < HTTP_GET_HEAD_MAX);
	if (r == 200)
		CHECK(size >= 4 && (memcmp(p, "GET ", 4) == 0 || memcmp(p, "HEAD ", 5) == 0));
	if (r != 0) {
		bool again_head;
		memcpy(p + size, "GET / HTTP/1.1\r\n", 16);
		CHECK(http_get_parse(p, size + 16, &again_head) == r);
		CHECK(again_head == head);
		check_answer(r, head);
	}
	free(p);
	return 0;
}
