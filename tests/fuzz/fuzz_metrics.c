/*
 * libFuzzer harness for metrics.c: the input's lines as events (JSON
 * objects, whose strings an attacker or a box may have chosen) and as
 * Docker calls ("METHOD /path", for a line that is not JSON). Beyond "no
 * crash, no leak": the text always renders, ends with a newline, stays
 * under what hermes-metrics takes (128 KiB), and every label value in it
 * is made of the characters Hermes' own names use.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "metrics.h"

#include "fuzz_check.h"

static void check_labels(const char *t, size_t n)
{
	const char *p = t, *end = t + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		CHECK(nl != NULL);
		if (*p != '#') {
			const char *open = memchr(p, '{', (size_t)(nl - p));
			const char *close =
			    open != NULL ? memchr(open, '}', (size_t)(nl - open)) : NULL;
			CHECK(open == NULL || close != NULL);
			for (const char *c = open != NULL ? open + 1 : nl; c < close; c++)
				CHECK(strchr("abcdefghijklmnopqrstuvwxyz0123456789_.+-=\",I", *c) !=
				          NULL &&
				      *c != '\0');
		}
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics *m = metrics_new(1.0);
	const char *p = (const char *)data, *end = p + size;

	if (m == NULL)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		json_error_t err;
		json_t *ev = json_loadb(p, n, JSON_ALLOW_NUL, &err);
		if (ev != NULL) {
			metrics_event(m, ev);
			json_decref(ev);
		} else {
			char *what = strndup(p, n);
			CHECK(what != NULL);
			metrics_docker_call(m, what, n % 2, (int64_t)n * 1000);
			free(what);
		}
		p += n + 1;
	}
	struct metrics_live live = {1, 2, 3, 4, 5, 6};
	struct buf b;
	buf_init(&b);
	CHECK(metrics_render(m, &live, &b) == 0);
	CHECK(b.len > 0 && b.len < 128 * 1024 && b.data[b.len - 1] == '\n');
	check_labels((const char *)b.data, b.len);
	buf_free(&b);
	metrics_free(m);
	return 0;
}
