/*
 * auth_policy: the prototype's login rules (static credentials, then
 * accept-all after N failed password attempts on a connection), and
 * honeytoken credentials.
 *
 * Decides only; counting failures, delays and logging belong to the
 * caller. Public keys never get here: they are always refused.
 */
#include <string.h>

#include "auth_policy.h"

void auth_policy_init(struct auth_policy *p, const struct config *c)
{
	p->creds = c->authentication.static_credentials;
	p->n_creds = c->authentication.n_static_credentials;
	p->tokens = c->honeytokens.credentials;
	p->n_tokens = c->honeytokens.n_credentials;
	p->accept_all_after = c->authentication.accept_all_after_failures;
	if (p->accept_all_after < 0)
		p->accept_all_after = 0;
	p->key_fingerprints = &c->authentication.accepted_key_fingerprints;
	p->accept_keys_after = c->authentication.accept_keys_after;
}

/* Exact bytes: attacker input may hold a NUL ("root\0x"), which a C string
 * compare would stop at and call equal to "root". A missing config string
 * matches nothing, rather than standing for the empty password. */
static int same(const char *want, const uint8_t *got, size_t got_len)
{
	size_t n;

	if (!want || (!got && got_len > 0))
		return 0;
	n = strlen(want);
	return n == got_len && (n == 0 || memcmp(want, got, n) == 0);
}

enum auth_result auth_policy_password(const struct auth_policy *p, const uint8_t *user,
                                      size_t user_len, const uint8_t *pass, size_t pass_len,
                                      int failures)
{
	size_t i;

	for (i = 0; i < p->n_tokens; i++)
		if ((p->tokens[i].username == NULL ||
		     same(p->tokens[i].username, user, user_len)) &&
		    same(p->tokens[i].password, pass, pass_len))
			return AUTH_ACCEPT_HONEYTOKEN;
	for (i = 0; i < p->n_creds; i++)
		if (same(p->creds[i].username, user, user_len) &&
		    same(p->creds[i].password, pass, pass_len))
			return AUTH_ACCEPT_STATIC;
	if (p->accept_all_after > 0 && failures >= p->accept_all_after)
		return AUTH_ACCEPT_ALL;
	return AUTH_REJECT;
}

const char *auth_result_name(enum auth_result r)
{
	switch (r) {
	case AUTH_REJECT:
		return "rejected";
	case AUTH_ACCEPT_STATIC:
		return "static";
	case AUTH_ACCEPT_ALL:
		return "accept_all";
	case AUTH_ACCEPT_HONEYTOKEN:
		return "honeytoken";
	}
	return "unknown";
}

enum auth_result auth_policy_pubkey(const struct auth_policy *p, const char *fingerprint,
                                    int key_failures)
{
	if (p == NULL || fingerprint == NULL || fingerprint[0] == '\0' || key_failures < 0)
		return AUTH_REJECT;
	if (p->key_fingerprints != NULL)
		for (size_t i = 0; i < p->key_fingerprints->n; i++)
			if (strcmp(p->key_fingerprints->items[i], fingerprint) == 0)
				return AUTH_ACCEPT_STATIC;
	if (p->accept_keys_after > 0 && key_failures >= p->accept_keys_after)
		return AUTH_ACCEPT_ALL;
	return AUTH_REJECT;
}
