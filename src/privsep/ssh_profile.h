/*
 * ssh_profile: the server's SSH offer - the identification line and the
 * KEXINIT's name-lists, in the order of the OpenSSH the stealth profile
 * imitates (docs/stealth.md) - set on an ssh_bind: the monitor's, which
 * listens, and each worker's, which speaks to the client.
 */
#ifndef HERMES_SSH_PROFILE_H
#define HERMES_SSH_PROFILE_H

#include <stdbool.h>

#include <libssh/server.h>

#define SSH_OFFER_BANNER 201 /* what follows "SSH-2.0-", NUL included */
#define SSH_OFFER_LIST   512

/* Each list comma-separated as in a KEXINIT; libssh drops the names it
 * lacks (sntrup761x25519-sha512@openssh.com, the umac MACs). Compression
 * is libssh's "none,zlib@openssh.com", OpenSSH's default: an ssh_bind has
 * no option for it. */
struct ssh_offer {
	char banner[SSH_OFFER_BANNER];
	char kex[SSH_OFFER_LIST];
	char hostkeys[SSH_OFFER_LIST];
	char ciphers[SSH_OFFER_LIST];
	char macs[SSH_OFFER_LIST];
	char sigalgs[SSH_OFFER_LIST]; /* EXT_INFO's server-sig-algs: what a user's
	                               * key may be signed with */
};

/* True when s is a KEXINIT name-list: names of printable US-ASCII without
 * spaces or commas (RFC 4251 5), joined by single commas, none empty. */
bool ssh_offer_list_ok(const char *s);

/* libssh's own config files are never read. Returns 0, or -1 when libssh
 * refused a list (it keeps none of a list it refuses). */
int ssh_profile_apply(ssh_bind bind, const struct ssh_offer *offer);

#endif
