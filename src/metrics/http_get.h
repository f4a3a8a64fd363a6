/*
 * http_get: what hermes-metrics makes of a request's head, and its answer.
 * Pure; whoever reaches metrics.listen writes these bytes.
 *
 * Only GET and HEAD of /metrics (any query) are served; a head must be
 * HTTP/1.0 or 1.1, end within HTTP_GET_HEAD_MAX bytes and hold no control
 * byte but CR, LF and tab. Nothing else of it is read: one answer and
 * the connection is closed.
 */
#ifndef HERMES_HTTP_GET_H
#define HERMES_HTTP_GET_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define HTTP_GET_HEAD_MAX 8192

/* The status to answer the n bytes received so far with: 200 (the
 * metrics), 400, 404, 405, 431 (no end of the head within
 * HTTP_GET_HEAD_MAX), 505; or 0 when the head has not ended yet. *head:
 * whether it was a HEAD (no body). */
int http_get_parse(const char *p, size_t n, bool *head);

/* The whole answer for status: for 200 the body given (text, version
 * 0.0.4 of Prometheus' format), for the others a line saying what went
 * wrong; no body for HEAD. 0, or -ENOMEM. */
int http_get_answer(struct buf *out, int status, bool head, const char *body, size_t len);

#endif
