/* libFuzzer harness: any archive-endpoint answer through the tar reader
 * (every entry, as artifact collection walks it, and the first file, whose
 * contents go through the exit report parser). Half
 * the inputs get a correct header checksum written in first, so the fuzzer
 * also explores what lies past that check. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit_signal.h"
#include "tar_read.h"

static void fix_checksum(uint8_t *h)
{
	/* Six octal digits, NUL, space: what GNU tar writes. */
	snprintf((char *)h + 148, 8, "%06o", (unsigned)tar_header_sum(h));
	h[155] = ' ';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	const uint8_t *file;
	size_t len;
	int sig;
	bool core;

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	if (size >= TAR_BLOCK && (p[0] & 1))
		fix_checksum(p);
	static struct tar_entry e;
	size_t off = 0, last = 0;
	int r;

	while ((r = tar_next(p, size, &off, &e)) == 1) {
		if (off <= last || off > size || e.data < p || e.size > size ||
		    e.data + e.size > p + size || strlen(e.name) >= TAR_NAME_MAX)
			__builtin_trap();
		last = off;
	}
	if (tar_first_file(p, size, &file, &len) == 0) {
		if (file != p + TAR_BLOCK || len > size - TAR_BLOCK)
			__builtin_trap();
		if (exit_signal_parse((const char *)file, len, &sig, &core) == 0 &&
		    (sig < 1 || sig > EXIT_SIGNAL_MAX))
			__builtin_trap();
	}
	/* The parser alone, on the raw bytes too. */
	if (exit_signal_parse((const char *)data, size, &sig, &core) == 0 &&
	    (sig < 1 || sig > EXIT_SIGNAL_MAX))
		__builtin_trap();
	(void)exit_signal_name(size > 0 ? data[0] : 0);
	free(p);
	return 0;
}
