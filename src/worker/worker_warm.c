/*
 * worker_warm: a worker template's rehearsal; see worker_warm.h.
 */
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "digest.h"
#include "log.h"
#include "worker_warm.h"

#define STEPS   400 /* each a non-blocking step of both sides */
#define WAIT_MS 200

/* What clients choose first, and what bots of old choose: each rehearsal
 * one key exchange, host key, cipher and MAC from the offer
 * (ssh_profile.c). */
static const struct {
	const char *kex, *hostkey, *cipher, *hmac;
} rehearsals[] = {
    {"curve25519-sha256", "ssh-ed25519", "chacha20-poly1305@openssh.com",
     "hmac-sha2-256-etm@openssh.com"},
    {"ecdh-sha2-nistp256", "ecdsa-sha2-nistp256", "aes128-ctr", "hmac-sha2-256"},
    {"diffie-hellman-group14-sha256", "rsa-sha2-512", "aes256-gcm@openssh.com", "hmac-sha1"},
    {"curve25519-sha256@libssh.org", "rsa-sha2-256", "aes256-ctr", "hmac-sha2-512"},
};

static bool client_options(ssh_session c, int fd, int i)
{
	int no = 0;

	return ssh_options_set(c, SSH_OPTIONS_FD, &fd) == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_HOST, "rehearsal") == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_PROCESS_CONFIG, &no) == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_KEY_EXCHANGE, rehearsals[i].kex) == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_HOSTKEYS, rehearsals[i].hostkey) == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_CIPHERS_C_S, rehearsals[i].cipher) == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_CIPHERS_S_C, rehearsals[i].cipher) == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_HMAC_C_S, rehearsals[i].hmac) == 0 &&
	       ssh_options_set(c, SSH_OPTIONS_HMAC_S_C, rehearsals[i].hmac) == 0;
}

/* One key exchange between a client and a server of ours over a
 * socketpair, both non-blocking, in turns. */
static bool rehearse(ssh_bind bind, int i)
{
	int sp[2];
	bool ok = false;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return false;
	ssh_session c = ssh_new(), s = ssh_new();
	if (c == NULL || s == NULL || !client_options(c, sp[0], i) ||
	    ssh_bind_accept_fd(bind, s, sp[1]) != SSH_OK)
		goto out;
	sp[0] = sp[1] = -1; /* the sessions close them */
	ssh_set_blocking(c, 0);
	ssh_set_blocking(s, 0);
	int rc = SSH_AGAIN, rs = SSH_AGAIN;
	for (int step = 0; step < STEPS && (rc == SSH_AGAIN || rs == SSH_AGAIN); step++) {
		if (rc == SSH_AGAIN)
			rc = ssh_connect(c);
		if (rs == SSH_AGAIN)
			rs = ssh_handle_key_exchange(s);
		if (rc == SSH_ERROR || rs == SSH_ERROR)
			break;
		struct pollfd p[2] = {{.fd = ssh_get_fd(c), .events = POLLIN},
		                      {.fd = ssh_get_fd(s), .events = POLLIN}};
		if (rc == SSH_AGAIN || rs == SSH_AGAIN)
			poll(p, 2, WAIT_MS);
	}
	ok = rc == SSH_OK && rs == SSH_OK;
	if (!ok)
		debug("rehearsal %s/%s: %s / %s", rehearsals[i].kex, rehearsals[i].hostkey,
		      ssh_get_error(c), ssh_get_error(s));
out:
	for (int k = 0; k < 2; k++)
		if (sp[k] >= 0)
			close(sp[k]);
	if (c != NULL) {
		ssh_silent_disconnect(c);
		ssh_free(c);
	}
	if (s != NULL) {
		ssh_silent_disconnect(s);
		ssh_free(s);
	}
	return ok;
}

int worker_warm(ssh_bind bind)
{
	int ok = 0;

	for (size_t i = 0; i < sizeof(rehearsals) / sizeof(rehearsals[0]); i++)
		ok += rehearse(bind, (int)i);
	/* The worker's own digests: the client's HASSH (MD5) and the
	 * fingerprints of the keys it is offered (SHA-256). */
	char hex[DIGEST_HEX_MAX];
	digest_hex(EVP_md5(), "", 0, hex);
	digest_hex(EVP_sha256(), "", 0, hex);
	return ok;
}
