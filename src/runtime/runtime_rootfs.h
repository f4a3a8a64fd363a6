/* The box's root without the engine's name (docs/stealth.md, "The
 * checklist"): Docker mounts a box's overlay root with its layer store's
 * absolute paths (lowerdir=/var/lib/docker/overlay2/l/...), and the mount
 * options, which the kernel keeps as they were given, are in every box's
 * /proc/self/mountinfo and `mount`. Before runc, hermes-runtime mounts the
 * same layers again at the same place, named by short relative names
 * (lowerdir=lower:lower1:lower2,upperdir=upper,workdir=work) given from a
 * directory of links it removes afterwards. Same layers, same upper and
 * work directories, same options: only the names differ, and dockerd, which
 * knows the root by its mount point, finds it where it left it.
 */
#ifndef HERMES_RUNTIME_ROOTFS_H
#define HERMES_RUNTIME_ROOTFS_H

#include <stddef.h>

#define RUNTIME_OVERLAY_LAYERS_MAX 128 /* overlay's own limit is 500; Docker's 128 */
#define RUNTIME_OVERLAY_OPTS_MAX   65536

struct runtime_overlay {
	char *lower[RUNTIME_OVERLAY_LAYERS_MAX]; /* absolute, the top layer first */
	size_t nlower;
	char *upper, *work; /* absolute */
	char *other;        /* the other options, comma-joined ("" for none) */
	int read_only;
};

/* Reads an overlay's options as /proc/self/mountinfo shows them (its
 * last field): a relative layer path is taken relative to home (Docker's
 * overlay2 gives `l/NAME` relative to its store when the absolute list
 * would not fit a page). "rw"/"ro" are kept apart (read_only). 0, or -1
 * when there is no lowerdir, upperdir or workdir, a path holds a
 * backslash (the kernel's escapes: left alone), there are too many layers,
 * or the text is longer than RUNTIME_OVERLAY_OPTS_MAX. No I/O. */
int runtime_overlay_parse(const char *opts, const char *home, struct runtime_overlay *o);
void runtime_overlay_free(struct runtime_overlay *o);

/* The link name for layer i, the top one 0: `lower`, then lower1, ... */
void runtime_overlay_link_name(size_t i, char *out, size_t cap);

/* The options to mount o with from a directory holding the links
 * runtime_overlay_link_name() names, `upper` and `work`. Returns the
 * length, or -1 when it does not fit in cap. No I/O. */
int runtime_overlay_options(const struct runtime_overlay *o, char *out, size_t cap);

/* Finds the topmost mount at path in a mountinfo text: its file system
 * type and its options (the last field, still escaped as the kernel
 * writes it) copied into fstype and opts. 0, or -1 when there is none or
 * a field does not fit. No I/O. */
int runtime_mountinfo_find(const char *mountinfo, const char *path, char *fstype, size_t fstype_cap,
                           char *opts, size_t opts_cap);

/* Mounts the overlay at root again under the short names (above), from a
 * directory of links made in workdir and removed again. 1 when done, 0
 * when root is no overlay of absolute paths to rename, -errno when it
 * could not be done: root is then mounted as it was (or, when even that
 * fails, not at all, and says so on stderr). */
int runtime_rootfs_rename(const char *root, const char *workdir);

#endif
