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

/*
 * Given the bytes after the head (body[0..len)) and whether the peer has
 * closed the connection (eof), decide whether the whole body is there and,
 * if so, append the decoded body (de-chunked when chunked) to out.
 * Returns 1 complete, 0 need more, -EPROTO malformed (bad chunk size,
 * eof before Content-Length bytes or before the last chunk).
 * Without Content-Length and not chunked, the body ends at eof.
 */
int http_body(const struct http_response *r, const uint8_t *body, size_t len, bool eof,
              struct buf *out);

#endif
