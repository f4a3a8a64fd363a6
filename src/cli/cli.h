/*
 * cli: the analyst commands of the hermes binary - sessions, show, stats,
 * replay, artifacts, export, reindex, prune - from one table in cli.c
 * (name, arguments, usage, handler). Each reads the daemon's config
 * (--config FILE) to find events.jsonl and the index, brings the index up
 * to date with the log first, and prints aligned text, or JSON with
 * --json; prune (prune.h) has a command line of its own.
 */
#ifndef HERMES_CLI_H
#define HERMES_CLI_H

#include <stdbool.h>
#include <stdio.h>

bool cli_is_command(const char *name);

/* The commands' names, "sessions|show|...", for the binary's usage. */
void cli_print_names(FILE *f);

/* argv[0] is the command's name. Returns the exit status: 0, 1 (failed,
 * nothing found), 2 (bad command line or config). */
int cli_main(int argc, char **argv);

#endif
