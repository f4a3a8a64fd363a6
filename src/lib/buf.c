/*
 * buf: the growable byte buffer behind all wire data and attacker bytes.
 *
 * Memory that ever held data is wiped before it is released (on free, on
 * reset, on compaction and on every reallocation), because the same buffer
 * type carries passwords. So the bytes past len are always zero or never
 * written, and a free need wipe only the first len: a large buffer that
 * held a short message costs no page faults to let go. Getters check bounds first and leave the
 * read position untouched when they fail, so a parser can report a short message without having
 * consumed half of it. This file does not parse any protocol.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Start small: most buffers hold one short message. */
#define BUF_MIN_CAP 256

/* Returned by buf_peek() on a buffer without memory, so callers may always
 * hand the result to memcpy() with a length of zero. */
static const uint8_t buf_empty[1];

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->off = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	b->len = 0;
	b->off = 0;
}

int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;
	uint8_t *n;

	if (extra > BUF_MAX || b->len > BUF_MAX - extra)
		return -EMSGSIZE;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	ncap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (ncap < need)
		ncap = ncap > BUF_MAX / 2 ? BUF_MAX : ncap * 2;
	/* Not realloc(): it may leave a copy of the old contents in freed
	 * memory that we can no longer wipe. */
	n = malloc(ncap);
	if (n == NULL)
		return -ENOMEM;
	if (b->data != NULL) {
		memcpy(n, b->data, b->len);
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	b->data = n;
	b->cap = ncap;
	return 0;
}

int buf_put(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = buf_reserve(b, n)) != 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4];

	buf_set_be32(x, v);
	return buf_put(b, x, sizeof(x));
}

int buf_put_u64(struct buf *b, uint64_t v)
{
	uint8_t x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (56 - 8 * i));
	return buf_put(b, x, sizeof(x));
}

int buf_put_str(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n > UINT32_MAX)
		return -EMSGSIZE;
	/* Reserve prefix and body together so a failure appends nothing. */
	if (n > SIZE_MAX - 4)
		return -EMSGSIZE;
	if ((r = buf_reserve(b, 4 + n)) != 0)
		return r;
	if ((r = buf_put_u32(b, (uint32_t)n)) != 0)
		return r;
	return buf_put(b, p, n);
}

int buf_put_cstr(struct buf *b, const char *s)
{
	if (s == NULL)
		s = "";
	return buf_put_str(b, s, strlen(s));
}

int buf_putf(struct buf *b, const char *fmt, ...)
{
	va_list ap, aq;
	int n, r;

	va_start(ap, fmt);
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		va_end(ap);
		return -EINVAL;
	}
	/* One more for the NUL vsnprintf writes; it is not counted in len. */
	if ((r = buf_reserve(b, (size_t)n + 1)) != 0) {
		va_end(ap);
		return r;
	}
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

size_t buf_avail(const struct buf *b)
{
	return b->len - b->off;
}

const uint8_t *buf_peek(const struct buf *b)
{
	if (b->data == NULL)
		return buf_empty;
	return b->data + b->off;
}

int buf_skip(struct buf *b, size_t n)
{
	if (n > buf_avail(b))
		return -EBADMSG;
	b->off += n;
	return 0;
}

void buf_compact(struct buf *b)
{
	size_t avail;

	if (b->off == 0 || b->data == NULL)
		return;
	avail = buf_avail(b);
	memmove(b->data, b->data + b->off, avail);
	explicit_bzero(b->data + avail, b->len - avail);
	b->len = avail;
	b->off = 0;
}

int buf_get_u8(struct buf *b, uint8_t *v)
{
	if (buf_avail(b) < 1)
		return -EBADMSG;
	if (v != NULL)
		*v = b->data[b->off];
	b->off++;
	return 0;
}

uint32_t buf_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void buf_set_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int buf_get_u32(struct buf *b, uint32_t *v)
{
	if (buf_avail(b) < 4)
		return -EBADMSG;
	if (v != NULL)
		*v = buf_be32(b->data + b->off);
	b->off += 4;
	return 0;
}

int buf_get_u64(struct buf *b, uint64_t *v)
{
	const uint8_t *p;

	if (buf_avail(b) < 8)
		return -EBADMSG;
	p = b->data + b->off;
	if (v != NULL)
		*v = (uint64_t)buf_be32(p) << 32 | buf_be32(p + 4);
	b->off += 8;
	return 0;
}

/* Checks a length-prefixed string without consuming it. */
static int str_check(const struct buf *b, size_t *n, size_t max)
{
	uint32_t len;

	if (buf_avail(b) < 4)
		return -EBADMSG;
	len = buf_be32(b->data + b->off);
	if (len > max)
		return -EMSGSIZE;
	if (len > buf_avail(b) - 4)
		return -EBADMSG;
	*n = len;
	return 0;
}

int buf_get_str(struct buf *b, const uint8_t **p, size_t *n, size_t max)
{
	size_t len;
	int r;

	if ((r = str_check(b, &len, max)) != 0)
		return r;
	if (p != NULL)
		*p = b->data + b->off + 4;
	if (n != NULL)
		*n = len;
	b->off += 4 + len;
	return 0;
}

int buf_get_cstr(struct buf *b, char **s, size_t max)
{
	const uint8_t *p;
	size_t len;
	char *out;
	int r;

	if ((r = str_check(b, &len, max)) != 0)
		return r;
	p = b->data + b->off + 4;
	if (memchr(p, '\0', len) != NULL)
		return -EINVAL;
	if ((out = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(out, p, len);
	out[len] = '\0';
	b->off += 4 + len;
	if (s != NULL)
		*s = out;
	else
		free(out);
	return 0;
}
