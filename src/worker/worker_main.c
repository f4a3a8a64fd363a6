/*
 * hermes-worker: the program the monitor execs for each connection.
 *
 * It starts with the client's socket on fd 3, its IPC socket to the
 * monitor on fd 4, stderr a pipe to the monitor's log and nothing else. It
 * reads its first message (worker_init.h), builds its SSH server from the
 * host keys in it, enters its sandbox, and only then reads a byte from the
 * client: worker.c from there on. It is not meant to be run by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <openssl/crypto.h>
#include <libssh/server.h>

#include "ipc.h"
#include "log.h"
#include "recorder.h"
#include "ssh_profile.h"
#include "worker.h"
#include "worker_init.h"
#include "worker_sandbox.h"

_Static_assert(WORKER_INIT_PATCHES == WORKER_SANDBOX_PATCHES, "one count of pid places");

#define CLIENT_FD    3
#define IPC_FD       4
#define INIT_WAIT_MS 10000 /* the monitor writes it at once */
#define WORKER_FILES 1024  /* RLIMIT_NOFILE */

static void die(const char *what, const char *why)
{
	error("worker: %s: %s", what, why);
	_exit(1);
}

/* The first message, or exit. */
static void read_init(struct worker_init *wi)
{
	struct pollfd p = {.fd = IPC_FD, .events = POLLIN};
	struct ipc_msg m = {0};
	struct buf store;
	const char *why;
	int r;

	buf_init(&store);
	if (poll(&p, 1, INIT_WAIT_MS) != 1)
		die("first message", "none came");
	r = ipc_recv(IPC_FD, &m, &store);
	if (r != 1 || m.type != IPC_WORKER_INIT)
		die("first message", r == 0 ? "the monitor is gone" : "not IPC_WORKER_INIT");
	if (worker_init_decode(m.worker_init.settings.p, m.worker_init.settings.n,
	                       m.worker_init.filter.p, m.worker_init.filter.n, wi, &why) < 0)
		die("first message", why);
	buf_free(&store); /* wipes the keys' text */
}

static ssh_bind make_bind(struct worker_init *wi)
{
	ssh_bind bind = ssh_bind_new();

	if (bind == NULL)
		die("ssh_bind_new", "out of memory");
	ssh_profile_apply(bind, wi->banner);
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

int main(int argc, char **argv)
{
	struct worker_init wi;

	(void)argv;
	if (argc != 1 || fcntl(CLIENT_FD, F_GETFD) < 0 || fcntl(IPC_FD, F_GETFD) < 0) {
		fprintf(stderr, "hermes-worker: started by the hermes monitor only\n");
		return 2;
	}
	log_setup_relay(LOG_INFO);
	read_init(&wi);
	log_setup_relay(wi.log_level);
	/* No openssl.cnf: the worker's crypto is libssh's choice alone, and
	 * reading and parsing the file costs every connection. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1 || ssh_init() != SSH_OK)
		die("ssh_init", "libssh could not start");
	ssh_bind bind = make_bind(&wi);
	worker_init_clear_keys(&wi);

	/* The recordings' cap, held by the kernel too: a worker that ignores
	 * its own (recorder.c) gets EFBIG past it, and the filter leaves it no
	 * way to raise the limit again. */
	rlim_t fsize = (rlim_t)wi.rec_max_session_size + RECORDING_SLACK;
	struct rlimit lim = {fsize, fsize};
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &lim) < 0)
		die("RLIMIT_FSIZE", strerror(errno));
	/* The monitor raised its own descriptor limit for its thousands of
	 * connections; a worker needs a few dozen. */
	struct rlimit files = {WORKER_FILES, WORKER_FILES};
	if (setrlimit(RLIMIT_NOFILE, &files) < 0)
		die("RLIMIT_NOFILE", strerror(errno));

	struct worker_sandbox sb = {
	    .prog = (struct sock_filter *)wi.prog,
	    .len = wi.prog_len / sizeof(struct sock_filter),
	    .npatch = wi.npatch,
	    .drop = wi.drop,
	    .uid = wi.uid,
	    .gid = wi.gid,
	    .root = wi.root,
	};
	memcpy(sb.patch, wi.patch, sizeof(sb.patch));
	worker_sandbox_enter(&sb);

	struct worker_args a = {
	    .client_fd = CLIENT_FD,
	    .ipc_fd = IPC_FD,
	    .bind = bind,
	    .init = &wi,
	};
	worker_main(&a);
}
