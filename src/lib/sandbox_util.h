/*
 * sandbox_util: what the workers' sandbox (worker_sandbox.h) and the
 * helpers' (helper_sandbox.h) both do: seccomp rules for lists of system
 * call names, and cutting down the capability sets.
 */
#ifndef HERMES_SANDBOX_UTIL_H
#define HERMES_SANDBOX_UTIL_H

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

#endif
