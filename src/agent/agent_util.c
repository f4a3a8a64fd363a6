/*
 * agent_util: small helpers the agent's files share (writes, clocks, fds,
 * turning protocol bytes into C strings).
 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void bytes_cstr(char *out, size_t cap, struct agent_bytes b)
{
	size_t n = 0;

	if (cap == 0)
		return;
	while (n < b.n && n + 1 < cap && b.p[n] != 0) {
		out[n] = (char)b.p[n];
		n++;
	}
	out[n] = '\0';
}

void bytes_visible(char *out, size_t cap, struct agent_bytes b)
{
	size_t o = 0;

	if (cap == 0)
		return;
	for (uint32_t i = 0; i < b.n; i++) {
		uint8_t c = b.p[i];

		if (c > 0x20 && c < 0x7f) {
			if (o + 2 > cap)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 5 > cap)
				break;
			snprintf(out + o, 5, "\\%03o", c);
			o += 4;
		}
	}
	out[o] = '\0';
}

void close_from(int from)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)from, ~0U, 0) == 0)
		return;
#endif
	DIR *d = opendir("/proc/self/fd");

	if (d != NULL) {
		struct dirent *de;
		int self = dirfd(d);

		while ((de = readdir(d)) != NULL) {
			int fd = atoi(de->d_name);

			if (de->d_name[0] != '.' && fd >= from && fd != self)
				close(fd);
		}
		closedir(d);
		return;
	}
	for (int fd = from; fd < 4096; fd++)
		close(fd);
}

uint32_t draw(uint32_t n)
{
	static uint32_t x;

	if (x == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		x = ((uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16)) | 1;
	}
	/* xorshift32 */
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x % n;
}
