/*
 * libFuzzer harness for stealth_profile.c: any bytes as a profile file
 * (stealth.profile may name an operator's own) and, when it parses, the
 * input's tail as an openssh-server version for the banner. Beyond "no
 * crash, no over-read" it checks what the monitor and the worker rely on:
 * every list is a KEXINIT name-list, the delays are within bounds, the
 * banner is printable ASCII within its field and has no "SSH-" prefix.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stealth_profile.h"

#include "fuzz_check.h"

static void printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	CHECK(n < size);
	for (size_t i = 0; i < n; i++)
		CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stealth_profile p;
	char err[200];
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (stealth_profile_parse(&p, text, size, err, sizeof(err)) == 0) {
		CHECK(ssh_offer_list_ok(p.offer.kex) && ssh_offer_list_ok(p.offer.hostkeys) &&
		      ssh_offer_list_ok(p.offer.ciphers) && ssh_offer_list_ok(p.offer.macs));
		CHECK(ssh_offer_list_ok(p.offer.sigalgs));
		CHECK(p.delay.pam_ms >= 0 && p.delay.pam_ms <= PROFILE_DELAY_MAX_MS);
		CHECK(p.delay.floor_lo_us >= 0 && p.delay.floor_lo_us <= p.delay.floor_hi_us &&
		      p.delay.floor_hi_us <= PROFILE_DELAY_MAX_MS * 1000);
		printable(p.banner, sizeof(p.banner));
		const char *nl = memrchr(text, '\n', size);
		const char *version = nl != NULL ? nl + 1 : text;
		if (stealth_profile_banner(&p, version) == 0) {
			printable(p.offer.banner, sizeof(p.offer.banner));
			CHECK(strncmp(p.offer.banner, "SSH-", 4) != 0);
		}
	} else {
		CHECK(strnlen(err, sizeof(err)) > 0);
	}
	free(text);
	return 0;
}
