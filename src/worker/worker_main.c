/*
 * hermes-worker: the program that serves one connection, in one of two
 * ways (worker_spawn.h says which the monitor uses and why).
 *
 * Exec'd for the connection: it starts with the client's socket on fd 3,
 * its IPC socket to the monitor on fd 4, stderr a pipe to the monitor's log
 * and nothing else. It reads its first message (worker_init.h), builds its
 * SSH server from the host keys in it, enters its sandbox, and only then
 * reads a byte from the client: worker.c from there on.
 *
 * As a template ("hermes-worker --template"): fd 3 is its control socket
 * to the monitor. It does all of the above but the connection once - keys
 * loaded, libraries and crypto set up, confined, its own filter loaded -
 * and then, for each IPC_TEMPLATE_SPAWN, forks a worker that is the
 * monitor's child (CLONE_PARENT): the worker takes the three descriptors
 * the message carried as 2, 3 and 4, reads its own first message (no keys
 * in it), loads the worker's filter on top of the template's and serves.
 * The template never reads a byte from the network.
 *
 * Neither is meant to be run by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <malloc.h>

#include <libssh/libssh.h>
#include <openssl/crypto.h>
#include <libssh/server.h>

#include "ipc.h"
#include "log.h"
#include "recorder.h"
#include "ssh_profile.h"
#include "disconnect_code.h"
#include "huge_text.h"
#include "worker.h"
#include "worker_init.h"
#include "worker_sandbox.h"
#include "worker_warm.h"

_Static_assert(WORKER_INIT_PATCHES == WORKER_SANDBOX_PATCHES, "one count of pid places");

#define CLIENT_FD    3
#define IPC_FD       4
#define CONTROL_FD   3     /* a template's */
#define SESSION_FD   5     /* a template's session's, until its worker's relay */
#define INIT_WAIT_MS 10000 /* the monitor writes it at once */
#define WORKER_FILES 1024  /* RLIMIT_NOFILE */

static void die(const char *what, const char *why)
{
	error("worker: %s: %s", what, why);
	_exit(1);
}

/* The first message, or exit. */
static void read_init(int fd, struct worker_init *wi)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct ipc_msg m = {0};
	struct buf store;
	const char *why;
	int r;

	buf_init(&store);
	if (poll(&p, 1, INIT_WAIT_MS) != 1)
		die("first message", "none came");
	r = ipc_recv(fd, &m, &store);
	if (r != 1 || m.type != IPC_WORKER_INIT)
		die("first message", r == 0 ? "the monitor is gone" : "not IPC_WORKER_INIT");
	if (worker_init_decode(m.worker_init.settings.p, m.worker_init.settings.n,
	                       m.worker_init.filter.p, m.worker_init.filter.n, wi, &why) < 0 ||
	    worker_init_set_template_filter(wi, m.worker_init.template_filter.p,
	                                    m.worker_init.template_filter.n, &why) < 0)
		die("first message", why);
	buf_free(&store); /* wipes the keys' text */
}

static ssh_bind make_bind(struct worker_init *wi)
{
	ssh_bind bind = ssh_bind_new();

	if (bind == NULL)
		die("ssh_bind_new", "out of memory");
	if (ssh_profile_apply(bind, &wi->offer) < 0)
		die("algorithm lists", "libssh refused one");
	for (size_t i = 0; i < wi->nkeys; i++) {
		ssh_key key = NULL;
		if (ssh_pki_import_privkey_base64(wi->keys[i], NULL, NULL, NULL, &key) != SSH_OK)
			die("host key", "libssh cannot read it");
		/* The bind keeps its own reference. */
		if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, key) != SSH_OK)
			die("host key", ssh_get_error(bind));
	}
	return bind;
}

/* libssh and its crypto, and the server with its host keys. */
static ssh_bind start_ssh(struct worker_init *wi)
{
	/* No openssl.cnf: the worker's crypto is libssh's choice alone, and
	 * reading and parsing the file costs every connection. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1 || ssh_init() != SSH_OK)
		die("ssh_init", "libssh could not start");
	if (disconnect_code_init() < 0)
		die("ssh_buffer_get", "not found in libssh");
	ssh_bind bind = make_bind(wi);
	worker_init_clear_keys(wi);
	return bind;
}

static void set_limits(const struct worker_init *wi)
{
	/* The recordings' cap, held by the kernel too: a worker that ignores
	 * its own (recorder.c) gets EFBIG past it, and the filter leaves it no
	 * way to raise the limit again. */
	rlim_t fsize = (rlim_t)wi->rec_max_session_size + RECORDING_SLACK;
	struct rlimit lim = {fsize, fsize};
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &lim) < 0)
		die("RLIMIT_FSIZE", strerror(errno));
	/* The monitor raised its own descriptor limit for its thousands of
	 * connections; a worker needs a few dozen. */
	struct rlimit files = {WORKER_FILES, WORKER_FILES};
	if (setrlimit(RLIMIT_NOFILE, &files) < 0)
		die("RLIMIT_NOFILE", strerror(errno));
}

/* The worker's sandbox, or the template's (its own filter, no pid in it). */
static struct worker_sandbox sandbox_of(const struct worker_init *wi, bool template)
{
	struct worker_sandbox sb = {
	    .prog = (struct sock_filter *)(template ? wi->tprog : wi->prog),
	    .len = (template ? wi->tprog_len : wi->prog_len) / sizeof(struct sock_filter),
	    .npatch = template ? 0 : wi->npatch,
	    .template = template,
	    .drop = wi->drop,
	    .uid = wi->uid,
	    .gid = wi->gid,
	    .root = wi->root,
	};
	memcpy(sb.patch, wi->patch, sizeof(sb.patch));
	return sb;
}

static _Noreturn void serve(ssh_bind bind, ssh_session session, struct worker_init *wi)
{
	struct worker_args a = {
	    .client_fd = CLIENT_FD,
	    .ipc_fd = IPC_FD,
	    .bind = bind,
	    .init = wi,
	    .session = session,
	    .session_fd = SESSION_FD,
	};
	worker_main(&a);
	_exit(0); /* worker_main does not return */
}

/* Exec'd for one connection. */
static int run_fresh(void)
{
	struct worker_init wi;

	if (fcntl(CLIENT_FD, F_GETFD) < 0 || fcntl(IPC_FD, F_GETFD) < 0) {
		fprintf(stderr, "hermes-worker: started by the hermes monitor only\n");
		return 2;
	}
	log_setup_relay(LOG_INFO);
	read_init(IPC_FD, &wi);
	log_setup_relay(wi.log_level);
	ssh_bind bind = start_ssh(&wi);
	set_limits(&wi);
	struct worker_sandbox sb = sandbox_of(&wi, false);
	worker_sandbox_enter(&sb);
	serve(bind, NULL, &wi);
}

/* Ignored by a template, as they were by default in its workers. */
static const int stop_signals[] = {SIGHUP, SIGINT, SIGTERM};

/* A worker forked from the template, in the child: the connection's
 * descriptors in place, the worker's filter on top of the template's, and
 * it serves. Its settings are the template's, its connection's fields
 * those of the message that made it (wi); it parses nothing. */
static _Noreturn void become_worker(ssh_bind bind, ssh_session session, struct worker_init *wi,
                                    const int fds[3])
{
	/* Sources are above 5 (the template holds 0 to 5): none is
	 * overwritten before it is copied. The control socket (3) goes. */
	if (dup2(fds[2], 2) < 0 || dup2(fds[0], CLIENT_FD) < 0 || dup2(fds[1], IPC_FD) < 0)
		_exit(1);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	prctl(PR_SET_NAME, "hermes-worker", 0, 0, 0);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		signal(stop_signals[i], SIG_DFL);
	struct worker_sandbox sb = sandbox_of(wi, false);
	worker_sandbox_filter(&sb);
	serve(bind, session, wi);
}

static int reply(uint32_t serial, pid_t pid)
{
	struct ipc_msg m = {.type = IPC_TEMPLATE_CHILD};

	m.template_child.serial = serial;
	m.template_child.pid = (uint32_t)(pid > 0 ? pid : 0);
	return ipc_send(CONTROL_FD, &m);
}

/* The template: ready once, then a worker per IPC_TEMPLATE_SPAWN until
 * the monitor closes the control socket. */
static int run_template(void)
{
	struct worker_init wi;

	if (fcntl(CONTROL_FD, F_GETFD) < 0 || dup2(0, IPC_FD) < 0) {
		fprintf(stderr, "hermes-worker: started by the hermes monitor only\n");
		return 2;
	}
	prctl(PR_SET_NAME, "hermes-template", 0, 0, 0);
	/* It ends when the monitor closes its socket, not with the process
	 * group or a service manager's stop (its workers do, as before). */
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		signal(stop_signals[i], SIG_IGN);
	log_setup_relay(LOG_INFO);
	read_init(CONTROL_FD, &wi);
	log_setup_relay(wi.log_level);
	/* Before anything is read from the monitor beyond the settings, and
	 * once for all its workers (an exec'd worker would pay the copy for
	 * one connection). */
	int huge = huge_text_apply();
	debug("%d huge pages of library code", huge);
	ssh_bind bind = start_ssh(&wi);
	int warm = worker_warm(bind);
	/* The session every worker starts from, accepted once: the host
	 * keys copied into it and its parts allocated. Its descriptor, a
	 * placeholder for now, is where each worker puts its connection. */
	ssh_session session = ssh_new();
	if (session == NULL || dup2(0, SESSION_FD) < 0 ||
	    ssh_bind_accept_fd(bind, session, SESSION_FD) != SSH_OK)
		die("template", "cannot prepare a session");
	debug("template ready: %d key exchanges rehearsed", warm);
	set_limits(&wi);
	struct worker_sandbox sb = sandbox_of(&wi, true);
	worker_sandbox_enter(&sb);
	/* What the rehearsals freed goes back to the kernel: a worker's
	 * allocations then take fresh pages, not copies of the template's. */
	malloc_trim(0);

	struct buf store;
	buf_init(&store);
	for (;;) {
		struct ipc_msg m = {0};
		int r = ipc_recv(CONTROL_FD, &m, &store);
		if (r == 0)
			break; /* retired */
		const char *why = "not IPC_TEMPLATE_SPAWN";
		const struct ipc_template_spawn *t = &m.template_spawn;
		if (r < 0 || m.type != IPC_TEMPLATE_SPAWN || m.nfds != 3 ||
		    worker_init_set_connection(&wi, t->session_id.p, t->session_id.n, t->src_ip.p,
		                               t->src_ip.n, t->src_port, &why) < 0)
			die("template", r < 0 ? "a message it cannot read" : why);
		/* The monitor's child, not ours: it reaps it, signals it and
		 * sees it die, as it does a worker it exec'd. Raw clone: no
		 * fork handlers run, and none are needed (one thread; OpenSSL
		 * reseeds when it sees the pid change). */
		pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			become_worker(bind, session, &wi, m.fds);
		if (pid < 0)
			error("template: clone: %s", strerror(errno));
		for (size_t i = 0; i < m.nfds; i++)
			close(m.fds[i]);
		if (reply(m.template_spawn.serial, pid) < 0)
			break;
	}
	buf_free(&store);
	worker_init_clear(&wi);
	ssh_free(session);
	ssh_bind_free(bind);
	ssh_finalize();
	worker_sandbox_leak_check();
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc == 1)
		return run_fresh();
	if (argc == 2 && strcmp(argv[1], "--template") == 0)
		return run_template();
	fprintf(stderr, "hermes-worker: started by the hermes monitor only\n");
	return 2;
}
