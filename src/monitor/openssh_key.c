/* A private key in OpenSSH's own format (see openssh_key.h). */
#include "openssh_key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "buf.h"
#include "util.h"

#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define OPENSSH_END   "-----END OPENSSH PRIVATE KEY-----\n"
#define LINE          70 /* ssh-keygen's base64 lines */

/* An SSH mpint of a non-negative number: big-endian, a 0 byte first when
 * the top bit is set, nothing for zero. */
static int put_mpint(struct buf *b, const BIGNUM *bn)
{
	int n = BN_num_bytes(bn);
	uint8_t *x = malloc((size_t)n + 1);
	int r;

	if (x == NULL)
		return -1;
	x[0] = 0;
	BN_bn2bin(bn, x + 1);
	r = n > 0 && (x[1] & 0x80) ? buf_put_str(b, x, (size_t)n + 1)
	                           : buf_put_str(b, x + 1, (size_t)n);
	free(x);
	return r;
}

static BIGNUM *bn(const EVP_PKEY *k, const char *name)
{
	BIGNUM *v = NULL;

	return EVP_PKEY_get_bn_param(k, name, &v) == 1 ? v : NULL;
}

/* The public blob and the private fields (after the two check words) of
 * an RSA key, in OpenSSH's order. */
static int rsa_parts(const EVP_PKEY *k, struct buf *pub, struct buf *priv)
{
	BIGNUM *n = bn(k, OSSL_PKEY_PARAM_RSA_N), *e = bn(k, OSSL_PKEY_PARAM_RSA_E);
	BIGNUM *d = bn(k, OSSL_PKEY_PARAM_RSA_D), *p = bn(k, OSSL_PKEY_PARAM_RSA_FACTOR1);
	BIGNUM *q = bn(k, OSSL_PKEY_PARAM_RSA_FACTOR2);
	BIGNUM *iqmp = bn(k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
	int bad = !n || !e || !d || !p || !q || !iqmp;

	bad = bad || buf_put_cstr(pub, "ssh-rsa") < 0 || put_mpint(pub, e) < 0 ||
	      put_mpint(pub, n) < 0;
	bad = bad || buf_put_cstr(priv, "ssh-rsa") < 0 || put_mpint(priv, n) < 0 ||
	      put_mpint(priv, e) < 0 || put_mpint(priv, d) < 0 || put_mpint(priv, iqmp) < 0 ||
	      put_mpint(priv, p) < 0 || put_mpint(priv, q) < 0;
	BN_clear_free(d);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_clear_free(iqmp);
	BN_free(n);
	BN_free(e);
	return bad ? -1 : 0;
}

static int ecdsa_parts(const EVP_PKEY *k, struct buf *pub, struct buf *priv, const char **why)
{
	static const struct {
		const char *group, *curve;
	} curves[] = {
	    {"prime256v1", "nistp256"}, {"secp384r1", "nistp384"}, {"secp521r1", "nistp521"}};
	char group[64], type[64];
	unsigned char point[160];
	size_t plen = 0, i;
	BIGNUM *d;
	int bad;

	if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                   NULL) != 1) {
		*why = "an EC key without a named curve";
		return -1;
	}
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(group, curves[i].group) == 0)
			break;
	if (i == sizeof(curves) / sizeof(curves[0])) {
		*why = "an EC key on a curve OpenSSH does not use";
		return -1;
	}
	if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
	                                    sizeof(point), &plen) != 1 ||
	    plen == 0 || point[0] != 0x04) {
		*why = "an EC key whose public point is not uncompressed";
		return -1;
	}
	if ((d = bn(k, OSSL_PKEY_PARAM_PRIV_KEY)) == NULL) {
		*why = "an EC key without its private part";
		return -1;
	}
	snprintf(type, sizeof(type), "ecdsa-sha2-%s", curves[i].curve);
	bad = buf_put_cstr(pub, type) < 0 || buf_put_cstr(pub, curves[i].curve) < 0 ||
	      buf_put_str(pub, point, plen) < 0;
	bad = bad || buf_put_cstr(priv, type) < 0 || buf_put_cstr(priv, curves[i].curve) < 0 ||
	      buf_put_str(priv, point, plen) < 0 || put_mpint(priv, d) < 0;
	BN_clear_free(d);
	if (bad)
		*why = "out of memory";
	return bad ? -1 : 0;
}

/* The armoured text of blob: base64 in lines of LINE. */
static char *armour(const struct buf *blob)
{
	char *b64 = util_base64(blob->data, blob->len), *out, *o;
	size_t n, i;

	if (b64 == NULL)
		return NULL;
	n = strlen(b64);
	out = malloc(sizeof(OPENSSH_BEGIN) + n + n / LINE + 2 + sizeof(OPENSSH_END));
	if (out != NULL) {
		o = out + strlen(strcpy(out, OPENSSH_BEGIN));
		for (i = 0; i < n; i += LINE) {
			size_t k = n - i < LINE ? n - i : LINE;
			memcpy(o, b64 + i, k);
			o += k;
			*o++ = '\n';
		}
		strcpy(o, OPENSSH_END);
	}
	free(b64);
	return out;
}

char *openssh_key_from_pem(const char *pem, const char *comment, const char **why)
{
	struct buf pub, priv, blob;
	EVP_PKEY *k = NULL;
	uint8_t check[4];
	char *out = NULL;
	BIO *bio;
	int r = -1;

	*why = "out of memory";
	if (strncmp(pem, OPENSSH_BEGIN, strlen(OPENSSH_BEGIN)) == 0)
		return strdup(pem);
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (k == NULL) {
		*why = "not a private key OpenSSL reads";
		return NULL;
	}
	buf_init(&pub);
	buf_init(&priv);
	buf_init(&blob);
	/* The two check words, equal: they tell a right passphrase.
	 * ssh-keygen draws them; here they come from the key, so that every
	 * start of Hermes writes the same file for the same key (box_prep's
	 * prepared hashes stay true). */
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (EVP_Digest(pem, strlen(pem), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 4)
		goto out;
	memcpy(check, md, sizeof(check));
	if (buf_put(&priv, check, 4) < 0 || buf_put(&priv, check, 4) < 0)
		goto out;
	if (EVP_PKEY_is_a(k, "RSA")) {
		r = rsa_parts(k, &pub, &priv);
	} else if (EVP_PKEY_is_a(k, "EC")) {
		r = ecdsa_parts(k, &pub, &priv, why);
	} else {
		*why = "neither an RSA nor an ECDSA key";
		goto out;
	}
	if (r < 0 || buf_put_cstr(&priv, comment) < 0)
		goto out;
	/* Padded with 1, 2, 3... to the cipher's block, 8 for "none". */
	for (uint8_t pad = 1; priv.len % 8 != 0; pad++)
		if (buf_put(&priv, &pad, 1) < 0)
			goto out;
	r = buf_put(&blob, "openssh-key-v1", 15) < 0 || buf_put_cstr(&blob, "none") < 0 ||
	            buf_put_cstr(&blob, "none") < 0 || buf_put_cstr(&blob, "") < 0 ||
	            buf_put_u32(&blob, 1) < 0 || buf_put_str(&blob, pub.data, pub.len) < 0 ||
	            buf_put_str(&blob, priv.data, priv.len) < 0
	        ? -1
	        : 0;
	if (r == 0 && (out = armour(&blob)) == NULL)
		*why = "out of memory";
out:
	EVP_PKEY_free(k);
	buf_free(&pub); /* buf_free wipes: the private parts go with it */
	buf_free(&priv);
	buf_free(&blob);
	return out;
}
