/*
 * stealth: the profile Hermes imitates on the wire, chosen at start
 * (docs/stealth.md). The box image is read through Docker - a container
 * created from it and never started, its /etc/os-release and dpkg's status
 * file copied out, then removed - and the profile that fits
 * it (stealth.profile: auto), or the one named, gives the banner, the
 * algorithm lists, the methods and the failure delay.
 */
#ifndef HERMES_STEALTH_H
#define HERMES_STEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "docker.h"
#include "image_facts.h"
#include "stealth_profile.h"

struct stealth {
	struct stealth_profile profile; /* offer.banner set */
	struct image_facts facts;
	bool auth_delay;
	uint8_t secret[32]; /* sshd's per-host secret for the users' floors */
};

/* How late the worker answers a refusal (ipc.h's auth_reply). */
struct stealth_wait {
	uint32_t pam_ms;   /* a password's check: PAM's delay */
	uint32_t floor_us; /* then padded to this, doubled until it covers the
	                    * time spent; 0: not padded */
};

/* Reads the image and chooses the profile (waits for Docker's answers:
 * start-up only). Returns 0, or -1 after logging why Hermes cannot start. */
int stealth_choose(struct stealth *s, const struct config *cfg, struct docker *d);

/* The host's secret, made from what identifies it (the host key): the same
 * user gets the same floor on every start. */
void stealth_set_secret(struct stealth *s, const void *p, size_t n);

/* The wait for a refusal of user: a password's (PAM's delay, then the
 * floor) or another method's (the floor alone); nothing when
 * stealth.auth_delay is off. */
struct stealth_wait stealth_refusal(const struct stealth *s, const uint8_t *user, size_t user_len,
                                    bool password);

/* PAM's delay in ms for a password checked in the given second since the
 * epoch (what stealth_refusal draws for the current one): the same for
 * every attempt of that second, 0.5 to 1.5 times the profile's pam_ms. */
uint32_t stealth_pam_delay(const struct stealth *s, long long second);

#endif
