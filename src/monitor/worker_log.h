/*
 * worker_log: what a worker writes to its stderr, as the monitor logs it.
 *
 * A worker's stderr is a pipe to the monitor, never the daemon's own
 * stderr: a worker taken over through a libssh bug could otherwise write
 * anything to the operator's terminal or log file, forge lines in the
 * monitor's name, or flood it. The monitor reads the pipe and logs each
 * line under the worker's pid and the session's id, made valid UTF-8 and
 * escaped like any message, at most WORKER_LOG_BURST lines at once and
 * WORKER_LOG_RATE a second after that (what is dropped is counted, and
 * said). The worker's own messages arrive as log_setup_relay() records and
 * keep their level and function; anything else (a sanitizer's report, a
 * library writing to stderr) is logged line by line as WARNING "stderr".
 *
 * Pure, but for worker_log_read(): bytes in, log_relayed() calls out, the
 * clock passed in.
 */
#ifndef HERMES_WORKER_LOG_H
#define HERMES_WORKER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKER_LOG_LINE_MAX 8192 /* longer lines are cut */
#define WORKER_LOG_BURST    256  /* a sanitizer's report fits */
#define WORKER_LOG_RATE     10   /* lines a second, after the burst */

struct worker_log;

/* session_id: the session's id (only its first 8 characters are shown). */
struct worker_log *worker_log_new(const char *session_id);
void worker_log_set_pid(struct worker_log *w, long pid);
/* Logs every whole line in data[len] (now_ms: a monotonic clock). */
void worker_log_feed(struct worker_log *w, const void *data, size_t len, int64_t now_ms);
/* Reads the worker's stderr pipe (non-blocking) into worker_log_feed(), up
 * to `chunks` reads: false once it has ended (EOF or an error), true while
 * it may say more. The one part of this module that does I/O. */
bool worker_log_read(struct worker_log *w, int fd, int chunks);
/* Logs what is left (a last line without its newline) and what was
 * dropped, then frees w. NULL is a no-op. */
void worker_log_free(struct worker_log *w);

/* A worker's record "LEVEL<tab>FUNC<tab>MESSAGE": 0 and its parts (func
 * copied into func[funclen], *msg pointing into line), or -1 if line[n]
 * is not one. LEVEL is one of log.h's; FUNC a C identifier. */
int worker_log_parse(const char *line, size_t n, int *level, char *func, size_t funclen,
                     const char **msg);

#endif
