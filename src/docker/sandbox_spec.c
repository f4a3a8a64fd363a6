/*
 * sandbox_spec: builds the JSON bodies of Docker's container create and exec
 * create (API 1.41) from the config: this file is where the sandbox's limits
 * are written down.
 *
 * Not the Docker client (no I/O here) and not the pool's policy (when to
 * create, name or rename). Every field is set explicitly, even where it
 * equals Docker's default, so that a daemon with other defaults cannot
 * loosen the sandbox silently.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/evp.h>

#include "box_boot.h"
#include "digest.h"
#include "sandbox_spec.h"
#include "util.h"

/*
 * Docker's syntax (moby term.ToBytes): comma-separated keys, each one
 * character or "ctrl-<c>" with c in a-z @ [ \ ] ^ _. Docker matches it only
 * against single-byte reads, so pasted text never triggers it; a human
 * would have to type these ten rarely used control keys in this order. The
 * first key is held back by Docker until the next one arrives, so it is one
 * that shells leave unbound.
 */
const char SANDBOX_DETACH_KEYS[] =
    "ctrl-],ctrl-^,ctrl-_,ctrl-],ctrl-^,ctrl-_,ctrl-],ctrl-^,ctrl-_,ctrl-]";

#define CPU_PERIOD 100000 /* Docker's CFS period; cpu_quota is in cores of it */
#define TERM_MAX   64

/*
 * Jansson's *_set_new and *_append_new take ownership of the value even when
 * they fail and refuse a NULL container or value, so a body can be built
 * call after call, OR-ing the failures, and freed once at the end.
 */
static int put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) != 0;
}

static int put_str(json_t *o, const char *key, const char *s)
{
	return put(o, key, json_string(s));
}

static json_t *child(json_t *parent, const char *key, json_t *o)
{
	if (!o || json_object_set_new(parent, key, o) != 0)
		return NULL;
	return o;
}

static int append_str(json_t *a, const char *s)
{
	return json_array_append_new(a, json_string(s)) != 0;
}

static int put_strlist(json_t *o, const char *key, const struct strlist *l)
{
	json_t *a = child(o, key, json_array());
	int bad = !a;
	size_t i;

	for (i = 0; i < l->n; i++)
		bad |= append_str(a, l->items[i]);
	return bad;
}

void sandbox_instance(const struct config *c, char out[SANDBOX_INSTANCE_LEN + 1])
{
	char *dir = realpath(c->logging.output_dir, NULL);
	char hex[DIGEST_HEX_MAX];
	const char *name = dir != NULL ? dir : c->logging.output_dir;

	if (digest_hex(EVP_sha256(), name, strlen(name), hex) < 0)
		snprintf(hex, sizeof(hex), "%s", "0000000000000000");
	free(dir);
	memcpy(out, hex, SANDBOX_INSTANCE_LEN); /* 64 bits of it are plenty */
	out[SANDBOX_INSTANCE_LEN] = '\0';
}

int64_t sandbox_shm_size(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || size <= 0)
		return 64LL << 20; /* Docker's */
	return (int64_t)pages * size / 2;
}

int sandbox_runtime_pick(const json_t *info, const char *want, bool local, const char **runtime,
                         char *why, size_t why_len)
{
	const json_t *all = json_object_get(info, "Runtimes"), *mine;
	const char *path;

	*runtime = NULL;
	why[0] = '\0';
	if (strcmp(want, "default") == 0)
		return 0;
	if (strcmp(want, "auto") != 0) {
		if (json_is_object(json_object_get(all, want))) {
			*runtime = want;
			return 0;
		}
		snprintf(why, why_len, "the Docker engine has no OCI runtime named %s", want);
		return -1;
	}
	mine = json_object_get(all, SANDBOX_RUNTIME);
	path = json_string_value(json_object_get(mine, "path"));
	if (!json_is_object(mine)) {
		snprintf(why, why_len, "the Docker engine has no %s runtime", SANDBOX_RUNTIME);
		return 0;
	}
	if (local && path != NULL && access(path, X_OK) != 0) {
		snprintf(why, why_len,
		         "the Docker engine's %s runtime, %.200s, is not there to run",
		         SANDBOX_RUNTIME, path);
		return 0;
	}
	*runtime = SANDBOX_RUNTIME;
	return 0;
}

const char *const sandbox_etc_path[ENGINE_FILES_N] = ENGINE_FILE_PATHS;
/* hermes-runtime takes each text from its variable and removes the variable. */
static const char *const etc_env[ENGINE_FILES_N] = ENGINE_FILE_ENVS;

size_t sandbox_etc_text(const struct config *c, enum engine_file which, char *out, size_t cap)
{
	const char *h = c->container_pool.hostname, *mode = c->container_pool.security.network_mode;
	const char *dot = h != NULL ? strchr(h, '.') : NULL;
	char gw[INET_ADDRSTRLEN];
	uint32_t net;
	int n = -1, prefix;

	if (h == NULL || mode == NULL)
		return 0;
	switch (which) {
	case ENGINE_HOSTNAME:
		n = snprintf(out, cap, "%s\n", h);
		break;
	case ENGINE_HOSTS:
		/* With a domain, the installer writes the full name, then the
		 * short one. */
		n = snprintf(out, cap,
		             "127.0.0.1\tlocalhost\n127.0.1.1\t%s%s%.*s\n\n"
		             "# The following lines are desirable for IPv6 capable hosts\n"
		             "::1     localhost ip6-localhost ip6-loopback\n"
		             "ff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n",
		             h, dot ? "\t" : "", dot ? (int)(dot - h) : 0, h);
		break;
	case ENGINE_RESOLV:
		if (strcmp(mode, "none") != 0 && strcmp(mode, "sinkhole") != 0)
			return 0;
		if (c->egress.subnet == NULL ||
		    util_parse_cidr4(c->egress.subnet, 8, 28, &net, &prefix) < 0)
			return 0;
		net = htonl(ntohl(net) + 1);
		if (inet_ntop(AF_INET, &net, gw, sizeof(gw)) == NULL)
			return 0;
		n = snprintf(out, cap, "nameserver %s\n", gw);
		break;
	default:
		return 0;
	}
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The texts, when the box is made by hermes-runtime: to any other runtime
 * they would be variables in PID 1's environment. */
static int put_etc_env(json_t *spec, const struct config *c, const char *runtime)
{
	char text[1024], *entry;
	json_t *env;
	int bad = 0;

	if (runtime == NULL || strcmp(runtime, SANDBOX_RUNTIME) != 0)
		return 0;
	if ((env = child(spec, "Env", json_array())) == NULL)
		return 1;
	for (int f = 0; f < ENGINE_FILES_N; f++) {
		if (sandbox_etc_text(c, (enum engine_file)f, text, sizeof(text)) == 0)
			continue;
		if (asprintf(&entry, "%s=%s", etc_env[f], text) < 0)
			return 1;
		bad |= append_str(env, entry);
		free(entry);
	}
	return bad;
}

int sandbox_spec_boot(json_t *spec, int64_t boot_ms)
{
	json_t *env = json_object_get(spec, "Env");
	char entry[64];

	if (env == NULL)
		env = child(spec, "Env", json_array());
	if (!json_is_array(env) || boot_ms <= 0)
		return -1;
	snprintf(entry, sizeof(entry), "%s=%lld", BOX_BOOT_ENV, (long long)boot_ms);
	return append_str(env, entry) ? -1 : 0;
}

/* Hermes's own init, read by a bash that names itself /sbin/init (as the
 * process list of a sysvinit server shows it) from a here-document, so that
 * its command line is only that. It starts the box's sshd (the session
 * agent), reaps every orphan (bash waits for any child when SIGCHLD comes),
 * and ends at once on SIGTERM (PID 1 ignores a signal it has no handler
 * for). Background jobs of a shell without job control read /dev/null. */
const char *const sandbox_own_init[] = {"/bin/bash", "-c",
                                        "exec -a /sbin/init /bin/bash <<'INIT'\n"
                                        "trap 'exit 0' TERM INT\n"
                                        "trap '' HUP\n"
                                        "printf init >/proc/self/comm 2>/dev/null\n"
                                        "cd / || exit 1\n"
                                        "mkdir -p -m 755 /run/sshd\n"
                                        "/usr/sbin/sshd -D &\n"
                                        "while :; do sleep 86400 & wait \"$!\"; done\n"
                                        "INIT\n",
                                        NULL};

/* A server's /run: a tenth of its memory (Debian's initramfs mounts it so),
 * and /run/lock's 5 MiB. */
static int put_run_tmpfs(json_t *tmpfs)
{
	char opts[96];

	snprintf(opts, sizeof(opts), "rw,nosuid,nodev,noexec,size=%lldk,mode=755",
	         (long long)(sandbox_shm_size() / 5 / 1024));
	return put_str(tmpfs, "/run", opts) |
	       put_str(tmpfs, "/run/lock", "rw,nosuid,nodev,noexec,size=5120k");
}

int sandbox_spec_init(json_t *spec, enum sandbox_init init)
{
	json_t *host = json_object_get(spec, "HostConfig");
	json_t *tmpfs = json_object_get(host, "Tmpfs"), *env, *cmd;
	char entry[64];
	int bad = 0;

	if (!json_is_object(tmpfs))
		return -1;
	if (init == SANDBOX_INIT_SYSTEMD) {
		env = json_object_get(spec, "Env");
		if (env == NULL)
			env = child(spec, "Env", json_array());
		if (!json_is_array(env))
			return -1;
		snprintf(entry, sizeof(entry), "%s=%s", BOX_INIT_ENV, BOX_INIT_SYSTEMD);
		bad |= append_str(env, entry);
		bad |= put_run_tmpfs(tmpfs);
		bad |= put_str(spec, "StopSignal", "SIGRTMIN+3");
	} else if (init == SANDBOX_INIT_OWN) {
		if ((cmd = child(spec, "Cmd", json_array())) == NULL)
			return -1;
		for (size_t i = 0; sandbox_own_init[i] != NULL; i++)
			bad |= append_str(cmd, sandbox_own_init[i]);
		bad |= put_str(spec, "StopSignal", "SIGTERM");
	}
	return bad ? -1 : 0;
}

json_t *sandbox_container_spec(const struct config *c, const char *session_id, const char *created,
                               const char *instance, const char *runtime)
{
	const __typeof__(c->container_pool.security) *s = &c->container_pool.security;
	json_t *spec = json_object(), *labels, *host, *tmpfs;
	char opts[96];
	int bad = !spec;

	bad |= put_str(spec, "Image", c->container_pool.image);
	bad |= put_str(spec, "Hostname", c->container_pool.hostname);
	labels = child(spec, "Labels", json_object());
	bad |= !labels;
	bad |= put_str(labels, "hermes.role", "target");
	bad |= put_str(labels, "hermes.session_id", session_id ? session_id : "");
	bad |= put_str(labels, "hermes.created", created ? created : "");
	if (instance != NULL)
		bad |= put_str(labels, SANDBOX_INSTANCE_LABEL, instance);
	/* The image's CMD is the container's long-lived init; shells come
	 * later through exec, so nothing is attached and Cmd is not set. */
	bad |= put(spec, "Tty", json_false());
	bad |= put(spec, "OpenStdin", json_false());
	bad |= put(spec, "AttachStdin", json_false());
	bad |= put(spec, "AttachStdout", json_false());
	bad |= put(spec, "AttachStderr", json_false());
	bad |= put_str(spec, "WorkingDir", SANDBOX_HOME);
	bad |= put_str(spec, "User", "root");
	bad |= put_etc_env(spec, c, runtime);

	host = child(spec, "HostConfig", json_object());
	bad |= !host;
	/* sinkhole: Docker makes a namespace with lo only, as for none, and
	 * Hermes gives it its eth0 (sink_net.h) before the box is ready. */
	bad |= put_str(host, "NetworkMode",
	               strcmp(s->network_mode, "sinkhole") == 0 ? "none" : s->network_mode);
	bad |= put(host, "Memory", json_integer(s->memory_limit));
	/* MemorySwap is memory plus swap: equal to Memory means no swap. */
	bad |= put(host, "MemorySwap", json_integer(s->memory_limit));
	/* CpuQuota/CpuPeriod rather than NanoCpus: the daemon refuses both
	 * at once, and these are what the prototype's users configured. */
	bad |= put(host, "CpuQuota", json_integer(llround(s->cpu_quota * CPU_PERIOD)));
	bad |= put(host, "CpuPeriod", json_integer(CPU_PERIOD));
	bad |= put(host, "PidsLimit", json_integer(s->pids_limit));
	bad |= put_strlist(host, "CapDrop", &s->cap_drop);
	bad |= put_strlist(host, "CapAdd", &s->cap_add);
	bad |= put_strlist(host, "SecurityOpt", &s->security_opt);
	/* exec on purpose: on a real server attackers run their payloads from
	 * /tmp, and watching them do so is the point. */
	snprintf(opts, sizeof(opts), "rw,exec,nosuid,nodev,size=%lld", (long long)s->tmpfs_size);
	tmpfs = child(host, "Tmpfs", json_object());
	bad |= !tmpfs;
	bad |= put_str(tmpfs, "/tmp", opts);
	/* /dev/shm as a server's: half the memory the box's /proc/meminfo
	 * shows (the host's), not Docker's 64 MiB; the memory limit still
	 * bounds what it can hold. */
	bad |= put(host, "ShmSize", json_integer(sandbox_shm_size()));
	/* No docker-init as PID 1: it is a container tell, and the image
	 * brings its own init. */
	bad |= put(host, "Init", json_false());
	/* Stopped containers are kept for forensics, never restarted. */
	bad |= put(host, "AutoRemove", json_false());
	bad |= put(host, "RestartPolicy", json_pack("{s:s}", "Name", "no"));
	/* A private cgroup namespace hides the host's cgroup paths. */
	bad |= put_str(host, "CgroupnsMode", "private");
	bad |= put_str(host, "IpcMode", "private");
	bad |= put(host, "Privileged", json_false());
	bad |= put(host, "ReadonlyRootfs", json_false());
	if (runtime != NULL)
		bad |= put_str(host, "Runtime", runtime);

	if (bad) {
		json_decref(spec);
		return NULL;
	}
	return spec;
}

/* TERM comes from the client's pty request: keep a plausible terminal name,
 * anything else (control bytes, non-ASCII, absurd length) becomes xterm. */
static const char *term_name(const char *term)
{
	size_t i;

	if (!term || !term[0])
		return "xterm";
	for (i = 0; term[i]; i++)
		if (i >= TERM_MAX || term[i] <= ' ' || term[i] > '~')
			return "xterm";
	return term;
}

static const char *const base_env[] = {
    ("HOME=" SANDBOX_HOME), /* parenthesized: one string, not a missing comma */
    "USER=root",
    "LOGNAME=root",
    "SHELL=/bin/bash",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

json_t *sandbox_exec_spec(const struct config *c, const struct exec_params *p)
{
	json_t *spec = json_object(), *cmd, *env;
	char term[sizeof("TERM=") + TERM_MAX];
	const char *const *e;
	size_t i;
	int bad = !spec;

	(void)c; /* nothing configurable yet; kept so callers need not change */
	bad |= put(spec, "AttachStdin", json_true());
	bad |= put(spec, "AttachStdout", json_true());
	bad |= put(spec, "AttachStderr", json_true());
	bad |= put(spec, "Tty", json_boolean(p->tty));
	bad |= put_str(spec, "User", "root");
	bad |= put_str(spec, "WorkingDir", SANDBOX_HOME);
	bad |= put_str(spec, "DetachKeys", SANDBOX_DETACH_KEYS);

	cmd = child(spec, "Cmd", json_array());
	bad |= !cmd;
	if (p->parent != NULL && p->parent[0] != '\0') {
		/* The session parent runs the user's shell as sshd does:
		 * "-bash", or "bash -c COMMAND". */
		bad |= append_str(cmd, p->parent);
		bad |= append_str(cmd, "-R");
		bad |= append_str(cmd, p->token ? p->token : "");
		/* Docker 1.41 sizes an exec's pty only once it runs; the parent
		 * sets it before the shell starts, as sshd does. */
		if (p->tty && p->width > 0 && p->height > 0) {
			char size[32];
			snprintf(size, sizeof(size), "%dx%d", p->width, p->height);
			bad |= append_str(cmd, "-s");
			bad |= append_str(cmd, size);
		}
	} else {
		bad |= append_str(cmd, "/bin/bash");
		if (!p->command)
			bad |= append_str(cmd, "-l");
	}
	if (p->command) {
		/* Fails (NULL spec) unless the caller made it valid UTF-8. */
		bad |= append_str(cmd, "-c");
		bad |= append_str(cmd, p->command);
	}

	env = child(spec, "Env", json_array());
	bad |= !env;
	for (i = 0; i < sizeof(base_env) / sizeof(base_env[0]); i++)
		bad |= append_str(env, base_env[i]);
	if (p->tty) {
		snprintf(term, sizeof(term), "TERM=%s", term_name(p->term));
		bad |= append_str(env, term);
	}
	/* A client's env request that is not KEY=VALUE or not UTF-8 is
	 * dropped: it must not cost the attacker a working shell. */
	for (e = p->env; e && *e; e++) {
		json_t *v;

		if ((*e)[0] == '=' || !strchr(*e, '='))
			continue;
		v = json_string(*e);
		if (v)
			bad |= json_array_append_new(env, v) != 0;
	}

	if (bad) {
		json_decref(spec);
		return NULL;
	}
	return spec;
}

json_t *sandbox_tool_exec_spec(const char *const *argv)
{
	json_t *spec = json_object(), *cmd;
	int bad = !spec;

	bad |= put(spec, "AttachStdin", json_false());
	bad |= put(spec, "AttachStdout", json_true());
	bad |= put(spec, "AttachStderr", json_false());
	bad |= put(spec, "Tty", json_false());
	bad |= put_str(spec, "User", "root");
	cmd = child(spec, "Cmd", json_array());
	bad |= !cmd;
	for (; !bad && *argv != NULL; argv++)
		bad |= append_str(cmd, *argv);
	if (bad) {
		json_decref(spec);
		return NULL;
	}
	return spec;
}

void sandbox_container_name(const char *session_id, time_t t, char out[64])
{
	char id[9], when[32];
	struct tm tm;
	size_t i, n = 0;

	/* Only hex reaches the name, so a strange id can never make a name
	 * Docker refuses or one that means something else. */
	for (i = 0; session_id && i < 8 && session_id[i]; i++) {
		char ch = session_id[i];

		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))
			id[n++] = ch;
	}
	id[n] = '\0';
	if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm) == 0)
		snprintf(when, sizeof(when), "19700101-000000");
	snprintf(out, 64, "hermes-target-%s-%s", id, when);
}
