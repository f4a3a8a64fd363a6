/*
 * scp_cmd: recognizes the remote half of a legacy scp transfer in an exec
 * command ("scp -t PATH" receives an upload, "scp -f PATH" sends a download)
 * so the transfer is logged with its direction and path. Pure and fuzzed:
 * the command is attacker input. Not a shell parser: only the plain forms
 * scp clients send (options, then -t or -f, then one path, with the quoting
 * OpenSSH's scp uses for paths with special characters).
 */
#ifndef HERMES_SCP_CMD_H
#define HERMES_SCP_CMD_H

#include <stdbool.h>
#include <stddef.h>

/* Returns 1 and fills *upload and *path (heap, caller frees) when cmd is an
 * scp sink/source command, 0 when it is not, -ENOMEM on allocation failure. */
int scp_cmd_parse(const char *cmd, bool *upload, char **path);

#endif
