/*
 * retention: removes old recordings and artifacts, as configured, and
 * keeps their directories under a disk budget.
 *
 * Only Hermes' own files are ever touched, recognised by their names:
 * <session>.cast, <session>-<n>.cast and <session>.json in
 * recording.output_dir; <sha256> and sessions/<session>.json in
 * forensics.artifacts_dir. Nothing else in those directories, and never
 * events.jsonl, the index or a container. Every rule is off by default
 * (0): nothing is deleted that the operator did not ask to be deleted.
 *
 *   recording.retention_days   recordings older than this (by mtime)
 *   forensics.retention_days   stored files and manifests older than this;
 *                              a stored file's mtime is when a session last
 *                              left it, so a file seen again stays
 *   forensics.disk_budget      then, while both directories hold more than
 *                              this, the oldest of these files go first
 *
 * Blocking file-system work: run by `hermes prune` and by a child of the
 * daemon, never on the monitor's loop.
 */
#ifndef HERMES_RETENTION_H
#define HERMES_RETENTION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "config.h"

struct retention_count {
	unsigned long files;
	uint64_t bytes;
};

struct retention_report {
	struct retention_count recordings; /* removed for their age */
	struct retention_count artifacts;  /* removed for their age */
	struct retention_count budget;     /* removed to meet the disk budget */
	struct retention_count kept;       /* what is left */
	unsigned long errors;              /* files that could not be removed */
};

/*
 * One pass at time now. dry_run: only counts. Each file removed (or that
 * would be) is printed to list, one path a line, when list is not NULL;
 * what cannot be removed is said on stderr. Returns 0, or -1 when a
 * directory could not be read (the report has what was done).
 */
int retention_run(const struct config *cfg, time_t now, bool dry_run, FILE *list,
                  struct retention_report *r);

/* The report as the fields of a retention.pruned event (docs/events.md). */
json_t *retention_report_json(const struct retention_report *r);

/* Whether any rule is on. */
bool retention_enabled(const struct config *cfg);

#endif
