/*
 * log: the daemon's diagnostic log, one line per message on stderr.
 *
 * Each line leaves in a single write(2), so that the monitor and its other
 * children, which share stderr, never interleave halves of lines. Workers
 * do not write there: they send records to the monitor, which logs them
 * (log_setup_relay, log_relayed, worker_log.c). Messages may quote
 * attacker bytes (user names, commands), so they are made valid UTF-8 and,
 * in text format, control characters are escaped: an operator's terminal
 * must not execute what an attacker typed. This is not the event log
 * (events.c), which records attacks for analysis.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define LOG_MSG_MAX  2048 /* a longer message is cut, with "..." at the end */
#define LOG_LINE_MAX (4 * LOG_MSG_MAX + 256)

static int log_level = LOG_INFO;
static int log_json;
static int log_relay; /* a worker: records for the monitor to re-log */
static int log_fd = STDERR_FILENO;
static char log_process[32] = "hermes";

static const struct {
	const char *name;
	int level;
} log_levels[] = {
    {"DEBUG", LOG_DEBUG}, {"INFO", LOG_INFO},         {"WARNING", LOG_WARNING},
    {"ERROR", LOG_ERROR}, {"CRITICAL", LOG_CRITICAL},
};

int log_level_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcasecmp(name, log_levels[i].name) == 0)
			return log_levels[i].level;
	return -1;
}

void log_setup(int level, int json, const char *process)
{
	log_level = level;
	log_json = json != 0;
	log_relay = 0;
	if (process != NULL)
		snprintf(log_process, sizeof(log_process), "%s", process);
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

void log_setup_relay(int level)
{
	log_level = level;
	log_relay = 1;
	snprintf(log_process, sizeof(log_process), "worker");
}

int log_enabled(int level)
{
	return level >= log_level;
}

static const char *level_name(int level)
{
	size_t i = sizeof(log_levels) / sizeof(log_levels[0]);

	/* A level between two names takes the lower one. */
	while (i-- > 1)
		if (level >= log_levels[i].level)
			return log_levels[i].name;
	return log_levels[0].name;
}

/* Loops only over partial writes and EINTR; a failing stderr is ignored,
 * there is nowhere left to report it. */
static void write_line(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(log_fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Copies valid UTF-8 text, escaping C0 controls, DEL and the C1 controls
 * (U+0080..U+009F) that some terminals still obey. */
static size_t escape_text(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;
	unsigned c;

	for (; *u != '\0'; u++) {
		c = *u;
		if (c == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
			c = *++u;
		else if (c >= 0x20 && c != 0x7f)
			c = 0x100; /* plain byte */
		if (c == 0x100) {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)*u;
		} else {
			if (o + 4 >= cap)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return o;
}

/* line[LOG_LINE_MAX] holds a head of n bytes (snprintf's answer): adds
 * msg escaped and the newline, and writes the line. */
static void finish_line(char *line, int n, const char *msg)
{
	if (n < 0 || (size_t)n >= LOG_LINE_MAX - 2)
		return;
	n += (int)escape_text(line + n, LOG_LINE_MAX - 1 - (size_t)n, msg);
	line[n++] = '\n';
	write_line(line, (size_t)n);
}

static void emit_text(const char *ts, const char *lvl, const char *process, long pid,
                      const char *func, const char *msg)
{
	char line[LOG_LINE_MAX];

	finish_line(line,
	            snprintf(line, sizeof(line), "%s %s %s[%ld] %s: ", ts, lvl, process, pid, func),
	            msg);
}

/* Returns -1 if jansson could not build the line (no memory), so the caller
 * can still say something in text. */
static int emit_json(const char *ts, const char *lvl, const char *process, long pid,
                     const char *func, const char *msg)
{
	char line[LOG_LINE_MAX], *heap = NULL, *out = line;
	size_t n;
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "timestamp", ts, "level", lvl, "process",
	              process, "pid", (json_int_t)pid, "func", func, "message", msg);
	if (o == NULL)
		return -1;
	n = json_dumpb(o, line, sizeof(line) - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (n >= sizeof(line) - 1) {
		if (n == (size_t)-1 || n > SIZE_MAX - 2 || (heap = malloc(n + 1)) == NULL) {
			json_decref(o);
			return -1;
		}
		n = json_dumpb(o, heap, n, JSON_COMPACT | JSON_PRESERVE_ORDER);
		out = heap;
	}
	json_decref(o);
	if (n == 0) {
		free(heap);
		return -1;
	}
	out[n++] = '\n';
	write_line(out, n);
	free(heap);
	return 0;
}

/* msg is valid UTF-8. */
static void emit(int level, const char *process, long pid, const char *func, const char *msg)
{
	char ts[32];

	util_rfc3339(util_wall(), ts);
	if (!log_json || emit_json(ts, level_name(level), process, pid, func, msg) != 0)
		emit_text(ts, level_name(level), process, pid, func, msg);
}

/* A worker's record: "LEVEL<tab>FUNC<tab>MESSAGE", the message escaped
 * like a text line so that it holds no tab or newline. */
static void emit_relay(int level, const char *func, const char *msg)
{
	char line[LOG_LINE_MAX];

	finish_line(line, snprintf(line, sizeof(line), "%d\t%s\t", level, func), msg);
}

void log_msg(int level, const char *func, const char *fmt, ...)
{
	char raw[LOG_MSG_MAX];
	const char *msg;
	char *clean;
	va_list ap;
	int saved = errno, n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(raw, sizeof(raw), "(unformattable message)");
	else if ((size_t)n >= sizeof(raw))
		memcpy(raw + sizeof(raw) - 4, "...", 4);
	/* A cut may have split a multi-byte character; sanitizing fixes that
	 * as well as whatever attacker bytes the message quotes. */
	clean = util_utf8_sanitize(raw, strlen(raw));
	msg = clean != NULL ? clean : "(message lost: out of memory)";
	if (func == NULL)
		func = "?";
	if (log_relay)
		emit_relay(level, func, msg);
	else
		emit(level, log_process, (long)getpid(), func, msg);
	free(clean);
	errno = saved;
}

void log_relayed(int level, const char *process, long pid, const char *func, const char *msg,
                 size_t len)
{
	char *clean;
	int saved = errno;

	if (!log_enabled(level))
		return;
	if (len > 4 * LOG_MSG_MAX) /* what a line can hold */
		len = 4 * LOG_MSG_MAX;
	clean = util_utf8_sanitize(msg, len);
	emit(level, process, pid, func, clean != NULL ? clean : "(message lost: out of memory)");
	free(clean);
	errno = saved;
}
