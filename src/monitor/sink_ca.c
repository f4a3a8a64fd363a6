/*
 * sink_ca: the sinkhole CA, made once and kept; see sink_ca.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "sink_ca.h"
#include "util.h"

#define CA_DAYS 3650

static bool add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v;
	X509V3_set_ctx(&v, x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
	bool ok = e != NULL && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

static char *pem_of(int (*write)(BIO *, void *), void *obj)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (b != NULL && write(b, obj) == 1 && (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return out;
}

static int write_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

static int write_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

/* A new CA: its PEM texts, or -1. */
static int make(char **cert_pem, char **key_pem)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	bool ok = k != NULL && x != NULL && serial != NULL;

	ok = ok && X509_set_version(x, 2) == 1 && BN_rand(serial, 127, BN_RAND_TOP_ANY, 0) == 1 &&
	     BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != NULL &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -400L * 86400) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x), (long)CA_DAYS * 86400) != NULL &&
	     X509_set_pubkey(x, k) == 1;
	X509_NAME *n = X509_get_subject_name(x);
	ok =
	    ok &&
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"IT Services",
	                               -1, -1, 0) == 1 &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	                               (const unsigned char *)"Internal Root CA", -1, -1, 0) == 1 &&
	    X509_set_issuer_name(x, n) == 1;
	ok = ok && add_ext(x, NID_basic_constraints, "critical,CA:TRUE") &&
	     add_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
	     add_ext(x, NID_subject_key_identifier, "hash") && X509_sign(x, k, EVP_sha256()) > 0;
	if (ok) {
		*cert_pem = pem_of(write_cert, x);
		*key_pem = pem_of(write_key, k);
		ok = *cert_pem != NULL && *key_pem != NULL;
	}
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

static int save(const char *path, const char *text, unsigned mode)
{
	char tmp[4200];
	size_t done;
	int fd = util_open_tmp(path, mode, tmp, sizeof(tmp));

	if (fd < 0)
		return fd;
	int r = util_write_all(fd, text, strlen(text), &done);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int sink_ca_load(const char *dir, char **cert_pem, char **key_pem)
{
	char kpath[4096], cpath[4096];

	snprintf(kpath, sizeof(kpath), "%s/sinkhole_ca.key", dir);
	snprintf(cpath, sizeof(cpath), "%s/sinkhole_ca.crt", dir);
	*cert_pem = util_read_file(cpath, 64 * 1024, NULL);
	*key_pem = util_read_file(kpath, 64 * 1024, NULL);
	if (*cert_pem != NULL && *key_pem != NULL)
		return 0;
	free(*cert_pem);
	free(*key_pem);
	*cert_pem = *key_pem = NULL;
	if (access(kpath, F_OK) == 0 || access(cpath, F_OK) == 0) {
		error("%s or %s cannot be read: %s", kpath, cpath, strerror(errno));
		return -1;
	}
	if (make(cert_pem, key_pem) < 0) {
		error("cannot make the sinkhole CA");
		return -1;
	}
	int r = save(kpath, *key_pem, 0600);
	if (r == 0)
		r = save(cpath, *cert_pem, 0644);
	if (r < 0) {
		error("cannot keep the sinkhole CA in %s: %s", dir, strerror(-r));
		explicit_bzero(*key_pem, strlen(*key_pem));
		free(*key_pem);
		free(*cert_pem);
		*cert_pem = *key_pem = NULL;
		return -1;
	}
	info("made the sinkhole CA %s", cpath);
	return 0;
}

int sink_ca_hash(const char *cert_pem, char out[16])
{
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL) {
		error("the sinkhole CA's certificate cannot be read");
		return -1;
	}
	snprintf(out, 16, "%08lx", X509_subject_name_hash(x));
	X509_free(x);
	return 0;
}
