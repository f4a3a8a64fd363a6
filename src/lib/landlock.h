/*
 * landlock: confines a process's file access to a few trees (Linux
 * Landlock, 5.13 and later), for the monitor's helper children: whatever
 * their capabilities, they can then open, create or remove files only
 * where their rules say, not /etc or the host keys.
 *
 * Needs no privilege, only no_new_privs set first. On a kernel without it
 * confining is not possible, and landlock_confine() says so (returns 1).
 */
#ifndef HERMES_LANDLOCK_H
#define HERMES_LANDLOCK_H

#include <stddef.h>

#define FS_READ   1u /* read files, list directories */
#define FS_WRITE  2u /* create, write and truncate files */
#define FS_REMOVE 4u /* remove files */

struct fs_rule {
	const char *path; /* a directory (its whole tree) or a file */
	unsigned rights;  /* FS_* */
};

/* The kernel's Landlock ABI version, 0 when it has none (or it is off). */
int landlock_abi(void);

/* Allows only what rules[n] grant, for good. A path that does not exist
 * is skipped. 0, 1 when the kernel has no Landlock, or -errno. */
int landlock_confine(const struct fs_rule *rules, size_t n);

#endif
