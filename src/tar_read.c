/* tar_read: see tar_read.h. Header layout from POSIX ustar (pax's "ustar
 * Interchange Format"): size at 124 (12 bytes), checksum at 148 (8 bytes),
 * type flag at 156. */
#include "tar_read.h"

#include <stdbool.h>

#define SIZE_OFF   124
#define SIZE_LEN   12
#define CHKSUM_OFF 148
#define CHKSUM_LEN 8
#define TYPE_OFF   156

/* An octal field: optional leading spaces, digits, then NUL or spaces to
 * the end of the field. False for anything else (base-256 included). */
static bool octal(const uint8_t *f, size_t len, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;
	bool digits = false;

	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return false;
		v = v * 8 + (uint64_t)(f[i] - '0');
		digits = true;
	}
	for (; i < len; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return false;
	*out = v;
	return digits;
}

uint64_t tar_header_sum(const uint8_t *h)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += i >= CHKSUM_OFF && i < CHKSUM_OFF + CHKSUM_LEN ? ' ' : h[i];
	return sum;
}

static bool checksum_ok(const uint8_t *h)
{
	uint64_t want;

	return octal(h + CHKSUM_OFF, CHKSUM_LEN, &want) && want == tar_header_sum(h);
}

int tar_first_file(const uint8_t *p, size_t n, const uint8_t **data, size_t *len)
{
	uint64_t size;

	if (p == NULL || n < TAR_BLOCK || !checksum_ok(p))
		return -1;
	if (p[TYPE_OFF] != '0' && p[TYPE_OFF] != '\0')
		return -1;
	if (!octal(p + SIZE_OFF, SIZE_LEN, &size) || size > n - TAR_BLOCK)
		return -1;
	*data = p + TAR_BLOCK;
	*len = (size_t)size;
	return 0;
}
