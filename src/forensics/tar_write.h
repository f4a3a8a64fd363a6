/*
 * tar_write: the tar streams Hermes gives Docker's archive endpoint
 * (PUT /containers/{id}/archive), which unpacks them into a box's root
 * before the box starts: plain ustar entries for regular files, each with
 * its own owner, mode and modification time, as the engine then sets them.
 * The names are Hermes's own (never an attacker's), relative to the
 * archive's destination.
 */
#ifndef HERMES_TAR_WRITE_H
#define HERMES_TAR_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends a regular file: name of at most 100 bytes (no "..", not
 * absolute), mode's permission bits, numeric owner, mtime in seconds since
 * the epoch. Returns 0, or -1 (nothing appended) for a name or value ustar
 * cannot hold, or when out of memory. */
int tar_write_file(struct buf *out, const char *name, uint32_t mode, unsigned uid, unsigned gid,
                   int64_t mtime, const void *data, size_t len);

/* Appends the two zero blocks that end an archive. Returns 0, or -1. */
int tar_write_end(struct buf *out);

#endif
