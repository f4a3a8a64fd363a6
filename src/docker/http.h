/*
 * http: parsing of HTTP/1.1 responses from the Docker Engine API.
 *
 * Pure functions over bytes, no I/O (docker.c does the I/O), so they can be
 * unit-tested and fuzzed. The peer is dockerd or a socket proxy: trusted
 * more than an attacker, but a bad answer must still give an error, never
 * a crash or an over-read.
 */
#ifndef HERMES_HTTP_H
#define HERMES_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HTTP_HEAD_MAX (64 * 1024)

struct http_response {
	int status;             /* e.g. 200, 101 */
	int64_t content_length; /* -1 when absent */
	bool chunked;           /* Transfer-Encoding: chunked */
	size_t head_len;        /* bytes of status line + headers + CRLFCRLF */
};

/*
 * Parse the status line and headers at the start of data[0..len).
 * Returns 1 when the head is complete (r filled, r->head_len set), 0 when
 * more bytes are needed, -EPROTO when malformed, -EMSGSIZE when no end of
 * head is found within HTTP_HEAD_MAX bytes.
 */
int http_parse_head(const uint8_t *data, size_t len, struct http_response *r);

/* Where the decoding of one response's body stands between calls, so that
 * a body arriving in many reads is read once, not again from its start on
 * every read. Zero it (HTTP_BODY_STATE_INIT) before the first call. */
struct http_body_state {
	int phase;       /* chunked: what is expected at pos */
	size_t pos;      /* bytes of the body consumed */
	size_t left;     /* data bytes still to come in the current chunk */
	size_t scan;     /* where the search for the current line's end resumes */
	size_t trailers; /* where the trailer section began */
	size_t decoded;  /* bytes appended to out so far */
};

#define HTTP_BODY_STATE_INIT                                                                       \
	{                                                                                          \
		0                                                                                  \
	}

/*
 * Given the bytes after the head (body[0..len)) and whether the peer has
 * closed the connection (eof), decide whether the whole body is there and,
 * if so, append the decoded body (de-chunked when chunked) to out.
 * Returns 1 complete, 0 need more, -EPROTO malformed (bad chunk size,
 * eof before Content-Length bytes or before the last chunk).
 * Without Content-Length and not chunked, the body ends at eof.
 * On any result but 1, out is as it was.
 */
int http_body(const struct http_response *r, const uint8_t *body, size_t len, bool eof,
              struct buf *out);

/*
 * The same for a body that grows: each call passes all the bytes so far
 * (the earlier ones unchanged, and the same out) and decodes only what is
 * new since the last call. A chunked body's data is appended to out as it
 * arrives; any other body once it is complete. After a negative result,
 * stop: out holds what was decoded before the error.
 */
int http_body_feed(const struct http_response *r, struct http_body_state *st, const uint8_t *body,
                   size_t len, bool eof, struct buf *out);

#endif
