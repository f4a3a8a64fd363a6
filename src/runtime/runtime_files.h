/* Writing a file into a box's root filesystem from the host, as root,
 * without following anything the box may have put there.
 *
 * The root is the container's own (its writable layer holds whatever an
 * earlier session left: a box is started again for a returning attacker),
 * so every path is resolved inside it with no symlink allowed (openat2
 * RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS), the file is replaced by rename
 * from a new file made with O_EXCL, and anything but a regular file in the
 * way is left alone.
 */
#ifndef HERMES_RUNTIME_FILES_H
#define HERMES_RUNTIME_FILES_H

#include <stddef.h>

enum runtime_place_mode {
	RT_PLACE_IF_EMPTY,     /* only where the file is missing or empty */
	RT_PLACE_IF_DIFFERENT, /* wherever its content is not `text` */
};

/* Places `text` at `path` ("/etc/hosts") under the directory rootfd.
 * Returns 1 when it wrote, 0 when the file was already as wanted (or, with
 * RT_PLACE_IF_EMPTY, had content of its own), -errno when it could not
 * (ELOOP: a symlink on the way; EEXIST: not a regular file). A file that
 * existed keeps its times. */
int runtime_place(int rootfd, const char *path, const char *text, size_t len,
                  enum runtime_place_mode mode);

#endif
