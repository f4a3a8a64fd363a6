/*
 * libFuzzer harness for image_facts.c: any bytes as a box image's
 * os-release, dpkg status file and /etc/passwd (an image may come from
 * anywhere). Beyond "no crash, no over-read" it checks what stealth.c, the
 * banner and the log history rely on: what is kept is NUL-terminated within
 * its field and made only of the characters the header promises; an
 * openssh-server version that is kept splits into parts a banner may carry;
 * a login user is a plain name with a uid in the users' range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_facts.h"

#include "fuzz_check.h"

static void only(const char *s, size_t size, const char *set)
{
	size_t n = strnlen(s, size);

	CHECK(n < size);
	for (size_t i = 0; i < n; i++)
		CHECK(strchr(set, s[i]) != NULL);
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_facts f;
	const char *why = NULL;
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&f, 0x55, sizeof(f));
	if (image_facts_os_release(&f, text, size, &why) == 0) {
		CHECK(why == NULL);
		only(f.os_id, sizeof(f.os_id), "abcdefghijklmnopqrstuvwxyz0123456789._-");
		only(f.version_id, sizeof(f.version_id), ALNUM "._-~");
		CHECK(f.os_id[0] != '\0' && f.version_id[0] != '\0');
	} else {
		CHECK(why != NULL);
	}
	CHECK(strnlen(f.pretty_name, sizeof(f.pretty_name)) < sizeof(f.pretty_name));
	for (size_t i = 0; f.pretty_name[i] != '\0'; i++)
		CHECK(f.pretty_name[i] >= 0x20 && f.pretty_name[i] < 0x7f);

	int r = image_facts_dpkg_status(&f, text, size);
	CHECK(r >= -1 && r <= 1);
	if (r == 1) {
		char up[FACT_MAX], rev[FACT_MAX];
		CHECK(image_facts_split_version(f.openssh_version, up, sizeof(up), rev,
		                                sizeof(rev)) == 0);
		only(up, sizeof(up), ALNUM ".+~");
		only(rev, sizeof(rev), ALNUM ".+~");
	} else {
		CHECK(f.openssh_version[0] == '\0');
	}
	r = image_facts_passwd(&f, text, size);
	CHECK(r == 0 || r == 1);
	if (r == 1) {
		only(f.login_user, sizeof(f.login_user), "abcdefghijklmnopqrstuvwxyz0123456789_-");
		CHECK(f.login_user[0] != '\0' && f.login_user[0] != '-' &&
		      (f.login_user[0] < '0' || f.login_user[0] > '9'));
		CHECK(f.login_uid >= 1000 && f.login_uid <= 59999);
	} else {
		CHECK(f.login_user[0] == '\0');
	}
	/* A date from the first line only: within 1990 to 9999, or none. */
	r = image_facts_dpkg_log(&f, text, size);
	CHECK((r == 1 && f.installed >= 631152000 && f.installed < 253402300800LL) ||
	      (r == 0 && f.installed == 0));
	r = image_facts_rsyslog_traditional(text, size);
	CHECK(r == 0 || r == 1);
	/* The input as one version string and as a user name. */
	if (size < FACT_MAX * 2 && memchr(data, '\0', size) == NULL) {
		char up[FACT_MAX], rev[FACT_MAX];
		if (image_facts_split_version(text, up, sizeof(up), rev, sizeof(rev)) == 0) {
			only(up, sizeof(up), ALNUM ".+~");
			only(rev, sizeof(rev), ALNUM ".+~");
		}
	}
	free(text);
	return 0;
}
