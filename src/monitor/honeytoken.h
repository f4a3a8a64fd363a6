/*
 * honeytoken: which events touch a bait file (honeytokens.files).
 *
 * Pure functions over event objects, so every rule is unit-tested and
 * fuzzed: the monitor runs honeytoken_mark() on each event before it is
 * written. A command line (command.input) touches a bait file when it
 * names it; an SFTP/scp transfer or operation, or an artifact event, when
 * its path is the bait file's. Honeytoken logins are the auth policy's
 * (AUTH_ACCEPT_HONEYTOKEN); the session marks those itself.
 *
 * Not seen: a file reached through a glob (cat /etc/config/''*), a variable,
 * an escape inside the name, or a program that opens it without its name
 * on the command line. The recording has those; the alert is a lead, not
 * a proof.
 */
#ifndef HERMES_HONEYTOKEN_H
#define HERMES_HONEYTOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"

/* The home directory relative SFTP/scp paths start from. */
#define HONEYTOKEN_HOME "/root"

/*
 * Does the command line name the bait file at path (absolute)? A name is
 * a run of path characters that ends in the file's name and whose
 * components, read backwards, are the file's own up to where the run
 * begins: "/etc/config/app.env", "config/app.env", "./app.env",
 * "../config/app.env", "~/.ssh/config" for a file under /root. A bare
 * file name ("app.env") counts only when it cannot be an ordinary word:
 * it holds a dot, an underscore, a dash or a digit ("config" alone does
 * not, or `git config` would raise the alert).
 */
bool honeytoken_names(const char *cmd, size_t len, const char *path);

/*
 * Marks ev when it touches one of the bait files: sets its "alert" to
 * {"type": "bait_file", "paths": [the bait files, in config order]}.
 * Returns how many bait files it touches (0: ev is left as it was).
 */
size_t honeytoken_mark(const struct strlist *files, json_t *ev);

/* The alert of a honeytoken login: {"type": "honeytoken_login"}. */
json_t *honeytoken_login_alert(void);

#endif
