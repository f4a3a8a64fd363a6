/*
 * prune: `hermes prune --config FILE [--now T] [--dry-run] [--json]`, one
 * pass of the retention rules (retention.h) from the command line, as the
 * daemon's pruner child runs them every hour. --now sets the clock the
 * ages are measured against (what-ifs, tests).
 */
#ifndef HERMES_PRUNE_H
#define HERMES_PRUNE_H

/* argv[0] is "prune". Returns the exit status: 0, 1 (something could not
 * be removed or read), 2 (bad command line or config). */
int prune_main(int argc, char **argv);

#endif
