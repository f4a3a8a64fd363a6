/*
 * landlock: file-system confinement with Linux Landlock; see landlock.h.
 *
 * Every right the running kernel knows is "handled" (denied unless a rule
 * grants it), so a newer kernel is no looser than an older one.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock.h"

/* Rights newer than the build machine's headers. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define FILE_RIGHTS                                                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v > 0 ? (int)v : 0;
}

static uint64_t handled(int abi)
{
	uint64_t h = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

static uint64_t granted(unsigned rights, uint64_t h)
{
	uint64_t g = 0;

	if (rights & FS_READ)
		g |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	if (rights & FS_WRITE)
		g |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
		     LANDLOCK_ACCESS_FS_TRUNCATE;
	if (rights & FS_REMOVE)
		g |= LANDLOCK_ACCESS_FS_REMOVE_FILE;
	return g & h;
}

int landlock_confine(const struct fs_rule *rules, size_t n)
{
	int abi = landlock_abi(), rs, r = 0;

	if (abi == 0)
		return 1;
	struct landlock_ruleset_attr attr = {.handled_access_fs = handled(abi)};
	rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		return -errno;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct stat st;
		int fd = open(rules[i].path, O_PATH | O_CLOEXEC);
		if (fd < 0)
			continue; /* nothing there to allow */
		struct landlock_path_beneath_attr pb = {
		    .allowed_access = granted(rules[i].rights, attr.handled_access_fs),
		    .parent_fd = fd};
		if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
			pb.allowed_access &= FILE_RIGHTS;
		if (pb.allowed_access != 0 &&
		    syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			r = -errno;
		close(fd);
	}
	if (r == 0 && syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		r = -errno;
	close(rs);
	return r;
}
