/*
 * http_head: the head of an HTTP/1.x request a box sent to the sinkhole:
 * the request line and the header fields, up to the empty line.
 *
 * Input is hostile: any bytes. The head must end within HTTP_HEAD_MAX
 * bytes; lines may end in CRLF or a bare LF (as servers accept). Strings
 * kept are NUL-terminated copies into the struct's own buffer; bytes
 * that are not printable ASCII are kept as they came (the event writer
 * makes them valid UTF-8).
 */
#ifndef HERMES_HTTP_HEAD_H
#define HERMES_HTTP_HEAD_H

#include <stddef.h>

#define HTTP_HEAD_MAX    16384
#define HTTP_HEADERS_MAX 64

struct http_head {
	const char *method, *target, *version; /* "GET", "/x.sh", "HTTP/1.1" */
	const char *host;                      /* the Host field, or NULL */
	size_t n_headers;
	struct {
		const char *name, *value;
	} headers[HTTP_HEADERS_MAX];
	size_t len; /* bytes of the head, the empty line included */
	char store[HTTP_HEAD_MAX + 1];
};

/* 1: a whole head in p[0..n) (h filled); 0: not yet (more bytes may
 * complete it); -1: not an HTTP request head, or over the bounds. */
int http_head_parse(const char *p, size_t n, struct http_head *h);

/* Whether p[0..n) can be the start of a request ("GET ", "POST "...):
 * how the sinkhole tells HTTP on a port that is not 80. */
int http_head_looks_like(const char *p, size_t n);

/* The URL asked for: "http://HOST/PATH" (scheme "https" when tls) from an
 * origin-form target and the Host field (or fallback_host, "a.b.c.d:port"
 * when there is none), or the target itself when it is absolute. Returns
 * the length written (< cap) or -1. */
int http_head_url(const struct http_head *h, int tls, const char *fallback_host, char *out,
                  size_t cap);

#endif
