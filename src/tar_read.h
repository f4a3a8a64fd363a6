/*
 * tar_read: the first entry of a tar stream, as Docker's archive endpoint
 * (GET /containers/{id}/archive) returns a single file. Pure and fuzzed:
 * the bytes come from Docker and, through the file, from the container.
 * Only what that endpoint produces is accepted: a ustar/GNU header with a
 * valid checksum and an octal size, for a regular file.
 */
#ifndef HERMES_TAR_READ_H
#define HERMES_TAR_READ_H

#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK 512

/* The checksum a header's chksum field must hold: the sum of its 512 bytes
 * with that field counted as spaces. */
uint64_t tar_header_sum(const uint8_t *header);

/* Returns 0 and points *data and *len at the first entry's contents when it is
 * a regular file lying wholly inside p[0..n); -1 otherwise. */
int tar_first_file(const uint8_t *p, size_t n, const uint8_t **data, size_t *len);

#endif
