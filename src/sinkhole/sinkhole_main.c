/*
 * hermes-sinkhole: the program; see sinkhole.h.
 *
 * Started by the monitor (sinkhole_proc.c) in the sinkhole's network
 * namespace, as root, with the descriptors of sinkhole.h. Its first
 * message from the monitor says how to confine itself and its limits;
 * then it chroots to the empty directory, takes the workers' user, drops
 * every capability, sets no_new_privs and a filter that kills it at any
 * attempt to make a socket, connect, exec, fork or the like. It serves
 * the boxes until the monitor's socket closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox_util.h"
#include "sink_tls.h"
#include "sinkhole.h"

static const char *const denied[] = {
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

static void confine(const json_t *init)
{
	const char *root = json_string_value(json_object_get(init, "root"));
	json_int_t uid = json_integer_value(json_object_get(init, "uid"));
	json_int_t gid = json_integer_value(json_object_get(init, "gid"));
	const char *what = NULL;
	struct rlimit none = {0, 0};
	int r;

	prctl(PR_SET_NAME, "hermes-sinkhol", 0, 0, 0);
	if (getuid() == 0) {
		if (root == NULL || uid <= 0 || gid <= 0)
			what = "no user or root directory to take";
#ifndef HERMES_SANITIZE
		/* (A sanitizer build keeps its root: its leak check at exit
		 * reads /proc. A release build always chroots.) */
		else if (chroot(root) < 0 || chdir("/") < 0)
			what = "chroot";
#endif
		else if (setgroups(0, NULL) < 0 ||
		         setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0 ||
		         setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
			what = "dropping privileges";
	}
	if (what == NULL && sandbox_keep_caps(0) < 0)
		what = "dropping capabilities";
	else if (what == NULL &&
	         (setrlimit(RLIMIT_CORE, &none) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	          prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0))
		what = "no_new_privs";
	else if (what == NULL &&
	         (r = sandbox_deny_filter(denied, sizeof(denied) / sizeof(denied[0]))) < 0) {
		errno = -r;
		what = "seccomp";
	}
	if (what != NULL) {
		error("sinkhole sandbox: %s: %s", what, strerror(errno));
		exit(1);
	}
}

static int setting(const json_t *init, const char *name, int dflt)
{
	json_int_t v = json_integer_value(json_object_get(init, name));
	return v >= 1 && v <= 1000000 ? (int)v : dflt;
}

static void on_ctl(struct loop *l, int fd, int events, void *arg)
{
	struct sink *s = arg;

	for (;;) {
		json_t *m;
		int body, r = jmsg_recv(fd, &m, &body);
		if (r == -EAGAIN)
			return;
		if (r == 0 || (r < 0 && r != -EBADMSG)) {
			loop_stop(l); /* the monitor is gone */
			return;
		}
		if (r < 0)
			continue;
		const char *t = json_string_value(json_object_get(m, "t"));
		if (t != NULL && strcmp(t, "fetched") == 0) {
			json_int_t id = json_integer_value(json_object_get(m, "id"));
			json_int_t status = json_integer_value(json_object_get(m, "status"));
			const char *type = json_string_value(json_object_get(m, "type"));
			if (status < 100 || status > 599)
				status = 502;
			if (!sink_tftp_fetched(s, (uint64_t)id, (int)status, body) &&
			    !sink_ftp_fetched(s, (uint64_t)id, (int)status, body))
				sink_tcp_fetched(s, (uint64_t)id, (int)status, type, body);
		} else if (body >= 0) {
			close(body);
		}
		json_decref(m);
	}
}

int main(int argc, char **argv)
{
	struct sink s = {.ctl = SINK_FD_CTL};
	json_t *init = NULL;
	int fd, r;

	(void)argc;
	(void)argv;
	log_setup(LOG_INFO, 0, "sinkhole");
	/* The monitor's first message; the socket is blocking until then. */
	do
		r = jmsg_recv(SINK_FD_CTL, &init, &fd);
	while (r == -EBADMSG);
	if (r <= 0) {
		error("sinkhole: no start message: %s", r == 0 ? "end of stream" : strerror(-r));
		return 1;
	}
	if (fd >= 0)
		close(fd);
	json_t *lvl = json_object_get(init, "log_level");
	log_setup(json_is_integer(lvl) ? (int)json_integer_value(lvl) : LOG_INFO,
	          json_is_true(json_object_get(init, "log_json")), "sinkhole");
	s.set.connect_rate = setting(init, "connect_rate", 20);
	s.set.max_connections = setting(init, "max_connections", 64);
	s.set.event_rate = setting(init, "event_rate", 50);
	s.set.fetch_timeout = setting(init, "fetch_timeout", 30);
	const char *ca = json_string_value(json_object_get(init, "ca_cert"));
	const char *ca_key = json_string_value(json_object_get(init, "ca_key"));
	char err[200];
	if (ca != NULL && ca_key != NULL && sink_tls_init(ca, ca_key, err, sizeof(err)) < 0)
		warn("sinkhole: no HTTPS: %s", err);
	else if (ca == NULL)
		warn("sinkhole: no CA: TLS connections are only logged");
	/* The key's copy in the message goes with it. */
	json_t *k = json_object_get(init, "ca_key");
	if (json_is_string(k))
		explicit_bzero((char *)json_string_value(k), json_string_length(k));
	signal(SIGPIPE, SIG_IGN);
	/* Times in UTC, without the zone file it could not read once confined. */
	setenv("TZ", "UTC0", 1);
	tzset();
	confine(init);
	json_decref(init);

	if ((s.loop = loop_new()) == NULL)
		return 1;
	int fl = fcntl(SINK_FD_CTL, F_GETFL);
	fcntl(SINK_FD_CTL, F_SETFL, fl | O_NONBLOCK);
	loop_add_fd(s.loop, SINK_FD_CTL, LOOP_READ, on_ctl, &s);
	sink_tcp_start(&s, SINK_FD_TCP);
	sink_udp_start(&s, SINK_FD_DNS, SINK_FD_UDP, SINK_FD_TFTP, SINK_FD_ICMP);
	debug("sinkhole serving");
	loop_run(s.loop);
	loop_free(s.loop);
	return 0;
}
