/*
 * Unit tests for auth_policy.c: static credentials, accept-all after N
 * failures, and exact byte comparison of attacker input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth_policy.h"

static struct credential creds[] = {
    {.username = "root", .password = "toor"},
    {.username = "admin", .password = ""},
    {.username = "deploy", .password = "pa\xff\x01ss"},
    {.username = "nopass", .password = NULL},
};

static struct config cfg;
static struct auth_policy pol;

static void with_n(int n)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.authentication.static_credentials = creds;
	cfg.authentication.n_static_credentials = sizeof(creds) / sizeof(creds[0]);
	cfg.authentication.accept_all_after_failures = n;
	auth_policy_init(&pol, &cfg);
}

static enum auth_result try(const char *u, size_t un, const char *p, size_t pn, int failures)
{
	return auth_policy_password(&pol, (const uint8_t *)u, un, (const uint8_t *)p, pn, failures);
}

#define TRY(u, p, f) try(u, strlen(u), p, strlen(p), f)

static void test_honeytoken_first(void **state)
{
	static struct credential tokens[] = {
	    {.username = "postgres", .password = "P0stgr3s"},
	    {.username = NULL, .password = "Xk9#mQ2v"},
	};
	(void)state;
	with_n(3);
	cfg.honeytokens.credentials = tokens;
	cfg.honeytokens.n_credentials = 2;
	auth_policy_init(&pol, &cfg);
	assert_int_equal(TRY("postgres", "P0stgr3s", 0), AUTH_ACCEPT_HONEYTOKEN);
	assert_int_equal(TRY("root", "P0stgr3s", 0), AUTH_REJECT);     /* its user only */
	assert_int_equal(TRY("root", "P0stgr3s", 3), AUTH_ACCEPT_ALL); /* not the token */
	assert_int_equal(TRY("anyone", "Xk9#mQ2v", 0), AUTH_ACCEPT_HONEYTOKEN);
	assert_int_equal(TRY("root", "Xk9#mQ2v", 5),
	                 AUTH_ACCEPT_HONEYTOKEN); /* before accept-all */
	assert_int_equal(try("root", 4, "Xk9#mQ2v\0", 9, 0), AUTH_REJECT);
	assert_int_equal(TRY("root", "toor", 0), AUTH_ACCEPT_STATIC);
	assert_string_equal(auth_result_name(AUTH_ACCEPT_HONEYTOKEN), "honeytoken");
}

static void test_init(void **state)
{
	(void)state;
	with_n(5);
	assert_ptr_equal(pol.creds, creds);
	assert_int_equal(pol.n_creds, 4);
	assert_int_equal(pol.accept_all_after, 5);
}

static void test_static_match(void **state)
{
	(void)state;
	with_n(3);
	assert_int_equal(TRY("root", "toor", 0), AUTH_ACCEPT_STATIC);
	/* a static pair stays "static" even when accept-all would apply */
	assert_int_equal(TRY("root", "toor", 7), AUTH_ACCEPT_STATIC);
	with_n(0);
	assert_int_equal(TRY("root", "toor", 0), AUTH_ACCEPT_STATIC);
}

static void test_wrong_password(void **state)
{
	(void)state;
	with_n(0);
	assert_int_equal(TRY("root", "toox", 0), AUTH_REJECT);
	assert_int_equal(TRY("root", "too", 0), AUTH_REJECT);
	assert_int_equal(TRY("root", "toorx", 0), AUTH_REJECT);
	assert_int_equal(TRY("root", "TOOR", 0), AUTH_REJECT);
	assert_int_equal(TRY("root", "", 0), AUTH_REJECT);
	/* another user's password does not open this account */
	assert_int_equal(TRY("admin", "toor", 0), AUTH_REJECT);
}

static void test_wrong_user(void **state)
{
	(void)state;
	with_n(0);
	assert_int_equal(TRY("Root", "toor", 0), AUTH_REJECT);
	assert_int_equal(TRY("roo", "toor", 0), AUTH_REJECT);
	assert_int_equal(TRY("rootx", "toor", 0), AUTH_REJECT);
	assert_int_equal(TRY("", "toor", 0), AUTH_REJECT);
}

static void test_accept_all_after_three(void **state)
{
	(void)state;
	with_n(3);
	assert_int_equal(TRY("guest", "guest", 0), AUTH_REJECT);
	assert_int_equal(TRY("guest", "guest", 1), AUTH_REJECT);
	assert_int_equal(TRY("guest", "guest", 2), AUTH_REJECT);
	assert_int_equal(TRY("guest", "guest", 3), AUTH_ACCEPT_ALL);
	assert_int_equal(TRY("guest", "guest", 4), AUTH_ACCEPT_ALL);
	assert_int_equal(try("\x00\x01", 2, NULL, 0, 3), AUTH_ACCEPT_ALL);
	assert_int_equal(TRY("guest", "guest", -1), AUTH_REJECT);
}

static void test_never_when_zero(void **state)
{
	int f;

	(void)state;
	with_n(0);
	for (f = 0; f < 1000; f++)
		assert_int_equal(TRY("guest", "guest", f), AUTH_REJECT);
	with_n(-2); /* a bad value must not mean "always" */
	assert_int_equal(pol.accept_all_after, 0);
	assert_int_equal(TRY("guest", "guest", 5), AUTH_REJECT);
}

static void test_binary_exact(void **state)
{
	(void)state;
	with_n(0);
	/* "root\0x" would equal "root" under strcmp */
	assert_int_equal(try("root\0x", 6, "toor", 4, 0), AUTH_REJECT);
	assert_int_equal(try("root", 4, "toor\0", 5, 0), AUTH_REJECT);
	assert_int_equal(try("root", 5, "toor", 4, 0), AUTH_REJECT);
	/* non-UTF-8 and control bytes match when they are the same bytes */
	assert_int_equal(try("deploy", 6, "pa\xff\x01ss", 6, 0), AUTH_ACCEPT_STATIC);
	assert_int_equal(try("deploy", 6, "pa\xff\x02ss", 6, 0), AUTH_REJECT);
	assert_int_equal(try("deploy", 6, "pa\xff", 3, 0), AUTH_REJECT);
}

static void test_empty_password(void **state)
{
	(void)state;
	with_n(0);
	assert_int_equal(try("admin", 5, "", 0, 0), AUTH_ACCEPT_STATIC);
	assert_int_equal(try("admin", 5, NULL, 0, 0), AUTH_ACCEPT_STATIC);
	assert_int_equal(try("admin", 5, "\0", 1, 0), AUTH_REJECT);
	assert_int_equal(try("admin", 5, " ", 1, 0), AUTH_REJECT);
	/* a credential without a password is not the empty password */
	assert_int_equal(try("nopass", 6, "", 0, 0), AUTH_REJECT);
}

static void test_no_credentials(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.authentication.accept_all_after_failures = 1;
	auth_policy_init(&pol, &cfg);
	assert_int_equal(TRY("root", "toor", 0), AUTH_REJECT);
	assert_int_equal(TRY("root", "toor", 1), AUTH_ACCEPT_ALL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(auth_result_name(AUTH_REJECT), "rejected");
	assert_string_equal(auth_result_name(AUTH_ACCEPT_STATIC), "static");
	assert_string_equal(auth_result_name(AUTH_ACCEPT_ALL), "accept_all");
	assert_string_equal(auth_result_name((enum auth_result)42), "unknown");
}

static void test_pubkey_listed_fingerprint(void **state)
{
	char *fps[] = {"SHA256:aaaa", "SHA256:bbbb", NULL};
	struct strlist list = {fps, 2};
	struct auth_policy p = {.key_fingerprints = &list};

	assert_int_equal(auth_policy_pubkey(&p, "SHA256:bbbb", 0), AUTH_ACCEPT_STATIC);
	assert_int_equal(auth_policy_pubkey(&p, "SHA256:bbb", 0), AUTH_REJECT);
	assert_int_equal(auth_policy_pubkey(&p, "SHA256:cccc", 50), AUTH_REJECT);
	assert_int_equal(auth_policy_pubkey(&p, "", 0), AUTH_REJECT);
	assert_int_equal(auth_policy_pubkey(&p, NULL, 0), AUTH_REJECT);
}

static void test_pubkey_accept_after_n(void **state)
{
	struct auth_policy p = {.accept_keys_after = 2};

	assert_int_equal(auth_policy_pubkey(&p, "SHA256:x", 0), AUTH_REJECT);
	assert_int_equal(auth_policy_pubkey(&p, "SHA256:x", 1), AUTH_REJECT);
	assert_int_equal(auth_policy_pubkey(&p, "SHA256:x", 2), AUTH_ACCEPT_ALL);
	p.accept_keys_after = 0; /* off: never */
	assert_int_equal(auth_policy_pubkey(&p, "SHA256:x", 1000), AUTH_REJECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pubkey_listed_fingerprint),
	    cmocka_unit_test(test_pubkey_accept_after_n),
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_honeytoken_first),
	    cmocka_unit_test(test_static_match),
	    cmocka_unit_test(test_wrong_password),
	    cmocka_unit_test(test_wrong_user),
	    cmocka_unit_test(test_accept_all_after_three),
	    cmocka_unit_test(test_never_when_zero),
	    cmocka_unit_test(test_binary_exact),
	    cmocka_unit_test(test_empty_password),
	    cmocka_unit_test(test_no_credentials),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
