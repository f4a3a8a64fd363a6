/*
 * stealth: the profile chosen at start; see stealth.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "log.h"
#include "sandbox_spec.h"
#include "stealth.h"
#include "tar_read.h"
#include "util.h"

#define CALL_MS      30000
#define SMALL_FILE   (64 << 10) /* os-release */
#define STATUS_FILE  (16 << 20) /* dpkg's status: ~0.5 MiB on a server */
#define PASSWD_FILE  (1 << 20)  /* /etc/passwd */
#define DPKG_LOG     (16 << 20) /* /var/log/dpkg.log: ~0.3 MiB in a new image */
#define PROFILE_FILE (64 << 10)

/* A regular file of the container, copied out: NULL with *why set when it
 * cannot be read (missing, not a regular file, too large). */
static char *read_box_file(struct docker *d, const char *cid, const char *path, size_t max,
                           size_t *len, const char **why)
{
	char url[300];
	struct docker_answer a;
	const uint8_t *data;
	char *out = NULL;

	snprintf(url, sizeof(url), "/containers/%s/archive?path=%s", cid, path);
	if (docker_call_wait(d, "GET", url, NULL, max + 64 * 1024, CALL_MS, &a) < 0) {
		*why = "out of memory";
		return NULL;
	}
	if (a.status == 404)
		*why = "it does not exist";
	else if (a.status != 200)
		*why = "Docker did not give it";
	else if (tar_first_file(a.body, a.body_len, &data, len) < 0)
		*why = "it is not a regular file";
	else if (*len > max)
		*why = "it is too large";
	else if ((out = malloc(*len + 1)) == NULL)
		*why = "out of memory";
	else {
		memcpy(out, data, *len);
		out[*len] = '\0';
	}
	docker_answer_clear(&a);
	return out;
}

/* Each entry of the engine's archive of a path of the container, to fn;
 * nothing when it cannot be read. */
static void each_entry(struct docker *d, const char *cid, const char *path,
                       void (*fn)(void *arg, const struct tar_entry *e), void *arg)
{
	char url[300];
	struct docker_answer a;
	struct tar_entry *e = malloc(sizeof(*e));
	size_t off = 0;

	snprintf(url, sizeof(url), "/containers/%s/archive?path=%s", cid, path);
	if (e == NULL || docker_call_wait(d, "GET", url, NULL, PASSWD_FILE, CALL_MS, &a) < 0) {
		free(e);
		return;
	}
	while (a.status == 200 && tar_next(a.body, a.body_len, &off, e) == 1)
		fn(arg, e);
	docker_answer_clear(&a);
	free(e);
}

/* The first entry's modification time: the file's, or the directory's. */
static void first_mtime(void *arg, const struct tar_entry *e)
{
	int64_t *t = arg;

	if (*t == 0 && e->mtime > 0)
		*t = e->mtime;
	else if (*t == 0)
		*t = -1;
}

static int64_t box_file_mtime(struct docker *d, const char *cid, const char *path)
{
	int64_t t = 0;

	each_entry(d, cid, path, first_mtime, &t);
	return t > 0 ? t : 0;
}

/* The files of /var/lib/systemd/timers that are timers' stamps
 * (image_facts_stamp). */
static void take_stamp(void *arg, const struct tar_entry *e)
{
	if (e->type == '0' && strncmp(e->name, "timers/", 7) == 0 &&
	    strchr(e->name + 7, '/') == NULL)
		image_facts_stamp(arg, e->name + 7);
}

/* A file of /etc/rsyslog.d that rsyslog reads (*.conf) and that sets the
 * traditional stamp. */
static void rsyslog_part(void *arg, const struct tar_entry *e)
{
	size_t n = strlen(e->name);
	int *traditional = arg;

	if (e->type == '0' && n > 5 && strcmp(e->name + n - 5, ".conf") == 0 &&
	    image_facts_rsyslog_traditional((const char *)e->data, e->size))
		*traditional = 1;
}

/* The image's facts, from a container made of it and never started. It is
 * named as the pool's unused boxes are and labelled with this instance, so
 * that one a crash left behind is removed by the pool's reconciliation at
 * the next start (pool_reconcile). */
static int read_image(struct stealth *s, const struct config *cfg, struct docker *d)
{
	const char *image = cfg->container_pool.image, *why = NULL, *id = NULL;
	char instance[SANDBOX_INSTANCE_LEN + 1], url[200], cid[80];
	struct docker_answer a;
	char *text = NULL;
	size_t len;
	int rc = -1;

	sandbox_instance(cfg, instance);
	json_t *spec =
	    json_pack("{s:s, s:[s], s:b, s:{s:s}, s:{s:s, s:s}}", "Image", image, "Cmd",
	              "/bin/true", "NetworkDisabled", 1, "HostConfig", "NetworkMode", "none",
	              "Labels", "hermes.role", "probe", SANDBOX_INSTANCE_LABEL, instance);
	snprintf(url, sizeof(url), "/containers/create?name=hermes-pool-probe-%s-%ld", instance,
	         (long)getpid());
	if (spec == NULL ||
	    docker_call_wait(d, "POST", url, spec, DOCKER_ANSWER_MAX, CALL_MS, &a) < 0) {
		json_decref(spec);
		error("out of memory");
		return -1;
	}
	json_decref(spec);
	if (a.status != 201 || docker_json_id(a.json, &id, NULL) < 0) {
		error("cannot read the image %s: creating a container of it failed: %s", image,
		      a.error[0] ? a.error : "no container id");
		docker_answer_clear(&a);
		return -1;
	}
	snprintf(cid, sizeof(cid), "%s", id);
	docker_answer_clear(&a);

	/* os-release(5): /etc/os-release, else /usr/lib/os-release (the
	 * first is usually a link to the second). */
	text = read_box_file(d, cid, "/etc/os-release", SMALL_FILE, &len, &why);
	if (text == NULL)
		text = read_box_file(d, cid, "/usr/lib/os-release", SMALL_FILE, &len, &why);
	if (text == NULL) {
		error("image %s: cannot read its os-release: %s", image, why);
		goto out;
	}
	if (image_facts_os_release(&s->facts, text, len, &why) < 0) {
		error("image %s: its os-release has %s", image, why);
		goto out;
	}
	free(text);
	text = read_box_file(d, cid, "/var/lib/dpkg/status", STATUS_FILE, &len, &why);
	if (text == NULL || image_facts_dpkg_status(&s->facts, text, len) < 0)
		info("image %s: no dpkg status to read the openssh-server version from%s%s", image,
		     text == NULL ? ": " : "", text == NULL ? why : "");
	free(text);
	/* Whose sessions the box's log history shows (log_history.h). */
	text = read_box_file(d, cid, "/etc/passwd", PASSWD_FILE, &len, &why);
	if (text == NULL || image_facts_passwd(&s->facts, text, len) == 0)
		info("image %s: no login user in /etc/passwd%s%s: the log history shows root's "
		     "sessions",
		     image, text == NULL ? ": " : "", text == NULL ? why : "");
	/* Who owns the logs that history is written to. */
	size_t glen = 0;
	char *group = read_box_file(d, cid, "/etc/group", PASSWD_FILE, &glen, &why);
	image_facts_owners(&s->facts, text, text != NULL ? len : 0, group, glen);
	free(group);
	free(text);
	/* When it was installed, where its log history begins. */
	text = read_box_file(d, cid, "/var/log/dpkg.log", DPKG_LOG, &len, &why);
	if (text == NULL || image_facts_dpkg_log(&s->facts, text, len) == 0)
		info("image %s: no date in /var/log/dpkg.log%s%s", image, text == NULL ? ": " : "",
		     text == NULL ? why : "");
	/* The persistent timers' stamps. */
	each_entry(d, cid, "/var/lib/systemd/timers", take_stamp, &s->facts);
	/* How rsyslog stamps auth.log: the log history writes it so. */
	free(text);
	text = read_box_file(d, cid, "/etc/rsyslog.conf", SMALL_FILE, &len, &why);
	if (text != NULL) {
		int traditional = image_facts_rsyslog_traditional(text, len);
		each_entry(d, cid, "/etc/rsyslog.d", rsyslog_part, &traditional);
		s->facts.syslog_rfc3339 = !traditional;
	}
	/* When the host keys were made: with the package (its file list). */
	if ((s->facts.keys_mtime =
	         box_file_mtime(d, cid, "/var/lib/dpkg/info/openssh-server.list")) == 0)
		s->facts.keys_mtime = box_file_mtime(d, cid, "/etc/ssh");
	rc = 0;
out:
	free(text);
	snprintf(url, sizeof(url), "/containers/%s?force=1&v=1", cid);
	if (docker_call_wait(d, "DELETE", url, NULL, DOCKER_ANSWER_MAX, CALL_MS, &a) == 0) {
		if (a.status != 204 && a.status != 404)
			warn("cannot remove the container %.12s that read the image: %s", cid,
			     a.error);
		docker_answer_clear(&a);
	}
	return rc;
}

static void list_builtins(char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < stealth_builtin_count && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "",
		                      stealth_builtins[i].name);
}

static int parse_builtin(struct stealth_profile *p, size_t i)
{
	char err[200];
	const char *t = stealth_builtins[i].text;

	if (stealth_profile_parse(p, t, strlen(t), err, sizeof(err)) < 0) {
		error("built-in stealth profile %s: %s", stealth_builtins[i].name, err);
		return -1;
	}
	return 0;
}

/* The profile: the one that fits (auto), a built-in one by name, or a
 * file. */
static int pick(struct stealth *s, const struct config *cfg)
{
	const char *want = cfg->stealth.profile;
	char names[300], err[200];

	list_builtins(names, sizeof(names));
	if (strcmp(want, "auto") == 0) {
		for (size_t i = 0; i < stealth_builtin_count; i++) {
			if (parse_builtin(&s->profile, i) < 0)
				return -1;
			if (stealth_profile_fits(&s->profile, &s->facts))
				return 0;
		}
		error("no stealth profile fits the image %s (%s %s, openssh-server %s): name one "
		      "with stealth.profile (built in: %s) or the path of a profile file "
		      "(docs/stealth.md)",
		      cfg->container_pool.image, s->facts.os_id, s->facts.version_id,
		      s->facts.openssh_version[0] ? s->facts.openssh_version : "not installed",
		      names);
		return -1;
	}
	if (want[0] == '/') {
		size_t len;
		char *t = util_read_file(want, PROFILE_FILE, &len);
		if (t == NULL) {
			error("stealth.profile: cannot read %s: %s", want, strerror(errno));
			return -1;
		}
		int r = stealth_profile_parse(&s->profile, t, len, err, sizeof(err));
		free(t);
		if (r < 0) {
			error("stealth.profile %s: %s", want, err);
			return -1;
		}
	} else {
		size_t i;
		for (i = 0; i < stealth_builtin_count; i++)
			if (strcmp(stealth_builtins[i].name, want) == 0)
				break;
		if (i == stealth_builtin_count) {
			error("stealth.profile: no built-in profile %s (there are: %s)", want,
			      names);
			return -1;
		}
		if (parse_builtin(&s->profile, i) < 0)
			return -1;
	}
	if (!stealth_profile_fits(&s->profile, &s->facts))
		warn("stealth profile %s is for %s %s with OpenSSH %s, the image %s is %s %s with "
		     "openssh-server %s: what the wire says and what the box shows disagree",
		     s->profile.name, s->profile.os_id, s->profile.version_id, s->profile.openssh,
		     cfg->container_pool.image, s->facts.os_id, s->facts.version_id,
		     s->facts.openssh_version[0] ? s->facts.openssh_version : "not installed");
	return 0;
}

int stealth_choose(struct stealth *s, const struct config *cfg, struct docker *d)
{
	memset(s, 0, sizeof(*s));
	s->auth_delay = cfg->stealth.auth_delay;
	if (read_image(s, cfg, d) < 0 || pick(s, cfg) < 0)
		return -1;
	if (cfg->server.banner != NULL) {
		snprintf(s->profile.offer.banner, sizeof(s->profile.offer.banner), "%s",
		         cfg->server.banner);
	} else if (stealth_profile_banner(&s->profile, s->facts.openssh_version) < 0) {
		error("image %s has no openssh-server package whose version makes the banner of "
		      "stealth profile %s: set server.banner",
		      cfg->container_pool.image, s->profile.name);
		return -1;
	}
	info("stealth profile %s for %s (openssh-server %s): SSH-2.0-%s", s->profile.name,
	     s->facts.pretty_name[0] ? s->facts.pretty_name : s->facts.os_id,
	     s->facts.openssh_version[0] ? s->facts.openssh_version : "not installed",
	     s->profile.offer.banner);
	return 0;
}

void stealth_set_secret(struct stealth *s, const void *p, size_t n)
{
	unsigned int len = 0;

	EVP_Digest(p, n, s->secret, &len, EVP_sha256(), NULL);
}

/* SHA-256 of the secret and what follows. */
static void keyed(const struct stealth *s, const void *p, size_t n, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int len = 0;

	memset(out, 0, 32);
	if (c == NULL)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, s->secret, sizeof(s->secret)) != 1 ||
	    EVP_DigestUpdate(c, p, n) != 1 || EVP_DigestFinal_ex(c, out, &len) != 1)
		memset(out, 0, 32);
	EVP_MD_CTX_free(c);
}

uint32_t stealth_pam_delay(const struct stealth *s, long long second)
{
	/* Linux-PAM's: the requested delay times 0.5 plus the mean of three
	 * draws, seeded by the second the attempt began in. */
	char seed[32];
	uint8_t h[32];
	int n = snprintf(seed, sizeof(seed), "pam %lld", second);

	keyed(s, seed, (size_t)n, h);
	double mean = ((double)buf_be32(h) + (double)buf_be32(h + 4) + (double)buf_be32(h + 8)) /
	              3.0 / 4294967296.0;
	return (uint32_t)((double)s->profile.delay.pam_ms * (0.5 + mean));
}

struct stealth_wait stealth_refusal(const struct stealth *s, const uint8_t *user, size_t user_len,
                                    bool password)
{
	const struct stealth_delay *d = &s->profile.delay;
	struct stealth_wait w = {0, 0};
	uint8_t h[32];

	if (!s->auth_delay)
		return w;
	/* sshd's floor for this name: fixed on this host. */
	keyed(s, user, user_len, h);
	w.floor_us =
	    (uint32_t)d->floor_lo_us +
	    (uint32_t)((uint64_t)buf_be32(h) * (uint64_t)(d->floor_hi_us - d->floor_lo_us) >> 32);
	if (password && d->pam_ms > 0)
		w.pam_ms = stealth_pam_delay(s, (long long)time(NULL));
	return w;
}
