/*
 * doctor: `hermes doctor --config FILE`, the checks an operator runs
 * before (or instead of) starting the daemon: the config, the workers'
 * user and empty root, the helper programs, the host keys, the data
 * directories and their modes, the free disk, the ports, the Docker
 * engine, its runtime, the image and the stealth profile it gives.
 *
 * Each check prints one line - "ok", "warn" or "FAIL", what it looked
 * at, and for a problem what to do about it - and changes nothing on the
 * machine: keys and directories that are missing are only said to be
 * made at start (reading the image for its profile creates a container
 * and removes it, as a start does).
 */
#ifndef HERMES_DOCTOR_H
#define HERMES_DOCTOR_H

#include <stdio.h>

#include "config.h"

/* The checks for cfg, written to out: 0 when nothing failed, 1 when
 * something did. */
int doctor_run(const struct config *cfg, FILE *out);

/* `hermes doctor ARGS` (argv[0] is "doctor"): 0 all well, 1 a problem,
 * 2 a bad command line or config. */
int doctor_main(int argc, char **argv);

#endif
