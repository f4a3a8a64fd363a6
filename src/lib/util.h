/*
 * util: small helpers shared by several modules: ids, clocks, time stamps,
 * and turning attacker bytes into text that is safe for JSON, file names
 * and terminals.
 */
#ifndef HERMES_UTIL_H
#define HERMES_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SESSION_ID_LEN 32 /* hex characters, 128 random bits */

/* The first n bytes of s are lower-case hex digits (our session ids and
 * the SHA-256 names of stored files); whole: and s ends there. */
bool util_hex_prefix(const char *s, size_t n);
bool util_is_hex(const char *s, size_t n);

/* Fill out[SESSION_ID_LEN + 1] with a fresh random lower-case hex id. */
int util_session_id(char out[SESSION_ID_LEN + 1]);

int64_t util_mono_ms(void); /* CLOCK_MONOTONIC in milliseconds */
int64_t util_mono_us(void); /* ... in microseconds */
double util_wall(void);     /* CLOCK_REALTIME in seconds, microsecond precision */

/* RFC 3339, UTC, microseconds: "2026-11-23T19:07:26.123456Z" (28 chars). */
void util_rfc3339(double wall, char out[32]);

/* Bytes -> valid UTF-8: every invalid or truncated sequence becomes U+FFFD,
 * NUL bytes become U+FFFD too (so the result is a C string). Returns a heap
 * string, or NULL on allocation failure. */
char *util_utf8_sanitize(const void *data, size_t len);
/* True if data is valid UTF-8 without NUL bytes. */
int util_utf8_valid(const void *data, size_t len);
/* The sequence at s[0] (n > 0 bytes): its length when it is a valid,
 * complete scalar value other than NUL; else 0, with *bad the length of the
 * maximal subpart that util_utf8_sanitize() replaces by one U+FFFD. */
size_t util_utf8_next(const uint8_t *s, size_t n, size_t *bad);

/* Bytes -> text that keeps every byte, for names (file names from a
 * container) in JSON and logs: valid UTF-8 other than NUL stays as it is,
 * every other byte becomes the four characters \xNN (lower-case hex).
 * A backslash is not escaped: the text is exact only when *exact (may be
 * NULL) says so, and callers that need the bytes back keep them beside it
 * (base64). Returns a heap string, or NULL on allocation failure. */
char *util_escape_bytes(const void *data, size_t len, bool *exact);

/* Base64 (standard alphabet, padded) of data: a heap string or NULL. */
char *util_base64(const void *data, size_t len);

/* write(2) of all n bytes, looping only over partial writes and EINTR;
 * *done says how many went out even on failure. 0 or a negative errno. */
int util_write_all(int fd, const void *p, size_t n, size_t *done);

/* Writes text into the existing file path (a sysctl, a cgroup file): 0 or
 * a negative errno. */
int util_write_text(const char *path, const char *text);

/* Appends p[0..n) to an O_APPEND file whole or not at all: what a failed
 * write left of it is cut off again, so that the next line does not start
 * inside a torn one. 0 or a negative errno. */
int util_append_whole(int fd, const void *p, size_t n);

/* The monitor raises its open-files soft limit to the hard one (each
 * connection costs it descriptors); its children put the old one back, so
 * that a worker taken over cannot hold a million. */
void util_fd_limit_raise(void);
void util_fd_limit_restore(void);

/* Creates a new file beside path to write it whole and rename it there:
 * PATH.tmp.<16 random hex digits>, opened O_WRONLY|O_CREAT|O_EXCL|
 * O_NOFOLLOW|O_CLOEXEC with mode, so that nothing already at that name (a
 * planted symbolic link, say) is followed or reused. Its name goes to
 * tmp[cap] ("" on failure). Returns the fd, or a negative errno (errno set
 * too). */
int util_open_tmp(const char *path, unsigned mode, char *tmp, size_t cap);

/* mkdir -p with the given mode for directories it creates. */
int util_mkdirs(const char *path, unsigned mode);

/* Percent-encodes s for a URL query value (unreserved characters and '/'
 * stay). Returns 0, or -1 when it does not fit in out[cap]. */
int util_url_encode(const char *s, char *out, size_t cap);

/* "A.B.C.D/N" with min_prefix <= N <= max_prefix and no host bits set:
 * 0 and *net (network order) and *prefix, or -1. */
int util_parse_cidr4(const char *s, int min_prefix, int max_prefix, uint32_t *net, int *prefix);

/* The first max bytes of a file (its last component not a link), NUL
 * terminated, *len (may be NULL) their count; NULL with errno. */
char *util_read_file(const char *path, size_t max, size_t *len);

#endif
