/*
 * libFuzzer harness for demux.c: the input (after one byte that seeds the
 * piece sizes) is fed whole and then in pieces; both must deliver the same
 * bytes on the same streams and end with the same result.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "demux.h"

#include "fuzz_check.h"

struct sink {
	uint8_t *bytes, *streams;
	size_t n, cap;
};

static void collect(void *arg, int stream, const uint8_t *data, size_t len)
{
	struct sink *s = arg;

	CHECK(len > 0);
	CHECK(stream >= 0 && stream <= 2);
	CHECK(len <= s->cap - s->n); /* never more out than in */
	memcpy(s->bytes + s->n, data, len);
	memset(s->streams + s->n, stream, len);
	s->n += len;
}

static int run(const uint8_t *p, size_t n, uint8_t seed, struct sink *s)
{
	struct demux d;
	size_t pos = 0, step = 0, k;
	int e = 0;

	demux_init(&d);
	while (pos < n) {
		k = seed ? 1 + (size_t)((seed * (step + 1)) % 13) : n;
		if (k > n - pos)
			k = n - pos;
		uint8_t *copy = malloc(k ? k : 1);
		CHECK(copy != NULL);
		if (k)
			memcpy(copy, p + pos, k);
		e = demux_feed(&d, copy, k, collect, s);
		free(copy);
		if (e)
			break;
		pos += k;
		step++;
	}
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink a = {0}, b = {0};
	int ea, eb;

	if (size < 1)
		return 0;
	a.cap = b.cap = size;
	a.bytes = malloc(size);
	a.streams = malloc(size);
	b.bytes = malloc(size);
	b.streams = malloc(size);
	CHECK(a.bytes && a.streams && b.bytes && b.streams);
	ea = run(data + 1, size - 1, 0, &a);
	eb = run(data + 1, size - 1, data[0], &b);
	CHECK(ea == 0 || ea == -EPROTO);
	CHECK(ea == eb);
	CHECK(a.n == b.n);
	CHECK(memcmp(a.bytes, b.bytes, a.n) == 0 && memcmp(a.streams, b.streams, a.n) == 0);
	free(a.bytes);
	free(a.streams);
	free(b.bytes);
	free(b.streams);
	return 0;
}
