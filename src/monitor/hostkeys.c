/*
 * hostkeys: generate-if-missing and load the three host keys; see hostkeys.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "hostkeys.h"
#include "log.h"
#include "util.h"

static int ensure_key(const char *path, enum ssh_keytypes_e type, int bits)
{
	struct stat st;
	ssh_key key = NULL;
	char pub[4096];

	if (stat(path, &st) == 0) {
		if ((st.st_mode & 077) != 0)
			warn("host key %s is readable by others (mode %03o)", path,
			     st.st_mode & 0777);
		return 0;
	}
	if (errno != ENOENT) {
		error("host key %s: %s", path, strerror(errno));
		return -1;
	}
	info("generating %s host key %s", ssh_key_type_to_char(type), path);
	if (ssh_pki_generate(type, bits, &key) != SSH_OK) {
		error("cannot generate a %s key", ssh_key_type_to_char(type));
		return -1;
	}
	mode_t old = umask(077);
	int r = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path);
	if (r == SSH_OK && snprintf(pub, sizeof(pub), "%s.pub", path) < (int)sizeof(pub))
		(void)ssh_pki_export_pubkey_file(key, pub);
	umask(old);
	ssh_key_free(key);
	if (r != SSH_OK) {
		error("cannot write host key %s", path);
		return -1;
	}
	if (chmod(path, 0600) < 0) {
		error("chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The three paths: RSA as configured, the others beside it. */
static int key_paths(const struct config *c, char ecdsa[4096], char ed25519[4096])
{
	char *copy = strdup(c->server.host_key_path);

	if (copy == NULL)
		return -1;
	const char *dir = dirname(copy);
	if (util_mkdirs(dir, 0700) < 0) {
		error("cannot create the host key directory %s: %s", dir, strerror(errno));
		free(copy);
		return -1;
	}
	snprintf(ecdsa, 4096, "%s/ssh_host_ecdsa_key", dir);
	snprintf(ed25519, 4096, "%s/ssh_host_ed25519_key", dir);
	free(copy);
	return 0;
}

int hostkeys_setup(const struct config *c, ssh_bind bind)
{
	char ecdsa[4096], ed25519[4096];

	if (key_paths(c, ecdsa, ed25519) < 0)
		return -1;

	/* OpenSSH's defaults: RSA 3072 bits, ECDSA on P-256. */
	if (ensure_key(c->server.host_key_path, SSH_KEYTYPE_RSA, 3072) < 0 ||
	    ensure_key(ecdsa, SSH_KEYTYPE_ECDSA_P256, 256) < 0 ||
	    ensure_key(ed25519, SSH_KEYTYPE_ED25519, 0) < 0)
		return -1;

	const char *paths[] = {c->server.host_key_path, ecdsa, ed25519};
	for (size_t i = 0; i < 3; i++)
		if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HOSTKEY, paths[i]) != SSH_OK) {
			error("cannot load host key %s: %s", paths[i], ssh_get_error(bind));
			return -1;
		}
	return 0;
}

/* A whole small file as a NUL-terminated string; NULL with errno. */
static char *read_text(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size < HOSTKEY_MAX && (text = malloc((size_t)st.st_size + 1)) != NULL) {
		ssize_t n = read(fd, text, (size_t)st.st_size);
		if (n != st.st_size || memchr(text, '\0', (size_t)n) != NULL) {
			free(text);
			text = NULL;
			errno = EINVAL;
		} else {
			text[n] = '\0';
		}
	} else if (text == NULL) {
		errno = EINVAL;
	}
	close(fd);
	return text;
}

int hostkeys_read(const struct config *c, char *pem[HOSTKEYS_N])
{
	char ecdsa[4096], ed25519[4096];

	if (key_paths(c, ecdsa, ed25519) < 0)
		return -1;
	const char *paths[HOSTKEYS_N] = {c->server.host_key_path, ecdsa, ed25519};
	for (size_t i = 0; i < HOSTKEYS_N; i++) {
		if ((pem[i] = read_text(paths[i])) == NULL) {
			error("cannot read host key %s: %s", paths[i], strerror(errno));
			for (size_t j = 0; j <= i; j++)
				free(pem[j]);
			return -1;
		}
	}
	return 0;
}
