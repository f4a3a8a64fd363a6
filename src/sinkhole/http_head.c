/*
 * http_head: an HTTP/1.x request head; see http_head.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_head.h"

static const char *const methods[] = {"GET",   "HEAD",    "POST",    "PUT",  "DELETE",
                                      "PATCH", "OPTIONS", "CONNECT", "TRACE"};

int http_head_looks_like(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t k = strlen(methods[i]);
		size_t m = n < k + 1 ? n : k + 1;
		if (m == 0)
			return 0;
		if (strncmp(p, methods[i], m < k ? m : k) == 0 && (m <= k || p[k] == ' '))
			return 1;
	}
	return 0;
}

/* The end of the head: the offset past its empty line, or 0. */
static size_t head_end(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

int http_head_parse(const char *p, size_t n, struct http_head *h)
{
	size_t end = head_end(p, n < HTTP_HEAD_MAX ? n : HTTP_HEAD_MAX);

	if (n > 0 && !http_head_looks_like(p, n))
		return -1;
	if (end == 0)
		return n >= HTTP_HEAD_MAX ? -1 : 0;
	memset(h, 0, offsetof(struct http_head, store));
	memcpy(h->store, p, end);
	h->store[end] = '\0';
	h->len = end;

	/* Lines: split in place at each LF (and the CR before it). */
	char *line = h->store, *next;
	for (int first = 1;; first = 0, line = next) {
		char *lf = strchr(line, '\n');
		if (lf == NULL)
			return -1;
		next = lf + 1;
		if (lf > line && lf[-1] == '\r')
			lf--;
		*lf = '\0';
		if (memchr(line, '\0', (size_t)(lf - line)) != NULL)
			return -1;
		if (*line == '\0')
			break;
		if (first) {
			char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
			if (sp2 == NULL || strchr(sp2 + 1, ' ') != NULL || sp2 == sp1 + 1)
				return -1;
			*sp1 = *sp2 = '\0';
			h->method = line;
			h->target = sp1 + 1;
			h->version = sp2 + 1;
			if (strncmp(h->version, "HTTP/1.", 7) != 0)
				return -1;
			continue;
		}
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line)
			return -1;
		for (char *c = line; c < colon; c++)
			if (!token_char((unsigned char)*c))
				return -1;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			v[--vl] = '\0';
		if (h->n_headers == HTTP_HEADERS_MAX)
			return -1;
		h->headers[h->n_headers].name = line;
		h->headers[h->n_headers].value = v;
		h->n_headers++;
		if (strcasecmp(line, "host") == 0 && h->host == NULL)
			h->host = v;
	}
	return h->method != NULL ? 1 : -1;
}

/* A host as it may stand in a URL: no spaces, slashes or the like. */
static int host_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 260)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(".-_:[]", *s) != NULL))
			return 0;
	return 1;
}

int http_head_url(const struct http_head *h, int tls, const char *fallback_host, char *out,
                  size_t cap)
{
	int r;

	if (strncasecmp(h->target, "http://", 7) == 0 || strncasecmp(h->target, "https://", 8) == 0)
		r = snprintf(out, cap, "%s", h->target);
	else if (h->target[0] == '/' || h->target[0] == '*')
		r = snprintf(out, cap, "%s://%s%s", tls ? "https" : "http",
		             h->host && host_ok(h->host) ? h->host : fallback_host, h->target);
	else
		return -1;
	return r >= 0 && (size_t)r < cap ? r : -1;
}
