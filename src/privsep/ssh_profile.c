/*
 * ssh_profile: what the server offers, as the sshd it imitates.
 */
#include <libssh/libssh.h>

#include "log.h"
#include "ssh_profile.h"

/* OpenSSH 8.9p1's (Ubuntu 22.04) server offer, less what libssh 0.10 lacks
 * (sntrup761x25519-sha512@openssh.com and the umac MACs). */
static const struct {
	enum ssh_bind_options_e opt;
	const char *value;
} openssh_profile[] = {
    {SSH_BIND_OPTIONS_KEY_EXCHANGE,
     "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
     "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
     "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"},
    {SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS,
     "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519"},
    {SSH_BIND_OPTIONS_CIPHERS_C_S, "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,"
                                   "aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"},
    {SSH_BIND_OPTIONS_CIPHERS_S_C, "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,"
                                   "aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"},
    {SSH_BIND_OPTIONS_HMAC_C_S, "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
                                "hmac-sha1-etm@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"},
    {SSH_BIND_OPTIONS_HMAC_S_C, "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
                                "hmac-sha1-etm@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"},
};

void ssh_profile_apply(ssh_bind bind, const char *banner)
{
	int process_config = 0;

	/* Never read /etc/ssh/libssh_server_config: the honeypot's behaviour
	 * is this config's alone. */
	ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &process_config);
	ssh_bind_options_set(bind, SSH_BIND_OPTIONS_BANNER, banner);
	for (size_t i = 0; i < sizeof(openssh_profile) / sizeof(openssh_profile[0]); i++)
		if (ssh_bind_options_set(bind, openssh_profile[i].opt, openssh_profile[i].value) !=
		    SSH_OK)
			warn("libssh refused the algorithm list %s", openssh_profile[i].value);
}
