/*
 * sink_tls: certificates made per name, signed by the sinkhole CA; see
 * sink_tls.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "sink_tls.h"

struct cert {
	char name[256];
	X509 *x;
	uint64_t used;
};

static SSL_CTX *ctx;
static X509 *ca;
static EVP_PKEY *ca_key, *leaf_key;
static struct cert certs[TLS_CERTS];
static uint64_t clock_tick;

bool sink_tls_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 253)
		return false;
	if (strncmp(name, "*.", 2) == 0)
		name += 2;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static bool add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v;
	X509V3_set_ctx(&v, ca, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
	bool ok = e != NULL && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

/* A certificate for name ("1.2.3.4" is an address), signed by the CA. */
static X509 *mint(const char *name, bool ip)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	char san[300];
	bool ok = x != NULL && serial != NULL;

	ok = ok && X509_set_version(x, 2) == 1 && BN_rand(serial, 127, BN_RAND_TOP_ANY, 0) == 1 &&
	     BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != NULL;
	ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -30L * 86400) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) != NULL;
	ok = ok && X509_set_pubkey(x, leaf_key) == 1 &&
	     X509_set_issuer_name(x, X509_get_subject_name(ca)) == 1;
	X509_NAME *subj = X509_get_subject_name(x);
	ok = ok && X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)name,
	                                      -1, -1, 0) == 1;
	snprintf(san, sizeof(san), "%s:%s", ip ? "IP" : "DNS", name);
	ok = ok && add_ext(x, NID_subject_alt_name, san) &&
	     add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
	     add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
	     add_ext(x, NID_ext_key_usage, "serverAuth") &&
	     add_ext(x, NID_authority_key_identifier, "keyid:always");
	ok = ok && X509_sign(x, ca_key, EVP_sha256()) > 0;
	BN_free(serial);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The certificate of name, made if new. */
static X509 *cert_for(const char *name, bool ip)
{
	struct cert *spare = &certs[0];

	for (size_t i = 0; i < TLS_CERTS; i++) {
		if (certs[i].x != NULL && strcmp(certs[i].name, name) == 0) {
			certs[i].used = ++clock_tick;
			return certs[i].x;
		}
		if (certs[i].used < spare->used)
			spare = &certs[i];
	}
	X509 *x = mint(name, ip);
	if (x == NULL)
		return NULL;
	X509_free(spare->x);
	spare->x = x;
	snprintf(spare->name, sizeof(spare->name), "%s", name);
	spare->used = ++clock_tick;
	return x;
}

static int use_cert(SSL *ssl, const char *name, bool ip)
{
	X509 *x = cert_for(name, ip);
	return x != NULL && SSL_use_certificate(ssl, x) == 1 &&
	               SSL_use_PrivateKey(ssl, leaf_key) == 1
	           ? 0
	           : -1;
}

static int on_servername(SSL *ssl, int *alert, void *arg)
{
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	char lower[256];

	if (sni == NULL || !sink_tls_name_ok(sni))
		return SSL_TLSEXT_ERR_OK; /* the address's certificate, set before */
	size_t i = 0;
	for (; sni[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)((sni[i] >= 'A' && sni[i] <= 'Z') ? sni[i] - 'A' + 'a' : sni[i]);
	lower[i] = '\0';
	return use_cert(ssl, lower, false) == 0 ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_ALERT_FATAL;
}

int sink_tls_init(const char *ca_cert_pem, const char *ca_key_pem, char *err, size_t len)
{
	BIO *b1 = BIO_new_mem_buf(ca_cert_pem, -1), *b2 = BIO_new_mem_buf(ca_key_pem, -1);

	ca = b1 ? PEM_read_bio_X509(b1, NULL, NULL, NULL) : NULL;
	ca_key = b2 ? PEM_read_bio_PrivateKey(b2, NULL, NULL, NULL) : NULL;
	BIO_free(b1);
	BIO_free(b2);
	if (ca == NULL || ca_key == NULL || X509_check_private_key(ca, ca_key) != 1) {
		snprintf(err, len, "the sinkhole CA's certificate or key is not usable");
		return -1;
	}
	leaf_key = EVP_EC_gen("P-256");
	ctx = SSL_CTX_new(TLS_server_method());
	if (leaf_key == NULL || ctx == NULL) {
		snprintf(err, len, "TLS set-up failed");
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* The CA follows each leaf, as a server sends its chain. */
	X509_up_ref(ca);
	SSL_CTX_add_extra_chain_cert(ctx, ca);
	return 0;
}

bool sink_tls_ready(void)
{
	return ctx != NULL;
}

SSL *sink_tls_new(int fd, uint32_t dst)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = {.s_addr = dst};
	SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;

	if (ssl == NULL)
		return NULL;
	if (inet_ntop(AF_INET, &a, ip, sizeof(ip)) == NULL || use_cert(ssl, ip, true) < 0 ||
	    SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

const char *sink_tls_sni(SSL *ssl)
{
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	return sni != NULL && sink_tls_name_ok(sni) ? sni : NULL;
}
