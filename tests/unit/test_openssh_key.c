/* Unit tests for openssh_key: RSA and ECDSA keys made here, written as
 * PKCS#8 PEM (what libssh 0.10 writes), converted, and read back by libssh,
 * which must find the same private key; the layout checked byte by byte
 * where PROTOCOL.key fixes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libssh/libssh.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "buf.h"
#include "openssh_key.h"

static char *pkcs8(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	EVP_PKEY_free(k);
	return out;
}

/* The armour's payload, decoded; *len its length. */
static unsigned char *payload(const char *text, size_t *len)
{
	const char *begin = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
	const char *end = strstr(text, "-----END OPENSSH PRIVATE KEY-----\n");
	char *b64 = malloc(strlen(text) + 1), *o = b64;
	unsigned char *out;
	int n;

	assert_int_equal(strncmp(text, begin, strlen(begin)), 0);
	assert_non_null(end);
	assert_string_equal(end, "-----END OPENSSH PRIVATE KEY-----\n");
	for (const char *p = text + strlen(begin); p < end;) {
		const char *nl = strchr(p, '\n');
		assert_true(nl - p <= 70); /* ssh-keygen's lines */
		memcpy(o, p, (size_t)(nl - p));
		o += nl - p;
		p = nl + 1;
	}
	*o = '\0';
	out = malloc(strlen(b64));
	n = EVP_DecodeBlock(out, (unsigned char *)b64, (int)strlen(b64));
	assert_true(n > 0);
	while (o > b64 && o[-1] == '=') { /* DecodeBlock counts the padding */
		o--;
		n--;
	}
	free(b64);
	*len = (size_t)n;
	return out;
}

static void same_key(const char *pem, const char *converted)
{
	ssh_key a = NULL, b = NULL;

	assert_int_equal(ssh_pki_import_privkey_base64(pem, NULL, NULL, NULL, &a), SSH_OK);
	assert_int_equal(ssh_pki_import_privkey_base64(converted, NULL, NULL, NULL, &b), SSH_OK);
	assert_int_equal(ssh_key_cmp(a, b, SSH_KEY_CMP_PRIVATE), 0);
	assert_int_equal(ssh_key_cmp(a, b, SSH_KEY_CMP_PUBLIC), 0);
	ssh_key_free(a);
	ssh_key_free(b);
}

static void check_layout(const char *text, const char *type, const char *comment)
{
	size_t len, off, n;
	unsigned char *p = payload(text, &len);

	assert_true(len > 15 + 4 * 4);
	assert_memory_equal(p, "openssh-key-v1\0", 15);
	/* "none", "none", "", one key */
	assert_memory_equal(p + 15, "\0\0\0\4none\0\0\0\4none\0\0\0\0\0\0\0\1", 24);
	off = 39;
	n = buf_be32(p + off);
	assert_true(off + 4 + n + 4 <= len);
	assert_memory_equal(p + off + 8, type, strlen(type)); /* the public blob's type */
	off += 4 + n;
	n = buf_be32(p + off);
	off += 4;
	assert_int_equal(off + n, len);
	assert_int_equal(n % 8, 0);
	assert_memory_equal(p + off, p + off + 4, 4); /* the check words */
	assert_non_null(memmem(p + off, n, comment, strlen(comment)));
	/* padding 1, 2, 3...: after the comment to the end */
	unsigned char *c = memmem(p + off, n, comment, strlen(comment));
	for (size_t i = 0; c + strlen(comment) + i < p + off + n; i++)
		assert_int_equal(c[strlen(comment) + i], i + 1);
	free(p);
}

static void test_rsa(void **state)
{
	char *pem = pkcs8(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)), *out;
	const char *why = NULL;

	(void)state;
	assert_non_null(strstr(pem, "BEGIN PRIVATE KEY"));
	out = openssh_key_from_pem(pem, "root@prod-web-01", &why);
	assert_non_null(out);
	same_key(pem, out);
	check_layout(out, "ssh-rsa", "root@prod-web-01");
	/* the same key, the same file: box_prep's hashes hold across starts */
	char *again = openssh_key_from_pem(pem, "root@prod-web-01", &why);
	assert_string_equal(again, out);
	free(again);
	free(out);
	free(pem);
}

static void test_ecdsa(void **state)
{
	static const struct {
		const char *curve, *type;
	} c[] = {{"P-256", "ecdsa-sha2-nistp256"},
	         {"P-384", "ecdsa-sha2-nistp384"},
	         {"P-521", "ecdsa-sha2-nistp521"}};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *pem = pkcs8(EVP_PKEY_Q_keygen(NULL, NULL, "EC", c[i].curve)), *out;
		const char *why = NULL;

		out = openssh_key_from_pem(pem, "root@h", &why);
		assert_non_null(out);
		same_key(pem, out);
		check_layout(out, c[i].type, "root@h");
		free(out);
		free(pem);
	}
}

static void test_refused_and_kept(void **state)
{
	const char *why = NULL;
	char *pem = pkcs8(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224")), *out;
	static const char openssh[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
	                              "-----END OPENSSH PRIVATE KEY-----\n";

	(void)state;
	assert_null(openssh_key_from_pem(pem, "c", &why));
	assert_non_null(strstr(why, "curve"));
	free(pem);
	assert_null(openssh_key_from_pem("-----BEGIN PRIVATE KEY-----\nxx\n", "c", &why));
	assert_non_null(why);
	/* already OpenSSH's (libssh writes ed25519 so): kept as it is */
	out = openssh_key_from_pem(openssh, "c", &why);
	assert_string_equal(out, openssh);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsa),
	    cmocka_unit_test(test_ecdsa),
	    cmocka_unit_test(test_refused_and_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
