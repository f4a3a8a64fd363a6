/*
 * sink_tls: the sinkhole's side of HTTPS (docs/sinkhole.md, "HTTPS"): a
 * TLS server whose certificate, for whatever name the box asks (SNI) or
 * the address it dialled when it names none, is made on the spot and
 * signed by Hermes's sinkhole CA, which the boxes trust. Certificates are
 * kept per name (at most TLS_CERTS, the oldest make room); one key serves
 * them all.
 *
 * The name is the box's: only letters, digits, '-', '_', '.' and a
 * leading "*." pass (lower-cased, at most 253 bytes); any other SNI gets
 * the certificate of the address.
 */
#ifndef HERMES_SINK_TLS_H
#define HERMES_SINK_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TLS_CERTS 1024

/* Before the sandbox: OpenSSL's set-up, the CA (PEM texts) and the leaf
 * key. 0, or -1 with err. */
int sink_tls_init(const char *ca_cert_pem, const char *ca_key_pem, char *err, size_t len);
bool sink_tls_ready(void);

/* A server-side TLS connection on fd, non-blocking; dst (network order)
 * names the certificate when the box sends no SNI. NULL on failure. */
SSL *sink_tls_new(int fd, uint32_t dst);

/* The name the box asked for, or NULL. */
const char *sink_tls_sni(SSL *ssl);

/* Whether name may be a certificate's (and a URL's) host. */
bool sink_tls_name_ok(const char *name);

#endif
