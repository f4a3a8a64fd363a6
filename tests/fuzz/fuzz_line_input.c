/*
 * libFuzzer harness for line_input: keys in chunks, as reads deliver them.
 * Input: byte 0 bit 0 picks terminal editing, the rest of byte 0 the chunk
 * size; then the keys. Every line handed out is read whole and must be
 * within the bound.
 */
#include <stddef.h>
#include <stdint.h>

#include "line_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_line(void *arg, const char *text, size_t len, unsigned flags)
{
	size_t *sum = arg;

	if ((len == 0 && !(flags & LINE_UNRESOLVED)) || len > LINE_INPUT_MAX || flags > 15)
		__builtin_trap();
	for (size_t i = 0; i < len; i++)
		*sum += (unsigned char)text[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sum = 0;

	if (size < 1)
		return 0;
	bool editing = data[0] & 1;
	size_t chunk = (data[0] >> 1) + 1u;
	struct line_input *li = line_input_new(editing, on_line, &sum);
	if (li == NULL)
		return 0;
	for (size_t at = 1; at < size; at += chunk)
		line_input_feed(li, data + at, size - at < chunk ? size - at : chunk);
	line_input_finish(li);
	line_input_free(li);
	return 0;
}
