/*
 * exit_signal: how a channel's process ended, as the in-container session
 * parent reports it (images/ubuntu/session-parent.c), and the names SSH
 * gives signals. Pure and fuzzed: the report is written inside the
 * container, where the attacker is root.
 */
#ifndef HERMES_EXIT_SIGNAL_H
#define HERMES_EXIT_SIGNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Where the session parent writes a report, one file per exec named by the
 * token it was given (images/ubuntu/session-parent.c says the same). */
#define EXIT_REPORT_DIR "/run/sshd"

/* The highest signal number Linux has; a report naming another is refused. */
#define EXIT_SIGNAL_MAX 64

/* Parses "signal N\n" or "signal N core\n" (the newline optional).
 * Returns 0 and fills *sig and *core, or -1 for anything else. */
int exit_signal_parse(const char *text, size_t n, int *sig, bool *core);

/* The name an exit-signal message carries (RFC 4254 6.10: "KILL", "TERM",
 * ...), or "SIG@openssh.com" for one the RFC does not name, as OpenSSH's
 * sshd sends it. */
const char *exit_signal_name(int sig);

#endif
