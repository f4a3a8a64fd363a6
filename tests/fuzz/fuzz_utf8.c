/*
 * libFuzzer harness for the UTF-8 sanitizer (util_utf8_sanitize): whatever
 * the bytes, the result must be valid UTF-8 without NUL, input that was
 * already valid must come back unchanged, and nothing may crash. The same
 * for the two other ways bytes become text: names escaped byte for byte
 * (util_escape_bytes, exact exactly when the input was valid) and Docker's
 * rendering of a name (changes_docker_name).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = util_utf8_sanitize(data, size);
	size_t n;

	if (out == NULL)
		abort();
	n = strlen(out);
	if (!util_utf8_valid(out, n))
		abort();
	/* Every input byte yields at most one 3-byte U+FFFD. */
	if (n > size * 3)
		abort();
	if (util_utf8_valid(data, size) && (n != size || memcmp(out, data, size) != 0))
		abort();
	free(out);

	bool exact;
	out = util_escape_bytes(data, size, &exact);
	if (out == NULL)
		abort();
	n = strlen(out);
	if (!util_utf8_valid(out, n) || n > size * 4 || exact != (bool)util_utf8_valid(data, size))
		abort();
	if (exact && (n != size || memcmp(out, data, size) != 0))
		abort();
	free(out);

	out = changes_docker_name(data, size);
	if (out == NULL)
		abort();
	n = strlen(out);
	if (!util_utf8_valid(out, n) || n > size * 3)
		abort();
	if (util_utf8_valid(data, size) && (n != size || memcmp(out, data, size) != 0))
		abort();
	free(out);
	return 0;
}
