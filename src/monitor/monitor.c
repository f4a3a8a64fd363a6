/*
 * monitor: start-up, accept loop, worker table, shutdown; see monitor.h.
 *
 * Single-threaded, and every Docker call is asynchronous, so a slow Docker
 * engine never delays accepting the next connection. Each connection's
 * worker is the program hermes-worker (src/worker/worker_main.c), forked
 * from a template or exec'd (worker_spawn.h) with only its client socket
 * and its IPC socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <limits.h>
#include <linux/filter.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "agent_proto.h"
#include "artifacts.h"
#include "docker.h"
#include "events.h"
#include "honeytoken.h"
#include "hostkeys.h"
#include "ipc.h"
#include "indexer.h"
#include "landlock.h"
#include "admission.h"
#include "boxes.h"
#include "cowrie_stream.h"
#include "syslog_out.h"
#include "metrics.h"
#include "metrics_proc.h"
#include "recent_failures.h"
#include "agent_dial.h"
#include "log.h"
#include "monitor.h"
#include "orphans.h"
#include "pool.h"
#include "pruner.h"
#include "sandbox_spec.h"
#include "session.h"
#include "sinkhole_proc.h"
#include "box_nic.h"
#include "box_prep.h"
#include "ssh_profile.h"
#include "stealth.h"
#include "util.h"
#include "worker_init.h"
#include "worker_sandbox.h"
#include "worker_spawn.h"

#define SHUTDOWN_GRACE_MS 12000
#define LISTEN_BACKLOG    128

struct monitor {
	const struct config *cfg;
	struct session_ctx ctx;
	struct cowrie_stream *cowrie;      /* logging.cowrie_json, or NULL */
	struct syslog_out *syslog;         /* logging.syslog, or NULL */
	struct metrics *metrics;           /* metrics.listen's counters, or NULL */
	struct metrics_proc *metrics_proc; /* and their server */
	struct loop *loop;
	ssh_bind bind;
	int listen_fd;
	int sig_fd;
	struct session **sessions;
	size_t nsessions, capsessions;
	uint64_t shutdown_timer;
	uint64_t poll_timer;
	const char *stop_reason;
	struct pruner *pruner;  /* NULL when no retention rule is set */
	pid_t indexer;          /* the index's child, or -1 */
	uint64_t indexer_timer; /* starts it again after it died */
	int64_t indexer_started_ms, indexer_wait_ms;
	struct worker_sandbox sandbox;
	char worker_path[PATH_MAX];
	struct worker_init init; /* what every worker is told */
	struct worker_spawn *spawn;
	struct sinkhole_proc *sink; /* network_mode sinkhole, else NULL */
	struct box_nic *nic;        /* network_mode none's eth0, else NULL */
	struct stealth stealth;     /* the profile imitated on the wire */
	const char *runtime;        /* boxes' OCI runtime; NULL: the engine's default */
	bool image_systemd;         /* the image's init is systemd (INIT_LABEL) */
	enum sandbox_init box_init; /* the boxes' PID 1 (choose_init) */
	struct box_prep *prep;      /* what every box is given before it is ready */
};

static int setup_bind(struct monitor *m)
{
	const struct config *cfg = m->cfg;
	unsigned port = (unsigned)cfg->server.port;

	m->bind = ssh_bind_new();
	if (m->bind == NULL)
		return -1;
	ssh_bind_options_set(m->bind, SSH_BIND_OPTIONS_BINDADDR, cfg->server.host);
	ssh_bind_options_set(m->bind, SSH_BIND_OPTIONS_BINDPORT, &port);
	if (ssh_profile_apply(m->bind, &m->stealth.profile.offer) < 0) {
		error("stealth profile %s: libssh refused its algorithm lists",
		      m->stealth.profile.name);
		return -1;
	}
	if (hostkeys_setup(cfg, m->bind) < 0)
		return -1;
	if (ssh_bind_listen(m->bind) != SSH_OK) {
		error("cannot listen on %s:%d: %s", cfg->server.host, cfg->server.port,
		      ssh_get_error(m->bind));
		return -1;
	}
	m->listen_fd = ssh_bind_get_fd(m->bind);
	/* libssh listens with a backlog of 10: a burst of connections (a
	 * scan, a flood) would overflow it and lose some unseen and unlogged.
	 * sshd's is 128. */
	if (listen(m->listen_fd, LISTEN_BACKLOG) < 0)
		warn("listen backlog: %s", strerror(errno));
	fcntl(m->listen_fd, F_SETFL, fcntl(m->listen_fd, F_GETFL) | O_NONBLOCK);
	fcntl(m->listen_fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* ---- start-up check of the Docker engine ---- */

/* An absolute path of plain characters, or it is not used. */
static bool parent_path_ok(const char *p)
{
	if (p[0] != '/' || strlen(p) >= 200)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p > '~')
			return false;
	return true;
}

/* The image's session agent, when it has one (label hermes.agent=PORT),
 * speaks this build's protocol (hermes.agent_protocol: an image built from
 * older sources does not) and this monitor may enter a box's network
 * namespace to reach it. */
static void use_agent(struct monitor *m, const char *image, const char *label, const char *protocol)
{
	char *end, want[16];
	long port = strtol(label, &end, 10);
	int r;

	m->ctx.agent_port = 0;
	if (label[0] == '\0')
		return;
	if (*end != '\0' || port < 1 || port > 65535) {
		warn("image %s: label %s=%s is not a port; not using its session agent", image,
		     AGENT_LABEL, label);
		return;
	}
	snprintf(want, sizeof(want), "%d", AGENT_PROTO_VERSION);
	if (strcmp(protocol, want) != 0) {
		warn("image %s: its session agent speaks protocol %s (label %s), this Hermes %s: "
		     "every channel is a docker exec until the image is built again from these "
		     "sources (scripts/build-images.sh)",
		     image, protocol[0] != '\0' ? protocol : "1", AGENT_PROTOCOL_LABEL, want);
		return;
	}
	if (!m->cfg->container_pool.agent) {
		info("container_pool.agent is off: every channel is a docker exec");
		return;
	}
	if ((r = agent_dial_init()) < 0) {
		warn("cannot enter a box's network namespace (%s): every channel is a docker exec "
		     "(run the monitor with CAP_SYS_ADMIN to use the box's own sshd)",
		     strerror(-r));
		return;
	}
	m->ctx.agent_port = (int)port;
}

/* The boxes' PID 1 (sandbox_spec.h): systemd where the image has it and
 * hermes-runtime can give it a cgroup of its own (a v1 name=systemd
 * hierarchy on the host), else for such an image Hermes's own small init. */
static void choose_init(struct monitor *m)
{
	const char *why = NULL;

	m->box_init = SANDBOX_INIT_IMAGE;
	if (!m->image_systemd)
		return;
	if (m->runtime == NULL || strcmp(m->runtime, SANDBOX_RUNTIME) != 0)
		why = "the boxes' runtime is not hermes-runtime";
	else if (access("/sys/fs/cgroup/systemd/cgroup.procs", F_OK) < 0)
		why = "this host has no cgroup v1 name=systemd hierarchy to give it";
	if (why == NULL) {
		m->box_init = SANDBOX_INIT_SYSTEMD;
		info("boxes boot with systemd as their init");
		return;
	}
	m->box_init = SANDBOX_INIT_OWN;
	warn("image %s boots with systemd, which cannot be the boxes' init here (%s): they run a "
	     "small init of Hermes's own instead, without the distribution's services "
	     "(docs/stealth.md)",
	     m->cfg->container_pool.image, why);
}

/* Which OCI runtime the boxes get (container_pool.runtime): hermes-runtime
 * where the engine has it, which takes Docker's tells out of each box
 * (docs/stealth.md). */
static int choose_runtime(struct monitor *m)
{
	const struct config *cfg = m->cfg;
	struct docker_answer a;
	char why[300];
	int r;

	if (docker_call_wait(m->ctx.docker, "GET", "/info", NULL, DOCKER_ANSWER_MAX, 15000, &a) <
	    0) {
		error("out of memory");
		return -1;
	}
	r = sandbox_runtime_pick(a.status == 200 ? a.json : NULL, cfg->container_pool.runtime,
	                         cfg->docker.base_url == NULL, &m->runtime, why, sizeof(why));
	if (a.status != 200 && why[0] != '\0') /* the engine did not say: say so, not "none" */
		snprintf(why, sizeof(why),
		         "cannot ask the Docker engine which runtimes it has (%.200s)",
		         a.error[0] != '\0' ? a.error : "no answer");
	docker_answer_clear(&a);
	if (r < 0) {
		error("container_pool.runtime: %s", why);
		return -1;
	}
	if (why[0] != '\0')
		warn("%s: boxes keep the Docker tells hermes-runtime takes out (its mounts over "
		     "/etc, HOSTNAME, a bare /dev, their limits in sight; docs/stealth.md says how "
		     "to register it)",
		     why);
	return 0;
}

/* Start-up only, before the loop serves anyone: waiting here is fine. */
static int check_docker(struct monitor *m)
{
	struct docker_answer a;
	char path[600], parent[256], agent[16], protocol[16];
	const char *image = m->cfg->container_pool.image, *label;

	snprintf(path, sizeof(path), "/images/%s/json", image);
	if (docker_call_wait(m->ctx.docker, "GET", path, NULL, DOCKER_ANSWER_MAX, 15000, &a) < 0) {
		error("out of memory");
		return -1;
	}
	if (a.status != 200) {
		if (a.status == 404)
			error("the image %s does not exist: build it with scripts/build-images.sh",
			      image);
		else
			error("cannot use the Docker engine (%s): %s",
			      m->cfg->docker.base_url ? m->cfg->docker.base_url
			                              : m->cfg->docker.socket_path,
			      a.error);
		docker_answer_clear(&a);
		return -1;
	}
	label = NULL;
	docker_json_label(a.json, SESSION_PARENT_LABEL, &label, NULL);
	snprintf(parent, sizeof(parent), "%s", label ? label : "");
	label = NULL;
	docker_json_label(a.json, AGENT_LABEL, &label, NULL);
	snprintf(agent, sizeof(agent), "%s", label ? label : "");
	label = NULL;
	docker_json_label(a.json, AGENT_PROTOCOL_LABEL, &label, NULL);
	snprintf(protocol, sizeof(protocol), "%s", label ? label : "");
	label = NULL;
	docker_json_label(a.json, INIT_LABEL, &label, NULL);
	m->image_systemd = label != NULL && strcmp(label, "systemd") == 0;
	docker_answer_clear(&a);
	if (parent[0] != '\0' && !parent_path_ok(parent)) {
		warn("image %s: label %s=%s is not an absolute path; running shells without it",
		     image, SESSION_PARENT_LABEL, parent);
		parent[0] = '\0';
	}
	if (parent[0] == '\0')
		warn("image %s has no %s label: exit-signal cannot be reported and shells have no "
		     "sshd parent",
		     image, SESSION_PARENT_LABEL);
	snprintf(m->ctx.session_parent, sizeof(m->ctx.session_parent), "%s", parent);
	use_agent(m, image, agent, protocol);
	return 0;
}

/* ---- workers ---- */

/* The worker program: beside this one (a build tree, or installed side by
 * side), else where the build installs it. */
static int find_worker(struct monitor *m)
{
	char self[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(m->worker_path, sizeof(m->worker_path), "%s/hermes-worker", self);
			if (access(m->worker_path, X_OK) == 0)
				return 0;
		}
	}
	snprintf(m->worker_path, sizeof(m->worker_path), "%s/hermes-worker", HERMES_LIBEXECDIR);
	if (access(m->worker_path, X_OK) == 0)
		return 0;
	error("the worker program hermes-worker is neither beside hermes nor in %s",
	      HERMES_LIBEXECDIR);
	return -1;
}

/* What every worker is told; each connection adds its own id and address. */
static int prepare_workers(struct monitor *m)
{
	const struct config *cfg = m->cfg;
	struct worker_init *w = &m->init;
	char *keys[HOSTKEYS_N];

	if (find_worker(m) < 0 || hostkeys_read(cfg, keys) < 0)
		return -1;
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < HOSTKEYS_N; i++)
		w->keys[w->nkeys++] = keys[i];
	/* As sshd's: the users' failure floors follow from the host key. */
	stealth_set_secret(&m->stealth, keys[0], strlen(keys[0]));
	w->log_level = cfg->logging.level;
	w->login_grace_time = cfg->server.login_grace_time;
	w->session_timeout = cfg->server.session_timeout;
	w->max_session_duration = cfg->container_pool.max_session_duration;
	w->rec_max_session_size = cfg->recording.max_session_size;
	w->keyboard_interactive =
	    cfg->authentication.keyboard_interactive || m->stealth.profile.keyboard_interactive;
	w->offer = m->stealth.profile.offer;
	w->drop = m->sandbox.drop;
	w->uid = m->sandbox.uid;
	w->gid = m->sandbox.gid;
	snprintf(w->root, sizeof(w->root), "%s", m->sandbox.root ? m->sandbox.root : "");
	/* The filter compiled once (borrowed from the sandbox; NULL: each
	 * worker compiles its own). */
	if (m->sandbox.prog != NULL) {
		w->prog = (uint8_t *)m->sandbox.prog;
		w->prog_len = m->sandbox.len * sizeof(*m->sandbox.prog);
		w->npatch = m->sandbox.npatch;
		memcpy(w->patch, m->sandbox.patch, sizeof(w->patch));
	}
	return 0;
}

/* Starts the worker of a connection (worker_spawn.h) and reads its
 * stderr. Returns 0 once it runs, -1 if it could not be started. */
static int spawn_worker(struct monitor *m, struct session *s, int client_fd, int ipc_fd,
                        int monitor_fd, const char *ip, int port)
{
	int log_fd;
	pid_t pid = worker_spawn_start(m->spawn, client_fd, ipc_fd, monitor_fd, session_id(s), ip,
	                               port, &log_fd);

	if (pid < 0)
		return -1;
	session_set_pid(s, pid);
	if (session_attach_worker_log(s, log_fd) < 0)
		warn("session %.8s: out of memory: the worker's stderr is not read", session_id(s));
	return 0;
}

static void peer_address(const struct sockaddr_storage *ss, socklen_t len, char *ip, size_t iplen,
                         int *port)
{
	char serv[16];

	if (getnameinfo((const struct sockaddr *)ss, len, ip, (socklen_t)iplen, serv, sizeof(serv),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(ip, iplen, "unknown");
		*port = 0;
		return;
	}
	*port = atoi(serv);
	if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.') != NULL)
		memmove(ip, ip + 7, strlen(ip + 7) + 1);
}

static int add_session(struct monitor *m, struct session *s)
{
	if (m->nsessions == m->capsessions) {
		size_t cap = m->capsessions ? m->capsessions * 2 : 16;
		struct session **n = realloc(m->sessions, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		m->sessions = n;
		m->capsessions = cap;
	}
	m->sessions[m->nsessions++] = s;
	return 0;
}

/* NULL when a connection from ip may be served now, else why not. */
static const char *admit(struct monitor *m, const char *ip)
{
	struct admission_load load = {0};

	for (size_t i = 0; i < m->nsessions; i++) {
		bool authed = session_authenticated(m->sessions[i]);
		load.from_ip += strcmp(session_ip(m->sessions[i]), ip) == 0;
		load.authed += authed;
		load.unauth += !authed;
	}
	return admission_check(m->cfg, &load, arc4random());
}

static void on_accept(struct loop *l, int fd, int events, void *arg)
{
	struct monitor *m = arg;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char ip[64];
		int port, sp[2];
		int cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				warn("accept: %s", strerror(errno));
			return;
		}
		peer_address(&ss, len, ip, sizeof(ip), &port);
		const char *why = admit(m, ip);
		if (why != NULL) {
			/* As sshd past MaxStartups: closed before the banner. */
			json_t *e = event_new("session.rejected", NULL, ip, port);
			json_object_set_new(e, "reason", json_string(why));
			events_emit(m->ctx.events, e);
			close(cfd);
			continue;
		}
		/* As sshd does for its sessions: each small packet (an echoed
		 * key, an auth answer) leaves at once, not after the client's
		 * delayed ACK. */
		int one = 1;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
			error("socketpair: %s", strerror(errno));
			close(cfd);
			continue;
		}
		char local_ip[64];
		int local_port = m->cfg->server.port;
		struct sockaddr_storage ls;
		socklen_t llen = sizeof(ls);
		if (getsockname(cfd, (struct sockaddr *)&ls, &llen) == 0)
			peer_address(&ls, llen, local_ip, sizeof(local_ip), &local_port);
		else
			snprintf(local_ip, sizeof(local_ip), "%s", m->cfg->server.host);
		struct session *s = session_new(&m->ctx, sp[0], ip, port, local_ip, local_port);
		if (s == NULL || add_session(m, s) < 0) {
			error("out of memory for a new session");
			close(cfd);
			close(sp[1]);
			if (s != NULL)
				session_worker_exited(s, 1 << 8);
			continue;
		}
		if (spawn_worker(m, s, cfd, sp[1], sp[0], ip, port) < 0) {
			m->nsessions--;                   /* it was added last */
			session_worker_exited(s, 1 << 8); /* as if it exited 1 */
		}
	}
}

/* The session that has container id, the newest when several share it. */
static bool box_owner(void *arg, const char *container_id, const char **session,
                      const char **src_ip, int *src_port)
{
	struct monitor *m = arg;

	for (size_t i = m->nsessions; i-- > 0;)
		if (strcmp(session_container(m->sessions[i]), container_id) == 0) {
			*session = session_id(m->sessions[i]);
			*src_ip = session_ip(m->sessions[i]);
			*src_port = session_port(m->sessions[i]);
			return true;
		}
	return false;
}

static bool stopped(struct monitor *m)
{
	return m->nsessions == 0 && !pool_busy(m->ctx.pool) && docker_pending(m->ctx.docker) == 0 &&
	       artifacts_running(m->ctx.artifacts) == 0;
}

static void on_indexer_timer(struct loop *l, void *arg)
{
	struct monitor *m = arg;

	m->indexer_timer = 0;
	if (m->ctx.shutting_down || m->indexer >= 0)
		return;
	m->indexer = indexer_start(m->cfg); /* -1 logged: try again */
	m->indexer_started_ms = util_mono_ms();
	if (m->indexer < 0)
		m->indexer_timer = loop_add_timer(l, m->indexer_wait_ms, on_indexer_timer, m);
}

static void indexer_died(struct monitor *m, int st)
{
	m->indexer = -1;
	if (m->ctx.shutting_down)
		return;
	/* One that dies at once again and again (it cannot be sandboxed,
	 * say) is tried less and less often, up to once every 5 minutes. */
	if (util_mono_ms() - m->indexer_started_ms < 60000)
		m->indexer_wait_ms =
		    m->indexer_wait_ms * 2 > 300000 ? 300000 : m->indexer_wait_ms * 2;
	else
		m->indexer_wait_ms = INDEXER_RESTART_MS;
	if (WIFSIGNALED(st))
		error("indexer killed by SIG%s%s; starting it again in %lld s",
		      sigabbrev_np(WTERMSIG(st)) ?: "?",
		      WTERMSIG(st) == SIGSYS ? " (a forbidden system call)" : "",
		      (long long)m->indexer_wait_ms / 1000);
	else
		error("indexer exited with status %d; starting it again in %lld s", WEXITSTATUS(st),
		      (long long)m->indexer_wait_ms / 1000);
	if (m->indexer_timer == 0)
		m->indexer_timer = loop_add_timer(m->loop, m->indexer_wait_ms, on_indexer_timer, m);
}

static void reap(struct monitor *m)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == m->indexer) {
			indexer_died(m, st);
			continue;
		}
		if (worker_spawn_reaped(m->spawn, pid, st))
			continue;
		if (sinkhole_proc_reaped(m->sink, pid, st))
			continue;
		if (metrics_proc_reaped(m->metrics_proc, pid, st))
			continue;
		for (size_t i = 0; i < m->nsessions; i++) {
			if (session_pid(m->sessions[i]) != pid)
				continue;
			struct session *s = m->sessions[i];
			m->sessions[i] = m->sessions[--m->nsessions];
			worker_spawn_worker_ended(m->spawn, st);
			session_worker_exited(s, st);
			break;
		}
	}
	if (m->ctx.shutting_down && stopped(m))
		loop_stop(m->loop);
}

static void on_shutdown_deadline(struct loop *l, void *arg)
{
	struct monitor *m = arg;

	m->shutdown_timer = 0;
	warn("shutdown: giving up waiting (%zu sessions, %zu Docker calls left)", m->nsessions,
	     docker_pending(m->ctx.docker));
	loop_stop(l);
}

static void on_shutdown_poll(struct loop *l, void *arg)
{
	struct monitor *m = arg;

	m->poll_timer = 0;
	if (stopped(m))
		loop_stop(l);
	else
		m->poll_timer = loop_add_timer(l, 100, on_shutdown_poll, m);
}

static void begin_shutdown(struct monitor *m, const char *why)
{
	if (m->ctx.shutting_down)
		return;
	info("shutting down (%s): %zu live sessions", why, m->nsessions);
	m->stop_reason = why;
	m->ctx.shutting_down = true;
	loop_del_fd(m->loop, m->listen_fd);
	for (size_t i = 0; i < m->nsessions; i++)
		session_terminate(m->sessions[i]);
	boxes_release_all(m->ctx.boxes);
	pool_shutdown(m->ctx.pool);
	sinkhole_proc_stop(m->sink);
	if (m->indexer > 0)
		kill(m->indexer, SIGTERM);
	m->shutdown_timer = loop_add_timer(m->loop, SHUTDOWN_GRACE_MS, on_shutdown_deadline, m);
	m->poll_timer = loop_add_timer(m->loop, 100, on_shutdown_poll, m);
}

static void on_signal(struct loop *l, int fd, int events, void *arg)
{
	struct monitor *m = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(m);
		else if (si.ssi_signo == SIGTERM)
			begin_shutdown(m, "SIGTERM");
		else if (si.ssi_signo == SIGINT)
			begin_shutdown(m, "SIGINT");
	}
}

static int setup_signals(struct monitor *m)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	m->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return m->sig_fd < 0 ? -1 : 0;
}

static void on_orphan_collected(void *arg, const char *id, const char *name, json_t *seen)
{
	json_decref(seen);
	pool_release(arg, id, name);
}

/* A session container a killed run left running: what the session left
 * there is collected under its own session id (found in the log's tail)
 * before the container stops, as it would have been at the session's end.
 * The tmpfs mounts are still there: the container never stopped. */
static void on_orphan(void *arg, const char *id, const char *name)
{
	struct monitor *m = arg;
	struct orphan_session o;
	char log[4096];

	snprintf(log, sizeof(log), "%s/events.jsonl", m->cfg->logging.output_dir);
	if (m->ctx.artifacts == NULL || !orphans_find_in_log(log, id, &o)) {
		pool_release(m->ctx.pool, id, name);
		return;
	}
	info("collecting what session %.8s left in %s before stopping it", o.session_id, name);
	struct artifact_session a = {.session_id = o.session_id,
	                             .src_ip = o.src_ip,
	                             .src_port = o.src_port,
	                             .container_id = id,
	                             .container_name = name};
	artifacts_collect(m->ctx.artifacts, &a, on_orphan_collected, m->ctx.pool);
}

static void warm_pool(struct monitor *m)
{
	int64_t deadline = util_mono_ms() + 60000;

	/* What a killed run left goes first, so that the listing cannot
	 * catch this run's own new containers. */
	pool_reconcile(m->ctx.pool, on_orphan, m);
	while (pool_busy(m->ctx.pool) && util_mono_ms() < deadline && !m->ctx.shutting_down)
		loop_once(m->loop, 200);
	deadline = util_mono_ms() + (int64_t)m->cfg->container_pool.spawn_timeout * 1000 + 5000;
	pool_start(m->ctx.pool);
	while (pool_ready(m->ctx.pool) < (unsigned)m->cfg->container_pool.size &&
	       pool_warming(m->ctx.pool) > 0 && util_mono_ms() < deadline && !m->ctx.shutting_down)
		loop_once(m->loop, 200);
	unsigned ready = pool_ready(m->ctx.pool);
	if (ready < (unsigned)m->cfg->container_pool.size)
		warn("pool: only %u of %d containers ready; more are created on demand", ready,
		     m->cfg->container_pool.size);
	else
		info("pool: %u containers ready", ready);
}

/* Every event passes here before it is written: bait files touched get
 * their alert, and every alert is said loudly in the daemon's log too. */
static void mark_event(void *arg, json_t *e)
{
	const struct config *cfg = arg;

	honeytoken_mark(&cfg->honeytokens.files, e);
	json_t *alert = json_object_get(e, "alert");
	if (alert != NULL)
		warn("ALERT %s: %s in session %.8s from %s",
		     json_string_value(json_object_get(alert, "type")) ?: "?",
		     json_string_value(json_object_get(e, "event")) ?: "?",
		     json_string_value(json_object_get(e, "session")) ?: "-",
		     json_string_value(json_object_get(e, "src_ip")) ?: "-");
}

/* Every event written to events.jsonl, again for the streams that have
 * asked for it. */
static void tee_streams(void *arg, const json_t *ev, const char *text, size_t len)
{
	struct monitor *m = arg;

	if (m->cowrie != NULL)
		cowrie_stream_tee(m->cowrie, ev);
	if (m->syslog != NULL)
		syslog_out_send(m->syslog, ev, text, len);
	metrics_event(m->metrics, ev);
}

static void observe_docker(void *arg, const char *what, bool failed, int64_t usec)
{
	struct monitor *m = arg;
	metrics_docker_call(m->metrics, what, failed, usec);
}

/* What hermes-metrics serves: the counters and what is live now. */
static int metrics_text(void *arg, struct buf *out)
{
	struct monitor *m = arg;
	struct metrics_live live = {
	    .connections = (unsigned)m->nsessions,
	    .sessions = m->ctx.logged_in,
	    .boxes_ready = m->ctx.pool != NULL ? pool_ready(m->ctx.pool) : 0,
	    .boxes_warming = m->ctx.pool != NULL ? pool_warming(m->ctx.pool) : 0,
	    .boxes_held = m->ctx.boxes != NULL ? boxes_count(m->ctx.boxes) : 0,
	    .docker_pending = m->ctx.docker != NULL ? (unsigned)docker_pending(m->ctx.docker) : 0,
	};
	return metrics_render(m->metrics, &live, out);
}

/* metrics.listen: binds it and starts hermes-metrics (from dir, or the
 * installed libexec directory). */
static int start_metrics(struct monitor *m, const char *dir)
{
	const struct config *cfg = m->cfg;
	struct metrics_proc_settings set = {
	    .listen = cfg->metrics.listen,
	    .dir = dir,
	    .root = cfg->server.worker_chroot,
	    .uid = m->sandbox.drop ? m->sandbox.uid : 0,
	    .gid = m->sandbox.drop ? m->sandbox.gid : 0,
	    .log_level = cfg->logging.level,
	    .log_json = strcmp(cfg->logging.format, "json") == 0,
	};
	m->metrics_proc = metrics_proc_new(m->loop, &set, metrics_text, m);
	return m->metrics_proc != NULL ? 0 : -1;
}

/* logging.cowrie_json and logging.syslog, when set. */
static int open_streams(struct monitor *m)
{
	const struct config *cfg = m->cfg;
	char host[256] = "hermes";

	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "hermes");
	if (cfg->logging.cowrie_json != NULL) {
		m->cowrie =
		    cowrie_stream_open(cfg->logging.cowrie_json,
		                       cfg->logging.sensor != NULL ? cfg->logging.sensor : host,
		                       cfg->forensics.artifacts_dir);
		if (m->cowrie == NULL) {
			error("logging.cowrie_json %s: %s", cfg->logging.cowrie_json,
			      strerror(errno));
			return -1;
		}
	}
	if (cfg->logging.syslog != NULL) {
		const char *why = NULL;
		m->syslog = syslog_out_new(m->loop, cfg->logging.syslog,
		                           cfg->logging.syslog_facility, host, &why);
		if (m->syslog == NULL) {
			error("logging.syslog %s: %s", cfg->logging.syslog, why);
			return -1;
		}
	}
	if (cfg->metrics.listen != NULL && (m->metrics = metrics_new(util_wall())) == NULL) {
		error("out of memory");
		return -1;
	}
	if (m->cowrie != NULL || m->syslog != NULL || m->metrics != NULL)
		events_set_tee(m->ctx.events, tee_streams, m);
	return 0;
}

int monitor_run(const struct config *cfg)
{
	struct monitor m = {.cfg = cfg, .listen_fd = -1, .sig_fd = -1, .indexer = -1};
	const char *err = NULL;
	int rc = 1;

	m.ctx.cfg = cfg;
	/* Each connection costs the monitor two descriptors (IPC, the
	 * worker's stderr), more while it has channels. */
	util_fd_limit_raise();
	auth_policy_init(&m.ctx.policy, cfg);
	if (setup_signals(&m) < 0) {
		error("signals: %s", strerror(errno));
		return 1;
	}
	if (worker_sandbox_prepare(&m.sandbox, cfg) < 0)
		return 1;
	if (landlock_abi() == 0)
		warn(
		    "this kernel has no Landlock: the indexer and pruner are not confined to their "
		    "directories (they keep their other limits)");
	if (util_mkdirs(cfg->logging.output_dir, 0750) < 0 ||
	    (cfg->recording.enabled && util_mkdirs(cfg->recording.output_dir, 0750) < 0)) {
		error("cannot create the data directories: %s", strerror(errno));
		return 1;
	}
	m.ctx.events = events_open(cfg->logging.output_dir);
	if (m.ctx.events == NULL) {
		error("cannot open the event log in %s: %s", cfg->logging.output_dir,
		      strerror(errno));
		return 1;
	}
	events_set_hook(m.ctx.events, mark_event, (void *)cfg);
	if (events_set_session_budget(m.ctx.events, (uint64_t)cfg->logging.max_session_log) < 0) {
		error("out of memory");
		goto out;
	}
	m.loop = loop_new();
	m.ctx.loop = m.loop;
	if (m.loop == NULL)
		goto out;
	if (open_streams(&m) < 0)
		goto out;
	/* The image first: what it is says what the server offers. */
	m.ctx.docker = docker_new(m.loop, cfg->docker.socket_path, cfg->docker.base_url, &err);
	if (m.ctx.docker == NULL) {
		error("%s", err);
		goto out;
	}
	if (m.metrics != NULL)
		docker_set_observer(m.ctx.docker, observe_docker, &m);
	if (check_docker(&m) < 0 || choose_runtime(&m) < 0 ||
	    stealth_choose(&m.stealth, cfg, m.ctx.docker) < 0)
		goto out;
	m.ctx.stealth = &m.stealth;
	if (setup_bind(&m) < 0 || prepare_workers(&m) < 0)
		goto out;
	m.spawn = worker_spawn_new(m.loop, m.worker_path, &m.init, &m.sandbox,
	                           cfg->server.worker_template_uses);
	if (m.spawn == NULL) {
		error("out of memory");
		goto out;
	}
	m.ctx.pool = pool_new(m.loop, m.ctx.docker, cfg, m.ctx.events);
	if (m.ctx.pool == NULL)
		goto out;
	pool_set_runtime(m.ctx.pool, m.runtime);
	choose_init(&m);
	pool_set_init(m.ctx.pool, m.box_init);
	/* Only hermes-runtime sets a box's clocks, and only where the kernel
	 * has time namespaces: elsewhere the box keeps the host's uptime, and
	 * its log history's last boot is the host's. */
	pool_set_boot_clock(m.ctx.pool, cfg->stealth.own_uptime && m.runtime != NULL &&
	                                    strcmp(m.runtime, SANDBOX_RUNTIME) == 0 &&
	                                    access("/proc/self/ns/time", F_OK) == 0);
	/* The helper programs are beside hermes-worker. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", m.worker_path);
	*strrchr(dir, '/') = '\0';
	if (cfg->metrics.listen != NULL && start_metrics(&m, dir) < 0)
		goto out;
	if (strcmp(cfg->container_pool.security.network_mode, "none") == 0) {
		m.nic = box_nic_new(cfg->egress.subnet);
		if (m.nic == NULL) {
			error("egress.subnet %s: %s", cfg->egress.subnet, strerror(errno));
			goto out;
		}
		pool_set_net(m.ctx.pool, box_nic_attach, NULL, m.nic);
	}
	if (strcmp(cfg->container_pool.security.network_mode, "sinkhole") == 0) {
		m.sink = sinkhole_proc_new(m.loop, cfg, m.ctx.events, m.ctx.pool, dir,
		                           m.sandbox.drop ? m.sandbox.uid : 0,
		                           m.sandbox.drop ? m.sandbox.gid : 0, box_owner, &m);
		if (m.sink == NULL)
			goto out;
	}
	m.prep = box_prep_new(cfg, m.init.keys, m.stealth.secret, &m.stealth.facts);
	if (m.prep == NULL)
		goto out;
	box_prep_install(m.prep, m.ctx.pool, m.box_init == SANDBOX_INIT_SYSTEMD);
	m.ctx.prep = m.prep;
	m.ctx.boxes = boxes_new(m.loop, m.ctx.pool, cfg->container_pool.sticky_ttl,
	                        cfg->container_pool.max_boxes);
	m.ctx.failures = recent_failures_new(AGENT_MAX_FAILURES, 256);
	if (m.ctx.boxes == NULL || m.ctx.failures == NULL)
		goto out;
	if (cfg->forensics.enabled) {
		/* Creates forensics.artifacts_dir, or says why it cannot. */
		m.ctx.artifacts = artifacts_new(cfg, m.loop, m.ctx.docker, m.ctx.events);
		if (m.ctx.artifacts == NULL)
			goto out;
		if (m.runtime != NULL && strcmp(m.runtime, SANDBOX_RUNTIME) == 0)
			artifacts_read_etc(m.ctx.artifacts);
		if (m.box_init == SANDBOX_INIT_SYSTEMD)
			artifacts_read_run(m.ctx.artifacts);
	}
	m.pruner = pruner_new(m.loop, cfg, m.ctx.events);
	m.indexer = indexer_start(cfg);
	m.indexer_started_ms = util_mono_ms();
	m.indexer_wait_ms = INDEXER_RESTART_MS / 2; /* the first death doubles it */
	if (m.indexer < 0)
		m.indexer_timer = loop_add_timer(m.loop, INDEXER_RESTART_MS, on_indexer_timer, &m);
	loop_add_fd(m.loop, m.sig_fd, LOOP_READ, on_signal, &m);
	warm_pool(&m);
	if (!m.ctx.shutting_down) {
		loop_add_fd(m.loop, m.listen_fd, LOOP_READ, on_accept, &m);
		char listen[300];
		snprintf(listen, sizeof(listen), "%s:%d", cfg->server.host, cfg->server.port);
		json_t *e = event_new("hermes.started", NULL, NULL, 0);
		json_object_set_new(e, "version", json_string(HERMES_VERSION));
		json_object_set_new(e, "listen", json_string(listen));
		json_object_set_new(e, "pid", json_integer(getpid()));
		json_object_set_new(e, "stealth_profile", json_string(m.stealth.profile.name));
		json_object_set_new(e, "banner", json_string(m.stealth.profile.offer.banner));
		json_object_set_new(e, "runtime", json_string(m.runtime ? m.runtime : "default"));
		if (m.metrics_proc != NULL)
			json_object_set_new(e, "metrics",
			                    json_string(metrics_proc_address(m.metrics_proc)));
		events_emit(m.ctx.events, e);
		info("listening on %s", listen);
		loop_run(m.loop);
	}
	rc = 0;
	json_t *e = event_new("hermes.stopped", NULL, NULL, 0);
	json_object_set_new(e, "reason", json_string(m.stop_reason ? m.stop_reason : "unknown"));
	events_emit(m.ctx.events, e);
	info("stopped");
out:
	for (size_t i = 0; i < m.nsessions; i++)
		if (session_pid(m.sessions[i]) > 0)
			kill(session_pid(m.sessions[i]), SIGKILL);
	free(m.sessions);
	pruner_free(m.pruner);
	loop_del_timer(m.loop, m.indexer_timer);
	worker_spawn_free(m.spawn);
	worker_init_clear_keys(&m.init); /* its filter is the sandbox's */
	worker_sandbox_free(&m.sandbox);
	if (m.indexer > 0)
		kill(m.indexer, SIGTERM);
	artifacts_free(m.ctx.artifacts);
	boxes_free(m.ctx.boxes);
	recent_failures_free(m.ctx.failures);
	pool_free(m.ctx.pool);
	box_prep_free(m.prep);
	sinkhole_proc_stop(m.sink);
	sinkhole_proc_free(m.sink);
	metrics_proc_free(m.metrics_proc);
	box_nic_free(m.nic);
	docker_free(m.ctx.docker);
	if (m.bind != NULL)
		ssh_bind_free(m.bind);
	/* The streams after the last event, syslog's before the loop its
	 * socket and timer are in. */
	events_set_tee(m.ctx.events, NULL, NULL);
	syslog_out_free(m.syslog);
	cowrie_stream_close(m.cowrie);
	metrics_free(m.metrics);
	loop_free(m.loop);
	events_close(m.ctx.events);
	if (m.sig_fd >= 0)
		close(m.sig_fd);
	return rc;
}
