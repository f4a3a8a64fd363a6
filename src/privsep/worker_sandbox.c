/*
 * worker_sandbox: chroot, user, no_new_privs and the seccomp allow-list
 * of a worker; see worker_sandbox.h.
 *
 * The allow-list below is the whole of what a worker may ask the kernel
 * for, read top to bottom: I/O on the descriptors it was given, memory,
 * time, signals to itself, and exit. No socket(), connect(), bind(),
 * execve(), ptrace(), kill() of others, mount or namespace calls, no
 * ioctl but FIONREAD/FIONBIO/FIOCLEX/FIONCLEX (no TIOCSTI into a terminal
 * Hermes was started from), no fcntl but F_GETFL and F_SETFL without
 * O_ASYNC (no signal aimed at others), and no stat of a path. Names
 * are resolved for the machine it runs on; a name the architecture lacks
 * is skipped.
 *
 * A sanitizer build (HERMES_SANITIZE, see meson.build) allows a little more
 * - and only there: what ASan's, UBSan's and LeakSanitizer's reports and
 * leak check do from inside a worker (read-only opens, a terminal check on
 * stderr, the tracer LeakSanitizer clones to stop the world and its
 * ptrace), and mounts a /proc in the worker's root, in a mount namespace
 * of its own, for LeakSanitizer's list of threads. Without that, a report
 * in a worker was killed at its first system call and a worker's leaks
 * were never looked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <dirent.h>
#include <seccomp.h>

#include "config.h"
#include "log.h"
#include "sandbox_util.h"
#include "util.h"
#include "worker_sandbox.h"

static const char *const allowed[] = {
    /* I/O on what it holds: the client socket, the IPC socket, container
     * streams and recordings the monitor passed, the key-exchange relay */
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "close",
    "lseek",
    "fstat",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "socketpair",
    "shutdown",
    "recvfrom",
    "recvmsg",
    "sendto",
    "sendmsg",
    "getsockopt",
    "setsockopt",
    "getsockname",
    "getpeername",
    /* waiting */
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "futex",
    "sched_yield",
    "restart_syscall",
    /* memory */
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    /* time and randomness */
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "nanosleep",
    "clock_nanosleep",
    "alarm",
    "setitimer",
    "getitimer",
    "getrandom",
    /* signals (to itself: see tgkill below) and who it is */
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "getpid",
    "gettid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    /* the end */
    "exit",
    "exit_group",
};

/* A library looking for a file of its own gets "permission denied". (open
 * and openat: open_rules() below.) newfstatat too, though glibc's fstat()
 * is newfstatat(fd, "", buf, AT_EMPTY_PATH) since 2.33: a filter sees the
 * path's address, not the path, so that form cannot be told from
 * newfstatat(fd, "/etc/shadow", buf, AT_EMPTY_PATH), which tells a worker
 * that is not chrooted (the monitor not root) about the host's files. A
 * sandboxed worker calls neither (strace of the integration tests); the
 * fstat call proper, which takes no path, stays allowed. */
static const char *const refused[] = {"openat2", "access",     "faccessat", "faccessat2", "stat",
                                      "lstat",   "newfstatat", "readlink",  "readlinkat"};

#ifdef HERMES_SANITIZE
/* LeakSanitizer's check: it clones a tracer that lists the threads in
 * /proc, ptrace-attaches to each and waits for it, after making the
 * process dumpable and its tracer allowed (prctl). */
static const char *const sanitizer_allowed[] = {"clone", "ptrace",   "wait4",
                                                "prctl", "getdents", "getdents64"};
#endif

/* open and openat: refused, as above. A sanitizer build may open files to
 * read them (LeakSanitizer's /proc, through open(2) on x86-64; the
 * symbolizer's search): never to write or make one. */
static int open_rules(scmp_filter_ctx f)
{
	static const char *const opens[] = {"open", "openat"};
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(opens) / sizeof(opens[0]); i++) {
		int nr = seccomp_syscall_resolve_name(opens[i]);
		if (nr == __NR_SCMP_ERROR) /* not on this architecture */
			continue;
#ifdef HERMES_SANITIZE
		unsigned flags = nr == SCMP_SYS(open) ? 1 : 2; /* the argument */
		const scmp_datum_t writes[][2] = {{O_ACCMODE, O_WRONLY},
		                                  {O_ACCMODE, O_RDWR},
		                                  {O_ACCMODE, O_ACCMODE},
		                                  {O_CREAT, O_CREAT},
		                                  {O_TRUNC, O_TRUNC}};
		struct scmp_arg_cmp reading = {.arg = flags,
		                               .op = SCMP_CMP_MASKED_EQ,
		                               .datum_a = O_ACCMODE | O_CREAT | O_TRUNC,
		                               .datum_b = 0};

		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1, reading);
		for (size_t w = 0; r == 0 && w < sizeof(writes) / sizeof(writes[0]); w++) {
			struct scmp_arg_cmp c = {.arg = flags,
			                         .op = SCMP_CMP_MASKED_EQ,
			                         .datum_a = writes[w][0],
			                         .datum_b = writes[w][1]};
			r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), nr, 1, c);
		}
#else
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), nr, 0);
#endif
	}
#ifdef HERMES_SANITIZE
	if (r == 0)
		r = sandbox_rules(f, SCMP_ACT_ALLOW, sanitizer_allowed,
		                  sizeof(sanitizer_allowed) / sizeof(sanitizer_allowed[0]));
	/* Whether stderr is a terminal, for the report's colours. */
	struct scmp_arg_cmp tcgets = {.arg = 1, .op = SCMP_CMP_EQ, .datum_a = TCGETS};
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, tcgets);
#endif
	return r;
}

/* A template (worker_spawn.h) runs under a filter of its own, which its
 * workers inherit beneath theirs: the worker's list, and what the template
 * and a worker just forked from it need before that worker loads its own -
 * clone with exactly the flags a template uses (its child is the monitor's,
 * CLONE_PARENT), seccomp to load the worker's filter, prctl to take the
 * worker's name. tgkill is left to the worker's filter, which holds it to
 * the worker's own pid (the template's pid is not its workers'). */
static int template_rules(scmp_filter_ctx f)
{
	struct scmp_arg_cmp load = {
	    .arg = 0, .op = SCMP_CMP_EQ, .datum_a = SECCOMP_SET_MODE_FILTER};
	int r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1, load);

	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 0);
#ifndef HERMES_SANITIZE /* there, clone and prctl are allowed as they are */
	struct scmp_arg_cmp flags = {
	    .arg = 0, .op = SCMP_CMP_EQ, .datum_a = CLONE_PARENT | SIGCHLD};
	struct scmp_arg_cmp name = {.arg = 0, .op = SCMP_CMP_EQ, .datum_a = PR_SET_NAME};
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, flags);
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, name);
#endif
	return r;
}

/* The filter for a worker whose pid is `self`, or for a template. */
static scmp_filter_ctx build_filter(pid_t self, bool template, int *err)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = f != NULL ? 0 : -ENOMEM;

	if (r == 0)
		r = sandbox_rules(f, SCMP_ACT_ALLOW, allowed, sizeof(allowed) / sizeof(allowed[0]));
	if (r == 0)
		r = sandbox_rules(f, SCMP_ACT_ERRNO(EACCES), refused,
		                  sizeof(refused) / sizeof(refused[0]));
	if (r == 0)
		r = open_rules(f);
	/* abort() signals itself; no other process may be signalled. */
	struct scmp_arg_cmp me = {.arg = 0, .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)self};
	if (r == 0 && template)
		r = template_rules(f);
	else if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, me);
	/* fcntl only to read and set a descriptor's status flags (libssh and
	 * kex_tap set O_NONBLOCK), never with O_ASYNC, and nothing else: with
	 * F_SETOWN (or F_SETOWN_EX) -pgrp, F_SETSIG and O_ASYNC on its own
	 * socket, a worker makes the kernel send a signal of its choosing to
	 * every other worker (all of one user), and to a monitor run as that
	 * user, whenever its attacker types. The command is compared whole:
	 * one with bits above the 32 the kernel reads matches no rule. */
	struct scmp_arg_cmp getfl = {.arg = 1, .op = SCMP_CMP_EQ, .datum_a = F_GETFL};
	struct scmp_arg_cmp setfl = {.arg = 1, .op = SCMP_CMP_EQ, .datum_a = F_SETFL};
	struct scmp_arg_cmp no_async = {
	    .arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = O_ASYNC, .datum_b = 0};
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, getfl);
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 2, setfl, no_async);
	/* ioctl only to ask how much is readable or set blocking: never
	 * TIOCSTI and friends on a terminal the daemon was started from. */
	static const unsigned long ioctls[] = {FIONREAD, FIONBIO, FIOCLEX, FIONCLEX};
	for (size_t i = 0; r == 0 && i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		struct scmp_arg_cmp req = {.arg = 1, .op = SCMP_CMP_EQ, .datum_a = ioctls[i]};
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, req);
	}
	if (r != 0 && f != NULL) {
		seccomp_release(f);
		f = NULL;
	}
	*err = r;
	return f;
}

/* Compiled once in the monitor, for a pid no process has, then copied
 * into each worker with its own pid put in: a worker spends no time and
 * no memory on libseccomp. */
#define PID_PLACEHOLDER 0x5ecc0de1u /* above any pid_max */

/* The program as BPF, *len instructions, with the places of the pid (none
 * in a template's); NULL if libseccomp could not make it. */
static struct sock_filter *export_filter(bool template, size_t *len, size_t *patch, size_t *npatch)
{
	int err, fd = -1;
	scmp_filter_ctx f = build_filter((pid_t)PID_PLACEHOLDER, template, &err);
	struct sock_filter *prog = NULL;
	off_t size;

	*npatch = 0;
	if (f == NULL || (fd = memfd_create("hermes-seccomp", MFD_CLOEXEC)) < 0 ||
	    seccomp_export_bpf(f, fd) != 0 || (size = lseek(fd, 0, SEEK_END)) <= 0 ||
	    size % (off_t)sizeof(struct sock_filter) != 0 ||
	    (prog = malloc((size_t)size)) == NULL || pread(fd, prog, (size_t)size, 0) != size) {
		free(prog);
		prog = NULL;
	} else {
		*len = (size_t)size / sizeof(struct sock_filter);
		for (size_t i = 0; i < *len; i++)
			if (prog[i].k == PID_PLACEHOLDER && *npatch < WORKER_SANDBOX_PATCHES)
				patch[(*npatch)++] = i;
			else if (prog[i].k == PID_PLACEHOLDER)
				*npatch = WORKER_SANDBOX_PATCHES + 1; /* not the program we know */
		if ((*npatch == 0) != template || *npatch > WORKER_SANDBOX_PATCHES) {
			free(prog);
			prog = NULL;
		}
	}
	if (fd >= 0)
		close(fd);
	if (f != NULL)
		seccomp_release(f);
	return prog;
}

static void compile_filter(struct worker_sandbox *sb)
{
	size_t none[WORKER_SANDBOX_PATCHES], n;

	sb->prog = export_filter(false, &sb->len, sb->patch, &sb->npatch);
	if (sb->prog == NULL)
		warn("cannot compile the workers' system-call filter once: each worker compiles "
		     "its own");
	sb->tprog = export_filter(true, &sb->tlen, none, &n);
	if (sb->tprog == NULL)
		warn("cannot compile the worker templates' system-call filter once: each template "
		     "compiles its own");
}

static int load_filter(const struct worker_sandbox *sb)
{
	if (sb->prog != NULL) {
		/* The worker's own copy of the program (fork copied it). */
		for (size_t i = 0; i < sb->npatch; i++)
			sb->prog[sb->patch[i]].k = (uint32_t)getpid();
		struct sock_fprog fp = {.len = (unsigned short)sb->len, .filter = sb->prog};
		return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) == 0 ? 0 : -errno;
	}
	int r;
	scmp_filter_ctx f = build_filter(getpid(), sb->template, &r);
	if (f == NULL)
		return r != 0 ? r : -ENOMEM;
	r = seccomp_load(f);
	seccomp_release(f);
	return r;
}

#ifdef HERMES_SANITIZE
/* LeakSanitizer's check, when the build has it (ASan's runtime or LSan's). */
void __lsan_do_leak_check(void) __attribute__((weak));

/* The worker's own view of its root: a tmpfs over the empty directory with
 * a /proc in it, in a mount namespace of its own, so that the directory
 * stays empty for every other process. Slave: what the machine unmounts
 * (a container's file system) goes from the worker's copy too. */
static void sanitizer_proc(const char *root)
{
	char proc[PATH_MAX];

	if (snprintf(proc, sizeof(proc), "%s/proc", root) >= (int)sizeof(proc))
		errno = ENAMETOOLONG;
	else if (unshare(CLONE_NEWNS) == 0 &&
	         mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0 &&
	         mount("hermes-worker", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	               "size=4k,mode=0755") == 0 &&
	         mkdir(proc, 0555) == 0 &&
	         mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
		return;
	warn("sanitizer build: no /proc in the worker's root for its leak check: %s",
	     strerror(errno));
}
#endif

void worker_sandbox_leak_check(void)
{
#ifdef HERMES_SANITIZE
	if (__lsan_do_leak_check == NULL)
		return;
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		debug("no leak check: /proc/self/task: %s", strerror(errno));
		return;
	}
	close(fd);
	__lsan_do_leak_check();
#endif
}

/* The directory exists (made here if missing), is root's, writable by no
 * one else, and holds nothing. */
static int check_root(const char *dir)
{
	struct stat st;

	if (util_mkdirs(dir, 0755) < 0) {
		error("server.worker_chroot %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0) {
		error("server.worker_chroot %s: must be a directory of root's that no one else may "
		      "write",
		      dir);
		return -1;
	}
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	while (d != NULL && (de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (d != NULL)
		closedir(d);
	if (d == NULL || n > 0) {
		error("server.worker_chroot %s: must be empty", dir);
		return -1;
	}
	return 0;
}

int worker_sandbox_prepare(struct worker_sandbox *sb, const struct config *cfg)
{
	memset(sb, 0, sizeof(*sb));
	sb->root = cfg->server.worker_chroot;
	compile_filter(sb);
	if (!sandbox_can_take_user()) {
		warn("neither root nor given CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT: workers "
		     "cannot chroot or change user; they keep no_new_privs and the system-call "
		     "filter");
		return 0;
	}
	struct passwd *pw = getpwnam(cfg->server.worker_user);
	if (pw == NULL) {
		error("server.worker_user %s: no such user", cfg->server.worker_user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		error("server.worker_user %s: must not be root", cfg->server.worker_user);
		return -1;
	}
	sb->uid = pw->pw_uid;
	sb->gid = pw->pw_gid;
	if (check_root(sb->root) < 0)
		return -1;
	sb->drop = true;
	return 0;
}

static void fail(const char *what)
{
	error("worker sandbox: %s: %s", what, strerror(errno));
	_exit(1);
}

void worker_sandbox_confine(const struct worker_sandbox *sb)
{
	if (sb->drop) {
#ifdef HERMES_SANITIZE
		sanitizer_proc(sb->root);
#endif
		if (chroot(sb->root) < 0 || chdir("/") < 0)
			fail("chroot");
		if (setgroups(0, NULL) < 0 || setresgid(sb->gid, sb->gid, sb->gid) < 0 ||
		    setresuid(sb->uid, sb->uid, sb->uid) < 0)
			fail("dropping privileges");
	}
	/* Every capability gone, the ambient ones too: a monitor run as an
	 * ordinary user with CAP_NET_BIND_SERVICE must not pass it on, nor
	 * one given CAP_SETUID to change the workers' user (a change between
	 * two users who are not root keeps them). From root, the change of
	 * user has already cleared them. */
	if (sandbox_keep_caps(0) < 0)
		fail("dropping capabilities");
	if (sb->drop && setuid(0) == 0)
		fail("root could be taken back"); /* cannot happen */
	/* No core file (it would hold the host keys), and no debugger or
	 * /proc/PID/mem for anyone without CAP_SYS_PTRACE: another process of
	 * the same user (the monitor's, run as an ordinary user) cannot read
	 * it. The change of user does this by itself; run as an ordinary
	 * user it must be said. */
	struct rlimit none = {0, 0};
	if (setrlimit(RLIMIT_CORE, &none) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("no core dumps");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("no_new_privs");
}

void worker_sandbox_filter(const struct worker_sandbox *sb)
{
	int r = load_filter(sb);
	if (r < 0) {
		errno = -r;
		fail("seccomp");
	}
}

void worker_sandbox_enter(const struct worker_sandbox *sb)
{
	worker_sandbox_confine(sb);
	worker_sandbox_filter(sb);
}

void worker_sandbox_free(struct worker_sandbox *sb)
{
	free(sb->prog);
	sb->prog = NULL;
	free(sb->tprog);
	sb->tprog = NULL;
}
