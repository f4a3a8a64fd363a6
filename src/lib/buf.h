/*
 * buf: the one growable byte buffer for wire data and attacker bytes.
 *
 * Every piece of data carries an explicit length; nothing here assumes NUL
 * termination. Getters are bounds-checked and return a negative errno-style
 * code instead of reading past the end. buf_free() wipes the memory, so a
 * buffer that held a password leaves nothing behind.
 */
#ifndef HERMES_BUF_H
#define HERMES_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len; /* bytes stored, from data[0] */
	size_t off; /* read position for the getters, <= len */
	size_t cap;
};

#define BUF_MAX ((size_t)64 << 20) /* no buffer grows past 64 MiB */

void buf_init(struct buf *b);
void buf_free(struct buf *b);  /* wipes and frees; buffer reusable after */
void buf_reset(struct buf *b); /* len = off = 0, keeps the memory */
int buf_reserve(struct buf *b, size_t extra);
int buf_put(struct buf *b, const void *p, size_t n);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u32(struct buf *b, uint32_t v); /* big-endian */
/* Big-endian u32 at p (4 bytes the caller has), read and written in place. */
uint32_t buf_be32(const uint8_t *p);
void buf_set_be32(uint8_t *p, uint32_t v);
int buf_put_u64(struct buf *b, uint64_t v);              /* big-endian */
int buf_put_str(struct buf *b, const void *p, size_t n); /* u32 length + bytes */
int buf_put_cstr(struct buf *b, const char *s);          /* s may be NULL: "" */
int buf_putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

size_t buf_avail(const struct buf *b);        /* len - off */
const uint8_t *buf_peek(const struct buf *b); /* data + off */
int buf_skip(struct buf *b, size_t n);        /* off += n, bounded */
void buf_compact(struct buf *b);              /* drop consumed bytes */
int buf_get_u8(struct buf *b, uint8_t *v);
int buf_get_u32(struct buf *b, uint32_t *v);
int buf_get_u64(struct buf *b, uint64_t *v);
/* A u32-length-prefixed string: *p points into the buffer (valid until it
 * changes), *n is its length; max bounds n (else -EMSGSIZE). */
int buf_get_str(struct buf *b, const uint8_t **p, size_t *n, size_t max);
/* The same, copied into a fresh NUL-terminated heap string; fails with
 * -EINVAL if the bytes contain a NUL. */
int buf_get_cstr(struct buf *b, char **s, size_t max);

#endif
