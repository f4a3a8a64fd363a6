/*
 * tar_read: reading the tar streams Docker's archive endpoint
 * (GET /containers/{id}/archive) returns. Pure and fuzzed: the bytes come
 * from Docker and, through the files, from the container, where the
 * attacker is root. Accepted: ustar/GNU headers with a valid checksum and
 * octal numbers; long names from PAX ("path", "linkpath") or GNU 'L'/'K'
 * records, as Go's archive/tar and GNU tar write them. Never reads outside
 * the buffer it is given.
 */
#ifndef HERMES_TAR_READ_H
#define HERMES_TAR_READ_H

#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK    512
#define TAR_NAME_MAX 4096

struct tar_entry {
	char type;               /* '0' file ('\0' is mapped to '0'), '1' hard link,
	                          * '2' symlink, '5' directory, ... */
	uint32_t mode;           /* permission bits from the header */
	int64_t mtime;           /* seconds since the epoch (PAX "mtime" if given);
	                          * 0 when the field is not a plain number */
	char name[TAR_NAME_MAX]; /* NUL-terminated; a longer name is cut */
	char link[TAR_NAME_MAX]; /* link target for '1' and '2', else "" */
	const uint8_t *data;     /* the contents, inside the buffer */
	size_t size;
};

/* The checksum a header's chksum field must hold: the sum of its 512 bytes
 * with that field counted as spaces. */
uint64_t tar_header_sum(const uint8_t *header);

/* Reads the entry at *off of p[0..n): returns 1 with *e filled and *off
 * moved past it, 0 at the end of the archive (a zero block, or no bytes
 * left), -1 when the archive is malformed or cut short. */
int tar_next(const uint8_t *p, size_t n, size_t *off, struct tar_entry *e);

/* Returns 0 and points *data and *len at the first entry's contents when it
 * is a regular file; -1 otherwise. */
int tar_first_file(const uint8_t *p, size_t n, const uint8_t **data, size_t *len);

#endif
