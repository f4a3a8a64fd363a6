/*
 * libFuzzer harness for http_head.c: any bytes as what a box sent on a
 * TCP connection. Beyond "no crash, no over-read" it checks what
 * sink_tcp.c relies on: a whole head is no longer than the input or
 * HTTP_HEAD_MAX, every string it gives is inside the head's own store,
 * the method is a known one and the version HTTP/1.x, the Host is one of
 * the fields; the head alone parses the same (nothing after it was read);
 * "not yet" only below HTTP_HEAD_MAX; and the URL http_head_url writes
 * has the length it returns and fits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_head.h"

#include "fuzz_check.h"

static struct http_head h, again;

/* s is a NUL-terminated string inside h.store[0..h.len]. */
static void inside(const char *s)
{
	CHECK(s != NULL);
	CHECK(s >= h.store && s <= h.store + h.len);
	CHECK(memchr(s, '\0', (size_t)(h.store + h.len - s) + 1) != NULL);
}

static void url(int tls, const char *fallback)
{
	char *out = malloc(HTTP_HEAD_MAX + 64);

	CHECK(out != NULL);
	int r = http_head_url(&h, tls, fallback, out, HTTP_HEAD_MAX + 64);
	CHECK(r >= -1);
	if (r >= 0) {
		CHECK((size_t)r < HTTP_HEAD_MAX + 64);
		CHECK(strlen(out) == (size_t)r);
		/* the same URL, exactly fitting, and not one byte less */
		char *exact = malloc((size_t)r + 1);
		CHECK(exact != NULL);
		CHECK(http_head_url(&h, tls, fallback, exact, (size_t)r + 1) == r);
		CHECK(memcmp(exact, out, (size_t)r + 1) == 0);
		CHECK(http_head_url(&h, tls, fallback, exact, (size_t)r) == -1);
		free(exact);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);

	CHECK(p != NULL);
	if (size)
		memcpy(p, data, size);
	int looks = http_head_looks_like(p, size);
	CHECK(looks == 0 || looks == 1);
	int r = http_head_parse(p, size, &h);
	CHECK(r == -1 || r == 0 || r == 1);
	if (r == 0)
		CHECK(size < HTTP_HEAD_MAX && (size == 0 || looks));
	if (r == 1) {
		CHECK(looks);
		CHECK(h.len > 0 && h.len <= size && h.len <= HTTP_HEAD_MAX);
		CHECK(p[h.len - 1] == '\n');
		inside(h.method);
		inside(h.target);
		inside(h.version);
		CHECK(*h.target != '\0');
		CHECK(strncmp(h.version, "HTTP/1.", 7) == 0);
		CHECK(strcmp(h.method, "GET") == 0 || strcmp(h.method, "HEAD") == 0 ||
		      strcmp(h.method, "POST") == 0 || strcmp(h.method, "PUT") == 0 ||
		      strcmp(h.method, "DELETE") == 0 || strcmp(h.method, "PATCH") == 0 ||
		      strcmp(h.method, "OPTIONS") == 0 || strcmp(h.method, "CONNECT") == 0 ||
		      strcmp(h.method, "TRACE") == 0);
		CHECK(h.n_headers <= HTTP_HEADERS_MAX);
		int host_seen = h.host == NULL;
		for (size_t i = 0; i < h.n_headers; i++) {
			inside(h.headers[i].name);
			inside(h.headers[i].value);
			CHECK(*h.headers[i].name != '\0');
			CHECK(strchr(h.headers[i].name, ':') == NULL);
			host_seen |= h.headers[i].value == h.host;
		}
		CHECK(host_seen);

		/* the head alone: the same answer */
		char *head = malloc(h.len);
		CHECK(head != NULL);
		memcpy(head, p, h.len);
		CHECK(http_head_parse(head, h.len, &again) == 1);
		CHECK(again.len == h.len && again.n_headers == h.n_headers);
		CHECK(strcmp(again.target, h.target) == 0);
		CHECK((again.host == NULL) == (h.host == NULL));
		free(head);

		url(0, "192.0.2.1:8080");
		url(1, "192.0.2.1");
	}
	free(p);
	return 0;
}
