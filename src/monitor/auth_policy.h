/*
 * auth_policy: who gets in. Pure functions over the config's credential
 * rules, so every rule is unit-tested without a network.
 *
 * Rules (the prototype's): a username/password pair listed in
 * authentication.static_credentials is accepted; any other pair is
 * refused, until accept_all_after_failures (N > 0) password attempts on
 * this connection have failed, after which the next attempt is accepted
 * whatever it is. N = 0 turns accept-all off. A honeytoken credential
 * (honeytokens.credentials: a password, with or without its user) is
 * accepted before any of these, so that the alert it raises is never
 * hidden behind another rule. Bytes are compared exactly: usernames
 * and passwords are attacker bytes, not C strings.
 */
#ifndef HERMES_AUTH_POLICY_H
#define HERMES_AUTH_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum auth_result {
	AUTH_REJECT = 0,
	AUTH_ACCEPT_STATIC,     /* matched a static credential */
	AUTH_ACCEPT_ALL,        /* accepted because N attempts had failed */
	AUTH_ACCEPT_HONEYTOKEN, /* matched a honeytoken credential */
};

struct auth_policy {
	const struct credential *creds;
	size_t n_creds;
	const struct credential *tokens; /* username NULL: any user */
	size_t n_tokens;
	int accept_all_after;                   /* 0 = off */
	const struct strlist *key_fingerprints; /* accepted keys, "SHA256:..." */
	int accept_keys_after;                  /* 0 = off */
};

void auth_policy_init(struct auth_policy *p, const struct config *c);

/* failures: password attempts that failed so far on this connection. */
enum auth_result auth_policy_password(const struct auth_policy *p, const uint8_t *user,
                                      size_t user_len, const uint8_t *pass, size_t pass_len,
                                      int failures);

/*
 * An offered public key (fingerprint as `ssh-keygen -lf` prints it): accepted
 * when listed (AUTH_ACCEPT_STATIC), or once accept_keys_after (N > 0) keys
 * were refused on this connection (AUTH_ACCEPT_ALL); refused otherwise.
 */
enum auth_result auth_policy_pubkey(const struct auth_policy *p, const char *fingerprint,
                                    int key_failures);

/* "rejected", "static", "accept_all", "honeytoken" */
const char *auth_result_name(enum auth_result r);

#endif
