/*
 * worker_log: a worker's stderr, line by line, into the monitor's log.
 * See worker_log.h.
 */
#include "worker_log.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

struct worker_log {
	char sid[9];
	long pid;
	double tokens; /* lines that may be logged now */
	int64_t last_ms;
	bool started;
	uint64_t dropped; /* since the last time it was said */
	bool discarding;  /* the rest of a line that was too long */
	size_t len;
	char line[WORKER_LOG_LINE_MAX];
};

struct worker_log *worker_log_new(const char *session_id)
{
	/* Not calloc: the line buffer needs no zeroing, and every page the
	 * monitor writes is one it may have to copy from its workers. */
	struct worker_log *w = malloc(sizeof(*w));

	if (w == NULL)
		return NULL;
	memset(w, 0, offsetof(struct worker_log, line));
	snprintf(w->sid, sizeof(w->sid), "%s", session_id);
	w->tokens = WORKER_LOG_BURST;
	return w;
}

void worker_log_set_pid(struct worker_log *w, long pid)
{
	if (w != NULL)
		w->pid = pid;
}

static bool is_ident(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

int worker_log_parse(const char *line, size_t n, int *level, char *func, size_t funclen,
                     const char **msg)
{
	size_t i = 0, f;
	int lv = 0;

	while (i < n && i < 2 && line[i] >= '0' && line[i] <= '9')
		lv = lv * 10 + (line[i++] - '0');
	if (i == 0 || i >= n || line[i] != '\t')
		return -1;
	if (lv != LOG_DEBUG && lv != LOG_INFO && lv != LOG_WARNING && lv != LOG_ERROR &&
	    lv != LOG_CRITICAL)
		return -1;
	f = ++i;
	while (i < n && i - f < funclen - 1 && is_ident(line[i], i == f))
		i++;
	if (i == f || i >= n || line[i] != '\t')
		return -1;
	memcpy(func, line + f, i - f);
	func[i - f] = '\0';
	*level = lv;
	*msg = line + i + 1;
	return 0;
}

static void say_dropped(struct worker_log *w)
{
	char msg[96];
	int n;

	if (w->dropped == 0)
		return;
	n = snprintf(msg, sizeof(msg),
	             "session %s: %llu lines of the worker's not logged (over %d a second)", w->sid,
	             (unsigned long long)w->dropped, WORKER_LOG_RATE);
	log_relayed(LOG_WARNING, "worker", w->pid, "worker_log", msg, (size_t)n);
	w->dropped = 0;
}

static bool take_token(struct worker_log *w, int64_t now_ms)
{
	if (w->started && now_ms > w->last_ms) {
		w->tokens += (double)(now_ms - w->last_ms) * WORKER_LOG_RATE / 1000.0;
		if (w->tokens > WORKER_LOG_BURST)
			w->tokens = WORKER_LOG_BURST;
	}
	w->started = true;
	w->last_ms = now_ms;
	if (w->tokens < 1.0) {
		w->dropped++;
		return false;
	}
	w->tokens -= 1.0;
	return true;
}

static void log_line(struct worker_log *w, const char *line, size_t n, int64_t now_ms)
{
	char func[64], out[WORKER_LOG_LINE_MAX + 32];
	const char *msg = line;
	int level = LOG_WARNING, head;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (!take_token(w, now_ms))
		return;
	say_dropped(w);
	if (worker_log_parse(line, n, &level, func, sizeof(func), &msg) != 0) {
		snprintf(func, sizeof(func), "stderr");
		msg = line;
	}
	if (!log_enabled(level))
		return;
	n -= (size_t)(msg - line);
	head = snprintf(out, sizeof(out), "session %s: ", w->sid);
	if (head < 0)
		return;
	memcpy(out + head, msg, n);
	log_relayed(level, "worker", w->pid, func, out, (size_t)head + n);
}

bool worker_log_read(struct worker_log *w, int fd, int chunks)
{
	char chunk[16384];
	ssize_t n;

	while (chunks-- > 0) {
		n = read(fd, chunk, sizeof(chunk));
		if (n > 0)
			worker_log_feed(w, chunk, (size_t)n, util_mono_ms());
		else if (n < 0 && errno == EINTR)
			chunks++;
		else
			return n < 0 && errno == EAGAIN;
	}
	return true;
}

void worker_log_feed(struct worker_log *w, const void *data, size_t len, int64_t now_ms)
{
	const char *p = data, *nl;
	size_t take;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		take = nl != NULL ? (size_t)(nl - p) : len;
		if (!w->discarding) {
			size_t room = sizeof(w->line) - w->len;
			size_t c = take < room ? take : room;
			memcpy(w->line + w->len, p, c);
			w->len += c;
			if (w->len == sizeof(w->line)) { /* too long: log what fits */
				log_line(w, w->line, w->len, now_ms);
				w->len = 0;
				w->discarding = true;
			}
		}
		if (nl == NULL)
			return;
		if (!w->discarding)
			log_line(w, w->line, w->len, now_ms);
		w->len = 0;
		w->discarding = false;
		p = nl + 1;
		len -= take + 1;
	}
}

void worker_log_free(struct worker_log *w)
{
	if (w == NULL)
		return;
	if (w->len > 0 && !w->discarding) {
		w->tokens += 1.0; /* the last words are always said */
		log_line(w, w->line, w->len, w->last_ms);
	}
	say_dropped(w);
	free(w);
}
