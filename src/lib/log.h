/*
 * log: the daemon's own diagnostic log on stderr (what an operator reads),
 * not the event log (events.h) that records attacks.
 *
 * Levels follow the prototype: DEBUG INFO WARNING ERROR CRITICAL. Format is
 * "text" (one human line) or "json" (one JSON object per line).
 */
#ifndef HERMES_LOG_H
#define HERMES_LOG_H

#include <unistd.h> /* _exit() in fatal() */

enum log_level {
	LOG_DEBUG = 10,
	LOG_INFO = 20,
	LOG_WARNING = 30,
	LOG_ERROR = 40,
	LOG_CRITICAL = 50
};

/* Returns the level for a name (case-insensitive), or -1. */
int log_level_parse(const char *name);
void log_setup(int level, int json, const char *process /* "monitor", "worker" */);
/* In a worker: its stderr is a pipe to the monitor, which re-logs each
 * line under the worker's pid (worker_log.h); log_msg then writes
 * "LEVEL<tab>FUNC<tab>MESSAGE" records with the message escaped. */
void log_setup_relay(int level);
/* Where lines go: stderr unless a test or fuzz harness says otherwise. */
void log_set_fd(int fd);
int log_enabled(int level);
void log_msg(int level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logs a message some other process sent (a worker's, read from its
 * pipe) under that process' name and pid: len bytes, any bytes, made valid
 * UTF-8 and cut at the usual length. */
void log_relayed(int level, const char *process, long pid, const char *func, const char *msg,
                 size_t len);

#define debug(...) log_msg(LOG_DEBUG, __func__, __VA_ARGS__)
#define info(...)  log_msg(LOG_INFO, __func__, __VA_ARGS__)
#define warn(...)  log_msg(LOG_WARNING, __func__, __VA_ARGS__)
#define error(...) log_msg(LOG_ERROR, __func__, __VA_ARGS__)
#define fatal(...)                                                                                 \
	do {                                                                                       \
		log_msg(LOG_CRITICAL, __func__, __VA_ARGS__);                                      \
		_exit(1);                                                                          \
	} while (0)

#endif
