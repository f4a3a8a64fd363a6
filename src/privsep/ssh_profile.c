/*
 * ssh_profile: what the server offers, as the sshd it imitates.
 */
#include <stdbool.h>
#include <string.h>

#include <libssh/libssh.h>

#include "log.h"
#include "ssh_profile.h"

bool ssh_offer_list_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] == ',' || s[n - 1] == ',')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
		if (s[i] == ',' && s[i + 1] == ',')
			return false;
	}
	return true;
}

int ssh_profile_apply(ssh_bind bind, const struct ssh_offer *offer)
{
	int process_config = 0, rc = 0;
	const struct {
		enum ssh_bind_options_e opt;
		const char *value;
	} lists[] = {
	    {SSH_BIND_OPTIONS_KEY_EXCHANGE, offer->kex},
	    {SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, offer->hostkeys},
	    {SSH_BIND_OPTIONS_CIPHERS_C_S, offer->ciphers},
	    {SSH_BIND_OPTIONS_CIPHERS_S_C, offer->ciphers},
	    {SSH_BIND_OPTIONS_HMAC_C_S, offer->macs},
	    {SSH_BIND_OPTIONS_HMAC_S_C, offer->macs},
	    {SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES, offer->sigalgs},
	};

	/* Never read /etc/ssh/libssh_server_config: the honeypot's behaviour
	 * is this config's alone. */
	ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &process_config);
	ssh_bind_options_set(bind, SSH_BIND_OPTIONS_BANNER, offer->banner);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (ssh_bind_options_set(bind, lists[i].opt, lists[i].value) != SSH_OK) {
			warn("libssh refused the algorithm list %s", lists[i].value);
			rc = -1;
		}
	return rc;
}
