/*
 * box_prep: a box made to look like a server before it is ready; see
 * box_prep.h.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include <libssh/libssh.h>
#include <openssl/evp.h>

#include "artifacts.h"
#include "box_prep.h"
#include "digest.h"
#include "log.h"
#include "log_history.h"
#include "openssh_key.h"
#include "sandbox_spec.h"
#include "tar_read.h"
#include "tar_write.h"
#include "util.h"

static const char *const key_names[HOSTKEYS_N] = {"rsa", "ecdsa", "ed25519"};

/* The boxes whose log history is remembered for the collection: more than
 * a pool and the boxes kept for returning attackers hold. */
#define PAST_BOXES 512

struct box_prep {
	char *key[HOSTKEYS_N]; /* the private key files' text */
	char *pub[HOSTKEYS_N]; /* "TYPE BASE64 root@HOSTNAME" */
	char secret[65];       /* hex: the machine ids' */
	int64_t keys_mtime;    /* the key files' (the openssh-server package's install) */
	int64_t installed;     /* the machine id's: the system's install */
	json_t *same;          /* what the prepared paths hold in every box */
	/* The logs' past but its end, which is each box's preparation
	 * (stealth.log_history); and what it wrote in the latest boxes. */
	struct history_in past;
	bool has_past;
	bool init_boots; /* systemd: /run is a tmpfs, and it records its boot */
	unsigned log_uid, log_gid, utmp_gid;
	char stamps[FACT_STAMPS][FACT_MAX]; /* the timers' (image_facts.h) */
	unsigned n_stamps;
	struct {
		char id[72];
		json_t *known; /* path -> SHA-256 */
	} boxes[PAST_BOXES];
	size_t next_box;
};

/* Run in the started box: where its init is systemd, it waits for the
 * boot to be over (what the box's daemons write as it boots is then done
 * before the box is ready; the commands' time is bounded by the pool); then
 * no /.dockerenv (the engine makes it as it starts the box). */
static const char script[] =
    "case $(readlink /proc/1/exe) in */systemd) "
    "while [ ! -d /run/systemd/system ]; do sleep 0.05; done; "
    "while :; do case $(systemctl is-system-running --wait 2>/dev/null) in "
    "running|degraded|maintenance|stopping) break;; esac; sleep 0.1; done;; esac; "
    "rm -f /.dockerenv";

static json_t *same_in_every_box(const struct box_prep *bp, const struct config *cfg);

static char *public_line(const char *pem, const char *comment)
{
	ssh_key key = NULL;
	char *b64 = NULL, *line = NULL;

	if (ssh_pki_import_privkey_base64(pem, NULL, NULL, NULL, &key) != SSH_OK)
		return NULL;
	if (ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK &&
	    asprintf(&line, "%s %s %s", ssh_key_type_to_char(ssh_key_type(key)), b64, comment) < 0)
		line = NULL;
	ssh_string_free_char(b64);
	ssh_key_free(key);
	return line;
}

/* The host's boot time (/proc/stat's btime), or 0. */
static time_t host_boot(void)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	long long b = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %lld", &b) == 1)
			break;
	fclose(f);
	return (time_t)b;
}

/* The boxes' past: this host's, seeded by its secret; each box's ends when
 * it is prepared (past_files). */
static void make_past(struct box_prep *bp, const struct config *cfg,
                      const struct image_facts *facts, const uint8_t secret[32])
{
	const char *host = cfg->container_pool.hostname;
	struct history_in *in = &bp->past;
	struct utsname u;
	struct stat st;

	memset(in, 0, sizeof(*in));
	memcpy(in->seed, secret, sizeof(in->seed));
	/* Where the past stays put: the host key Hermes made at its first
	 * start here. */
	if (stat(cfg->server.host_key_path, &st) == 0)
		in->installed = st.st_mtime;
	/* An image that says when it was installed, weeks ago (the target's
	 * build dates it so: images/ubuntu/age-image.py), is the install. A
	 * date of days ago is an image's build, not a server's install. */
	if (facts->installed > 0 && facts->installed < (int64_t)time(NULL) - 14 * 86400)
		in->install = (time_t)facts->installed;
	in->boot = host_boot();
	if (in->boot <= 0)
		in->boot = time(NULL);
	if (uname(&u) == 0)
		snprintf(in->kernel, sizeof(in->kernel), "%s", u.release);
	/* rsyslog writes the short host name */
	snprintf(in->host, sizeof(in->host), "%.*s", (int)strcspn(host, "."), host);
	snprintf(in->user, sizeof(in->user), "%s", facts->login_user);
	in->uid = facts->login_uid;
	in->rfc3339 = facts->syslog_rfc3339 != 0;
	bp->has_past = true;
}

struct box_prep *box_prep_new(const struct config *cfg, char *const pem[HOSTKEYS_N],
                              const uint8_t secret[32], const struct image_facts *facts)
{
	struct box_prep *bp = calloc(1, sizeof(*bp));
	char comment[128];

	if (bp == NULL) {
		error("out of memory");
		return NULL;
	}
	for (size_t i = 0; i < 32; i++)
		snprintf(bp->secret + 2 * i, 3, "%02x", secret[i]);
	bp->keys_mtime = facts->keys_mtime;
	bp->installed = facts->installed;
	bp->log_uid = facts->log_uid;
	bp->log_gid = facts->log_gid;
	bp->utmp_gid = facts->utmp_gid;
	memcpy(bp->stamps, facts->stamps, sizeof(bp->stamps));
	bp->n_stamps = facts->n_stamps;
	/* As ssh-keygen -A writes a server's keys: OpenSSH's own format, and
	 * root@HOSTNAME as the comment of the key and of its .pub line. */
	snprintf(comment, sizeof(comment), "root@%s", cfg->container_pool.hostname);
	for (size_t i = 0; i < HOSTKEYS_N; i++) {
		const char *why = NULL;

		bp->key[i] = openssh_key_from_pem(pem[i], comment, &why);
		if (bp->key[i] == NULL) {
			error("host key %s: cannot write it in OpenSSH's format for the boxes: %s",
			      key_names[i], why);
			box_prep_free(bp);
			return NULL;
		}
		bp->pub[i] = public_line(pem[i], comment);
		if (bp->pub[i] == NULL) {
			error("host key %s: cannot make its public line for the boxes",
			      key_names[i]);
			box_prep_free(bp);
			return NULL;
		}
	}
	if (cfg->stealth.log_history)
		make_past(bp, cfg, facts, secret);
	if ((bp->same = same_in_every_box(bp, cfg)) == NULL) {
		error("out of memory");
		box_prep_free(bp);
		return NULL;
	}
	return bp;
}

void box_prep_free(struct box_prep *bp)
{
	if (bp == NULL)
		return;
	for (size_t i = 0; i < HOSTKEYS_N; i++) {
		if (bp->key[i] != NULL) {
			explicit_bzero(bp->key[i], strlen(bp->key[i]));
			free(bp->key[i]);
		}
		free(bp->pub[i]);
	}
	explicit_bzero(bp->secret, sizeof(bp->secret));
	json_decref(bp->same);
	explicit_bzero(&bp->past, sizeof(bp->past));
	for (size_t i = 0; i < PAST_BOXES; i++)
		json_decref(bp->boxes[i].known);
	free(bp);
}

/* SHA-256 (hex) of a history file as the box holds it: zeros up to its
 * offset, then its data. */
static int past_hash(const struct history_file *f, char out[DIGEST_HEX_MAX])
{
	static const uint8_t zeros[4096];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;

	for (size_t left = f->at; ok && left > 0;) {
		size_t k = left < sizeof(zeros) ? left : sizeof(zeros);
		ok = EVP_DigestUpdate(c, zeros, k) == 1;
		left -= k;
	}
	ok = ok && EVP_DigestUpdate(c, f->data, f->len) == 1 && digest_hex_final(c, out) == 0;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

/* The box's remembered paths, the newest box of that id first; NULL when
 * the ring holds none. */
static json_t *remembered(const struct box_prep *bp, const char *id)
{
	for (size_t i = 0; i < PAST_BOXES; i++) {
		size_t slot = (bp->next_box + PAST_BOXES - 1 - i) % PAST_BOXES;
		if (bp->boxes[slot].known != NULL && strcmp(bp->boxes[slot].id, id) == 0)
			return bp->boxes[slot].known;
	}
	return NULL;
}

/* The box's slot of remembered paths (a new one when it has none). */
static json_t *known_of(struct box_prep *bp, const char *id)
{
	json_t *k = remembered(bp, id);

	if (k != NULL)
		return k;
	size_t slot = bp->next_box++ % PAST_BOXES;
	json_decref(bp->boxes[slot].known);
	snprintf(bp->boxes[slot].id, sizeof(bp->boxes[slot].id), "%s", id);
	bp->boxes[slot].known = json_object();
	return bp->boxes[slot].known;
}

/* The past of box id, ending now, into its boot files (tar, names without
 * the leading "/"); their hashes (and a log's size) remembered for
 * box_prep_known. A box whose init is systemd gets no /run/utmp (its /run
 * is a tmpfs, and systemd-update-utmp writes it) and no record of its own
 * boot in wtmp (the same writes it). */
static int past_files(struct box_prep *bp, const char *id, int64_t boot_ms, struct buf *tar)
{
	struct history_in in = bp->past;
	struct history h;
	json_t *known = json_object();
	char hash[DIGEST_HEX_MAX];
	bool bad = known == NULL;

	in.now = time(NULL);
	in.init_boots = bp->init_boots;
	/* A box with clocks of its own booted when the pool says. */
	if (boot_ms > 0 && boot_ms / 1000 <= in.now)
		in.boot = (time_t)(boot_ms / 1000);
	if (bad || history_make(&in, &h) < 0) {
		json_decref(known);
		return -1;
	}
	for (int f = 0; f < HISTORY_FILES && !bad; f++) {
		const struct history_file *hf = &h.file[f];
		bool utmp = hf->owner == HISTORY_OWNER_UTMP;
		uint8_t *data = hf->data;

		if (f == HISTORY_UTMP && bp->init_boots)
			continue;
		/* lastlog's record at its offset: zeros before it */
		if (hf->at > 0 && (data = calloc(1, hf->at + hf->len)) != NULL)
			memcpy(data + hf->at, hf->data, hf->len);
		bad |= data == NULL ||
		       tar_write_file(tar, hf->path + 1, hf->mode, utmp ? 0 : bp->log_uid,
		                      utmp ? bp->utmp_gid : bp->log_gid, (int64_t)hf->mtime, data,
		                      hf->at + hf->len) < 0;
		if (data != hf->data)
			free(data);
		bad |= past_hash(hf, hash) < 0;
		/* A log the box appends to: its size too, so that the collection
		 * keeps only what was added (artifacts.h). */
		bad |= json_object_set_new(known, hf->path,
		                           hf->appends
		                               ? json_pack("{s:s, s:I}", "sha256", hash, "size",
		                                           (json_int_t)(hf->at + hf->len))
		                               : json_string(hash)) < 0;
	}
	history_free(&h);
	/* The past's few hundred KB of lines and buffers are freed: give the
	 * heap they grew back, so that the monitor stays as small between boxes
	 * as before them. */
	malloc_trim(0);
	if (bad) {
		json_decref(known);
		return -1;
	}
	json_t *box = known_of(bp, id);
	int r = box != NULL && json_object_update(box, known) == 0 ? 0 : -1;
	json_decref(known);
	return r;
}

/* The persistent timers' stamps, as a server that ran until its reboot
 * has them: each from the last minutes before the boot (dated with the
 * image, weeks back, every timer would be overdue at the box's boot, and
 * logrotate, apt and e2scrub would run at once, logrotate over the log
 * history). Empty files, as systemd makes them. */
static int timer_stamps(struct box_prep *bp, const char *id, int64_t boot_ms, struct buf *tar)
{
	static const char empty_sha256[] =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	json_t *known = known_of(bp, id);
	int64_t boot = boot_ms > 0 ? boot_ms / 1000 : (int64_t)time(NULL);
	char path[FACT_MAX + 32];
	uint32_t r = 0;

	if (known == NULL)
		return -1;
	for (unsigned i = 0; i < bp->n_stamps; i++) {
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint32_t)i * 977u;
		snprintf(path, sizeof(path), "/var/lib/systemd/timers/%s", bp->stamps[i]);
		if (tar_write_file(tar, path + 1, 0644, 0, 0, boot - 300 - (int64_t)(r % 3000), "",
		                   0) < 0 ||
		    json_object_set_new(known, path, json_string(empty_sha256)) < 0)
			return -1;
	}
	return 0;
}

/* The machine id of box id: the first 32 hex digits of sha256(secret id). */
static int machine_id(const struct box_prep *bp, const char *id, char out[DIGEST_HEX_MAX])
{
	char seed[sizeof(bp->secret) + 80];

	snprintf(seed, sizeof(seed), "%s%s", bp->secret, id);
	int r = digest_hex(EVP_sha256(), seed, strlen(seed), out);
	explicit_bzero(seed, sizeof(seed));
	if (r < 0)
		return -1;
	out[32] = '\0';
	return 0;
}

/* What the box's init reads as it boots, in its root before it starts: the
 * machine id (0444, as systemd and Debian's installer leave it) and the
 * host keys (0600 and 0644, root's, dated as the package's install). */
static int boot_files(void *arg, const char *id, int64_t boot_ms, struct buf *tar)
{
	struct box_prep *bp = arg;
	char mid[DIGEST_HEX_MAX + 1], path[64], *line = NULL;
	int64_t now = (int64_t)time(NULL);
	int64_t keys = bp->keys_mtime > 0 ? bp->keys_mtime : now;
	int64_t installed = bp->installed > 0 && bp->installed <= now ? bp->installed : now;
	int bad = machine_id(bp, id, mid) < 0;

	if (!bad) {
		strcat(mid, "\n");
		bad |= tar_write_file(tar, "etc/machine-id", 0444, 0, 0, installed, mid, 33) < 0;
	}
	for (size_t i = 0; i < HOSTKEYS_N && !bad; i++) {
		snprintf(path, sizeof(path), "etc/ssh/ssh_host_%s_key", key_names[i]);
		bad |=
		    tar_write_file(tar, path, 0600, 0, 0, keys, bp->key[i], strlen(bp->key[i])) < 0;
		snprintf(path, sizeof(path), "etc/ssh/ssh_host_%s_key.pub", key_names[i]);
		bad |= asprintf(&line, "%s\n", bp->pub[i]) < 0;
		bad |= !bad && tar_write_file(tar, path, 0644, 0, 0, keys, line, strlen(line)) < 0;
		free(line);
		line = NULL;
	}
	if (!bad && bp->has_past)
		bad |= past_files(bp, id, boot_ms, tar) < 0;
	if (!bad && bp->init_boots)
		bad |= timer_stamps(bp, id, boot_ms, tar) < 0;
	bad |= tar_write_end(tar) < 0;
	return bad ? -1 : 0;
}

/* What the box held when it became ready (pool_set_baseline): under
 * /var/log its own daemons' lines of its boot and the history as it was
 * given, each a log the box may append to (one that only grew is
 * collected from that size on, one rewritten whole: artifacts.h) but the
 * history's that are not; in its /run what systemd and the services put
 * there, each a file as made. */
static void boot_baseline(void *arg, const char *id, const uint8_t *tar, size_t len)
{
	struct box_prep *bp = arg;
	struct tar_entry *e = malloc(sizeof(*e));
	json_t *known = known_of(bp, id);
	char hash[DIGEST_HEX_MAX], path[TAR_NAME_MAX + 80];
	size_t off = 0;

	while (e != NULL && known != NULL && tar_next(tar, len, &off, e) == 1) {
		if (e->name[0] == '/' || strstr(e->name, "..") != NULL)
			continue;
		snprintf(path, sizeof(path), "/%s", e->name);
		/* A symbolic link as the collection names it: "link:TARGET". */
		if (e->type == '2') {
			char *t = util_escape_bytes(e->link, strlen(e->link), NULL), *v = NULL;
			if (t != NULL && asprintf(&v, "link:%s", t) >= 0)
				json_object_set_new(known, path, json_string(v));
			free(t);
			free(v);
			continue;
		}
		if (e->type != '0' || digest_hex(EVP_sha256(), e->data, e->size, hash) < 0)
			continue;
		/* A log of the history that the box rewrites in place (lastlog)
		 * or never touches (the rotated ones) stays one. */
		bool appends = strncmp(path, "/var/log/", 9) == 0 &&
		               !json_is_string(json_object_get(known, path));
		json_object_set_new(
		    known, path,
		    appends ? json_pack("{s:s, s:I}", "sha256", hash, "size", (json_int_t)e->size)
		            : json_string(hash));
	}
	free(e);
}

void box_prep_install(struct box_prep *bp, struct pool *p, bool systemd)
{
	const char *argv[] = {"sh", "-c", script, NULL};

	bp->init_boots = systemd;
	pool_set_prestart(p, boot_files, bp);
	pool_add_prepare(p, argv);
	if (systemd)
		pool_set_baseline(p, artifacts_baseline_cmd, boot_baseline, bp);
}

/* SHA-256 (hex) of text, then "\n" when nl. */
static int hash_of(const char *text, bool nl, char out[DIGEST_HEX_MAX])
{
	size_t n = strlen(text);
	char *t = malloc(n + 2);

	if (t == NULL)
		return -1;
	memcpy(t, text, n);
	if (nl)
		t[n++] = '\n';
	int r = digest_hex(EVP_sha256(), t, n, out);
	free(t);
	return r;
}

/* What every box's prepared paths hold but the machine id: path -> SHA-256
 * of the file, or "deleted". The files hermes-runtime writes in place of
 * Docker's are among them (the collection reads them from the box only
 * where that runtime made it). NULL when out of memory. */
static json_t *same_in_every_box(const struct box_prep *bp, const struct config *cfg)
{
	json_t *k = json_object();
	char hash[DIGEST_HEX_MAX], path[64], text[1024];
	int bad = k == NULL || json_object_set_new(k, "/.dockerenv", json_string("deleted")) < 0;

	for (int f = 0; f < ENGINE_FILES_N && !bad; f++) {
		if (sandbox_etc_text(cfg, (enum engine_file)f, text, sizeof(text)) == 0)
			continue;
		bad |= hash_of(text, false, hash) < 0;
		bad |= json_object_set_new(k, sandbox_etc_path[f], json_string(hash)) < 0;
	}

	for (size_t i = 0; i < HOSTKEYS_N && !bad; i++) {
		snprintf(path, sizeof(path), "/etc/ssh/ssh_host_%s_key", key_names[i]);
		bad |= hash_of(bp->key[i], false, hash) < 0;
		bad |= json_object_set_new(k, path, json_string(hash)) < 0;
		snprintf(path, sizeof(path), "/etc/ssh/ssh_host_%s_key.pub", key_names[i]);
		bad |= hash_of(bp->pub[i], true, hash) < 0;
		bad |= json_object_set_new(k, path, json_string(hash)) < 0;
	}
	if (bad) {
		json_decref(k);
		return NULL;
	}
	return k;
}

size_t box_prep_log_size(const struct box_prep *bp, const char *id, const char *path)
{
	json_t *e = json_object_get(remembered(bp, id), path);
	json_int_t size = json_integer_value(json_object_get(e, "size"));

	return size > 0 ? (size_t)size : 0;
}

json_t *box_prep_known(const struct box_prep *bp, const char *id)
{
	json_t *k = json_deep_copy(bp->same);
	char mid[DIGEST_HEX_MAX], hash[DIGEST_HEX_MAX];

	/* The machine id as the box was given it, and a newline. */
	if (k == NULL || machine_id(bp, id, mid) < 0)
		goto bad;
	/* The log history it was given. */
	json_t *box = remembered(bp, id);
	if (box != NULL && json_object_update(k, box) < 0)
		goto bad;
	/* systemd-tmpfiles makes it again at every boot (Debian's tmpfiles.d) */
	if (bp->init_boots &&
	    json_object_set_new(k, "/etc/mtab", json_string("link:../proc/self/mounts")) < 0)
		goto bad;
	if (hash_of(mid, true, hash) < 0 ||
	    json_object_set_new(k, "/etc/machine-id", json_string(hash)) < 0)
		goto bad;
	return k;
bad:
	json_decref(k);
	return NULL;
}
