/*
 * indexer: keeps forensics.database current while the daemon runs.
 *
 * A child of the monitor, forked at start before any connection: it holds
 * no socket, only the database and a read of events.jsonl, and every
 * second brings the index up to date (index_catch_up). SQLite's blocking
 * I/O never touches the monitor's loop; the analyst commands then find the
 * index current and catch up only the last second's lines. It ends with
 * the monitor (SIGTERM at shutdown, or the parent-death signal). It runs
 * in helper_sandbox.h's sandbox; the monitor starts it again
 * (INDEXER_RESTART_MS later) if it dies.
 */
#ifndef HERMES_INDEXER_H
#define HERMES_INDEXER_H

#include <sys/types.h>

#include "config.h"

/* The child's pid, or -1 (logged) when it could not be started. */
pid_t indexer_start(const struct config *cfg);

#define INDEXER_RESTART_MS 5000

#endif
