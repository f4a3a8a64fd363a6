/*
 * cli: the analyst commands of the hermes binary - sessions, show, stats,
 * replay, artifacts, export, reindex. Each reads the daemon's config (--config FILE) to find
 * events.jsonl and the index, brings the index up to date with the log
 * first, and prints aligned text, or JSON with --json.
 */
#ifndef HERMES_CLI_H
#define HERMES_CLI_H

#include <stdbool.h>

bool cli_is_command(const char *name);

/* argv[0] is the command's name. Returns the exit status: 0, 1 (failed,
 * nothing found), 2 (bad command line or config). */
int cli_main(int argc, char **argv);

#endif
