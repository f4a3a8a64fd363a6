/*
 * http_get: a scrape's request and its answer; see http_get.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http_get.h"

#define METRICS_PATH "/metrics"

/* Where the head ends (just past its empty line), or 0. */
static size_t head_end(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int http_get_parse(const char *p, size_t n, bool *head)
{
	*head = false;
	size_t end = head_end(p, n < HTTP_GET_HEAD_MAX ? n : HTTP_GET_HEAD_MAX);
	if (end == 0)
		return n >= HTTP_GET_HEAD_MAX ? 431 : 0;
	for (size_t i = 0; i < end; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < ' ' && c != '\r' && c != '\n' && c != '\t') || c == 0x7f)
			return 400;
	}
	/* The request line: METHOD SP TARGET SP HTTP/1.x CRLF */
	size_t line = (size_t)((const char *)memchr(p, '\n', end) - p);
	if (line > 0 && p[line - 1] == '\r')
		line--;
	size_t m = 0;
	while (m < line && tchar(p[m]))
		m++;
	if (m == 0 || m >= line || p[m] != ' ')
		return 400;
	const char *target = p + m + 1;
	const char *sp = memchr(target, ' ', line - m - 1);
	if (sp == NULL || sp == target || *target != '/')
		return 400;
	size_t tlen = (size_t)(sp - target);
	const char *version = sp + 1;
	size_t vlen = line - (size_t)(version - p);
	if (vlen != 8 || strncmp(version, "HTTP/", 5) != 0 || version[6] != '.' ||
	    version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
		return 400;
	if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
		return 505;
	bool get = m == 3 && strncmp(p, "GET", 3) == 0;
	*head = m == 4 && strncmp(p, "HEAD", 4) == 0;
	if (!get && !*head)
		return 405;
	size_t path = strcspn(target, "? ");
	if (path > tlen)
		path = tlen;
	if (path != strlen(METRICS_PATH) || strncmp(target, METRICS_PATH, path) != 0)
		return 404;
	return 200;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

int http_get_answer(struct buf *out, int status, bool head, const char *body, size_t len)
{
	char line[80];

	if (status != 200) {
		int n = snprintf(line, sizeof(line), "%d %s\n", status, reason(status));
		body = line;
		len = (size_t)n;
	}
	int r = buf_putf(out,
	                 "HTTP/1.1 %d %s\r\n"
	                 "Content-Type: text/plain; %scharset=utf-8\r\n"
	                 "Content-Length: %zu\r\n"
	                 "%s"
	                 "Connection: close\r\n\r\n",
	                 status, reason(status), status == 200 ? "version=0.0.4; " : "", len,
	                 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (r == 0 && !head && len > 0)
		r = buf_put(out, body, len);
	return r < 0 ? -ENOMEM : 0;
}
