/*
 * doctor: what an operator checks before starting Hermes; see doctor.h.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agent_proto.h"
#include "docker.h"
#include "docker_json.h"
#include "doctor.h"
#include "log.h"
#include "loop.h"
#include "metrics_proc.h"
#include "sandbox_spec.h"
#include "sandbox_util.h"
#include "session.h"
#include "stealth.h"

#define DISK_FAIL  ((uint64_t)1 << 30) /* under 1 GiB free: a problem */
#define DISK_WARN  ((uint64_t)5 << 30) /* under 5 GiB: worth saying */
#define API_NEEDED 41                  /* Docker API 1.41 */
#define CALL_MS    15000

struct doctor {
	FILE *out;
	int failed, warned;
};

__attribute__((format(printf, 3, 4))) static void ok(struct doctor *d, const char *what,
                                                     const char *fmt, ...)
{
	va_list ap;
	fprintf(d->out, "ok    %s: ", what);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	fputc('\n', d->out);
}

/* A problem (fail) or something to know (warn): what was found, then
 * what to do. */
__attribute__((format(printf, 5, 6))) static void
problem(struct doctor *d, bool fail, const char *what, const char *fix, const char *fmt, ...)
{
	va_list ap;
	fprintf(d->out, "%s  %s: ", fail ? "FAIL" : "warn", what);
	va_start(ap, fmt);
	vfprintf(d->out, fmt, ap);
	va_end(ap);
	if (fix != NULL)
		fprintf(d->out, "\n      fix: %s", fix);
	fputc('\n', d->out);
	if (fail)
		d->failed++;
	else
		d->warned++;
}

/* ---- the workers' user and root ---- */

static void check_user(struct doctor *d, const struct config *cfg)
{
	if (!sandbox_can_take_user()) {
		problem(
		    d, false, "user",
		    "run Hermes as root, or give it CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT "
		    "(the Debian package's unit does)",
		    "neither root nor able to change user: workers cannot chroot or change user "
		    "(they keep no_new_privs and their system-call filter)");
		return;
	}
	struct passwd *pw = getpwnam(cfg->server.worker_user);
	if (pw == NULL)
		problem(
		    d, true, "server.worker_user",
		    "create it (useradd --system --no-create-home --shell /usr/sbin/nologin NAME) "
		    "or name another",
		    "%s: no such user", cfg->server.worker_user);
	else if (pw->pw_uid == 0)
		problem(d, true, "server.worker_user", "name an unprivileged user (nobody)",
		        "%s is root", cfg->server.worker_user);
	else
		ok(d, "server.worker_user", "%s (uid %u)", cfg->server.worker_user,
		   (unsigned)pw->pw_uid);

	const char *root = cfg->server.worker_chroot;
	struct stat st;
	if (stat(root, &st) < 0) {
		ok(d, "server.worker_chroot", "%s does not exist: made at start (root's, 0755)",
		   root);
		return;
	}
	int entries = 0;
	DIR *dir = S_ISDIR(st.st_mode) ? opendir(root) : NULL;
	for (struct dirent *de; dir != NULL && (de = readdir(dir)) != NULL;)
		entries += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (dir != NULL)
		closedir(dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0)
		problem(d, true, "server.worker_chroot",
		        "make it a directory of root's no one else may write: chown root: DIR; "
		        "chmod 755 DIR",
		        "%s: not a directory of root's, or writable by others", root);
	else if (entries > 0)
		problem(d, true, "server.worker_chroot",
		        "name an empty directory (the workers' whole file system)", "%s: not empty",
		        root);
	else
		ok(d, "server.worker_chroot", "%s: empty, root's, 0%o", root,
		   (unsigned)(st.st_mode & 07777));
}

/* ---- the programs ---- */

static void check_program(struct doctor *d, const char *name)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dirname(self), name);
		if (access(path, X_OK) == 0) {
			ok(d, name, "%s", path);
			return;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", HERMES_LIBEXECDIR, name);
	if (access(path, X_OK) == 0)
		ok(d, name, "%s", path);
	else
		problem(d, true, name,
		        "install Hermes whole (meson install, or the Debian package)",
		        "neither beside this program nor in %s", HERMES_LIBEXECDIR);
}

/* ---- keys and directories ---- */

static void check_key(struct doctor *d, const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			ok(d, "server.host_key_path", "%s: made at first start", path);
		else
			problem(d, true, "server.host_key_path",
			        "make it readable by the user Hermes runs as", "%s: %s", path,
			        strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode))
		problem(d, true, "server.host_key_path",
		        "remove it: Hermes makes a new key at start", "%s: not a regular file",
		        path);
	else if ((st.st_mode & 077) != 0)
		problem(d, true, "server.host_key_path",
		        "chmod 600 the key (and keep its directory 0700)",
		        "%s: mode 0%o, readable by others", path, (unsigned)(st.st_mode & 07777));
	else if (st.st_uid != geteuid())
		problem(d, false, "server.host_key_path", "chown it to the user Hermes runs as",
		        "%s: owned by uid %u, not by this user", path, (unsigned)st.st_uid);
	else
		ok(d, "server.host_key_path", "%s: 0%o", path, (unsigned)(st.st_mode & 07777));
}

static void check_keys(struct doctor *d, const struct config *cfg)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];

	snprintf(dir, sizeof(dir), "%s", cfg->server.host_key_path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	check_key(d, cfg->server.host_key_path);
	snprintf(path, sizeof(path), "%s/ssh_host_ecdsa_key", dir);
	check_key(d, path);
	snprintf(path, sizeof(path), "%s/ssh_host_ed25519_key", dir);
	check_key(d, path);
}

struct fs_seen {
	unsigned long fsid[8];
	size_t n;
};

static void check_disk(struct doctor *d, const char *dir, struct fs_seen *seen, int64_t budget)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) < 0)
		return;
	for (size_t i = 0; i < seen->n; i++)
		if (seen->fsid[i] == sv.f_fsid)
			return;
	if (seen->n < sizeof(seen->fsid) / sizeof(seen->fsid[0]))
		seen->fsid[seen->n++] = sv.f_fsid;
	uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	double gib = (double)avail / (1 << 30);
	if (avail < DISK_FAIL)
		problem(d, true, "disk",
		        "free space there, or move the data directories to a larger disk",
		        "%.1f GiB free where %s is", gib, dir);
	else if (avail < DISK_WARN)
		problem(d, false, "disk", "set forensics.disk_budget below it, or free space",
		        "%.1f GiB free where %s is: recordings and artifacts fill it", gib, dir);
	else if (budget > 0 && (uint64_t)budget > avail)
		problem(d, false, "disk", "lower forensics.disk_budget, or free space",
		        "%.1f GiB free where %s is, less than forensics.disk_budget", gib, dir);
	else
		ok(d, "disk", "%.1f GiB free where %s is", gib, dir);
}

/* A data directory: there and ours to write, or made at start; never
 * writable by others (anyone could plant or remove what is kept), and
 * better not readable by them (it holds attackers' passwords). */
static void check_dir(struct doctor *d, const char *key, const char *path, struct fs_seen *seen,
                      int64_t budget)
{
	char probe[PATH_MAX];
	struct stat st;

	snprintf(probe, sizeof(probe), "%s", path);
	if (stat(path, &st) < 0) {
		/* The nearest ancestor that exists must let us make it. */
		char *slash;
		while ((slash = strrchr(probe, '/')) != NULL && stat(probe, &st) < 0)
			*slash = '\0';
		if (slash == NULL && stat(probe, &st) < 0)
			snprintf(probe, sizeof(probe), ".");
		if (probe[0] == '\0')
			snprintf(probe, sizeof(probe), "/");
		if (access(probe, W_OK | X_OK) < 0)
			problem(d, true, key, "create it, owned by the user Hermes runs as (0750)",
			        "%s does not exist, and %s is not writable to make it", path,
			        probe);
		else
			ok(d, key, "%s: made at start (0750)", path);
		check_disk(d, probe, seen, budget);
		return;
	}
	if (!S_ISDIR(st.st_mode))
		problem(d, true, key, "name a directory", "%s is not a directory", path);
	else if (access(path, W_OK | X_OK) < 0)
		problem(d, true, key, "chown it to the user Hermes runs as",
		        "%s is not writable by this user", path);
	else if ((st.st_mode & 002) != 0)
		problem(
		    d, true, key, "chmod o-w (0750)",
		    "%s is writable by everyone: anyone on the machine can plant or remove what "
		    "is kept",
		    path);
	else if ((st.st_mode & 004) != 0)
		problem(d, false, key, "chmod o-rx (0750)",
		        "%s is readable by everyone: it holds attackers' passwords and payloads",
		        path);
	else
		ok(d, key, "%s: 0%o", path, (unsigned)(st.st_mode & 07777));
	check_disk(d, path, seen, budget);
}

static void check_dirs(struct doctor *d, const struct config *cfg)
{
	struct fs_seen seen = {.n = 0};
	int64_t budget = cfg->forensics.disk_budget;

	check_dir(d, "logging.output_dir", cfg->logging.output_dir, &seen, budget);
	if (cfg->recording.enabled)
		check_dir(d, "recording.output_dir", cfg->recording.output_dir, &seen, budget);
	if (cfg->forensics.enabled) {
		check_dir(d, "forensics.artifacts_dir", cfg->forensics.artifacts_dir, &seen,
		          budget);
		char db[PATH_MAX];
		snprintf(db, sizeof(db), "%s", cfg->forensics.database);
		check_dir(d, "forensics.database", dirname(db), &seen, budget);
	}
}

/* ---- ports ---- */

/* The command of the process that has a listening socket on port, or
 * NULL (not found, or not ours to see). */
static const char *listener(int port, char *comm, size_t cap)
{
	char inode[48] = "";
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};

	for (size_t t = 0; t < 2 && inode[0] == '\0'; t++) {
		FILE *f = fopen(tables[t], "re");
		char line[512];
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			char local[128], state[8], node[32];
			if (sscanf(line, "%*s %127s %*s %7s %*s %*s %*s %*s %*s %31s", local, state,
			           node) != 3)
				continue;
			const char *colon = strrchr(local, ':');
			if (colon != NULL && strtol(colon + 1, NULL, 16) == port &&
			    strcmp(state, "0A") == 0) {
				snprintf(inode, sizeof(inode), "socket:[%s]", node);
				break;
			}
		}
		if (f != NULL)
			fclose(f);
	}
	DIR *proc = inode[0] != '\0' ? opendir("/proc") : NULL;
	const char *found = NULL;
	for (struct dirent *p; proc != NULL && found == NULL && (p = readdir(proc)) != NULL;) {
		char fddir[300], link[PATH_MAX], target[64];
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(fddir, sizeof(fddir), "/proc/%s/fd", p->d_name);
		DIR *fds = opendir(fddir);
		for (struct dirent *e;
		     fds != NULL && found == NULL && (e = readdir(fds)) != NULL;) {
			snprintf(link, sizeof(link), "%s/%s", fddir, e->d_name);
			ssize_t n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, inode) != 0)
				continue;
			snprintf(link, sizeof(link), "/proc/%s/comm", p->d_name);
			FILE *c = fopen(link, "re");
			if (c != NULL && fgets(comm, (int)cap, c) != NULL) {
				comm[strcspn(comm, "\n")] = '\0';
				found = comm;
			}
			if (c != NULL)
				fclose(c);
		}
		if (fds != NULL)
			closedir(fds);
	}
	if (proc != NULL)
		closedir(proc);
	return found;
}

static void check_port(struct doctor *d, const char *what, const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char comm[64], why[160];

	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		problem(d, true, what, "name an address of this machine", "%s: %s", host,
		        gai_strerror(r));
		return;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	int err = 0;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	if (err == 0) {
		ok(d, what, "%s port %s is free to listen on", host, port);
		return;
	}
	if (err == EADDRINUSE) {
		const char *who = listener(atoi(port), comm, sizeof(comm));
		snprintf(why, sizeof(why), "%s", who != NULL ? who : "another program");
		problem(
		    d, true, what,
		    strcmp(why, "sshd") == 0
		        ? "move the machine's own sshd to another port first (docs/deploy.md)"
		        : "stop what listens there (a Hermes already running?) or choose another "
		          "port",
		    "%s port %s is taken by %s", host, port, why);
	} else if (err == EACCES) {
		problem(d, true, what,
		        "run as root, or give the program CAP_NET_BIND_SERVICE (the Debian "
		        "package's unit does)",
		        "%s port %s: a port below 1024 needs a privilege this user has not", host,
		        port);
	} else {
		problem(d, true, what, "name an address of this machine", "%s port %s: %s", host,
		        port, strerror(err));
	}
}

static void check_ports(struct doctor *d, const struct config *cfg)
{
	char port[8];

	snprintf(port, sizeof(port), "%d", cfg->server.port);
	check_port(d, "server.port", cfg->server.host, port);
	if (cfg->metrics.listen != NULL) {
		char host[256], mport[6];
		const char *why = NULL;
		if (metrics_listen_split(cfg->metrics.listen, host, sizeof(host), mport, &why) == 0)
			check_port(d, "metrics.listen", host, mport);
	}
}

/* ---- the engine ---- */

/* "1.43" -> 43 for a 1.x version; -1 otherwise. */
static int api_minor(const char *v)
{
	char *end;
	if (v == NULL || strncmp(v, "1.", 2) != 0)
		return -1;
	long m = strtol(v + 2, &end, 10);
	return end != v + 2 && m >= 0 && m < 1000 ? (int)m : -1;
}

static bool check_engine(struct doctor *d, const struct config *cfg, struct docker *dk)
{
	const char *where = cfg->docker.base_url ? cfg->docker.base_url : cfg->docker.socket_path;
	struct docker_answer a;

	if (docker_call_wait(dk, "GET", "/version", NULL, DOCKER_ANSWER_MAX, CALL_MS, &a) < 0)
		return false;
	if (a.status != 200) {
		problem(d, true, "docker",
		        "start the engine (systemctl start docker, or scripts/docker-up.sh in a "
		        "checkout), let this user use it (the docker group), or set "
		        "docker.socket_path / docker.base_url",
		        "cannot use the engine at %s: %s", where,
		        a.error[0] ? a.error : "no answer");
		docker_answer_clear(&a);
		return false;
	}
	const char *version = json_string_value(json_object_get(a.json, "Version"));
	const char *api = json_string_value(json_object_get(a.json, "ApiVersion"));
	int minor = api_minor(api);
	bool fine = minor >= API_NEEDED;
	if (fine)
		ok(d, "docker", "engine %s (API %s) at %s", version ? version : "?", api, where);
	else
		problem(d, true, "docker", "upgrade the engine (Debian 12's docker.io is enough)",
		        "engine %s speaks API %s; Hermes needs 1.%d", version ? version : "?",
		        api ? api : "?", API_NEEDED);
	docker_answer_clear(&a);
	return fine;
}

static void check_runtime(struct doctor *d, const struct config *cfg, struct docker *dk)
{
	struct docker_answer a;
	const char *runtime = NULL;
	char why[300] = "";

	if (docker_call_wait(dk, "GET", "/info", NULL, DOCKER_ANSWER_MAX, CALL_MS, &a) < 0)
		return;
	int r = sandbox_runtime_pick(a.status == 200 ? a.json : NULL, cfg->container_pool.runtime,
	                             cfg->docker.base_url == NULL, &runtime, why, sizeof(why));
	docker_answer_clear(&a);
	if (r < 0)
		problem(d, true, "container_pool.runtime",
		        "register hermes-runtime with the engine (docs/stealth.md) or set "
		        "container_pool.runtime: default",
		        "%s", why);
	else if (why[0] != '\0')
		problem(d, false, "container_pool.runtime",
		        "register hermes-runtime with the engine (docs/stealth.md)",
		        "%s: boxes keep Docker's tells", why);
	else
		ok(d, "container_pool.runtime", "%s", runtime ? runtime : "the engine's default");
}

/* An image with a session agent that speaks another protocol (built from
 * older sources) gets docker exec for every channel (monitor.c). */
static void check_agent_protocol(struct doctor *d, const char *image, const json_t *inspect)
{
	const char *agent = NULL, *protocol = NULL;
	char want[16];

	docker_json_label(inspect, AGENT_LABEL, &agent, NULL);
	if (agent == NULL || agent[0] == '\0')
		return;
	docker_json_label(inspect, AGENT_PROTOCOL_LABEL, &protocol, NULL);
	snprintf(want, sizeof(want), "%d", AGENT_PROTO_VERSION);
	if (protocol != NULL && strcmp(protocol, want) == 0)
		ok(d, "hermes.agent_protocol", "protocol %s", want);
	else
		problem(d, false, "hermes.agent_protocol",
		        "build the image again from these sources (scripts/build-images.sh)",
		        "%s's session agent speaks protocol %s, this Hermes %s: every channel is a "
		        "docker exec",
		        image, protocol != NULL && protocol[0] != '\0' ? protocol : "1", want);
}

static bool check_image(struct doctor *d, const struct config *cfg, struct docker *dk)
{
	const char *image = cfg->container_pool.image;
	char path[600];
	struct docker_answer a;

	snprintf(path, sizeof(path), "/images/%s/json", image);
	if (docker_call_wait(dk, "GET", path, NULL, DOCKER_ANSWER_MAX, CALL_MS, &a) < 0)
		return false;
	bool there = a.status == 200;
	if (there) {
		ok(d, "container_pool.image", "%s", image);
		if (cfg->container_pool.agent)
			check_agent_protocol(d, image, a.json);
	} else if (a.status == 404)
		problem(d, true, "container_pool.image",
		        "build it (scripts/build-images.sh in a checkout) or docker pull it",
		        "%s does not exist", image);
	else
		problem(d, true, "container_pool.image", "see what the engine says", "%s: %s",
		        image, a.error);
	docker_answer_clear(&a);
	return there;
}

static void check_stealth(struct doctor *d, const struct config *cfg, struct docker *dk)
{
	struct stealth s;

	memset(&s, 0, sizeof(s));
	if (stealth_choose(&s, cfg, dk) < 0)
		problem(
		    d, true, "stealth.profile",
		    "name a profile that fits the image (stealth.profile), or use an image of a "
		    "distribution Hermes has a profile for (docs/stealth.md)",
		    "no profile for %s (the reason is above)", cfg->container_pool.image);
	else
		ok(d, "stealth.profile", "%s: SSH-2.0-%s", s.profile.name, s.profile.offer.banner);
	explicit_bzero(&s, sizeof(s));
}

static void check_docker(struct doctor *d, const struct config *cfg)
{
	const char *err = NULL;
	struct loop *l = loop_new();
	struct docker *dk =
	    l != NULL ? docker_new(l, cfg->docker.socket_path, cfg->docker.base_url, &err) : NULL;

	if (dk == NULL)
		problem(d, true, "docker", "correct docker.base_url", "%s",
		        err ? err : "out of memory");
	else if (check_engine(d, cfg, dk)) {
		check_runtime(d, cfg, dk);
		if (check_image(d, cfg, dk))
			check_stealth(d, cfg, dk);
	}
	docker_free(dk);
	loop_free(l);
}

int doctor_run(const struct config *cfg, FILE *out)
{
	struct doctor d = {.out = out};

	ok(&d, "config", "%s", cfg->path ? cfg->path : "(defaults)");
	check_user(&d, cfg);
	check_program(&d, "hermes-worker");
	if (cfg->metrics.listen != NULL)
		check_program(&d, "hermes-metrics");
	if (strcmp(cfg->container_pool.security.network_mode, "sinkhole") == 0) {
		check_program(&d, "hermes-sinkhole");
		check_program(&d, "hermes-fetch");
	}
	check_keys(&d, cfg);
	check_dirs(&d, cfg);
	check_ports(&d, cfg);
	check_docker(&d, cfg);
	fprintf(out, "%s: %d problem%s, %d warning%s\n", d.failed ? "not ready" : "ready", d.failed,
	        d.failed == 1 ? "" : "s", d.warned, d.warned == 1 ? "" : "s");
	fflush(out);
	return d.failed > 0 ? 1 : 0;
}

int doctor_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == 'c') {
			path = optarg;
		} else {
			fprintf(c == 'h' ? stdout : stderr, "usage: hermes doctor --config FILE\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (path == NULL || optind != argc) {
		fprintf(stderr, "usage: hermes doctor --config FILE\n");
		return 2;
	}
	struct config *cfg = config_load_or_report(path);
	if (cfg == NULL) {
		printf("FAIL  config: %s (the problems are above)\n"
		       "      fix: correct them; hermes --check-config FILE checks again\n",
		       path);
		return 2;
	}
	/* Only what the checks below do not say themselves. */
	log_setup(LOG_ERROR, 0, "doctor");
	int rc = doctor_run(cfg, stdout);
	config_free(cfg);
	return rc;
}
