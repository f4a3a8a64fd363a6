/*
 * worker_sandbox: what a worker gives up right after fork, before it reads
 * a byte from the network.
 *
 * As root the monitor prepares an empty directory (server.worker_chroot)
 * and looks up server.worker_user once at start; each worker then chroots
 * there, drops every group and takes that user's uid and gid, sets
 * no_new_privs and installs a seccomp allow-list (libseccomp): the system
 * calls a running worker makes and nothing else. The filter is compiled
 * once, in the monitor at start; each worker only puts its own pid in
 * (tgkill is allowed to itself alone) and loads it. Arguments are checked
 * where a call could reach beyond the worker: tgkill, ioctl (FIONREAD,
 * FIONBIO, FIOCLEX, FIONCLEX) and fcntl (F_GETFL, F_SETFL without
 * O_ASYNC). A forbidden call kills the worker (SIGSYS), which the monitor
 * logs; opening or stat'ing a file fails with EACCES instead, so that a
 * library trying a file of its own fails softly.
 * Either way it drops every capability, takes no core file and is not
 * dumpable (no ptrace or /proc/PID/mem but with CAP_SYS_PTRACE). Run as an
 * ordinary user, the monitor cannot chroot or change uid: the worker keeps
 * the rest, and the start-up log says so.
 */
#ifndef HERMES_WORKER_SANDBOX_H
#define HERMES_WORKER_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

struct config;

#define WORKER_SANDBOX_PATCHES 4

struct sock_filter;

struct worker_sandbox {
	/* The filter, compiled once (NULL: each worker compiles its own),
	 * with the places where the worker's pid goes. */
	struct sock_filter *prog;
	size_t len, npatch;
	size_t patch[WORKER_SANDBOX_PATCHES];
	/* The template's filter (worker_spawn.h): no pid in it. */
	struct sock_filter *tprog;
	size_t tlen;
	bool template; /* a template's sandbox: its filter is tprog's */
	bool drop;     /* chroot and change user (the monitor runs as root) */
	uid_t uid;
	gid_t gid;
	const char *root; /* the empty directory */
};

/* In the monitor at start: 0, or -1 after logging why the workers could
 * not be sandboxed as configured (an unknown user, a directory that is
 * not empty or is writable by others). */
int worker_sandbox_prepare(struct worker_sandbox *sb, const struct config *cfg);

/* In the worker, before its first byte from the network: confine and
 * filter. Does not return on failure: a worker that cannot be confined
 * does not serve (it exits 1). A template confines itself and loads its
 * filter once; each worker it forks is confined already and loads its own
 * filter on top (sb->template false, sb->prog the worker's). */
void worker_sandbox_enter(const struct worker_sandbox *sb);
/* The two halves: chroot, user, capabilities, no core, not dumpable,
 * no_new_privs; then the seccomp filter (the template's or the worker's). */
void worker_sandbox_confine(const struct worker_sandbox *sb);
void worker_sandbox_filter(const struct worker_sandbox *sb);

/* In the worker, as it ends of its own accord (never from a signal
 * handler): in a sanitizer build with LeakSanitizer, the leak check the
 * monitor's exit runs, for this worker's heap - a report and an abnormal
 * exit if it leaked (ASAN_OPTIONS decide which). Nothing in other builds,
 * nor where the worker has no /proc (the log says why). */
void worker_sandbox_leak_check(void);

/* In the monitor at the end. */
void worker_sandbox_free(struct worker_sandbox *sb);

#endif
