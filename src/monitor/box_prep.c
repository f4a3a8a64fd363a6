/*
 * box_prep: a box made to look like a server before it is ready; see
 * box_prep.h.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include <libssh/libssh.h>
#include <openssl/evp.h>

#include "box_prep.h"
#include "digest.h"
#include "log.h"
#include "log_history.h"
#include "openssh_key.h"
#include "sandbox_spec.h"
#include "util.h"

static const char *const key_names[HOSTKEYS_N] = {"rsa", "ecdsa", "ed25519"};

/* The boxes whose log history is remembered for the collection: more than
 * a pool and the boxes kept for returning attackers hold. */
#define PAST_BOXES 512

struct box_prep {
	char *key[HOSTKEYS_N]; /* the private key files' text */
	char *pub[HOSTKEYS_N]; /* "TYPE BASE64 root@HOSTNAME" */
	char secret[65];       /* hex: the machine ids' */
	json_t *same;          /* what the prepared paths hold in every box */
	/* The logs' past but its end, which is each box's preparation
	 * (stealth.log_history); and what it wrote in the latest boxes. */
	struct history_in past;
	bool has_past;
	struct {
		char id[72];
		json_t *known; /* path -> SHA-256 */
	} boxes[PAST_BOXES];
	size_t next_box;
};

/* $1 the box's id, $2 the secret, then each key and its public line. Every
 * step stands alone (an image without /etc/ssh or sha256sum gets what it
 * can), and the box is ready only when the command exits 0.
 *
 * Then the log history's files, if any: for each, its path, owner ("utmp":
 * root:utmp; "log": rsyslog's, syslog:adm where that user exists as on
 * Ubuntu, else root:adm), mode, mtime, the offset its data starts at in an
 * emptied file (a hole before), the number of arguments its base64 is cut
 * into, and those. Written beside and renamed into place; a file that
 * cannot be written is left out (the past is no reason to lose a box), and
 * an image without base64 gets none. */
static const char script[] =
    "umask 022; id=$1; secret=$2; shift 2; "
    "rm -f /.dockerenv; "
    "if command -v sha256sum >/dev/null; then "
    "printf '%s%s' \"$secret\" \"$id\" | sha256sum | cut -c1-32 > /etc/machine-id; fi; "
    "d=/etc/ssh; ref=/var/lib/dpkg/info/openssh-server.list; "
    "[ -e \"$ref\" ] || ref=$d; mkdir -p \"$d\"; "
    "for t in rsa ecdsa ed25519; do f=$d/ssh_host_${t}_key; "
    "(umask 077; printf '%s' \"$1\" > \"$f\") && printf '%s\\n' \"$2\" > \"$f.pub\" && "
    "touch -r \"$ref\" \"$f\" \"$f.pub\" || exit 1; shift 2; done; "
    "command -v base64 >/dev/null || exit 0; "
    "lu=root; id -u syslog >/dev/null 2>&1 && lu=syslog; "
    "while [ $# -ge 6 ]; do p=$1; o=$2; m=$3; t=$4; at=$5; n=$6; shift 6; "
    "[ \"$n\" -le $# ] || exit 1; "
    "if [ \"$o\" = utmp ]; then own=root:utmp; else own=$lu:adm; fi; "
    "tmp=$p.new; "
    "if true 2>/dev/null > \"$tmp\" && { [ \"$at\" -eq 0 ] || truncate -s \"$at\" \"$tmp\"; } && "
    "( k=$n; while [ $k -gt 0 ]; do printf '%s' \"$1\"; shift; k=$((k-1)); done ) "
    "| base64 -d >> \"$tmp\"; then chown \"$own\" \"$tmp\" 2>/dev/null; "
    "chmod \"$m\" \"$tmp\" && touch -d \"@$t\" \"$tmp\" && mv -f \"$tmp\" \"$p\" || "
    "rm -f \"$tmp\"; else rm -f \"$tmp\"; fi; shift \"$n\"; "
    "done";

/* Base64 in arguments of at most this many characters (a multiple of 4;
 * Linux takes at most 128 KiB in one). */
#define B64_ARG (96 << 10)

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
 * it is prepared (past_args). */
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

/* The past of box id, ending now: its files' arguments appended to argv
 * (the script's), and their hashes (and a log's size) remembered for
 * box_prep_known. */
static int past_args(void *arg, const char *id, int64_t boot_ms, json_t *argv)
{
	struct box_prep *bp = arg;
	struct history_in in = bp->past;
	struct history h;
	json_t *known = json_object();
	char hash[DIGEST_HEX_MAX], num[4][24], *b64 = NULL;
	bool bad = known == NULL;

	in.now = time(NULL);
	/* A box with clocks of its own booted when the pool says. */
	if (boot_ms > 0 && boot_ms / 1000 <= in.now)
		in.boot = (time_t)(boot_ms / 1000);
	if (bad || history_make(&in, &h) < 0) {
		json_decref(known);
		return -1;
	}
	for (int f = 0; f < HISTORY_FILES && !bad; f++) {
		const struct history_file *hf = &h.file[f];
		size_t len = 4 * ((hf->len + 2) / 3), parts = (len + B64_ARG - 1) / B64_ARG;

		free(b64);
		if ((b64 = util_base64(hf->data, hf->len)) == NULL) {
			bad = true;
			break;
		}
		snprintf(num[0], sizeof(num[0]), "%o", hf->mode);
		snprintf(num[1], sizeof(num[1]), "%lld", (long long)hf->mtime);
		snprintf(num[2], sizeof(num[2]), "%zu", hf->at);
		snprintf(num[3], sizeof(num[3]), "%zu", parts);
		bad |= json_array_append_new(argv, json_string(hf->path)) < 0;
		bad |= json_array_append_new(
		           argv, json_string(hf->owner == HISTORY_OWNER_UTMP ? "utmp" : "log")) < 0;
		for (int i = 0; i < 4; i++)
			bad |= json_array_append_new(argv, json_string(num[i])) < 0;
		for (size_t i = 0; i < parts; i++) {
			size_t k = len - i * B64_ARG < B64_ARG ? len - i * B64_ARG : B64_ARG;
			bad |= json_array_append_new(argv, json_stringn(b64 + i * B64_ARG, k)) < 0;
		}
		bad |= past_hash(hf, hash) < 0;
		/* A log the box appends to: its size too, so that the collection
		 * keeps only what was added (artifacts.h). */
		bad |= json_object_set_new(known, hf->path,
		                           hf->appends
		                               ? json_pack("{s:s, s:I}", "sha256", hash, "size",
		                                           (json_int_t)(hf->at + hf->len))
		                               : json_string(hash)) < 0;
	}
	free(b64);
	history_free(&h);
	/* The past's few hundred KB of lines and buffers are freed: give the
	 * heap they grew back, so that the monitor stays as small between boxes
	 * as before them. */
	malloc_trim(0);
	if (bad) {
		json_decref(known);
		return -1;
	}
	size_t slot = bp->next_box++ % PAST_BOXES;
	json_decref(bp->boxes[slot].known);
	snprintf(bp->boxes[slot].id, sizeof(bp->boxes[slot].id), "%s", id);
	bp->boxes[slot].known = known;
	return 0;
}

void box_prep_install(struct box_prep *bp, struct pool *p)
{
	const char *argv[6 + 2 * HOSTKEYS_N + 2] = {"sh",      "-c", script, "sh", POOL_PREPARE_ID,
	                                            bp->secret};
	size_t n = 6;

	for (size_t i = 0; i < HOSTKEYS_N; i++) {
		argv[n++] = bp->key[i];
		argv[n++] = bp->pub[i];
	}
	if (bp->has_past) {
		argv[n++] = POOL_PREPARE_MORE;
		pool_set_prepare_more(p, past_args, bp);
	}
	argv[n] = NULL;
	pool_add_prepare(p, argv);
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

json_t *box_prep_known(const struct box_prep *bp, const char *id)
{
	json_t *k = json_deep_copy(bp->same);
	char seed[sizeof(bp->secret) + 80], mid[DIGEST_HEX_MAX], hash[DIGEST_HEX_MAX];

	/* The machine id as the box made it: the first 32 hex digits of
	 * sha256(secret id), and a newline. */
	snprintf(seed, sizeof(seed), "%s%s", bp->secret, id);
	if (k == NULL || hash_of(seed, false, mid) < 0)
		goto bad;
	/* The log history it was given, the newest box of that id first. */
	for (size_t i = 0; i < PAST_BOXES; i++) {
		size_t slot = (bp->next_box + PAST_BOXES - 1 - i) % PAST_BOXES;
		if (bp->boxes[slot].known != NULL && strcmp(bp->boxes[slot].id, id) == 0) {
			if (json_object_update(k, bp->boxes[slot].known) < 0)
				goto bad;
			break;
		}
	}
	mid[32] = '\0';
	if (hash_of(mid, true, hash) < 0 ||
	    json_object_set_new(k, "/etc/machine-id", json_string(hash)) < 0)
		goto bad;
	return k;
bad:
	json_decref(k);
	return NULL;
}
