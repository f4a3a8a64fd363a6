/*
 * box_prep: a box made to look like a server before it is ready; see
 * box_prep.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>
#include <openssl/evp.h>

#include "box_prep.h"
#include "digest.h"
#include "log.h"
#include "openssh_key.h"
#include "sandbox_spec.h"

static const char *const key_names[HOSTKEYS_N] = {"rsa", "ecdsa", "ed25519"};

struct box_prep {
	char *key[HOSTKEYS_N]; /* the private key files' text */
	char *pub[HOSTKEYS_N]; /* "TYPE BASE64 root@HOSTNAME" */
	char secret[65];       /* hex: the machine ids' */
	json_t *same;          /* what the prepared paths hold in every box */
};

/* $1 the box's id, $2 the secret, then each key and its public line. Every
 * step stands alone (an image without /etc/ssh or sha256sum gets what it
 * can), and the box is ready only when the command exits 0. */
static const char script[] =
    "umask 022; id=$1; secret=$2; shift 2; "
    "rm -f /.dockerenv; "
    "if command -v sha256sum >/dev/null; then "
    "printf '%s%s' \"$secret\" \"$id\" | sha256sum | cut -c1-32 > /etc/machine-id; fi; "
    "d=/etc/ssh; ref=/var/lib/dpkg/info/openssh-server.list; "
    "[ -e \"$ref\" ] || ref=$d; mkdir -p \"$d\"; "
    "for t in rsa ecdsa ed25519; do f=$d/ssh_host_${t}_key; "
    "(umask 077; printf '%s' \"$1\" > \"$f\") && printf '%s\\n' \"$2\" > \"$f.pub\" && "
    "touch -r \"$ref\" \"$f\" \"$f.pub\" || exit 1; shift 2; done";

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

struct box_prep *box_prep_new(const struct config *cfg, char *const pem[HOSTKEYS_N],
                              const uint8_t secret[32])
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
	free(bp);
}

void box_prep_install(const struct box_prep *bp, struct pool *p)
{
	const char *argv[6 + 2 * HOSTKEYS_N + 1] = {"sh",      "-c", script, "sh", POOL_PREPARE_ID,
	                                            bp->secret};
	size_t n = 6;

	for (size_t i = 0; i < HOSTKEYS_N; i++) {
		argv[n++] = bp->key[i];
		argv[n++] = bp->pub[i];
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
	mid[32] = '\0';
	if (hash_of(mid, true, hash) < 0 ||
	    json_object_set_new(k, "/etc/machine-id", json_string(hash)) < 0)
		goto bad;
	return k;
bad:
	json_decref(k);
	return NULL;
}
