/*
 * stealth_profile: what the sshd of one distribution looks like from the
 * network (docs/stealth.md) - data, not code. A profile is a text file of
 * "key value" lines (profiles/NAME.profile; the ones in the source tree are
 * built in): which image it fits (os-release ID and VERSION_ID, the
 * upstream version of openssh-server), the identification line made from
 * that package's version, the KEXINIT lists in that OpenSSH's order, the
 * authentication methods, and the failure delay of that distribution's PAM.
 * Pure and fuzzed: an operator may name a file of their own.
 */
#ifndef HERMES_STEALTH_PROFILE_H
#define HERMES_STEALTH_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "image_facts.h"
#include "ssh_profile.h"

#define PROFILE_DELAY_MAX_MS 10000

/* How late a refusal is answered, as sshd and PAM make it (docs/stealth.md):
 * a password's check takes PAM's delay, pam_ms times (0.5 + the mean of
 * three draws), the same for every attempt begun in one second; then sshd
 * pads any failure to the user's own floor, doubled until it covers the
 * time spent. The floor lies in [floor_lo_us, floor_hi_us], fixed for a
 * user name on one host. */
struct stealth_delay {
	int pam_ms;
	int floor_lo_us, floor_hi_us;
};

struct stealth_profile {
	char name[FACT_MAX];
	/* What image it fits. */
	char os_id[FACT_MAX];
	char version_id[FACT_MAX];
	char openssh[FACT_MAX]; /* upstream version, "9.2p1" */
	/* The identification line's template: {upstream} and {revision} stand
	 * for the parts of the image's openssh-server version. */
	char banner[SSH_OFFER_BANNER];
	struct ssh_offer offer;    /* banner empty until stealth_profile_banner */
	bool keyboard_interactive; /* offered (auth-methods lists it) */
	struct stealth_delay delay;
};

/* A built-in profile, from the source tree's profiles/ (generated). */
struct stealth_builtin {
	const char *name;
	const char *text;
};
extern const struct stealth_builtin stealth_builtins[];
extern const size_t stealth_builtin_count;

/* Parses a profile. Returns 0, or -1 with err set ("line N: what"). */
int stealth_profile_parse(struct stealth_profile *p, const char *text, size_t len, char *err,
                          size_t err_size);

/* True when the image is the profile's distribution and carries its
 * OpenSSH (the upstream part of openssh_version). */
bool stealth_profile_fits(const struct stealth_profile *p, const struct image_facts *f);

/* Fills p->offer.banner from the template and a Debian version of
 * openssh-server. Returns 0, or -1 when the version does not split or the
 * line would be too long. */
int stealth_profile_banner(struct stealth_profile *p, const char *version);

#endif
