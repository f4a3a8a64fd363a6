/*
 * store: the files of forensics.artifacts_dir, each stored once under the
 * SHA-256 of its contents (docs/artifacts.md).
 *
 * A name that is already there is trusted only when it is a regular file
 * with exactly the bytes being stored: anything else at that name (a
 * symbolic link planted there, a directory, a file cut short or changed)
 * is never followed, and is replaced by a fresh copy. New files are
 * written to a temporary name opened O_EXCL|O_NOFOLLOW and renamed into
 * place, so a reader never sees half a file. Not here: hashing (the caller
 * names the bytes) and deciding what is stored.
 */
#ifndef HERMES_STORE_H
#define HERMES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Stores p[0..n) as DIR/NAME, mode 0440; an existing copy gets its time
 * set to now (retention measures a file's age from the last session that
 * left it). *replaced (may be NULL) says that something else had the name
 * and was replaced. Returns 0 or a negative errno. */
int store_put(const char *dir, const char *name, const uint8_t *p, size_t n, bool *replaced);

#endif
