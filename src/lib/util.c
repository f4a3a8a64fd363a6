/*
 * util: ids, clocks, time stamps, UTF-8 sanitizing, base64 and mkdir -p.
 *
 * The UTF-8 code is the boundary where attacker bytes become text: it follows
 * RFC 3629 strictly (no overlong forms, no surrogates, nothing above
 * U+10FFFF) and replaces what it rejects with U+FFFD, one per maximal invalid
 * subpart as Unicode recommends, so a decoder downstream never sees anything
 * it could read differently. Nothing here logs; callers decide.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int util_session_id(char out[SESSION_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[SESSION_ID_LEN / 2];
	size_t got = 0;
	ssize_t n;
	size_t i;

	while (got < sizeof(rnd)) {
		n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			out[0] = '\0';
			return -errno;
		}
		got += (size_t)n;
	}
	for (i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	out[SESSION_ID_LEN] = '\0';
	return 0;
}

int64_t util_mono_ms(void)
{
	return util_mono_us() / 1000;
}

int64_t util_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double util_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* Whole microseconds, the precision of every time stamp we print. */
	return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) / 1e6;
}

void util_rfc3339(double wall, char out[32])
{
	struct tm tm;
	time_t sec;
	double whole;
	long usec;

	if (!isfinite(wall) || wall < 0 || wall > 253402300799.0)
		wall = 0; /* outside years 1970..9999: refuse rather than print garbage */
	whole = floor(wall);
	usec = lround((wall - whole) * 1e6);
	if (usec >= 1000000) {
		whole += 1;
		usec -= 1000000;
	}
	sec = (time_t)whole;
	if (gmtime_r(&sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	/* Unsigned and reduced so the compiler can see the 28 characters fit. */
	snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%06luZ",
	         (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)(tm.tm_mon + 1) % 100,
	         (unsigned)tm.tm_mday % 100, (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100,
	         (unsigned)tm.tm_sec % 100, (unsigned long)usec % 1000000);
}

/*
 * Looks at the sequence starting at s[0] (n > 0 bytes available). Returns its
 * length if it is a valid, complete scalar value other than NUL. Otherwise
 * returns 0 and sets *bad to the length of the maximal subpart to replace by
 * one U+FFFD; *truncated is set when that subpart is a valid but unfinished
 * sequence cut off by the end of the data.
 */
static size_t utf8_seq(const uint8_t *s, size_t n, size_t *bad, int *truncated)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	*truncated = 0;
	*bad = 1;
	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates U+D800..U+DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0; /* 80..C1 (continuation, overlong lead) and F5..FF */
	}
	for (i = 1; i < need; i++) {
		if (i >= n) {
			*truncated = 1;
			*bad = i;
			return 0;
		}
		if (s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

size_t util_utf8_next(const uint8_t *s, size_t n, size_t *bad)
{
	int truncated;

	return utf8_seq(s, n, bad, &truncated);
}

char *util_utf8_sanitize(const void *data, size_t len)
{
	const uint8_t *s = data;
	size_t i = 0, o = 0, k, bad;
	int truncated;
	char *out;

	/* Worst case every byte becomes the 3-byte U+FFFD. */
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	if ((out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (i < len) {
		/* ASCII but NUL, the bulk of most output, in runs; NULs (a
		 * binary's padding, /dev/zero) without a look at the table. */
		for (k = 0; i + k < len && s[i + k] != 0 && s[i + k] < 0x80; k++)
			;
		if (k == 0 && s[i] == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (k == 0)
			k = utf8_seq(s + i, len - i, &bad, &truncated);
		if (k > 0) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i += bad;
		}
	}
	out[o] = '\0';
	return out;
}

int util_utf8_valid(const void *data, size_t len)
{
	const uint8_t *s = data;
	size_t i = 0, k, bad;
	int truncated;

	while (i < len) {
		k = utf8_seq(s + i, len - i, &bad, &truncated);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

char *util_escape_bytes(const void *data, size_t len, bool *exact)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = data;
	size_t i = 0, o = 0, k, bad;
	int truncated;
	char *out;

	if (exact != NULL)
		*exact = true;
	if (len > (SIZE_MAX - 1) / 4 || (out = malloc(len * 4 + 1)) == NULL)
		return NULL;
	while (i < len) {
		k = utf8_seq(s + i, len - i, &bad, &truncated);
		if (k > 0) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		/* One byte at a time, so that every byte is seen in the text. */
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[s[i] >> 4];
		out[o++] = hex[s[i] & 0xf];
		i++;
		if (exact != NULL)
			*exact = false;
	}
	out[o] = '\0';
	return out;
}

char *util_base64(const void *data, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *s = data;
	size_t i, o = 0;
	uint32_t v;
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
		return NULL;
	if ((out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 0x3f];
		out[o++] = tab[(v >> 6) & 0x3f];
		out[o++] = tab[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)s[i] << 16;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 0x3f];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 0x3f];
		out[o++] = tab[(v >> 6) & 0x3f];
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

int util_open_tmp(const char *path, unsigned mode, char *tmp, size_t cap)
{
	uint8_t r[8];
	int fd = -EEXIST, n;

	for (int tries = 0; tries < 8 && fd == -EEXIST; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			fd = -EIO;
			break;
		}
		n = snprintf(tmp, cap, "%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x", path, r[0], r[1],
		             r[2], r[3], r[4], r[5], r[6], r[7]);
		if (n < 0 || (size_t)n >= cap) {
			fd = -ENAMETOOLONG;
			break;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0) {
		if (cap > 0)
			tmp[0] = '\0';
		errno = -fd;
	}
	return fd;
}

/* Creates one directory; an existing directory is fine, anything else that
 * already has the name is not. */
static int mkdir_one(const char *path, unsigned mode)
{
	struct stat st;

	if (mkdir(path, (mode_t)mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int util_mkdirs(const char *path, unsigned mode)
{
	char *p, *q;
	int r = 0;

	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	if ((p = strdup(path)) == NULL)
		return -ENOMEM;
	/* Each prefix ending before a '/' (skipping the root and runs of
	 * slashes), then the whole path. */
	for (q = p + 1; *q != '\0'; q++) {
		if (*q != '/' || q[-1] == '/')
			continue;
		*q = '\0';
		r = mkdir_one(p, mode);
		*q = '/';
		if (r != 0)
			goto out;
	}
	r = mkdir_one(p, mode);
out:
	free(p);
	return r;
}

int util_write_all(int fd, const void *p, size_t n, size_t *done)
{
	const char *c = p;

	*done = 0;
	while (*done < n) {
		ssize_t w = write(fd, c + *done, n - *done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		*done += (size_t)w;
	}
	return 0;
}

int util_write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t done;
	int r = util_write_all(fd, text, strlen(text), &done);
	close(fd);
	return r;
}

int util_append_whole(int fd, const void *p, size_t n)
{
	size_t done = 0;
	int r = util_write_all(fd, p, n, &done), cut = 0;

	/* With O_APPEND the offset after a write is the end of the file. */
	if (r < 0 && done > 0) {
		off_t end = lseek(fd, 0, SEEK_CUR);
		cut = end >= (off_t)done ? ftruncate(fd, end - (off_t)done) : -1;
	}
	(void)cut; /* if the cut fails too, the write's error is what is reported */
	return r;
}

int util_url_encode(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (cap == 0)
		return -1;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		             (ch >= '0' && ch <= '9') || strchr("-._~/", ch) != NULL;

		if (n + (plain ? 1 : 3) >= cap)
			return -1;
		if (plain) {
			out[n++] = (char)ch;
		} else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = '\0';
	return 0;
}

bool util_hex_prefix(const char *s, size_t n)
{
	return s != NULL && strspn(s, "0123456789abcdef") >= n;
}

bool util_is_hex(const char *s, size_t n)
{
	return s != NULL && strlen(s) == n && util_hex_prefix(s, n);
}

static struct rlimit fd_limit_orig;
static bool fd_limit_raised;

void util_fd_limit_raise(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max)
		return;
	fd_limit_orig = r;
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r) == 0)
		fd_limit_raised = true;
}

void util_fd_limit_restore(void)
{
	if (fd_limit_raised)
		setrlimit(RLIMIT_NOFILE, &fd_limit_orig);
}

int util_parse_cidr4(const char *s, int min_prefix, int max_prefix, uint32_t *net, int *prefix)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = s != NULL ? strchr(s, '/') : NULL;
	struct in_addr a;
	char *end;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr) ||
	    !isdigit((unsigned char)slash[1]))
		return -1;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	errno = 0;
	long p = strtol(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || p < min_prefix || p > max_prefix ||
	    inet_pton(AF_INET, addr, &a) != 1)
		return -1;
	uint32_t host = ntohl(a.s_addr);
	uint32_t mask = p == 0 ? 0 : 0xffffffffu << (32 - p);
	if ((host & ~mask) != 0)
		return -1;
	*net = a.s_addr;
	*prefix = (int)p;
	return 0;
}

char *util_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf = fd >= 0 ? malloc(max + 1) : NULL;
	size_t n = 0;
	ssize_t r;

	if (buf == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (n < max && ((r = read(fd, buf + n, max - n)) > 0 || (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	close(fd);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}
