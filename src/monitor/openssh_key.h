/* A private host key as OpenSSH's ssh-keygen writes it ("openssh-key-v1",
 * PROTOCOL.key), for the copy every box gets in /etc/ssh (box_prep.c).
 *
 * libssh 0.10 writes RSA and ECDSA keys as PKCS#8 PEM ("BEGIN PRIVATE
 * KEY"); a server's /etc/ssh/ssh_host_rsa_key made by ssh-keygen begins
 * "BEGIN OPENSSH PRIVATE KEY", and an implant that reads it sees the
 * difference in one line. Unencrypted, one key, OpenSSH's field order,
 * base64 in lines of 70 as ssh-keygen wraps them; the same key always gives
 * the same text.
 */
#ifndef HERMES_OPENSSH_KEY_H
#define HERMES_OPENSSH_KEY_H

/* The key in pem (an RSA or ECDSA P-256/384/521 private key in any PEM form
 * OpenSSL reads; one already in OpenSSH's form is copied as it is) in
 * OpenSSH's form with `comment` in it. A heap string, or NULL with *why. */
char *openssh_key_from_pem(const char *pem, const char *comment, const char **why);

#endif
