/*
 * sink_ca: the sinkhole's certificate authority (docs/sinkhole.md,
 * "HTTPS"): the key and the self-signed certificate with which the
 * sinkhole signs a certificate for each name a box asks for over TLS, and
 * which every box in sinkhole mode trusts (box_trust.h). Made at the first
 * start beside the host keys (sinkhole_ca.key, 0600, and sinkhole_ca.crt)
 * and kept: boxes made later trust the same one.
 *
 * Its name is an ordinary company's internal root ("Internal Root CA"),
 * as a server's trust store may well hold.
 */
#ifndef HERMES_SINK_CA_H
#define HERMES_SINK_CA_H

/* dir: the host keys' directory. 0 and the two PEM texts (the caller's),
 * or -1 (logged). */
int sink_ca_load(const char *dir, char **cert_pem, char **key_pem);

/* The certificate's subject hash as OpenSSL names its links in a
 * certificates directory ("%08lx"). 0, or -1 (logged). */
int sink_ca_hash(const char *cert_pem, char out[16]);

#endif
