/*
 * sandbox_util: what the workers' sandbox (worker_sandbox.h) and the
 * helpers' (helper_sandbox.h) both do: seccomp rules for lists of system
 * call names, and cutting down the capability sets.
 */
#ifndef HERMES_SANDBOX_UTIL_H
#define HERMES_SANDBOX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <seccomp.h>

/* `action` for every call in names[n]; a name this architecture does not
 * have is skipped. 0, or libseccomp's negative errno. */
int sandbox_rules(scmp_filter_ctx f, uint32_t action, const char *const *names, size_t n);

/* Of the capabilities the process has, keeps only those in `keep` (a mask
 * of CAP_* bits below 32), effective and permitted; none inheritable or
 * ambient. 0, or -1 with errno. */
int sandbox_keep_caps(uint32_t keep);

/* Loads a filter that allows every call but denied[0..n) (the process is
 * killed with SIGSYS), and no signal aimed through a descriptor (F_SETOWN,
 * F_SETOWN_EX, F_SETSIG, O_ASYNC, FIOASYNC, FIOSETOWN, SIOCSPGRP), no
 * TIOCSTI or TIOCLINUX, and tgkill only to its own thread group. 0, or a
 * negative errno. */
int sandbox_deny_filter(const char *const *denied, size_t n);

/* Whether this process can chroot and change its user: root, or an
 * ordinary user given CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT (the
 * Debian package's unit). */
bool sandbox_can_take_user(void);

/* What a program the monitor execs to serve others (hermes-sinkhole,
 * hermes-metrics) may never do, for sandbox_deny_filter: make a new
 * socket or a connection, exec, fork or clone (not in a sanitizer build,
 * whose leak check needs clone and ptrace), reach another process, use
 * io_uring, touch mounts, namespaces, modules, keys, BPF, the clock or
 * the machine, or change its credentials. */
extern const char *const sandbox_program_denied[];
extern const size_t sandbox_program_denied_n;

/* Such a program's confinement, before its filter: names itself (ps's
 * comm); when it runs as root, chroots to root (not in a sanitizer build:
 * its reports read /proc) and takes uid and gid with no other group (both
 * must be above 0) - as root, or as a user who can (sandbox_can_take_user)
 * - then keeps no capability, takes no core file, is not
 * dumpable and sets no_new_privs. NULL, or what failed (errno set). */
const char *sandbox_enter_program(const char *name, const char *root, long long uid, long long gid);

#endif
