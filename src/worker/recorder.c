/*
 * recorder: writes an asciicast v2 recording to a file descriptor.
 *
 * Every line (the header, each event) is assembled in memory and handed to
 * one write(2), so a recording killed at any moment ends with whole lines
 * plus at most one torn last line, which players skip. Terminal data is
 * turned into UTF-8 here: a multi-byte character that a read split in two is
 * carried to the stream's next call, invalid bytes become U+FFFD, and NUL
 * becomes U+FFFD as well (jansson and several other readers refuse \u0000).
 * Opening, naming and closing-time metadata (the sidecar) are the caller's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "recorder.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "util.h"

/* Larger data is cut into several events of this many bytes, so that one
 * event line stays far below BUF_MAX even when every byte needs escaping. */
#define REC_CHUNK ((size_t)1 << 20)

enum { STREAM_OUT, STREAM_IN, STREAM_N };

struct recorder {
	int fd;
	struct timespec start;
	uint8_t carry[STREAM_N][3]; /* unfinished trailing UTF-8 sequence */
	size_t carry_len[STREAM_N];
	int failing;          /* last write failed: errors are logged once per run */
	int torn;             /* a failed write left part of a line in the file */
	unsigned long errors; /* failed writes, for the log */
	uint64_t *budget;     /* bytes the session's recordings may still take, or NULL */
	bool cut;             /* the budget ran out: nothing more is written */
};

/* Writes one line. If a failing write left part of it behind (disk full),
 * the part is cut off again when the fd is a file; otherwise the next line
 * starts with a newline so that only the torn fragment is lost. */
static int write_line(struct recorder *r, const uint8_t *line, size_t n)
{
	size_t done;
	off_t end;
	int rc;

	if (r->torn) {
		if ((rc = util_write_all(r->fd, "\n", 1, &done)) != 0)
			goto fail;
		r->torn = 0;
	}
	rc = util_write_all(r->fd, line, n, &done);
	if (rc == 0) {
		if (r->failing)
			info("recording writes work again after %lu failures", r->errors);
		r->failing = 0;
		return 0;
	}
	if (done > 0) {
		end = lseek(r->fd, 0, SEEK_CUR);
		if (end < (off_t)done || ftruncate(r->fd, end - (off_t)done) != 0 ||
		    lseek(r->fd, end - (off_t)done, SEEK_SET) < 0)
			r->torn = 1;
	}
fail:
	r->errors++;
	if (!r->failing)
		error("cannot write recording: %s", strerror(-rc));
	r->failing = 1;
	return rc;
}

static int set_text(json_t *o, const char *key, const char *s)
{
	char *clean;
	int r;

	if (s == NULL)
		return 0;
	if ((clean = util_utf8_sanitize(s, strlen(s))) == NULL)
		return -1;
	r = json_object_set_new(o, key, json_string(clean));
	free(clean);
	return r;
}

static json_t *header_json(const struct recorder_header *h)
{
	json_t *o, *env, *hermes;
	double ts = h->timestamp > 0 ? h->timestamp : util_wall();
	int bad = 0;

	o = json_object();
	env = json_object();
	hermes = json_object();
	if (o == NULL || env == NULL || hermes == NULL) {
		json_decref(o);
		json_decref(env);
		json_decref(hermes);
		return NULL;
	}
	bad |= json_object_set_new(o, "version", json_integer(2));
	bad |= json_object_set_new(o, "width", json_integer(h->width > 0 ? h->width : 80));
	bad |= json_object_set_new(o, "height", json_integer(h->height > 0 ? h->height : 24));
	bad |= json_object_set_new(o, "timestamp", json_integer((json_int_t)floor(ts)));
	bad |= set_text(env, "TERM", h->term);
	bad |= set_text(env, "SHELL", h->shell);
	bad |= json_object_set_new(o, "env", env);
	bad |= set_text(o, "title", h->title);
	bad |= set_text(hermes, "session_id", h->session_id);
	bad |= set_text(hermes, "src_ip", h->src_ip);
	if (h->src_port > 0)
		bad |= json_object_set_new(hermes, "src_port", json_integer(h->src_port));
	bad |= set_text(hermes, "username", h->username);
	bad |= set_text(hermes, "container_id", h->container_id);
	bad |= set_text(hermes, "command", h->command);
	bad |= json_object_set_new(o, "hermes", hermes);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct recorder *recorder_new(int fd, const struct recorder_header *h)
{
	static const struct recorder_header none;
	struct recorder *r;
	json_t *o = NULL;
	char *s = NULL;
	size_t n;
	int saved;

	if (fd < 0) {
		errno = EBADF;
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto fail;
	r->fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	if ((o = header_json(h != NULL ? h : &none)) == NULL)
		goto nomem;
	/* The default separators (", " and ": ") match the format's examples. */
	if ((s = json_dumps(o, JSON_PRESERVE_ORDER)) == NULL)
		goto nomem;
	n = strlen(s);
	s[n] = '\n'; /* over the NUL: the length is explicit from here on */
	if ((saved = write_line(r, (uint8_t *)s, n + 1)) != 0) {
		errno = -saved;
		goto fail;
	}
	free(s);
	json_decref(o);
	return r;
nomem:
	errno = ENOMEM;
fail:
	saved = errno;
	free(s);
	json_decref(o);
	free(r);
	close(fd);
	errno = saved;
	return NULL;
}

/*
 * Length of the unfinished multi-byte sequence at the end of p (0..3): the
 * bytes from the last lead byte on, if they are a valid start of a sequence
 * that needs more bytes than are there. Anything else is left to the
 * sanitizer, which replaces it at once.
 */
static size_t utf8_tail(const uint8_t *p, size_t n)
{
	size_t i, k, need;
	uint8_t c, lo = 0x80, hi = 0xbf;

	for (k = 1; k <= 3 && k <= n; k++) {
		c = p[n - k];
		if (c >= 0x80 && c <= 0xbf)
			continue; /* a continuation byte: look further back */
		if (c >= 0xc2 && c <= 0xdf)
			need = 2;
		else if (c >= 0xe0 && c <= 0xef)
			need = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 4;
		else
			return 0;
		if (k >= need)
			return 0; /* complete (or too long): nothing to carry */
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		for (i = 1; i < k; i++) {
			if (p[n - k + i] < lo || p[n - k + i] > hi)
				return 0;
			lo = 0x80;
			hi = 0xbf;
		}
		return k;
	}
	return 0;
}

/*
 * Appends data as a JSON string in one pass: util_utf8_sanitize()'s text
 * (NUL and every invalid subpart U+FFFD), escaped, without a sanitized copy
 * in between. The bulk of a terminal's output, printable ASCII, is copied as
 * it stands.
 */
static int put_json_bytes(struct buf *b, const uint8_t *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t *o;
	size_t i = 0, k, bad;

	/* At most six bytes out per byte in (\u00XX), and the quotes. */
	if (len > (BUF_MAX - 2) / 6 || buf_reserve(b, len * 6 + 2) < 0)
		return -ENOMEM;
	o = b->data + b->len;
	*o++ = '"';
	while (i < len) {
		uint8_t c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			*o++ = c;
			i++;
			continue;
		}
		if (c >= 0x80 || c == 0) {
			k = util_utf8_next(s + i, len - i, &bad);
			if (k > 0) {
				memcpy(o, s + i, k);
				o += k;
				i += k;
			} else {
				memcpy(o, "\xef\xbf\xbd", 3);
				o += 3;
				i += bad;
			}
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*o++ = c;
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		default:
			memcpy(o, "u00", 3);
			o += 3;
			*o++ = (uint8_t)hex[c >> 4];
			*o++ = (uint8_t)hex[c & 0xf];
		}
		i++;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return 0;
}

/* Writes one event line for data that needs no carrying. */
static int emit(struct recorder *r, double t, char code, const void *data, size_t len)
{
	struct buf line;
	long long us;
	int rc;

	/* Times are formatted by hand: printf's "%f" follows the locale's
	 * decimal separator, and JSON wants a dot. */
	if (!isfinite(t) || t < 0)
		t = 0;
	if (t > 1e12)
		t = 1e12;
	us = llround(t * 1e6);
	if (r->cut)
		return 0; /* dropped: the marker said so */
	buf_init(&line);
	rc = buf_putf(&line, "[%lld.%06lld, \"%c\", ", us / 1000000, us % 1000000, code);
	if (rc == 0)
		rc = put_json_bytes(&line, data, len);
	if (rc == 0)
		rc = buf_put(&line, "]\n", 2);
	if (rc == 0 && r->budget != NULL && !r->cut && buf_avail(&line) > *r->budget) {
		/* The marker is the budget's last word, not counted in it. */
		static const char mark[] =
		    "\"recording cut: recording.max_session_size reached\"]\n";
		r->cut = true;
		buf_reset(&line);
		rc = buf_putf(&line, "[%lld.%06lld, \"m\", %s", us / 1000000, us % 1000000, mark);
		if (rc == 0)
			rc = write_line(r, buf_peek(&line), buf_avail(&line));
	} else if (rc == 0) {
		if (r->budget != NULL)
			*r->budget -= buf_avail(&line);
		rc = write_line(r, buf_peek(&line), buf_avail(&line));
	} else {
		rc = -ENOMEM;
	}
	buf_free(&line);
	return rc;
}

/* A chunk of a terminal stream: carried bytes first, then data; what ends in
 * an unfinished character waits for the next call. */
static int emit_stream(struct recorder *r, double t, char code, int s, const uint8_t *data,
                       size_t len)
{
	uint8_t stack[4096];
	uint8_t *p = stack;
	size_t total = r->carry_len[s] + len, keep;
	int rc;

	if (total > sizeof(stack) && (p = malloc(total)) == NULL)
		return -ENOMEM;
	memcpy(p, r->carry[s], r->carry_len[s]);
	memcpy(p + r->carry_len[s], data, len);
	keep = utf8_tail(p, total);
	memcpy(r->carry[s], p + total - keep, keep);
	r->carry_len[s] = keep;
	rc = total > keep ? emit(r, t, code, p, total - keep) : 0;
	if (p != stack)
		free(p);
	return rc;
}

int recorder_event_at(struct recorder *r, double t, char code, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;
	int s, rc = 0, e;

	if (r == NULL || (data == NULL && len > 0))
		return -EINVAL;
	switch (code) {
	case 'o':
		s = STREAM_OUT;
		break;
	case 'i':
		s = STREAM_IN;
		break;
	case 'r':
	case 'm':
		return emit(r, t, code, data, len);
	default:
		return -EINVAL;
	}
	if (len == 0)
		return 0; /* an empty read is not an event */
	/* Keep going after a failed chunk so the carry stays in step with the
	 * data; report the first error. */
	while (len > 0) {
		n = len < REC_CHUNK ? len : REC_CHUNK;
		e = emit_stream(r, t, code, s, p, n);
		if (rc == 0)
			rc = e;
		p += n;
		len -= n;
	}
	return rc;
}

static double elapsed(const struct recorder *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - r->start.tv_sec) +
	       (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
}

void recorder_set_budget(struct recorder *r, uint64_t *budget)
{
	if (r != NULL)
		r->budget = budget;
}

bool recorder_was_cut(const struct recorder *r)
{
	return r != NULL && r->cut;
}

double recorder_elapsed(const struct recorder *r)
{
	return r != NULL ? elapsed(r) : -1;
}

int recorder_output(struct recorder *r, const void *data, size_t len)
{
	if (r == NULL)
		return -EINVAL;
	return recorder_event_at(r, elapsed(r), 'o', data, len);
}

int recorder_input(struct recorder *r, const void *data, size_t len)
{
	if (r == NULL)
		return -EINVAL;
	return recorder_event_at(r, elapsed(r), 'i', data, len);
}

int recorder_resize(struct recorder *r, int width, int height)
{
	char s[32];
	int n;

	if (r == NULL || width <= 0 || height <= 0)
		return -EINVAL;
	n = snprintf(s, sizeof(s), "%dx%d", width, height);
	return recorder_event_at(r, elapsed(r), 'r', s, (size_t)n);
}

void recorder_free(struct recorder *r)
{
	double t;
	int s;

	if (r == NULL)
		return;
	t = elapsed(r);
	/* An unfinished character at the very end is one invalid sequence:
	 * the sanitizer turns it into a single U+FFFD. */
	for (s = 0; s < STREAM_N; s++)
		if (r->carry_len[s] > 0)
			emit(r, t, s == STREAM_OUT ? 'o' : 'i', r->carry[s], r->carry_len[s]);
	close(r->fd);
	free(r);
}
