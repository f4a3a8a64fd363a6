/* tar_read: see tar_read.h. Header layout from POSIX ustar (pax's "ustar
 * Interchange Format"): name at 0 (100), mode at 100 (8), size at 124 (12),
 * mtime at 136 (12), checksum at 148 (8), type flag at 156, link name at 157 (100), magic at
 * 257, prefix at 345 (155). */
#include "tar_read.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NAME_OFF   0
#define NAME_LEN   100
#define MODE_OFF   100
#define MODE_LEN   8
#define SIZE_OFF   124
#define SIZE_LEN   12
#define MTIME_OFF  136
#define MTIME_LEN  12
#define CHKSUM_OFF 148
#define CHKSUM_LEN 8
#define TYPE_OFF   156
#define LINK_OFF   157
#define LINK_LEN   100
#define MAGIC_OFF  257
#define PREFIX_OFF 345
#define PREFIX_LEN 155
/* Extended headers before one entry: more is not an archive Docker made. */
#define MAX_EXTENSIONS 4

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

/* Copies at most len bytes of f, up to a NUL if there is one, to out[cap],
 * cutting what does not fit. */
static void field(char *out, size_t cap, const uint8_t *f, size_t len)
{
	const uint8_t *nul = memchr(f, '\0', len);
	size_t n = nul ? (size_t)(nul - f) : len;

	if (n >= cap)
		n = cap - 1;
	memcpy(out, f, n);
	out[n] = '\0';
}

/* The whole seconds of a PAX time ("1733369140.180202629"); -1 if it is
 * not one (a negative time, say: left to the header's). */
static int64_t pax_seconds(const uint8_t *v, size_t n)
{
	int64_t s = 0;
	size_t i;

	for (i = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		if (s > (INT64_MAX - 9) / 10)
			return -1;
		s = s * 10 + (v[i] - '0');
	}
	return i > 0 && (i == n || v[i] == '.') ? s : -1;
}

/* PAX records "LEN KEY=VALUE\n": takes path, linkpath and mtime, ignores
 * others. False when a record is malformed. */
static bool pax(const uint8_t *p, size_t n, struct tar_entry *e, bool *name, bool *link)
{
	while (n > 0) {
		size_t len = 0, i = 0;

		for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
			len = len * 10 + (size_t)(p[i] - '0');
			if (len > n)
				return false;
		}
		if (i == 0 || i >= n || p[i] != ' ' || len <= i + 1 || len > n ||
		    p[len - 1] != '\n')
			return false;
		const uint8_t *kv = p + i + 1, *eq;
		size_t kvlen = len - i - 2;

		eq = memchr(kv, '=', kvlen);
		if (eq == NULL)
			return false;
		size_t klen = (size_t)(eq - kv), vlen = kvlen - klen - 1;
		if (klen == 4 && memcmp(kv, "path", 4) == 0) {
			field(e->name, sizeof(e->name), eq + 1, vlen);
			*name = true;
		} else if (klen == 8 && memcmp(kv, "linkpath", 8) == 0) {
			field(e->link, sizeof(e->link), eq + 1, vlen);
			*link = true;
		} else if (klen == 5 && memcmp(kv, "mtime", 5) == 0) {
			e->mtime = pax_seconds(eq + 1, vlen);
		}
		p += len;
		n -= len;
	}
	return true;
}

static bool zero_block(const uint8_t *h)
{
	for (size_t i = 0; i < TAR_BLOCK; i++)
		if (h[i] != 0)
			return false;
	return true;
}

int tar_next(const uint8_t *p, size_t n, size_t *off, struct tar_entry *e)
{
	bool have_name = false, have_link = false;

	e->type = '\0';
	e->mode = 0;
	e->mtime = -1;
	e->data = NULL;
	e->size = 0;
	e->name[0] = e->link[0] = '\0';
	for (int ext = 0;; ext++) {
		const uint8_t *h;
		uint64_t size, mode, blocks, mtime = 0;

		if (p == NULL || *off > n || n - *off < TAR_BLOCK)
			return ext == 0 && p != NULL && *off == n ? 0 : -1;
		h = p + *off;
		if (zero_block(h))
			return ext == 0 ? 0 : -1;
		if (!checksum_ok(h) || !octal(h + SIZE_OFF, SIZE_LEN, &size) ||
		    !octal(h + MODE_OFF, MODE_LEN, &mode))
			return -1;
		if (size > n - *off - TAR_BLOCK)
			return -1;
		blocks = (size + TAR_BLOCK - 1) / TAR_BLOCK;
		const uint8_t *data = h + TAR_BLOCK;
		size_t next = *off + TAR_BLOCK + (size_t)blocks * TAR_BLOCK;
		char type = h[TYPE_OFF] == '\0' ? '0' : (char)h[TYPE_OFF];

		if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
			if (ext >= MAX_EXTENSIONS || next > n)
				return -1;
			if (type == 'x' && !pax(data, (size_t)size, e, &have_name, &have_link))
				return -1;
			if (type == 'L') {
				field(e->name, sizeof(e->name), data, (size_t)size);
				have_name = true;
			} else if (type == 'K') {
				field(e->link, sizeof(e->link), data, (size_t)size);
				have_link = true;
			}
			*off = next;
			continue;
		}
		if (!have_name) {
			char prefix[PREFIX_LEN + 1], name[NAME_LEN + 1];

			field(name, sizeof(name), h + NAME_OFF, NAME_LEN);
			field(prefix, sizeof(prefix), h + PREFIX_OFF, PREFIX_LEN);
			if (prefix[0] != '\0' && memcmp(h + MAGIC_OFF, "ustar", 5) == 0)
				snprintf(e->name, sizeof(e->name), "%s/%s", prefix, name);
			else
				snprintf(e->name, sizeof(e->name), "%s", name);
		}
		if (e->mtime < 0 && !octal(h + MTIME_OFF, MTIME_LEN, &mtime))
			mtime = 0;
		if (e->mtime < 0)
			e->mtime = (int64_t)mtime; /* octal() stops below 2^63 */
		if (!have_link && (type == '1' || type == '2'))
			field(e->link, sizeof(e->link), h + LINK_OFF, LINK_LEN);
		else if (type != '1' && type != '2')
			e->link[0] = '\0';
		e->type = type;
		e->mode = (uint32_t)(mode & 07777);
		e->data = data;
		e->size = (size_t)size;
		/* The last entry's padding may be missing from a cut stream. */
		*off = next <= n ? next : n;
		return 1;
	}
}

int tar_first_file(const uint8_t *p, size_t n, const uint8_t **data, size_t *len)
{
	struct tar_entry e;
	size_t off = 0;

	if (tar_next(p, n, &off, &e) != 1 || e.type != '0')
		return -1;
	*data = e.data;
	*len = e.size;
	return 0;
}
