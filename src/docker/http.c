/*
 * http: parser for the HTTP/1.x responses of the Docker Engine API (status
 * line, the headers that frame a body, chunked transfer coding).
 *
 * Not an HTTP client: no I/O, no requests, no connection reuse, no content
 * codings. The head is re-read from its start on every call (it is small
 * and bounded); a body keeps its place in an http_body_state, so a long
 * chunked answer that arrives in many reads is decoded once. Nothing is
 * ever read outside data[0..len).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

/* A chunk-size line is a hex number and an extension nobody sends; a line
 * this long means the peer is not speaking HTTP. */
#define CHUNK_LINE_MAX 4096

static bool is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Octets allowed in a reason phrase, a field value or a chunk extension:
 * everything but control characters (a stray CR or NUL is a framing bug
 * or an injection, never data). */
static bool is_text(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Case-insensitive ASCII compare of a header name with a lower-case literal,
 * independent of the locale. */
static bool name_is(const uint8_t *p, size_t n, const char *lower)
{
	size_t i;

	if (n != strlen(lower))
		return false;
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)lower[i])
			return false;
	}
	return true;
}

/* "HTTP/1.x NNN reason"; the reason and the space before it may be absent. */
static int parse_status(const uint8_t *p, size_t n, struct http_response *res)
{
	size_t i;

	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
		return -EPROTO;
	if (p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return -EPROTO;
	if (n > 12 && p[12] != ' ')
		return -EPROTO;
	for (i = 13; i < n; i++)
		if (!is_text(p[i]))
			return -EPROTO;
	res->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	return 0;
}

static int parse_content_length(const uint8_t *v, size_t n, int64_t *out)
{
	int64_t x = 0;
	size_t i;

	if (n == 0)
		return -EPROTO;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EPROTO;
		if (x > (INT64_MAX - (v[i] - '0')) / 10)
			return -EPROTO;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

static int parse_header(const uint8_t *p, size_t n, struct http_response *res, bool *have_cl,
                        bool *have_te)
{
	const uint8_t *v;
	size_t i, colon, vn;

	/* obs-fold continuation lines are obsolete and would let a value hide
	 * a second header: refuse them. */
	if (is_ows(p[0]))
		return -EPROTO;
	for (colon = 0; colon < n && p[colon] != ':'; colon++)
		if (!is_tchar(p[colon]))
			return -EPROTO;
	if (colon == 0 || colon == n)
		return -EPROTO;
	v = p + colon + 1;
	vn = n - colon - 1;
	for (i = 0; i < vn; i++)
		if (!is_text(v[i]))
			return -EPROTO;
	while (vn > 0 && is_ows(v[0])) {
		v++;
		vn--;
	}
	while (vn > 0 && is_ows(v[vn - 1]))
		vn--;

	if (name_is(p, colon, "content-length")) {
		int64_t cl;
		int e = parse_content_length(v, vn, &cl);

		if (e)
			return e;
		/* Two lengths that disagree: which one framed the body is
		 * exactly what a smuggling attack plays on. */
		if (*have_cl && cl != res->content_length)
			return -EPROTO;
		*have_cl = true;
		res->content_length = cl;
	} else if (name_is(p, colon, "transfer-encoding")) {
		/* We decode chunked and nothing else; a second TE line would
		 * mean a coding stacked on chunked. */
		if (*have_te || !name_is(v, vn, "chunked"))
			return -EPROTO;
		*have_te = true;
		res->chunked = true;
	}
	return 0;
}

int http_parse_head(const uint8_t *data, size_t len, struct http_response *r)
{
	struct http_response res = {.status = 0, .content_length = -1};
	size_t limit = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	size_t pos = 0, n;
	bool first = true, have_cl = false, have_te = false;
	int e;

	while (pos < limit) {
		const uint8_t *line = data + pos;
		const uint8_t *lf = memchr(line, '\n', limit - pos);

		if (!lf)
			break;
		n = (size_t)(lf - line);
		pos += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (first) {
			e = parse_status(line, n, &res);
			if (e)
				return e;
			first = false;
			continue;
		}
		if (n == 0) {
			/* Both framings at once "ought to be handled as an
			 * error" (RFC 9112 6.3). */
			if (have_cl && have_te)
				return -EPROTO;
			res.head_len = pos;
			*r = res;
			return 1;
		}
		e = parse_header(line, n, &res, &have_cl, &have_te);
		if (e)
			return e;
	}
	/* Fail fast on a peer that is not speaking HTTP at all, rather than
	 * waiting for 64 KiB of it. */
	if (first) {
		n = limit < 7 ? limit : 7;
		if (n > 0 && memcmp(data, "HTTP/1.", n) != 0)
			return -EPROTO;
	}
	return len >= HTTP_HEAD_MAX ? -EMSGSIZE : 0;
}

/* "Need more bytes", unless the line is already too long to be one. */
static int need_more(size_t line_len)
{
	return line_len > CHUNK_LINE_MAX ? -EPROTO : 0;
}

/* chunk-size [BWS] [; ext] CRLF at *pos. 1 with *pos past it, 0 need more. */
static int chunk_size_line(const uint8_t *p, size_t len, size_t *pos, size_t *size)
{
	size_t i = *pos, v = 0, digits = 0;
	int h;

	for (; i < len && (h = hexval(p[i])) >= 0; i++, digits++) {
		v = v * 16 + (size_t)h;
		if (v > BUF_MAX)
			return -EMSGSIZE;
	}
	if (i == len)
		return need_more(i - *pos);
	if (digits == 0)
		return -EPROTO;
	while (i < len && is_ows(p[i]))
		i++;
	if (i < len && p[i] == ';') {
		for (i++; i < len && p[i] != '\r' && p[i] != '\n'; i++)
			if (!is_text(p[i]))
				return -EPROTO;
	}
	if (i < len && p[i] == '\r')
		i++;
	if (i == len)
		return need_more(i - *pos);
	/* As long a line with its end is refused too, or a body read in
	 * pieces (refused at the partial line) and whole would differ. */
	if (p[i] != '\n' || i - *pos > CHUNK_LINE_MAX)
		return -EPROTO;
	*pos = i + 1;
	*size = v;
	return 1;
}

/* The CRLF (or bare LF) that ends a chunk's data. */
static int chunk_data_end(const uint8_t *p, size_t len, size_t *pos)
{
	size_t i = *pos;

	if (i < len && p[i] == '\r')
		i++;
	if (i == len)
		return 0;
	if (p[i] != '\n')
		return -EPROTO;
	*pos = i + 1;
	return 1;
}

enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILERS, CH_DONE };

/* Trailer fields are skipped: Docker sends none we would use. The search
 * for a line's end resumes where the last call stopped (st->scan). */
static int trailers(struct http_body_state *st, const uint8_t *p, size_t len)
{
	for (;;) {
		const uint8_t *lf;
		size_t n;

		if (st->pos - st->trailers > HTTP_HEAD_MAX)
			return -EMSGSIZE;
		if (st->pos == len)
			return 0;
		if (st->scan < st->pos)
			st->scan = st->pos;
		lf = memchr(p + st->scan, '\n', len - st->scan);
		if (!lf) {
			st->scan = len;
			return len - st->trailers > HTTP_HEAD_MAX ? -EMSGSIZE : 0;
		}
		n = (size_t)(lf - (p + st->pos));
		if (n > 0 && p[st->pos + n - 1] == '\r')
			n--;
		st->pos = st->scan = (size_t)(lf - p) + 1;
		if (n == 0)
			return 1;
	}
}

/* Decodes the chunked body from where st stands; chunk data goes to out
 * as soon as it is there. A chunk-size line that is not complete yet is
 * read again next time (it is at most CHUNK_LINE_MAX bytes). */
static int dechunk(struct http_body_state *st, const uint8_t *p, size_t len, struct buf *out)
{
	size_t size = 0, n;
	int e;

	for (;;) {
		switch (st->phase) {
		case CH_SIZE:
			e = chunk_size_line(p, len, &st->pos, &size);
			if (e != 1)
				return e;
			if (size == 0) {
				st->phase = CH_TRAILERS;
				st->trailers = st->scan = st->pos;
			} else if (size > BUF_MAX - st->decoded) {
				return -EMSGSIZE;
			} else {
				st->left = size;
				st->phase = CH_DATA;
			}
			break;
		case CH_DATA:
			n = len - st->pos < st->left ? len - st->pos : st->left;
			if (n == 0)
				return 0;
			if ((e = buf_put(out, p + st->pos, n)) != 0)
				return e;
			st->pos += n;
			st->left -= n;
			st->decoded += n;
			if (st->left == 0)
				st->phase = CH_DATA_END;
			break;
		case CH_DATA_END:
			e = chunk_data_end(p, len, &st->pos);
			if (e != 1)
				return e;
			st->phase = CH_SIZE;
			break;
		case CH_TRAILERS:
			e = trailers(st, p, len);
			if (e != 1)
				return e;
			st->phase = CH_DONE;
			break;
		default:
			return 1;
		}
	}
}

static bool has_no_body(int status)
{
	return (status >= 100 && status < 200) || status == 204 || status == 304;
}

/* Content-Length, or the end of the connection: appended once complete. */
static int plain_body(const struct http_response *r, const uint8_t *body, size_t len, bool eof,
                      struct buf *out)
{
	size_t total;
	int e;

	if (r->content_length >= 0) {
		/* Refuse at once what could never fit, instead of letting
		 * the caller collect 64 MiB first. */
		if ((uint64_t)r->content_length > BUF_MAX)
			return -EMSGSIZE;
		total = (size_t)r->content_length;
		if (len < total)
			return eof ? -EPROTO : 0;
	} else {
		if (len > BUF_MAX)
			return -EMSGSIZE;
		if (!eof)
			return 0;
		total = len;
	}
	if (total > 0 && (e = buf_put(out, body, total)) != 0)
		return e;
	return 1;
}

int http_body_feed(const struct http_response *r, struct http_body_state *st, const uint8_t *body,
                   size_t len, bool eof, struct buf *out)
{
	int e;

	if (has_no_body(r->status))
		return 1;
	if (!r->chunked)
		return plain_body(r, body, len, eof, out);
	if (len < st->pos)
		return -EINVAL; /* not the bytes it was given before */
	e = dechunk(st, body, len, out);
	return e == 0 && eof ? -EPROTO : e;
}

int http_body(const struct http_response *r, const uint8_t *body, size_t len, bool eof,
              struct buf *out)
{
	struct http_body_state st = HTTP_BODY_STATE_INIT;
	size_t was = out->len;
	int e = http_body_feed(r, &st, body, len, eof, out);

	if (e != 1)
		out->len = was;
	return e;
}
