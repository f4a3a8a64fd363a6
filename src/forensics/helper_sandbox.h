/*
 * helper_sandbox: what the monitor's helper children give up: the indexer
 * (which parses the event log, attacker strings and all) and the pruner.
 *
 * They work on Hermes' own files wherever the config puts them, so they
 * keep their user and file-system view, but each one, right after fork:
 * takes a name of its own (ps shows "hermes-indexer", "hermes-pruner"),
 * keeps only the capabilities for files (chown, dac_override,
 * dac_read_search, fowner), sets no_new_privs, confines its file access
 * to the trees it works on (landlock.h; where the kernel has Landlock)
 * and installs a seccomp deny-list: no sockets, no exec, no fork, no
 * ptrace, no signals to others (nor aimed through a descriptor: no
 * F_SETOWN, F_SETSIG or O_ASYNC), no io_uring, no mounts, namespaces,
 * modules, keys or BPF, no TIOCSTI. A forbidden call kills the child with
 * SIGSYS; the monitor logs it.
 */
#ifndef HERMES_HELPER_SANDBOX_H
#define HERMES_HELPER_SANDBOX_H

#include <stddef.h>

#include "landlock.h"

/* In the child, at once after fork. Does not return on failure (logs and
 * exits 1): a helper that cannot be confined does not run. */
void helper_sandbox_enter(const char *name, const struct fs_rule *rules, size_t n);

#endif
