/*
 * changes: Docker's list of a container's filesystem changes
 * (GET /containers/{id}/changes) -> the plan of what to collect.
 *
 * Pure and unit-tested. Kept: leaves (a path no other entry lies under),
 * since a directory's own entry says only that something inside changed and
 * those somethings are listed too; every one of them, the files Hermes's
 * own login accounting writes in the box included (the attacker is root
 * there: any path left out would be a place to hide). Refused and counted:
 * malformed entries. The list is the daemon's word about the attacker's
 * files: paths are bytes the attacker chose.
 *
 * Names that are not UTF-8: Docker writes the list with Go's encoding/json,
 * which puts U+FFFD for each byte that is not part of valid UTF-8, so the
 * name in the list is not the file's, and the archive endpoint answers 404
 * for it. Such a path is "lossy"; its real bytes are in the tar stream of
 * a directory above it whose own name is intact (its group's dir), and
 * changes_docker_name() says which entry of that stream it is.
 *
 * The cap: at most max entries are collected. Which ones is decided by
 * what the path tells (changes_class(): executables, scripts and the
 * places persistence lives first, then where attackers work, then the
 * rest), then by fairness between directories (a directory's first entry
 * before any directory's second, so that 5000 files in one place cannot
 * push out one file elsewhere), then by depth. Where the cap cuts through
 * a directory's entries, the archive of that directory is read and its
 * headers choose (changes_sort_candidates()). What is kept out is counted, with a
 * sample, in a struct changes_dropped: one event, not one per path.
 */
#ifndef HERMES_CHANGES_H
#define HERMES_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tar_read.h"

enum change_kind { CHANGE_MODIFIED = 0, CHANGE_ADDED = 1, CHANGE_DELETED = 2 };

/* Entries of one directory read through one archive of it rather than one
 * archive each: each archive call costs the engine a process of its own (a
 * re-exec of dockerd, ~0.2 s of CPU here) and a mount, and a booted box
 * leaves several small directories of a few changes each (its host keys,
 * its timers' stamps) in every collection. A directory too large for the
 * bound is read one archive per entry all the same. */
#define CHANGES_BATCH_MIN 2
#define CHANGES_SAMPLE    10 /* paths named in the cap's event */
#define CHANGES_DIRS      10 /* directories named there, the most cut first */
#define CHANGES_DIR_SLOTS 64 /* directories counted apart; the rest together */

struct change {
	char *path; /* as the list gives it: UTF-8, U+FFFD for each byte that was not */
	enum change_kind kind;
	bool lossy; /* the path holds U+FFFD: the real name is only in an archive */
	bool kept;  /* within the cap by what its path tells */
};

/* The entries, not deleted, collected from one directory. */
struct change_group {
	char *dir;            /* its path: a lossy entry's nearest intact ancestor */
	struct change *items; /* sorted by path (bytes) */
	size_t n;
	size_t quota; /* how many to take: < n when the cap cuts through */
	bool batch;   /* read dir's archive once for all of them */
};

/* What the cap kept out. */
struct changes_dropped {
	size_t total;
	size_t kind[3]; /* by enum change_kind */
	char *sample[CHANGES_SAMPLE];
	size_t n_sample;
	struct {
		char *dir;
		size_t n;
	} dirs[CHANGES_DIR_SLOTS];
	size_t n_dirs;
	size_t elsewhere; /* in directories past the slots */
};

struct change_list {
	struct change *deleted; /* most telling first */
	size_t n_deleted;
	struct change_group *groups; /* the group of the most telling entry first */
	size_t n_groups;
	size_t malformed; /* entries that are not a change Docker could mean */
	struct changes_dropped dropped;
};

/* Fills out from the JSON array; at most max entries are planned (groups
 * cut by the cap hold all their entries, with a quota). Returns 0, or -1
 * when changes is not an array or memory ran out. */
int changes_plan(const json_t *changes, size_t max, struct change_list *out);
void changes_free(struct change_list *l);

/* Counts path (text: valid UTF-8) as kept out by the cap. */
void changes_drop(struct changes_dropped *d, const char *path, enum change_kind kind);
/* {"created": N, "changed": N, "deleted": N, "sample": [...],
 *  "dirs": {"/dir": N, ...}} (the CHANGES_DIRS most cut, and "" for all
 * the others together when some were not counted apart); NULL if none. */
json_t *changes_dropped_json(const struct changes_dropped *d);

/* 0: an executable, a script or where persistence lives (bin/, cron,
 * systemd, .ssh, passwd...); 1: where attackers work (/root, /home, /tmp,
 * /etc, /opt...); 2: anything else. */
int changes_class(const char *path);

/* The path as Docker's list writes raw name bytes: each byte that is not
 * part of valid UTF-8 becomes U+FFFD. A heap string, or NULL. */
char *changes_docker_name(const void *raw, size_t len);

/* An entry of one directory's archive competing for the places the cap
 * left that directory. */
struct change_candidate {
	size_t off;    /* where its header starts in the archive */
	size_t item;   /* which entry of the group it is */
	bool runnable; /* a file with an x bit, "#!" or an ELF header */
	int64_t mtime;
	size_t size;
};

void changes_candidate(struct change_candidate *c, const struct tar_entry *e, size_t off,
                       size_t item);
/* Best first: executables and scripts, then the more recent, then the
 * smaller, then in archive order. */
void changes_sort_candidates(struct change_candidate *c, size_t n);

#endif
