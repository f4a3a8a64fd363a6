/*
 * stealth: the profile chosen at start; see stealth.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "log.h"
#include "stealth.h"
#include "tar_read.h"
#include "util.h"

#define CALL_MS      30000
#define SMALL_FILE   (64 << 10) /* os-release */
#define STATUS_FILE  (16 << 20) /* dpkg's status: ~0.5 MiB on a server */
#define PROFILE_FILE (64 << 10)

/* One Docker call, waited for. */
struct call {
	bool done;
	int status;
	char error[256];
	char id[80];   /* a create's "Id" */
	uint8_t *body; /* a copy of the answer's body */
	size_t len;
};

static void on_reply(void *arg, const struct docker_reply *r)
{
	struct call *c = arg;
	json_t *id = json_object_get(r->json, "Id");

	c->done = true;
	c->status = r->status;
	snprintf(c->error, sizeof(c->error), "%s", r->error ? r->error : "");
	if (json_is_string(id))
		snprintf(c->id, sizeof(c->id), "%s", json_string_value(id));
	if (r->body != NULL && r->body_len > 0 && (c->body = malloc(r->body_len)) != NULL) {
		memcpy(c->body, r->body, r->body_len);
		c->len = r->body_len;
	}
}

static int call(struct docker *d, struct loop *l, const char *method, const char *path,
                json_t *body, size_t max, struct call *c)
{
	memset(c, 0, sizeof(*c));
	if (docker_request_max(d, method, path, body, max, CALL_MS, on_reply, c) == 0)
		return -ENOMEM;
	while (!c->done)
		loop_once(l, 1000);
	return 0;
}

/* A regular file of the container, copied out: NULL with *why set when it
 * cannot be read (missing, not a regular file, too large). */
static char *read_box_file(struct docker *d, struct loop *l, const char *cid, const char *path,
                           size_t max, size_t *len, const char **why)
{
	char url[300];
	struct call c;
	const uint8_t *data;
	char *out = NULL;

	snprintf(url, sizeof(url), "/containers/%s/archive?path=%s", cid, path);
	if (call(d, l, "GET", url, NULL, max + 64 * 1024, &c) < 0) {
		*why = "out of memory";
		return NULL;
	}
	if (c.status == 404)
		*why = "it does not exist";
	else if (c.status != 200)
		*why = "Docker did not give it";
	else if (tar_first_file(c.body, c.len, &data, len) < 0)
		*why = "it is not a regular file";
	else if (*len > max)
		*why = "it is too large";
	else if ((out = malloc(*len + 1)) == NULL)
		*why = "out of memory";
	else {
		memcpy(out, data, *len);
		out[*len] = '\0';
	}
	free(c.body);
	return out;
}

/* The image's facts, from a container made of it and never started. */
static int read_image(struct stealth *s, const struct config *cfg, struct docker *d, struct loop *l)
{
	const char *image = cfg->container_pool.image, *why = NULL;
	json_t *spec = json_pack("{s:s, s:[s], s:b, s:{s:s}, s:{s:s}}", "Image", image, "Cmd",
	                         "/bin/true", "NetworkDisabled", 1, "HostConfig", "NetworkMode",
	                         "none", "Labels", "hermes.role", "probe");
	struct call c;
	char url[200];
	char *text = NULL;
	size_t len;
	int rc = -1;

	if (spec == NULL ||
	    call(d, l, "POST", "/containers/create", spec, DOCKER_ANSWER_MAX, &c) < 0) {
		json_decref(spec);
		error("out of memory");
		return -1;
	}
	json_decref(spec);
	free(c.body);
	if (c.status != 201 || !docker_id_valid(c.id)) {
		error("cannot read the image %s: creating a container of it failed: %s", image,
		      c.error[0] ? c.error : "no container id");
		return -1;
	}
	char cid[80];
	snprintf(cid, sizeof(cid), "%s", c.id);

	/* os-release(5): /etc/os-release, else /usr/lib/os-release (the
	 * first is usually a link to the second). */
	text = read_box_file(d, l, cid, "/etc/os-release", SMALL_FILE, &len, &why);
	if (text == NULL)
		text = read_box_file(d, l, cid, "/usr/lib/os-release", SMALL_FILE, &len, &why);
	if (text == NULL) {
		error("image %s: cannot read its os-release: %s", image, why);
		goto out;
	}
	if (image_facts_os_release(&s->facts, text, len, &why) < 0) {
		error("image %s: its os-release has %s", image, why);
		goto out;
	}
	free(text);
	text = read_box_file(d, l, cid, "/var/lib/dpkg/status", STATUS_FILE, &len, &why);
	if (text == NULL || image_facts_dpkg_status(&s->facts, text, len) < 0)
		info("image %s: no dpkg status to read the openssh-server version from%s%s", image,
		     text == NULL ? ": " : "", text == NULL ? why : "");
	free(text);
	text = NULL;
	rc = 0;
out:
	free(text);
	snprintf(url, sizeof(url), "/containers/%s?force=1&v=1", cid);
	if (call(d, l, "DELETE", url, NULL, DOCKER_ANSWER_MAX, &c) == 0) {
		free(c.body);
		if (c.status != 204 && c.status != 404)
			warn("cannot remove the container %.12s that read the image: %s", cid,
			     c.error);
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

int stealth_choose(struct stealth *s, const struct config *cfg, struct docker *d, struct loop *l)
{
	memset(s, 0, sizeof(*s));
	s->auth_delay = cfg->stealth.auth_delay;
	if (read_image(s, cfg, d, l) < 0 || pick(s, cfg) < 0)
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

static uint32_t u32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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
	    (uint32_t)((uint64_t)u32_at(h) * (uint64_t)(d->floor_hi_us - d->floor_lo_us) >> 32);
	if (password && d->pam_ms > 0) {
		/* Linux-PAM's: the requested delay times 0.5 plus the mean of
		 * three draws, seeded by the second the attempt began in. */
		char second[32];
		int n = snprintf(second, sizeof(second), "pam %lld", (long long)time(NULL));
		keyed(s, second, (size_t)n, h);
		double mean = ((double)u32_at(h) + (double)u32_at(h + 4) + (double)u32_at(h + 8)) /
		              3.0 / 4294967296.0;
		w.pam_ms = (uint32_t)((double)d->pam_ms * (0.5 + mean));
	}
	return w;
}
