/*
 * digest: a message digest as lowercase hex - SHA-256 names artifacts,
 * MD5 makes a HASSH.
 */
#ifndef HERMES_DIGEST_H
#define HERMES_DIGEST_H

#include <stddef.h>

#include <openssl/evp.h>

#define DIGEST_HEX_MAX (2 * EVP_MAX_MD_SIZE + 1)

/* out gets 2 * the digest's size hex digits and a NUL. Returns 0, or -1
 * if OpenSSL failed. */
int digest_hex(const EVP_MD *type, const void *p, size_t n, char out[DIGEST_HEX_MAX]);

/* The same for a digest fed in parts: finishes c (not freed). */
int digest_hex_final(EVP_MD_CTX *c, char out[DIGEST_HEX_MAX]);

#endif
