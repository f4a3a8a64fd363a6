/*
 * worker_spawn: exec'd workers and worker templates; see worker_spawn.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "util.h"
#include "worker_log.h"
#include "worker_sandbox.h"
#include "worker_spawn.h"

#define REPLY_WAIT_MS   5000  /* a template's first fork waits for its start */
#define FALLBACK_MS     60000 /* exec'd workers after a template failed */
#define TEMPLATE_LOG_ID "template"

/* A template's stderr, read until it ends (after the template, too). */
struct template_log {
	struct worker_log *log;
	int fd;
	struct worker_spawn *ws;
	struct template_log *next;
};

struct worker_spawn {
	struct loop *loop;
	const char *path;
	const struct worker_init *init;
	const struct sock_filter *tprog;
	size_t tlen;
	int uses_max; /* 0: every worker exec'd */
	pid_t tpid;   /* the running template, or 0 */
	int ctl;      /* its control socket */
	int uses;     /* workers it forked */
	uint32_t serial;
	int64_t fallback_until;    /* templates failed: exec'd workers till then */
	struct template_log *logs; /* of the templates whose stderr is open */
};

/* The workers' environment: none of the monitor's but the sanitizers'
 * options (a sanitizer build's workers report as the monitor does). A
 * template's has LD_BIND_NOW too: every function of every library bound
 * once in it, none again in each worker (where the binding would write to
 * pages shared with the template, and copy them). */
static char **worker_env(bool template)
{
	static char *env[2][5];
	static const char *const keep[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
	char **e = env[template];
	size_t n = 0;

	if (e[0] == NULL) {
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
			const char *v = getenv(keep[i]);
			if (v != NULL && asprintf(&e[n], "%s=%s", keep[i], v) > 0)
				n++;
		}
		if (template)
			e[n] = "LD_BIND_NOW=1";
	}
	return e;
}

/* A descriptor out of the way of 0..4, where the program's go. */
static int above_four(int fd)
{
	if (fd < 0 || fd > 4)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return moved;
}

/* Runs hermes-worker (a template, or a worker) with /dev/null on 0 and 1,
 * log_w on 2, then fds[n] on 3, 4...; nothing else of ours. */
static pid_t run(struct worker_spawn *ws, bool template, int log_w, const int *fds, int n)
{
	char *argv[] = {"hermes-worker", template ? "--template" : NULL, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	pid_t pid = -1;
	int bad;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	/* Signals as new. */
	bad = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0) != 0 ||
	      posix_spawn_file_actions_adddup2(&fa, 0, 1) != 0 ||
	      posix_spawn_file_actions_adddup2(&fa, log_w, 2) != 0;
	for (int i = 0; i < n && !bad; i++)
		bad = posix_spawn_file_actions_adddup2(&fa, fds[i], 3 + i) != 0;
	bad = bad || posix_spawn_file_actions_addclosefrom_np(&fa, 3 + n) != 0 ||
	      posix_spawnattr_setsigmask(&at, &none) != 0 ||
	      posix_spawnattr_setsigdefault(&at, &all) != 0 ||
	      posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0;
	if (bad)
		errno = ENOMEM;
	else if ((errno = posix_spawn(&pid, ws->path, &fa, &at, argv, worker_env(template))) != 0)
		pid = -1;
	if (pid < 0)
		error("cannot start %s: %s", ws->path, strerror(errno));
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return pid;
}

/* IPC_WORKER_INIT on fd: everything, with the worker's filter, and for a
 * template its own filter too. 0 or a negative errno. */
static int send_init(struct worker_spawn *ws, int fd, const char *session_id, const char *ip,
                     int port, bool template)
{
	struct worker_init w = *ws->init;
	struct ipc_msg msg = {.type = IPC_WORKER_INIT};
	struct buf text;
	int r;

	snprintf(w.session_id, sizeof(w.session_id), "%s", session_id);
	snprintf(w.src_ip, sizeof(w.src_ip), "%s", ip);
	w.src_port = port;
	buf_init(&text);
	r = worker_init_encode(&w, &text);
	if (r == 0) {
		msg.worker_init.settings = (struct ipc_str){buf_peek(&text), buf_avail(&text)};
		msg.worker_init.filter = (struct ipc_str){w.prog, w.prog_len};
		if (template && ws->tprog != NULL)
			msg.worker_init.template_filter = (struct ipc_str){
			    (const uint8_t *)ws->tprog, ws->tlen * sizeof(*ws->tprog)};
		r = ipc_send(fd, &msg);
	}
	buf_free(&text); /* wipes the keys' text */
	explicit_bzero(&w, sizeof(w));
	return r;
}

/* ---- the templates' stderr ---- */

static void template_log_end(struct template_log *t)
{
	struct template_log **p = &t->ws->logs;

	while (*p != t)
		p = &(*p)->next;
	*p = t->next;
	loop_del_fd(t->ws->loop, t->fd);
	close(t->fd);
	worker_log_free(t->log);
	free(t);
}

static void on_template_log(struct loop *l, int fd, int events, void *arg)
{
	struct template_log *t = arg;

	(void)l;
	(void)fd;
	(void)events;
	if (!worker_log_read(t->log, t->fd, 4))
		template_log_end(t); /* every copy of the write end is gone */
}

static void read_template_log(struct worker_spawn *ws, int fd, pid_t pid)
{
	struct template_log *t = calloc(1, sizeof(*t));

	if (t != NULL && (t->log = worker_log_new(TEMPLATE_LOG_ID)) != NULL) {
		t->fd = fd;
		t->ws = ws;
		worker_log_set_pid(t->log, (long)pid);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if (loop_add_fd(ws->loop, fd, LOOP_READ, on_template_log, t) == 0) {
			t->next = ws->logs;
			ws->logs = t;
			return;
		}
		worker_log_free(t->log);
	}
	free(t);
	close(fd); /* its writes fail (EPIPE), it does not block */
	warn("worker template %d: its stderr is not read", (int)pid);
}

/* ---- templates ---- */

static void retire(struct worker_spawn *ws, const char *why)
{
	if (ws->tpid <= 0)
		return;
	if (why != NULL)
		info("worker template %d retired after %d workers: %s", (int)ws->tpid, ws->uses,
		     why);
	close(ws->ctl); /* it exits when it reads the end */
	ws->ctl = -1;
	ws->tpid = 0;
	ws->uses = 0;
}

/* A template that failed: killed, and exec'd workers for a while. */
static void give_up(struct worker_spawn *ws, const char *why)
{
	error("worker template %d: %s; workers are exec'd for each connection for %d s",
	      (int)ws->tpid, why, FALLBACK_MS / 1000);
	if (ws->tpid > 0)
		kill(ws->tpid, SIGKILL);
	retire(ws, NULL);
	ws->fallback_until = util_mono_ms() + FALLBACK_MS;
}

static int start_template(struct worker_spawn *ws)
{
	char zeros[SESSION_ID_LEN + 1];
	int sp[2] = {-1, -1}, logp[2] = {-1, -1};
	pid_t pid = -1;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
	    pipe2(logp, O_CLOEXEC) < 0 || (sp[1] = above_four(sp[1])) < 0 ||
	    (logp[1] = above_four(logp[1])) < 0) {
		error("worker template: %s", strerror(errno));
		goto fail;
	}
	pid = run(ws, true, logp[1], &sp[1], 1);
	if (pid < 0)
		goto fail;
	close(sp[1]);
	close(logp[1]);
	read_template_log(ws, logp[0], pid);
	ws->tpid = pid;
	ws->ctl = sp[0];
	ws->uses = 0;
	/* Its first message: no connection (the fields take placeholders),
	 * the keys, the workers' filter and its own. */
	memset(zeros, '0', SESSION_ID_LEN);
	zeros[SESSION_ID_LEN] = '\0';
	int r = send_init(ws, ws->ctl, zeros, "-", 0, true);
	if (r < 0) {
		errno = -r;
		give_up(ws, "cannot send it its settings");
		return -1;
	}
	debug("worker template %d started", (int)pid);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (sp[i] >= 0)
			close(sp[i]);
		if (logp[i] >= 0)
			close(logp[i]);
	}
	ws->fallback_until = util_mono_ms() + FALLBACK_MS;
	return -1;
}

/* A template retired now, and the next one started at once: its start
 * (about 30 ms of exec, keys and rehearsals) overlaps the monitor's other
 * work, instead of stalling the accept of the next connection. */
static void replace(struct worker_spawn *ws, const char *why)
{
	retire(ws, why);
	if (util_mono_ms() >= ws->fallback_until)
		start_template(ws);
}

/* The template's answer to one IPC_TEMPLATE_SPAWN: the worker's pid, or
 * -1 (the template is given up). */
static pid_t await_child(struct worker_spawn *ws, uint32_t serial)
{
	struct pollfd p = {.fd = ws->ctl, .events = POLLIN};
	struct ipc_msg m = {0};
	struct buf store;
	siginfo_t si = {0};
	pid_t pid = -1;
	int r;

	buf_init(&store);
	do
		r = poll(&p, 1, REPLY_WAIT_MS);
	while (r < 0 && errno == EINTR);
	if (r != 1) {
		give_up(ws, "no answer");
		goto out;
	}
	r = ipc_recv(ws->ctl, &m, &store);
	if (r != 1 || m.type != IPC_TEMPLATE_CHILD || m.nfds != 0 ||
	    m.template_child.serial != serial) {
		for (size_t i = 0; i < m.nfds; i++)
			close(m.fds[i]);
		give_up(ws, r == 0 ? "it ended" : "an answer out of turn");
		goto out;
	}
	if (m.template_child.pid == 0) {
		give_up(ws, "it could not fork");
		goto out;
	}
	/* Ours to reap (CLONE_PARENT), or the template is not what we
	 * started: WNOWAIT leaves its status to reap(). */
	pid = (pid_t)m.template_child.pid;
	if (m.template_child.pid > INT32_MAX ||
	    waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		give_up(ws, "it named a process that is not the monitor's child");
		pid = -1;
	}
out:
	buf_free(&store);
	return pid;
}

/* The template's worker for a connection, or -1; *sent: the connection's
 * descriptors reached the template (then no other worker may have them: a
 * late answer could mean a worker of the template's on them already). */
static pid_t fork_from_template(struct worker_spawn *ws, int client_fd, int ipc_fd, int log_w,
                                const char *session_id, const char *ip, int port, bool *sent)
{
	if (ws->tpid <= 0 && start_template(ws) < 0)
		return -1;
	struct ipc_msg m = {.type = IPC_TEMPLATE_SPAWN};
	m.template_spawn.serial = ++ws->serial;
	m.template_spawn.session_id =
	    (struct ipc_str){(const uint8_t *)session_id, strlen(session_id)};
	m.template_spawn.src_ip = (struct ipc_str){(const uint8_t *)ip, strlen(ip)};
	m.template_spawn.src_port = (uint32_t)port;
	m.fds[0] = client_fd;
	m.fds[1] = ipc_fd;
	m.fds[2] = log_w;
	m.nfds = 3;
	int r = ipc_send(ws->ctl, &m);
	if (r < 0) {
		errno = -r;
		give_up(ws, strerror(errno));
		return -1;
	}
	*sent = true;
	pid_t pid = await_child(ws, m.template_spawn.serial);
	if (pid > 0 && ++ws->uses >= ws->uses_max)
		replace(ws, "its share of connections served");
	return pid;
}

/* ---- the interface ---- */

struct worker_spawn *worker_spawn_new(struct loop *loop, const char *path,
                                      const struct worker_init *init,
                                      const struct worker_sandbox *sb, int template_uses)
{
	struct worker_spawn *ws = calloc(1, sizeof(*ws));

	if (ws == NULL)
		return NULL;
	ws->loop = loop;
	ws->path = path;
	ws->init = init;
	ws->tprog = sb->tprog;
	ws->tlen = sb->tprog != NULL ? sb->tlen : 0;
	ws->uses_max = template_uses;
	ws->ctl = -1;
	if (template_uses > 0)
		start_template(ws); /* ready before the first connection */
	return ws;
}

pid_t worker_spawn_start(struct worker_spawn *ws, int client_fd, int ipc_fd, int monitor_fd,
                         const char *session_id, const char *ip, int port, int *log_fd)
{
	int logp[2] = {-1, -1};
	pid_t pid = -1;
	bool forked = false, sent = false;

	*log_fd = -1;
	client_fd = above_four(client_fd);
	ipc_fd = above_four(ipc_fd);
	/* The worker's stderr comes to us (worker_log.h), never to ours. */
	if (client_fd < 0 || ipc_fd < 0 || pipe2(logp, O_CLOEXEC) < 0 ||
	    (logp[1] = above_four(logp[1])) < 0) {
		error("worker: %s", strerror(errno));
		goto out;
	}
	if (ws->uses_max > 0 && util_mono_ms() >= ws->fallback_until) {
		pid =
		    fork_from_template(ws, client_fd, ipc_fd, logp[1], session_id, ip, port, &sent);
		forked = pid > 0;
	}
	if (pid < 0 && !sent) {
		int fds[2] = {client_fd, ipc_fd};
		pid = run(ws, false, logp[1], fds, 2);
	}
	if (pid < 0)
		goto out;
	*log_fd = logp[0];
	logp[0] = -1;
	/* A template's worker has all it needs; an exec'd one is told. */
	int r = forked ? 0 : send_init(ws, monitor_fd, session_id, ip, port, false);
	if (r < 0) {
		/* The worker waits for it in vain: end it now. Its exit ends
		 * the session. */
		error("session %.8s: cannot send the worker its settings: %s", session_id,
		      strerror(-r));
		kill(pid, SIGKILL);
	}
out:
	if (client_fd >= 0)
		close(client_fd);
	if (ipc_fd >= 0)
		close(ipc_fd);
	for (int i = 0; i < 2; i++)
		if (logp[i] >= 0)
			close(logp[i]);
	return pid;
}

bool worker_spawn_reaped(struct worker_spawn *ws, pid_t pid, int status)
{
	if (pid <= 0 || pid != ws->tpid)
		return false; /* a retired template ends unremarked */
	if (WIFSIGNALED(status))
		error("worker template %d killed by SIG%s", (int)pid,
		      sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		error("worker template %d exited with status %d", (int)pid, WEXITSTATUS(status));
	retire(ws, NULL); /* the next connection starts another */
	return true;
}

void worker_spawn_worker_ended(struct worker_spawn *ws, int status)
{
	if (!WIFSIGNALED(status) || ws->tpid <= 0)
		return;
	switch (WTERMSIG(status)) {
	case SIGSEGV:
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGABRT:
	case SIGTRAP:
	case SIGSYS:
		warn("a worker died of SIG%s: its template is replaced, so that the next "
		     "connection meets another layout",
		     sigabbrev_np(WTERMSIG(status)) ?: "?");
		replace(ws, NULL);
		break;
	default:
		break;
	}
}

#define DRAIN_MS 3000

void worker_spawn_free(struct worker_spawn *ws)
{
	if (ws == NULL)
		return;
	retire(ws, NULL);
	/* What the templates say as they end (a sanitizer's report among
	 * it) is logged, for a while. */
	int64_t end = util_mono_ms() + DRAIN_MS;
	while (ws->logs != NULL) {
		struct pollfd p = {.fd = ws->logs->fd, .events = POLLIN};
		int64_t left = end - util_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)left) == 0 ||
		    !worker_log_read(ws->logs->log, ws->logs->fd, 4))
			template_log_end(ws->logs);
	}
	free(ws);
}
