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
	} else if ((r = sandbox_deny_filter(denied, sizeof(denied) / sizeof(denied[0]))) < 0) {
		errno = -r;
		what = "seccomp";
	}
	if (what != NULL) {
		error("%s sandbox: %s: %s", name, what, strerror(errno));
		_exit(1);
	}
}
