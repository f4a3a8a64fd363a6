/*
 * monitor: the daemon's one long-lived process: start-up (host keys,
 * listening socket, Docker check, pool warm-up), the accept loop that forks
 * a worker per connection, the worker table, signals and shutdown.
 */
#ifndef HERMES_MONITOR_H
#define HERMES_MONITOR_H

#include "config.h"

/* Runs the daemon until SIGTERM/SIGINT; returns the process exit code. */
int monitor_run(const struct config *cfg);

#endif
