/*
 * helper_sandbox: capabilities, no_new_privs and the seccomp deny-list of
 * the indexer and the pruner; see helper_sandbox.h.
 *
 * A deny-list, not the workers' allow-list: SQLite and the file walks ask
 * for many ordinary file calls, and none of these children reads the
 * network. What is denied is what an exploit would need next.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/capability.h>
#include <seccomp.h>

#include "helper_sandbox.h"
#include "landlock.h"
#include "log.h"
#include "sandbox_util.h"

static const char *const denied[] = {
    /* the network, and other processes */
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "execve", "execveat",
    "fork", "vfork", "clone", "clone3", "ptrace", "process_vm_readv", "process_vm_writev", "kill",
    "tkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    /* io_uring does socket, connect and open without these calls */
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    /* the machine */
    "mount", "umount2", "move_mount", "open_tree", "fsopen", "fsmount", "fspick", "chroot",
    "pivot_root", "unshare", "setns", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "iopl",
    "ioperm", "swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "adjtimex",
    "clock_adjtime", "sethostname", "setdomainname", "acct", "quotactl", "open_by_handle_at",
    "name_to_handle_at", "userfaultfd", "personality",
    /* credentials */
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "setfsuid",
    "setfsgid", "capset"};

static int load_filter(void)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	int r = f != NULL ? 0 : -ENOMEM;

	if (r == 0)
		r = sandbox_rules(f, SCMP_ACT_KILL_PROCESS, denied,
		                  sizeof(denied) / sizeof(denied[0]));
	/* abort() signals itself; no other thread group. */
	struct scmp_arg_cmp other = {
	    .arg = 0, .op = SCMP_CMP_NE, .datum_a = (scmp_datum_t)getpid()};
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(tgkill), 1, other);
	/* No signal aimed through a descriptor: an owner (F_SETOWN,
	 * F_SETOWN_EX; FIOSETOWN, SIOCSPGRP), a signal (F_SETSIG) and O_ASYNC
	 * (F_SETFL, FIOASYNC) on a pipe of its own make the kernel send that
	 * signal whenever the pipe is written - from a child whose uid is
	 * root, to any process on the host. The kernel reads the command's
	 * low 32 bits only: so do these rules. */
	static const unsigned long fcntls[] = {F_SETOWN, F_SETOWN_EX, F_SETSIG};
	for (size_t i = 0; r == 0 && i < sizeof(fcntls) / sizeof(fcntls[0]); i++) {
		struct scmp_arg_cmp cmd = {.arg = 1,
		                           .op = SCMP_CMP_MASKED_EQ,
		                           .datum_a = 0xffffffffu,
		                           .datum_b = fcntls[i]};
		r = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(fcntl), 1, cmd);
	}
	struct scmp_arg_cmp setfl = {
	    .arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = F_SETFL};
	struct scmp_arg_cmp async = {
	    .arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = O_ASYNC, .datum_b = O_ASYNC};
	if (r == 0)
		r = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(fcntl), 2, setfl, async);
	/* No faked input on, or console tricks with, the operator's terminal;
	 * and the ioctl forms of the above. The kernel reads the request's low
	 * 32 bits only: so does the test. */
	static const unsigned long ioctls[] = {TIOCSTI, TIOCLINUX, FIOASYNC, FIOSETOWN, SIOCSPGRP};
	for (size_t i = 0; r == 0 && i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		struct scmp_arg_cmp req = {.arg = 1,
		                           .op = SCMP_CMP_MASKED_EQ,
		                           .datum_a = 0xffffffffu,
		                           .datum_b = ioctls[i]};
		r = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ioctl), 1, req);
	}
	if (r == 0)
		r = seccomp_load(f);
	seccomp_release(f);
	return r;
}

/* Of the capabilities it has (none, as an ordinary user), the ones for
 * files. */
#define FILE_CAPS                                                                                  \
	(1u << CAP_CHOWN | 1u << CAP_DAC_OVERRIDE | 1u << CAP_DAC_READ_SEARCH | 1u << CAP_FOWNER)

void helper_sandbox_enter(const char *name, const struct fs_rule *rules, size_t n)
{
	const char *what = NULL;
	int r;

	prctl(PR_SET_NAME, name, 0, 0, 0);
	if (sandbox_keep_caps(FILE_CAPS) < 0)
		what = "dropping capabilities";
	else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		what = "no_new_privs";
	else if ((r = landlock_confine(rules, n)) < 0) { /* 1: none here, said at start */
		errno = -r;
		what = "landlock";
	} else if ((r = load_filter()) < 0) {
		errno = -r;
		what = "seccomp";
	}
	if (what != NULL) {
		error("%s sandbox: %s: %s", name, what, strerror(errno));
		_exit(1);
	}
}
