/*
 * digest: see digest.h.
 */
#include <stdio.h>

#include "digest.h"

static void hex(const unsigned char *md, unsigned len, char out[DIGEST_HEX_MAX])
{
	for (unsigned i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * len] = '\0';
}

int digest_hex(const EVP_MD *type, const void *p, size_t n, char out[DIGEST_HEX_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (EVP_Digest(p, n, md, &len, type, NULL) != 1)
		return -1;
	hex(md, len, out);
	return 0;
}

int digest_hex_final(EVP_MD_CTX *c, char out[DIGEST_HEX_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (EVP_DigestFinal_ex(c, md, &len) != 1)
		return -1;
	hex(md, len, out);
	return 0;
}
