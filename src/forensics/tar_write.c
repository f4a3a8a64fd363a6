/* ustar entries for Docker's archive upload (see tar_write.h). */
#include "tar_write.h"

#include <stdio.h>
#include <string.h>

#define BLOCK 512

/* A number in an octal field of `width` bytes: width - 1 digits and a NUL,
 * as POSIX has it. -1 when it does not fit. */
static int octal(uint8_t *field, size_t width, uint64_t v)
{
	char text[24];

	if (width > sizeof(text) || ((width - 1) * 3 < 64 && (v >> ((width - 1) * 3)) != 0))
		return -1;
	snprintf(text, sizeof(text), "%0*llo", (int)(width - 1), (unsigned long long)v);
	memcpy(field, text, width); /* the digits and snprintf's NUL */
	return 0;
}

static int plain_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 100 || name[0] == '/' || name[n - 1] == '/')
		return 0;
	for (const char *s = name; s != NULL; s = strchr(s, '/')) {
		s += *s == '/';
		if (s[0] == '/' || strncmp(s, "../", 3) == 0 || strcmp(s, "..") == 0 ||
		    strncmp(s, "./", 2) == 0 || strcmp(s, ".") == 0)
			return 0;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < ' ' || name[i] == 0x7f)
			return 0;
	return 1;
}

int tar_write_file(struct buf *out, const char *name, uint32_t mode, unsigned uid, unsigned gid,
                   int64_t mtime, const void *data, size_t len)
{
	uint8_t h[BLOCK] = {0};
	static const uint8_t zeros[BLOCK];
	unsigned sum = 0;

	if (!plain_name(name) || mtime < 0)
		return -1;
	memcpy(h, name, strlen(name));
	if (octal(h + 100, 8, mode & 07777) < 0 || octal(h + 108, 8, uid) < 0 ||
	    octal(h + 116, 8, gid) < 0 || octal(h + 124, 12, len) < 0 ||
	    octal(h + 136, 12, (uint64_t)mtime) < 0)
		return -1;
	h[156] = '0';
	memcpy(h + 257, "ustar", 6); /* with its NUL */
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8); /* the checksum counts its own field as spaces */
	for (size_t i = 0; i < BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum); /* six digits, NUL, then the space left */
	size_t pad = (BLOCK - len % BLOCK) % BLOCK, was = out->len;
	if (buf_reserve(out, BLOCK + len + pad) < 0 || buf_put(out, h, BLOCK) < 0 ||
	    buf_put(out, data, len) < 0 || buf_put(out, zeros, pad) < 0) {
		out->len = was;
		return -1;
	}
	return 0;
}

int tar_write_end(struct buf *out)
{
	static const uint8_t zeros[2 * BLOCK];

	return buf_put(out, zeros, sizeof(zeros)) < 0 ? -1 : 0;
}
