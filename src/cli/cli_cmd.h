/*
 * cli_cmd: what the analyst commands share inside the binary (cli.c holds
 * the command line, the queries and sessions/show/stats/replay;
 * cli_export.c artifacts and export). Not an interface for anyone else.
 */
#ifndef HERMES_CLI_CMD_H
#define HERMES_CLI_CMD_H

#include <stdbool.h>

#include <jansson.h>

#include "config.h"
#include "index.h"

/* Cells of the list tables are cut to this; `show` prints them whole. */
#define MAX_CELL 64

/* "file.created" -> "created", "artifact.skipped" -> "skipped" */
#define ARTIFACT_EVENT "substr(event, instr(event, '.') + 1) AS event"

struct opts {
	const char *config, *since, *ip, *user, *session;
	bool json, has_commands, raw, escape;
	long limit;
	double speed;
	char since_buf[32];
};

struct ctx {
	struct config *cfg;
	struct index *ix;
	const char *events; /* the daemon's events.jsonl */
	long indexed;       /* events the catch-up before the command indexed */
	struct opts o;
};

/* Runs sql with text parameters (NULL binds NULL) and returns its rows as
 * objects keyed by column name, or NULL after printing why. */
json_t *cli_query(struct ctx *c, const char *sql, const char *const *params, int nparams);
int cli_print_json(json_t *v);
/* --limit as the text parameter the queries CAST; 0 (no limit) is -1. */
const char *cli_limit_param(long limit, char out[24]);
/* A session id from an id or a unique prefix; prints why not. */
int cli_resolve_session(struct ctx *c, const char *arg, char out[64]);
/* The session and every section about it: what `show --json` prints. */
json_t *cli_show_json(struct ctx *c, const char *id);

/* Handlers of cli.c's table of commands: args are the command's own
 * arguments (export: SESSION DIR), as many as its row names. */
int cmd_artifacts(struct ctx *c, char *const *args);
int cmd_export(struct ctx *c, char *const *args);

#endif
