/*
 * hostkeys: the server's host keys: RSA at server.host_key_path, ECDSA and
 * Ed25519 beside it (ssh_host_ecdsa_key, ssh_host_ed25519_key), generated
 * on first start when missing (mode 0600, as OpenSSH's ssh-keygen -A
 * would), then loaded into the ssh_bind.
 */
#ifndef HERMES_HOSTKEYS_H
#define HERMES_HOSTKEYS_H

#include <libssh/server.h>

#include "config.h"

/* Generates missing keys and sets them on bind. Returns 0, or -1 after
 * logging what failed. */
int hostkeys_setup(const struct config *c, ssh_bind bind);

#define HOSTKEYS_N  3
#define HOSTKEY_MAX 16384

/* The keys' files as text (PEM), for the workers (heap strings the caller
 * frees). 0, or -1 after logging what failed. */
int hostkeys_read(const struct config *c, char *pem[HOSTKEYS_N]);

#endif
