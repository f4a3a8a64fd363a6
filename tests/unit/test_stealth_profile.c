/* Unit tests for stealth_profile: the built-in profiles parse and fit the
 * images they are for, the banner is made from the package's version, and
 * a broken profile file is refused with its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stealth_profile.h"

static const char good[] = "# a comment\n"
                           "name debian-12\n"
                           "os-id debian\n"
                           "os-version-id 12\n"
                           "openssh 9.2p1\n"
                           "banner OpenSSH_{upstream} Debian-{revision}\n"
                           "kex curve25519-sha256,ecdh-sha2-nistp256\n"
                           "host-key-algorithms rsa-sha2-512,ssh-ed25519\n"
                           "ciphers aes128-ctr\n"
                           "macs hmac-sha2-256\n"
                           "server-sig-algs ssh-ed25519,rsa-sha2-512\n"
                           "auth-methods publickey,password\n"
                           "  pam-fail-delay-ms   2000  \r\n"
                           "fail-floor-us 5000 9294\n";

static int parse(struct stealth_profile *p, const char *text, char *err)
{
	err[0] = '\0';
	return stealth_profile_parse(p, text, strlen(text), err, 200);
}

static void test_parse(void **state)
{
	struct stealth_profile p;
	char err[200];

	(void)state;
	assert_int_equal(parse(&p, good, err), 0);
	assert_string_equal(p.name, "debian-12");
	assert_string_equal(p.offer.kex, "curve25519-sha256,ecdh-sha2-nistp256");
	assert_string_equal(p.offer.hostkeys, "rsa-sha2-512,ssh-ed25519");
	assert_false(p.keyboard_interactive);
	assert_string_equal(p.offer.sigalgs, "ssh-ed25519,rsa-sha2-512");
	assert_int_equal(p.delay.pam_ms, 2000);
	assert_int_equal(p.delay.floor_lo_us, 5000);
	assert_int_equal(p.delay.floor_hi_us, 9294);
}

/* good with one line replaced (or added): refused, naming the line. */
static void refused(const char *from, const char *to, const char *want)
{
	char text[2048], err[200];
	struct stealth_profile p;
	const char *at = strstr(good, from);

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	if (parse(&p, text, err) == 0)
		fail_msg("accepted: %s", text);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
}

static void test_refused(void **state)
{
	(void)state;
	refused("ciphers aes128-ctr\n", "", "ciphers is missing");
	refused("ciphers aes128-ctr", "ciphers aes128-ctr,,aes256-ctr", "line 9: ciphers is not");
	refused("ciphers aes128-ctr", "ciphers aes128 ctr", "line 9: ciphers is not");
	refused("ciphers aes128-ctr", "ciphers", "line 9: ciphers has no value");
	refused("name debian-12\n", "name debian-12\nname x\n", "line 3: name is given twice");
	refused("name debian-12", "name debian 12", "must be one word");
	refused("name debian-12", "colour blue", "line 2: unknown key \"colour\"");
	refused("banner OpenSSH", "banner SSH-2.0-OpenSSH", "banner must not begin");
	refused("banner OpenSSH_{upstream} Debian-{revision}", "banner OpenSSH\x01",
	        "not printable ASCII");
	refused("publickey,password", "password,publickey", "auth-methods must be");
	refused("us 5000 9294", "us 9294 5000", "LO <= HI");
	refused("us 5000 9294", "us 5000 20000000", "HI <= 10000000");
	refused("us 5000 9294", "us -1 5", "LO <= HI");
	refused("us 5000 9294", "us 1 2 3", "must be \"LO HI\"");
	refused("fail-floor-us 5000 9294\n", "", "fail-floor-us is missing");
	refused("  pam-fail-delay-ms   2000  \r\n", "", "pam-fail-delay-ms is missing");
	refused("delay-ms   2000", "delay-ms 10001", "line 13: pam-fail-delay-ms is out of range");
	refused("delay-ms   2000", "delay-ms 2s", "must be a number");
	refused("server-sig-algs ssh-ed25519,rsa-sha2-512\n", "", "server-sig-algs is missing");
	refused("auth-methods publickey,password\n", "", "auth-methods is missing");
}

static void test_banner(void **state)
{
	struct stealth_profile p;
	char err[200];

	(void)state;
	assert_int_equal(parse(&p, good, err), 0);
	assert_int_equal(stealth_profile_banner(&p, "1:9.2p1-2+deb12u10"), 0);
	assert_string_equal(p.offer.banner, "OpenSSH_9.2p1 Debian-2+deb12u10");
	assert_int_equal(stealth_profile_banner(&p, "9.2p1"), -1);
	assert_int_equal(stealth_profile_banner(&p, ""), -1);
	/* Too long for an identification line. */
	char v[SSH_OFFER_BANNER];
	memset(v, '1', sizeof(v) - 1);
	v[0] = '9';
	v[1] = '-';
	v[sizeof(v) - 1] = '\0';
	assert_int_equal(stealth_profile_banner(&p, v), -1);
}

static void test_builtins_fit_their_images(void **state)
{
	static const struct {
		const char *os, *version, *openssh, *banner;
	} images[] = {
	    {"debian", "12", "1:9.2p1-2+deb12u10", "OpenSSH_9.2p1 Debian-2+deb12u10"},
	    {"ubuntu", "22.04", "1:8.9p1-3ubuntu0.13", "OpenSSH_8.9p1 Ubuntu-3ubuntu0.13"},
	};

	(void)state;
	assert_int_equal(stealth_builtin_count, 2);
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		struct image_facts f = {0};
		size_t fits = 0;
		snprintf(f.os_id, sizeof(f.os_id), "%s", images[i].os);
		snprintf(f.version_id, sizeof(f.version_id), "%s", images[i].version);
		snprintf(f.openssh_version, sizeof(f.openssh_version), "%s", images[i].openssh);
		for (size_t b = 0; b < stealth_builtin_count; b++) {
			struct stealth_profile p;
			char err[200];
			const char *t = stealth_builtins[b].text;
			if (stealth_profile_parse(&p, t, strlen(t), err, sizeof(err)) < 0)
				fail_msg("%s: %s", stealth_builtins[b].name, err);
			assert_string_equal(p.name, stealth_builtins[b].name);
			if (!stealth_profile_fits(&p, &f))
				continue;
			fits++;
			assert_int_equal(stealth_profile_banner(&p, f.openssh_version), 0);
			assert_string_equal(p.offer.banner, images[i].banner);
		}
		assert_int_equal(fits, 1);
		/* Another OpenSSH, or none: no profile fits. */
		snprintf(f.openssh_version, sizeof(f.openssh_version), "1:9.6p1-3");
		for (size_t b = 0; b < stealth_builtin_count; b++) {
			struct stealth_profile p;
			char err[200];
			const char *t = stealth_builtins[b].text;
			assert_int_equal(stealth_profile_parse(&p, t, strlen(t), err, sizeof(err)),
			                 0);
			assert_false(stealth_profile_fits(&p, &f));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_banner),
	    cmocka_unit_test(test_builtins_fit_their_images),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
