/*
 * sandbox_util: seccomp rules by name and capability sets; see
 * sandbox_util.h.
 */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "sandbox_util.h"

int sandbox_rules(scmp_filter_ctx f, uint32_t action, const char *const *names, size_t n)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr != __NR_SCMP_ERROR) /* else: not on this architecture */
			r = seccomp_rule_add(f, action, nr, 0);
	}
	return r;
}

bool sandbox_can_take_user(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	const uint32_t need = (1u << CAP_SETUID) | (1u << CAP_SETGID) | (1u << CAP_SYS_CHROOT);

	if (geteuid() == 0)
		return true;
	return syscall(SYS_capget, &h, d) == 0 && (d[0].effective & need) == need;
}

int sandbox_keep_caps(uint32_t keep)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].effective &= keep;
	d[0].permitted &= keep;
	d[0].inheritable = 0;
	d[1].effective = d[1].permitted = d[1].inheritable = 0;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	return (int)syscall(SYS_capset, &h, d);
}

int sandbox_deny_filter(const char *const *denied, size_t n)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	int r = f != NULL ? 0 : -ENOMEM;

	if (r == 0)
		r = sandbox_rules(f, SCMP_ACT_KILL_PROCESS, denied, n);
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

const char *const sandbox_program_denied[] = {
    /* no new way out: it has the sockets it needs */
    "socket", "socketpair", "connect", "bind", "listen", "execve", "execveat", "fork", "vfork",
#ifndef HERMES_SANITIZE
    /* (A sanitizer build's leak check at exit clones a thread that
     * stops the others with ptrace.) */
    "clone", "clone3", "ptrace",
#endif
    "process_vm_readv", "process_vm_writev", "kill", "tkill", "pidfd_open", "pidfd_send_signal",
    "pidfd_getfd", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "io_uring_setup", "io_uring_enter",
    "io_uring_register",
    /* (files: its root is an empty directory of root's, its user is nobody) */
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
const size_t sandbox_program_denied_n =
    sizeof(sandbox_program_denied) / sizeof(sandbox_program_denied[0]);

const char *sandbox_enter_program(const char *name, const char *root, long long uid, long long gid)
{
	struct rlimit none = {0, 0};

	prctl(PR_SET_NAME, name, 0, 0, 0);
	if (sandbox_can_take_user()) {
		if (root == NULL || uid <= 0 || gid <= 0) {
			errno = EINVAL;
			return "no user or root directory to take";
		}
#ifndef HERMES_SANITIZE
		if (chroot(root) < 0 || chdir("/") < 0)
			return "chroot";
#endif
		if (setgroups(0, NULL) < 0 || setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0 ||
		    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
			return "dropping privileges";
	}
	if (sandbox_keep_caps(0) < 0)
		return "dropping capabilities";
	if (setrlimit(RLIMIT_CORE, &none) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return "no_new_privs";
	return NULL;
}
