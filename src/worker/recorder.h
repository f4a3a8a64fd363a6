/*
 * recorder: an asciicast v2 writer, streaming to a file descriptor.
 *
 * The header line is written at once; every event after it is one JSON
 * array on its own line, written with a single write(2), so a recording
 * cut off at any moment (Hermes killed mid-session) is still a valid
 * asciicast file up to its last whole line. Attacker bytes are not UTF-8:
 * a multi-byte sequence split across two calls is carried over to the next
 * call of the same stream, and invalid bytes become U+FFFD.
 *
 * It does not open files: the monitor opens the file and passes the fd.
 */
#ifndef HERMES_RECORDER_H
#define HERMES_RECORDER_H

/* What a recording may pass recording.max_session_size by: its header and
 * the marker that cuts it. */
#define RECORDING_SLACK (64 * 1024)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct recorder;

struct recorder_header {
	int width, height;      /* terminal size; 80x24 if <= 0 */
	double timestamp;       /* wall clock of the start, seconds */
	const char *title;      /* may be NULL */
	const char *term;       /* env.TERM, may be NULL */
	const char *shell;      /* env.SHELL, may be NULL */
	const char *session_id; /* put in the header as "hermes": {...} */
	const char *src_ip;
	int src_port;
	const char *username; /* sanitized before use */
	const char *container_id;
	const char *command; /* exec command or NULL for a shell */
};

/* Writes the header to fd. Takes ownership of fd (closed by recorder_free).
 * Returns NULL on failure (fd is closed then too). */
struct recorder *recorder_new(int fd, const struct recorder_header *h);

/* Event times are seconds since recorder_new, from CLOCK_MONOTONIC. */
int recorder_output(struct recorder *r, const void *data, size_t len); /* "o" */
int recorder_input(struct recorder *r, const void *data, size_t len);  /* "i" */
int recorder_resize(struct recorder *r, int width, int height);        /* "r" */
/* Seconds since recorder_new, as the events get them; -1 for NULL. */
double recorder_elapsed(const struct recorder *r);

/*
 * A byte budget shared by the recordings of one session (the caller keeps
 * *budget alive): each line written takes its size from it; the line that
 * would overdraw it is replaced by one marker event ("m") saying the
 * recording was cut, and nothing more is recorded. NULL: no budget.
 */
void recorder_set_budget(struct recorder *r, uint64_t *budget);
/* The budget cut this recording. */
bool recorder_was_cut(const struct recorder *r);

/* Flushes a pending partial UTF-8 sequence (as U+FFFD), closes the fd. */
void recorder_free(struct recorder *r);

/* For tests: the same with an explicit event time in seconds. */
int recorder_event_at(struct recorder *r, double t, char code, const void *data, size_t len);

#endif
