/*
 * pruner: the daemon's retention pass (retention.h), in a child process.
 *
 * Removing files is blocking work, so the monitor never does it: once at
 * start and then every hour, when any retention rule is set, it forks a
 * child that runs retention_run() and writes its report back over a pipe;
 * the monitor logs it as retention.pruned when anything was removed or
 * could not be. A pass still running when the next is due is not doubled.
 */
#ifndef HERMES_PRUNER_H
#define HERMES_PRUNER_H

#include "config.h"
#include "events.h"
#include "loop.h"

struct pruner;

/* NULL when no rule is set (nothing to do) or out of memory. */
struct pruner *pruner_new(struct loop *l, const struct config *cfg, struct events *ev);
void pruner_free(struct pruner *p);

#endif
