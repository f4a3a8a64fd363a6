/*
 * changes: Docker's list of a container's filesystem changes
 * (GET /containers/{id}/changes) -> the paths worth collecting.
 *
 * Pure and unit-tested. Kept: leaves (a path no other entry lies under),
 * since a directory's own entry says only that something inside changed and
 * those somethings are listed too. Dropped: what the image and Hermes write
 * in every session whatever the attacker does (the session parent's utmp,
 * wtmp and exit reports), and malformed entries. The list is the daemon's
 * word about the attacker's files: paths are bytes the attacker chose.
 */
#ifndef HERMES_CHANGES_H
#define HERMES_CHANGES_H

#include <stddef.h>

#include <jansson.h>

enum change_kind { CHANGE_MODIFIED = 0, CHANGE_ADDED = 1, CHANGE_DELETED = 2 };

struct change {
	char *path;
	enum change_kind kind;
};

struct change_list {
	struct change *items;
	size_t n;
	size_t dropped; /* entries past max, or malformed */
};

/* Fills out (sorted by path) from the JSON array; at most max entries.
 * Returns 0, or -1 when changes is not an array or memory ran out. */
int changes_plan(const json_t *changes, size_t max, struct change_list *out);
void changes_free(struct change_list *l);

/* True for paths every session changes (see above). */
int changes_is_noise(const char *path);

#endif
