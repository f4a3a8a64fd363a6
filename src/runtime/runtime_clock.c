/* A box's own boot and monotonic clocks (see runtime_clock.h). */
#include "runtime_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box_boot.h"
#include "runtime_spec.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define NS_PER_S 1000000000LL

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * NS_PER_S + t->tv_nsec;
}

/* "clock seconds nanoseconds", the nanoseconds in [0, 1e9) as the kernel
 * wants them, also for a negative offset. */
static int offset_line(char *out, size_t cap, const char *clock, int64_t off)
{
	int64_t s = off / NS_PER_S, ns = off % NS_PER_S;

	if (ns < 0) {
		ns += NS_PER_S;
		s--;
	}
	return snprintf(out, cap, "%s %" PRId64 " %" PRId64 "\n", clock, s, ns);
}

int runtime_clock_offsets(int64_t boot_ms, int64_t now_ms, const struct timespec *mono,
                          const struct timespec *boottime, char *out, size_t cap)
{
	if (boot_ms > now_ms || now_ms - boot_ms > BOX_BOOT_MAX_AGE_MS)
		boot_ms = now_ms - BOX_BOOT_LEAD_MIN_MS;
	int64_t up = (now_ms - boot_ms) * 1000000;
	int a = offset_line(out, cap, "monotonic", up - ns_of(mono));
	if (a < 0 || (size_t)a >= cap)
		return -1;
	int b = offset_line(out + a, cap - (size_t)a, "boottime", up - ns_of(boottime));
	if (b < 0 || (size_t)b >= cap - (size_t)a)
		return -1;
	return a + b;
}

int runtime_clock_new(int64_t boot_ms)
{
	struct timespec wall, mono, boot;
	char text[160];
	int fd, n, r = 0;

	if (unshare(CLONE_NEWTIME) < 0)
		return -errno;
	/* Read together: the box's clocks are off by what passes between. */
	if (clock_gettime(CLOCK_MONOTONIC, &mono) < 0 || clock_gettime(CLOCK_BOOTTIME, &boot) < 0 ||
	    clock_gettime(CLOCK_REALTIME, &wall) < 0)
		return -errno;
	n = runtime_clock_offsets(boot_ms, ns_of(&wall) / 1000000, &mono, &boot, text,
	                          sizeof(text));
	if (n < 0)
		return -EOVERFLOW;
	/* For a process that unshared, the file is its children's namespace's,
	 * writable until the first of them is made. */
	if ((fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n)
		r = errno != 0 ? -errno : -EIO;
	close(fd);
	return r;
}

/* The pid of id's init and its start time (clock ticks after boot), from
 * runc's state.json; 0 when none. */
static pid_t init_of(const char *root, const char *id, unsigned long long *start)
{
	char path[4096];
	json_t *state;
	json_int_t pid;

	if (runtime_state_path(root, id, path, sizeof(path)) < 0 ||
	    (state = json_load_file(path, 0, NULL)) == NULL)
		return 0;
	pid = json_integer_value(json_object_get(state, "init_process_pid"));
	*start =
	    (unsigned long long)json_integer_value(json_object_get(state, "init_process_start"));
	json_decref(state);
	return pid > 0 && pid < (1 << 22) ? (pid_t)pid : 0;
}

/* Whether pid still is the process that started at `start` (field 22 of
 * its stat): a pid runc recorded may have gone to another since. */
static int same_process(pid_t pid, unsigned long long start)
{
	char path[64], buf[1024], *p;
	unsigned long long got = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* After the name's closing parenthesis: state, then 18 fields before
	 * the start time. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	p++;
	for (int field = 3; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	return p != NULL && sscanf(p, " %llu", &got) == 1 && got == start;
}

int runtime_clock_join(const char *root, const char *id)
{
	unsigned long long start = 0;
	pid_t pid = init_of(root, id, &start);
	char path[64];
	struct stat mine, theirs;
	int fd, own = -1, r = 0;

	if (pid == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/time", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno; /* gone, or no time namespaces */
	if ((own = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &theirs) < 0 || fstat(own, &mine) < 0)
		r = -errno;
	else if (theirs.st_ino != mine.st_ino || theirs.st_dev != mine.st_dev) {
		if (setns(fd, CLONE_NEWTIME) < 0)
			r = -errno;
		/* runc recorded its init's start time as read in the box's
		 * clocks: read so, it says whether the namespace opened is
		 * that process's, not of one that took its pid since. */
		else if (!same_process(pid, start)) {
			r = -ESRCH;
			if (setns(own, CLONE_NEWTIME) < 0)
				r = -errno;
		}
	}
	close(fd);
	if (own >= 0)
		close(own);
	return r;
}
