/*
 * sinkhole_proc: the sinkhole program, its messages and the live fetches;
 * see sinkhole_proc.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "digest.h"
#include "fetch_cache.h"
#include "jmsg.h"
#include "log.h"
#include "sink_ca.h"
#include "sink_msg.h"
#include "sink_net.h"
#include "sinkhole_proc.h"
#include "sock_owner.h"
#include "store.h"
#include "util.h"

#define RESTART_MS    1000
#define KEPT_MAX      (64 * 1024) /* of a connection nothing answered */
#define RESULT_MAX    8192
#define FETCH_GRACE_S 5

struct fetch {
	struct fetch *next;
	struct sinkhole_proc *sp;
	pid_t pid;
	uint64_t id; /* the sinkhole's; 0 once that sinkhole is gone */
	int body, result;
	uint64_t timer;
	json_t *ev; /* egress.http, finished when the fetch ends */
	char url[SINK_URL_MAX + 1];
	char session[64], src_ip[64], container[65];
	int src_port;
};

struct sinkhole_proc {
	struct loop *loop;
	const struct config *cfg;
	struct events *ev;
	struct sink_net *net;
	struct fetch_cache *cache;
	char prog[PATH_MAX], fetcher[PATH_MAX];
	uid_t uid;
	gid_t gid;
	sinkhole_owner_cb owner;
	void *owner_arg;
	pid_t pid;
	int ctl;
	uint64_t restart_timer;
	bool stopping;
	struct fetch *fetches;
	int n_fetches;
	char *ca_cert, *ca_key; /* the sinkhole CA (sink_ca.h) */
};

/* What every box runs before it is ready: the CA among its trusted ones,
 * where an administrator puts a company's own, dated as the image's bait,
 * with what update-ca-certificates would make of it (the bundle, the
 * link, the hashed link: $2 is the subject's hash) - made here, since the
 * tool itself takes seconds on a small machine. */
static const char trust_script[] =
    "umask 022; d=/usr/local/share/ca-certificates; f=$d/internal-root-ca.crt; "
    "c=/etc/ssl/certs; mkdir -p \"$d\" \"$c\" && printf '%s\\n' \"$1\" > \"$f\" && "
    "touch -d '2025-03-11 14:02:17' \"$f\" && cat \"$f\" >> $c/ca-certificates.crt && "
    "ln -sf \"$f\" $c/internal-root-ca.pem && ln -sf internal-root-ca.pem \"$c/$2.0\"";

/* ---- the boxes' network, for the pool ---- */

static int on_attach(void *arg, const char *id, int pid, char *err, size_t len)
{
	struct sinkhole_proc *sp = arg;
	uint32_t addr;
	char ip[16];
	int r = sink_net_attach(sp->net, id, pid, &addr, err, len);

	if (r == 0)
		debug("box %.12s on the sinkhole's network as %s", id,
		      inet_ntop(AF_INET, &addr, ip, sizeof(ip)) ? ip : "?");
	return r;
}

static void on_gone(void *arg, const char *id)
{
	struct sinkhole_proc *sp = arg;
	sink_net_detach(sp->net, id);
}

/* ---- the program ---- */

static void on_ctl(struct loop *l, int fd, int events, void *arg);
static void start(struct sinkhole_proc *sp);

static void on_restart(struct loop *l, void *arg)
{
	struct sinkhole_proc *sp = arg;
	sp->restart_timer = 0;
	start(sp);
}

static void send_init(struct sinkhole_proc *sp)
{
	const struct config *c = sp->cfg;
	json_t *m = json_pack(
	    "{s:s, s:s, s:I, s:I, s:i, s:b, s:i, s:i, s:i, s:i, s:s, s:s}", "t", "init", "root",
	    c->server.worker_chroot, "uid", (json_int_t)sp->uid, "gid", (json_int_t)sp->gid,
	    "log_level", c->logging.level, "log_json", strcmp(c->logging.format, "json") == 0,
	    "connect_rate", c->egress.connect_rate, "max_connections", c->egress.max_connections,
	    "event_rate", c->egress.event_rate, "fetch_timeout", c->egress.fetch_timeout + 5,
	    "ca_cert", sp->ca_cert, "ca_key", sp->ca_key);
	int r = m ? jmsg_send(sp->ctl, m, -1) : -ENOMEM;
	json_decref(m);
	if (r < 0)
		error("sinkhole: start message: %s", strerror(-r));
}

static void start(struct sinkhole_proc *sp)
{
	const struct sink_fds *f = sink_net_fds(sp->net);
	int sv[2];

	if (sp->stopping)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		error("sinkhole: socketpair: %s", strerror(errno));
		sp->restart_timer = loop_add_timer(sp->loop, RESTART_MS, on_restart, sp);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* Into the sinkhole's namespace, the descriptors on 3..8. */
		int from[] = {sv[1], f->tcp, f->udp, f->dns, f->tftp, f->icmp};
		int high[6];
		if (setns(sink_net_ns(sp->net), CLONE_NEWNET) < 0)
			_exit(126);
		for (int i = 0; i < 6; i++)
			if ((high[i] = fcntl(from[i], F_DUPFD, 100)) < 0)
				_exit(127);
		for (int i = 0; i < 6; i++)
			if (dup2(high[i], 3 + i) < 0)
				_exit(127);
		closefrom(9);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char *argv[] = {"hermes-sinkhole", NULL};
		execv(sp->prog, argv);
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		error("sinkhole: fork: %s", strerror(errno));
		close(sv[0]);
		sp->restart_timer = loop_add_timer(sp->loop, RESTART_MS, on_restart, sp);
		return;
	}
	sp->pid = pid;
	sp->ctl = sv[0];
	send_init(sp);
	fcntl(sp->ctl, F_SETFL, fcntl(sp->ctl, F_GETFL) | O_NONBLOCK);
	loop_add_fd(sp->loop, sp->ctl, LOOP_READ, on_ctl, sp);
	info("sinkhole started (pid %d)", (int)pid);
}

/* ---- checking what it says ---- */

/* The box a message names: its container and init pid, or NULL. */
static const char *box_of(struct sinkhole_proc *sp, const json_t *m, uint32_t *addr, int *pid)
{
	if (!sink_msg_box(m, addr))
		return NULL;
	return sink_net_box(sp->net, *addr, pid);
}

/* A new event for the session of container id (or none). */
static json_t *box_event(struct sinkhole_proc *sp, const char *name, const char *container,
                         const char *box_ip)
{
	const char *session = NULL, *ip = NULL;
	int port = 0;

	if (!sp->owner(sp->owner_arg, container, &session, &ip, &port))
		session = ip = NULL;
	json_t *ev = event_new(name, session, ip, port);
	if (ev != NULL) {
		json_object_set_new(ev, "container_id", json_string(container));
		json_object_set_new(ev, "box_ip", json_string(box_ip));
	}
	return ev;
}

/* Keeps n bytes at p as an artifact: its SHA-256 in hex, or false. */
static bool keep(struct sinkhole_proc *sp, const uint8_t *p, size_t n, char sha[65])
{
	char hex[DIGEST_HEX_MAX];

	if (!sp->cfg->forensics.enabled || n == 0 || digest_hex(EVP_sha256(), p, n, hex) < 0)
		return false;
	int r = store_put(sp->cfg->forensics.artifacts_dir, hex, p, n, NULL);
	if (r < 0) {
		warn("keeping %s: %s", hex, strerror(-r));
		return false;
	}
	memcpy(sha, hex, 64);
	sha[64] = '\0';
	return true;
}

/* Reads a whole descriptor of at most max bytes from its start: a mapping
 * to munmap, or NULL. */
static void *map_fd(int fd, size_t max, size_t *n)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > max)
		return NULL;
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	*n = (size_t)st.st_size;
	return p;
}

static void handle_event(struct sinkhole_proc *sp, const json_t *m, int fd)
{
	const char *name = NULL;
	json_t *fields = sink_msg_event_fields(m, &name);
	uint32_t addr;
	int pid;
	const char *container = box_of(sp, m, &addr, &pid);

	if (fields == NULL || container == NULL) {
		debug("sinkhole: an event refused (%s)", fields == NULL ? "kind" : "box");
		json_decref(fields);
		return;
	}
	json_t *ev = box_event(sp, name, container, json_string_value(json_object_get(m, "box")));
	if (ev != NULL)
		json_object_update(ev, fields);
	json_decref(fields);
	if (ev == NULL)
		return;
	if (fd >= 0 && (strcmp(name, "egress.connect") == 0 || strcmp(name, "egress.smtp") == 0)) {
		size_t n;
		char sha[65];
		void *p = map_fd(fd, KEPT_MAX, &n);
		if (p != NULL && keep(sp, p, n, sha))
			json_object_set_new(ev, "sha256", json_string(sha));
		if (p != NULL)
			munmap(p, n);
	}
	events_emit(sp->ev, ev);
}

/* ---- fetches ---- */

static void reply(struct sinkhole_proc *sp, uint64_t id, int status, const char *type, int fd)
{
	json_t *m = json_pack("{s:s, s:I, s:i, s:s?}", "t", "fetched", "id", (json_int_t)id,
	                      "status", status, "type", type);
	if (fd >= 0)
		lseek(fd, 0, SEEK_SET);
	if (m == NULL || jmsg_send(sp->ctl, m, fd) < 0)
		debug("sinkhole: an answer was not sent");
	json_decref(m);
}

static void file_downloaded(struct sinkhole_proc *sp, const struct fetch *f, const char *sha,
                            size_t size, const char *type, const char *source)
{
	json_t *ev = event_new("file.downloaded", f->session[0] ? f->session : NULL,
	                       f->src_ip[0] ? f->src_ip : NULL, f->src_port);
	if (ev == NULL)
		return;
	json_object_set_new(ev, "url", json_string(f->url));
	json_object_set_new(ev, "sha256", json_string(sha));
	json_object_set_new(ev, "size", json_integer((json_int_t)size));
	if (type != NULL && *type)
		json_object_set_new(ev, "content_type", json_string(type));
	json_object_set_new(ev, "source", json_string(source));
	json_object_set_new(ev, "container_id", json_string(f->container));
	json_t *cmd = json_object_get(f->ev, "cmdline");
	if (cmd != NULL)
		json_object_set(ev, "cmdline", cmd);
	events_emit(sp->ev, ev);
}

static void fetch_free(struct sinkhole_proc *sp, struct fetch *f)
{
	for (struct fetch **p = &sp->fetches; *p != NULL; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	loop_del_timer(sp->loop, f->timer);
	if (f->body >= 0)
		close(f->body);
	if (f->result >= 0)
		close(f->result);
	json_decref(f->ev);
	if (f->pid > 0)
		sp->n_fetches--;
	free(f);
}

/* Serves the body kept as sha from the artifacts. */
static bool serve_kept(struct sinkhole_proc *sp, struct fetch *f, const char *sha, const char *type,
                       const char *source)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", sp->cfg->forensics.artifacts_dir, sha);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	json_object_set_new(f->ev, "status", json_integer(200));
	json_object_set_new(f->ev, "sha256", json_string(sha));
	json_object_set_new(f->ev, "bytes", json_integer((json_int_t)st.st_size));
	file_downloaded(sp, f, sha, (size_t)st.st_size, type, source);
	reply(sp, f->id, 200, *type ? type : NULL, fd);
	close(fd);
	return true;
}

static void on_fetch_timeout(struct loop *l, void *arg)
{
	struct fetch *f = arg;
	f->timer = 0;
	if (f->pid > 0)
		kill(f->pid, SIGKILL); /* reaped as any fetch */
}

static void start_fetch(struct sinkhole_proc *sp, struct fetch *f, const char *ua)
{
	const struct config *c = sp->cfg;
	char *argv[16 + 2 * 64 + 2 * 32], nums[3][32], to[64][320];
	size_t a = 0;
	int res[2];

	f->body = memfd_create("fetch", MFD_CLOEXEC);
	if (f->body < 0 || pipe2(res, O_CLOEXEC) < 0) {
		warn("fetch: %s", strerror(errno));
		json_object_set_new(f->ev, "error", json_string("no resources for a fetch"));
		reply(sp, f->id, 502, NULL, -1);
		events_emit(sp->ev, json_incref(f->ev));
		fetch_free(sp, f);
		return;
	}
	argv[a++] = "hermes-fetch";
	snprintf(nums[0], sizeof(nums[0]), "%lld", (long long)c->egress.max_fetch_size);
	snprintf(nums[1], sizeof(nums[1]), "%d", c->egress.fetch_timeout);
	snprintf(nums[2], sizeof(nums[2]), "%lld", (long long)c->egress.fetch_rate);
	argv[a++] = "--max-bytes";
	argv[a++] = nums[0];
	argv[a++] = "--timeout";
	argv[a++] = nums[1];
	argv[a++] = "--rate";
	argv[a++] = nums[2];
	for (size_t i = 0; i < c->egress.live_ports.n && i < 32; i++) {
		argv[a++] = "--port";
		argv[a++] = c->egress.live_ports.items[i];
	}
	for (size_t i = 0; i < c->egress.hosts.n && i < 64; i++) {
		snprintf(to[i], sizeof(to[i]), "%s:%s", c->egress.hosts.names[i],
		         c->egress.hosts.values[i]);
		argv[a++] = "--connect-to";
		argv[a++] = to[i];
	}
	if (ua != NULL) {
		argv[a++] = "--user-agent";
		argv[a++] = (char *)ua;
	}
	argv[a++] = "--";
	argv[a++] = f->url;
	argv[a] = NULL;

	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(f->body, 1) < 0 || dup2(res[1], 3) < 0)
			_exit(127);
		closefrom(4);
		if (sp->uid != 0 &&
		    (setgroups(0, NULL) < 0 || setresgid(sp->gid, sp->gid, sp->gid) < 0 ||
		     setresuid(sp->uid, sp->uid, sp->uid) < 0))
			_exit(126);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(sp->fetcher, argv);
		_exit(127);
	}
	close(res[1]);
	f->result = res[0];
	if (pid < 0) {
		warn("fetch: fork: %s", strerror(errno));
		reply(sp, f->id, 502, NULL, -1);
		fetch_free(sp, f);
		return;
	}
	fcntl(f->result, F_SETFL, O_NONBLOCK);
	f->pid = pid;
	sp->n_fetches++;
	f->timer =
	    loop_add_timer(sp->loop, (int64_t)(c->egress.fetch_timeout + FETCH_GRACE_S) * 1000,
	                   on_fetch_timeout, f);
	debug("fetching %s (pid %d)", f->url, (int)pid);
}

/* The fetcher ended: its result and body. */
static void fetch_done(struct sinkhole_proc *sp, struct fetch *f, int status)
{
	char buf[RESULT_MAX + 1];
	ssize_t n = read(f->result, buf, RESULT_MAX);
	json_t *r = n > 0 ? json_loadb(buf, (size_t)n, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	json_int_t code = json_integer_value(json_object_get(r, "status"));
	const char *err = json_string_value(json_object_get(r, "error"));
	const char *type = json_string_value(json_object_get(r, "type"));
	const char *address = json_string_value(json_object_get(r, "address"));
	char sha[65] = "";
	size_t size = 0;

	if (type != NULL && (strlen(type) > 127 || strpbrk(type, "\r\n") != NULL))
		type = NULL;
	if (address != NULL && strlen(address) < 80)
		json_object_set_new(f->ev, "address", json_string(address));
	if (r == NULL)
		err = WIFSIGNALED(status) ? "the fetch was stopped (egress.fetch_timeout)"
		                          : "the fetcher failed";
	if (err == NULL && code >= 200 && code < 300) {
		void *p = map_fd(f->body, (size_t)sp->cfg->egress.max_fetch_size, &size);
		if (p != NULL) {
			if (keep(sp, p, size, sha)) {
				fetch_cache_put(sp->cache, f->url, sha, type);
				file_downloaded(sp, f, sha, size, type, "live");
			}
			munmap(p, size);
		}
	}
	json_object_set_new(f->ev, "status", json_integer(code > 0 ? code : 502));
	json_object_set_new(f->ev, "bytes", json_integer((json_int_t)size));
	if (sha[0])
		json_object_set_new(f->ev, "sha256", json_string(sha));
	if (err != NULL)
		json_object_set_new(f->ev, "error", json_string(err));
	if (f->id == 0)
		debug("fetched %s for a sinkhole since gone", f->url);
	else if (err == NULL && code >= 200 && code < 300)
		reply(sp, f->id, 200, type, f->body);
	else
		reply(sp, f->id, code >= 400 && code < 600 ? (int)code : 502, NULL, -1);
	events_emit(sp->ev, json_incref(f->ev));
	json_decref(r);
	fetch_free(sp, f);
}

/* A fetch checked (sink_msg_fetch) of a box known: its egress.http event,
 * and its answer (or a live fetch started). */
static void fetch_request(struct sinkhole_proc *sp, const json_t *m, const struct sink_fetch *req,
                          const char *container, uint32_t addr, int pid)
{
	const char *type = "", *sha;
	struct fetch *f = calloc(1, sizeof(*f));
	json_t *ev =
	    box_event(sp, "egress.http", container, json_string_value(json_object_get(m, "box")));
	if (f == NULL || ev == NULL) {
		free(f);
		json_decref(ev);
		reply(sp, req->id, 503, NULL, -1);
		return;
	}
	f->sp = sp;
	f->id = req->id;
	f->body = f->result = -1;
	f->ev = ev;
	snprintf(f->url, sizeof(f->url), "%s", req->url);
	snprintf(f->container, sizeof(f->container), "%s", container);
	json_t *s = json_object_get(ev, "session");
	snprintf(f->session, sizeof(f->session), "%s",
	         json_is_string(s) ? json_string_value(s) : "");
	s = json_object_get(ev, "src_ip");
	snprintf(f->src_ip, sizeof(f->src_ip), "%s", json_is_string(s) ? json_string_value(s) : "");
	f->src_port = (int)json_integer_value(json_object_get(ev, "src_port"));
	f->next = sp->fetches;
	sp->fetches = f;

	json_object_set_new(ev, "method", json_string(req->method));
	json_object_set_new(ev, "url", json_string(req->url));
	json_object_set_new(ev, "host", json_string(req->host));
	json_object_update(ev, req->fields); /* dst, dport, sport */
	if (req->tls) {
		json_object_set_new(ev, "tls", json_true());
		if (req->sni != NULL)
			json_object_set_new(ev, "sni", json_string(req->sni));
	}
	json_object_set(ev, "headers", req->headers);
	if (req->user_agent != NULL)
		json_object_set_new(ev, "user_agent", json_string(req->user_agent));
	/* Who asked: the process in the box that holds the connection. */
	char cmd[1024];
	if (req->sport > 0 &&
	    sock_owner_cmdline(pid, req->udp, addr, req->sport, cmd, sizeof(cmd)) == 0)
		json_object_set_new(ev, "cmdline", json_string(cmd));

	const char *mode = sp->cfg->egress.fetch;
	json_object_set_new(ev, "fetch", json_string(mode));
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (!get || strcmp(mode, "off") == 0 || !sink_msg_url_ok(req->url)) {
		json_object_set_new(ev, "status", json_integer(404));
		reply(sp, f->id, 404, NULL, -1);
	} else if ((sha = fetch_cache_get(sp->cache, req->url, &type)) != NULL &&
	           serve_kept(sp, f, sha, type, "cache")) {
		json_object_set_new(ev, "fetch", json_string("cache"));
	} else if (strcmp(mode, "cache") == 0) {
		json_object_set_new(ev, "status", json_integer(404));
		reply(sp, f->id, 404, NULL, -1);
	} else if (sp->n_fetches >= sp->cfg->egress.max_fetches) {
		json_object_set_new(ev, "status", json_integer(503));
		json_object_set_new(ev, "error", json_string("egress.max_fetches at once"));
		reply(sp, f->id, 503, NULL, -1);
	} else {
		start_fetch(sp, f, req->user_agent);
		return; /* the event when it ends */
	}
	events_emit(sp->ev, json_incref(ev));
	fetch_free(sp, f);
}

static void handle_fetch(struct sinkhole_proc *sp, const json_t *m)
{
	struct sink_fetch req;
	uint32_t addr;
	int pid;
	int r = sink_msg_fetch(m, &req);
	const char *container = box_of(sp, m, &addr, &pid);

	if (r == 0)
		return;
	if (r == -1 || container == NULL)
		reply(sp, req.id, 400, NULL, -1);
	else if (r < 0)
		reply(sp, req.id, 503, NULL, -1);
	else
		fetch_request(sp, m, &req, container, addr, pid);
	sink_msg_fetch_free(&req);
}

static void stopped_program(struct sinkhole_proc *sp)
{
	if (sp->ctl >= 0) {
		loop_del_fd(sp->loop, sp->ctl);
		close(sp->ctl);
		sp->ctl = -1;
	}
}

static void on_ctl(struct loop *l, int fd, int events, void *arg)
{
	struct sinkhole_proc *sp = arg;

	for (int k = 0; k < 256; k++) {
		json_t *m;
		int body, r = jmsg_recv(fd, &m, &body);
		if (r == -EAGAIN)
			return;
		if (r == -EBADMSG) {
			warn("sinkhole: a message refused");
			continue;
		}
		if (r <= 0) {
			stopped_program(sp); /* the reap says why */
			return;
		}
		const char *t = json_string_value(json_object_get(m, "t"));
		if (t != NULL && strcmp(t, "event") == 0)
			handle_event(sp, m, body);
		else if (t != NULL && strcmp(t, "fetch") == 0)
			handle_fetch(sp, m);
		else
			warn("sinkhole: a message of no known kind");
		if (body >= 0)
			close(body);
		json_decref(m);
	}
}

/* ---- life ---- */

static int find_prog(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
	if (access(out, X_OK) == 0)
		return 0;
	snprintf(out, cap, "%s/%s", HERMES_LIBEXECDIR, name);
	if (access(out, X_OK) == 0)
		return 0;
	error("%s is neither in %s nor in %s", name, dir, HERMES_LIBEXECDIR);
	return -1;
}

struct sinkhole_proc *sinkhole_proc_new(struct loop *l, const struct config *cfg, struct events *ev,
                                        struct pool *pool, const char *dir, uid_t uid, gid_t gid,
                                        sinkhole_owner_cb owner, void *owner_arg)
{
	struct sinkhole_proc *sp = calloc(1, sizeof(*sp));
	char err[300];

	if (sp == NULL)
		return NULL;
	sp->loop = l;
	sp->cfg = cfg;
	sp->ev = ev;
	sp->uid = uid;
	sp->gid = gid;
	sp->owner = owner;
	sp->owner_arg = owner_arg;
	sp->ctl = -1;
	if (find_prog(sp->prog, sizeof(sp->prog), dir, "hermes-sinkhole") < 0 ||
	    find_prog(sp->fetcher, sizeof(sp->fetcher), dir, "hermes-fetch") < 0) {
		free(sp);
		return NULL;
	}
	if (cfg->forensics.enabled && util_mkdirs(cfg->forensics.artifacts_dir, 0750) < 0)
		warn("%s: %s", cfg->forensics.artifacts_dir, strerror(errno));
	sp->cache = fetch_cache_open(cfg->forensics.artifacts_dir);
	sp->net =
	    sink_net_new(cfg->egress.subnet, (uint32_t)cfg->egress.box_rate, err, sizeof(err));
	if (sp->cache == NULL || sp->net == NULL) {
		error("network_mode sinkhole: %s", sp->net == NULL ? err : "out of memory");
		sinkhole_proc_free(sp);
		return NULL;
	}
	char keys[PATH_MAX];
	snprintf(keys, sizeof(keys), "%s", cfg->server.host_key_path);
	char *slash = strrchr(keys, '/');
	if (slash != NULL)
		*slash = '\0';
	if (sink_ca_load(slash != NULL ? keys : ".", &sp->ca_cert, &sp->ca_key) < 0) {
		sinkhole_proc_free(sp);
		return NULL;
	}
	char hash[16];
	if (sink_ca_hash(sp->ca_cert, hash) < 0) {
		sinkhole_proc_free(sp);
		return NULL;
	}
	const char *trust[] = {"sh", "-c", trust_script, "sh", sp->ca_cert, hash, NULL};
	pool_set_net(pool, on_attach, on_gone, sp);
	pool_add_prepare(pool, trust);
	start(sp);
	return sp;
}

bool sinkhole_proc_reaped(struct sinkhole_proc *sp, pid_t pid, int status)
{
	if (sp == NULL)
		return false;
	if (pid == sp->pid) {
		sp->pid = 0;
		stopped_program(sp);
		if (sp->stopping)
			return true;
		if (WIFSIGNALED(status))
			error("sinkhole killed by signal %d; starting it again", WTERMSIG(status));
		else
			error("sinkhole exited with status %d; starting it again",
			      WEXITSTATUS(status));
		/* Fetches it waited for have no one to answer: the next one
		 * numbers its requests from 1 again, and must not take their
		 * answers for its own. */
		for (struct fetch *f = sp->fetches; f != NULL; f = f->next)
			f->id = 0;
		sp->restart_timer = loop_add_timer(sp->loop, RESTART_MS, on_restart, sp);
		return true;
	}
	for (struct fetch *f = sp->fetches; f != NULL; f = f->next)
		if (f->pid == pid) {
			fetch_done(sp, f, status);
			return true;
		}
	return false;
}

void sinkhole_proc_stop(struct sinkhole_proc *sp)
{
	if (sp == NULL)
		return;
	sp->stopping = true;
	loop_del_timer(sp->loop, sp->restart_timer);
	sp->restart_timer = 0;
	if (sp->pid > 0)
		kill(sp->pid, SIGTERM);
	for (struct fetch *f = sp->fetches; f != NULL; f = f->next)
		if (f->pid > 0)
			kill(f->pid, SIGKILL);
}

bool sinkhole_proc_running(const struct sinkhole_proc *sp)
{
	return sp != NULL && (sp->pid > 0 || sp->fetches != NULL);
}

void sinkhole_proc_free(struct sinkhole_proc *sp)
{
	if (sp == NULL)
		return;
	while (sp->fetches != NULL)
		fetch_free(sp, sp->fetches);
	stopped_program(sp);
	loop_del_timer(sp->loop, sp->restart_timer);
	fetch_cache_free(sp->cache);
	sink_net_free(sp->net);
	free(sp->ca_cert);
	if (sp->ca_key != NULL)
		explicit_bzero(sp->ca_key, strlen(sp->ca_key));
	free(sp->ca_key);
	free(sp);
}
