/* Writing into a box's root from the host without following its links (see
 * runtime_files.h). */
#include "runtime_files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int open_dir_in_root(int rootfd, const char *dir)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve =
	        RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, rootfd, dir[0] != '\0' ? dir : ".", &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What is there now: 1 and *st filled for a regular file (its first
 * bytes, up to len + 1, compared with text in *same), 0 for none, -errno
 * otherwise. */
static int existing(int dirfd, const char *base, const char *text, size_t len, struct stat *st,
                    int *same)
{
	int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char *buf;
	ssize_t n;

	*same = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -EEXIST;
	}
	if ((size_t)st->st_size == len && (buf = malloc(len + 1)) != NULL) {
		n = pread(fd, buf, len + 1, 0);
		*same = n == (ssize_t)len && memcmp(buf, text, len) == 0;
		free(buf);
	}
	close(fd);
	return 1;
}

int runtime_place(int rootfd, const char *path, const char *text, size_t len,
                  enum runtime_place_mode mode)
{
	char dir[256], tmp[300];
	const char *slash, *base;
	struct stat st;
	int dirfd, have, same, fd, r, tries;

	while (*path == '/')
		path++;
	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	if (base[0] == '\0' || (size_t)(base - path) >= sizeof(dir))
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%.*s", slash != NULL ? (int)(slash - path) : 0, path);
	if ((dirfd = open_dir_in_root(rootfd, dir)) < 0)
		return dirfd;
	have = existing(dirfd, base, text, len, &st, &same);
	if (have < 0 || (have == 1 && (same || (mode == RT_PLACE_IF_EMPTY && st.st_size > 0)))) {
		close(dirfd);
		return have < 0 ? have : 0;
	}
	snprintf(tmp, sizeof(tmp), ".%s.hermes-runtime", base);
	for (tries = 0;; tries++) {
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST || tries > 0)
			break;
		unlinkat(dirfd, tmp, 0); /* a leftover (or something planted): the name only */
	}
	if (fd < 0) {
		r = -errno;
		close(dirfd);
		return r;
	}
	r = write_all(fd, text, len);
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r == 0 && have == 1) {
		struct timespec times[2] = {st.st_atim, st.st_mtim};
		futimens(fd, times);
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, base) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	close(dirfd);
	return r < 0 ? r : 1;
}
