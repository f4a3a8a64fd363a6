/* store: see store.h. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* True when path is a regular file (not a link to one) holding exactly
 * p[0..n); its time is then set to now. Anything else, including a file
 * whose time cannot be set, is written anew. */
static bool same_file(const char *path, const uint8_t *p, size_t n, bool *exists)
{
	uint8_t chunk[65536];
	struct stat st;
	size_t off = 0;
	bool same = true;
	int fd;

	*exists = lstat(path, &st) == 0;
	if (!*exists || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != (uint64_t)n)
		return false;
	/* O_NOFOLLOW and fstat again: it may have been swapped since. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != (uint64_t)n)
		same = false;
	while (same && off < n) {
		size_t want = n - off < sizeof(chunk) ? n - off : sizeof(chunk);
		ssize_t got = read(fd, chunk, want);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || memcmp(chunk, p + off, (size_t)got) != 0)
			same = false;
		else
			off += (size_t)got;
	}
	if (same && futimens(fd, NULL) < 0)
		same = false;
	close(fd);
	return same;
}

static int write_new(const char *path, const uint8_t *p, size_t n)
{
	char tmp[PATH_MAX + 32];
	size_t done;
	int fd, r;

	fd = util_open_tmp(path, 0440, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	r = util_write_all(fd, p, n, &done);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	/* rename() replaces a link itself, never what it points to; it
	 * fails on a directory, which is then an error to report. */
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r != 0)
		unlink(tmp);
	return r;
}

int store_put(const char *dir, const char *name, const uint8_t *p, size_t n, bool *replaced)
{
	char path[PATH_MAX];
	bool exists = false;
	int len;

	if (replaced != NULL)
		*replaced = false;
	if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	len = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (len < 0 || (size_t)len >= sizeof(path))
		return -ENAMETOOLONG;
	if (same_file(path, p, n, &exists))
		return 0;
	if (replaced != NULL)
		*replaced = exists;
	return write_new(path, p, n);
}
