/*
 * libFuzzer harness for authlog_order.c: any bytes as the tail of a box's
 * auth.log (root in the box can write anything there before a login that
 * brings an earlier connection's failures). Beyond "no crash, no
 * over-read" it checks what agent_authlog.c relies on: the insertion point
 * is a line start within the text; the merge keeps every byte of the text
 * in order and every new line once, in their order, and is exactly as long
 * as both.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authlog_order.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const time_t now = 1796580920;
	const struct authlog_new_line lines[] = {
	    {now - 7200, "\x01one\n", 5},
	    {now - 300, "\x01two\n", 5},
	    {now - 300, "\x01three\n", 7},
	    {now + 10,
	     "\x01"
	     "four\n",
	     6},
	};
	char *text = malloc(size + 1), *out;
	size_t at, cap;
	long n;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < size; i++)
		authlog_stamp_time(text + i, size - i, now);
	at = authlog_insert_at(text, size, lines[0].when, now);
	CHECK(at <= size);
	CHECK(at == 0 || at == size || text[at - 1] == '\n');
	cap = size - at + 23;
	out = malloc(cap);
	CHECK(out != NULL);
	n = authlog_merge(text + at, size - at, lines, 4, now, out, cap);
	CHECK(n == (long)cap);
	/* The text's bytes, in order, once the new lines are taken out: they
	 * are marked by \x01 and cannot be confused when the text has none. */
	if (memchr(text, '\x01', size) == NULL) {
		size_t o = 0, t = at, k = 0;
		while (o < (size_t)n) {
			if (out[o] == '\x01') {
				CHECK(k < 4 && memcmp(out + o, lines[k].text, lines[k].len) == 0);
				o += lines[k++].len;
			} else {
				CHECK(t < size && out[o] == text[t]);
				o++;
				t++;
			}
		}
		CHECK(k == 4 && t == size);
	}
	CHECK(authlog_merge(text + at, size - at, lines, 4, now, out, cap - 1) == -1);
	free(out);
	free(text);
	return 0;
}
