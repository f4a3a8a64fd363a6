/*
 * box_prep: what Hermes puts in every box before it is ready, so that it
 * looks like a server of its distribution rather than a container
 * (docs/stealth.md): the server's own host keys in /etc/ssh (the keys a
 * client sees, as on a server whose sshd answers; comment root@HOSTNAME,
 * dated as the openssh-server package's installation), a machine id of its
 * own (derived from the box's id and the host's secret: the same box keeps
 * it), no /.dockerenv, and a past in its logs (log_history.h) unless
 * stealth.log_history is off.
 *
 * And, for the artifact collection, what those paths hold right after:
 * listed as Hermes's, not the attacker's, unless the attacker changed them
 * (artifacts.h's `known`).
 */
#ifndef HERMES_BOX_PREP_H
#define HERMES_BOX_PREP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "hostkeys.h"
#include "image_facts.h"
#include "pool.h"

struct box_prep;

/* pem: the host keys as hostkeys_read gives them (copied); secret: the
 * host's (stealth.h); facts: the image's (its login user is the log
 * history's). NULL after logging why. */
struct box_prep *box_prep_new(const struct config *cfg, char *const pem[HOSTKEYS_N],
                              const uint8_t secret[32], const struct image_facts *facts);
void box_prep_free(struct box_prep *bp);

/* Gives the pool the files each new box has before it starts (the machine
 * id, the host keys and the log history: pool_set_prestart) and the
 * command it runs once started (pool_add_prepare): bp must outlive the
 * pool. systemd: the boxes' init is systemd (sandbox_spec.h), which
 * records their boot in utmp and wtmp itself. */
void box_prep_install(struct box_prep *bp, struct pool *p, bool systemd);

/* What the prepared paths of container id hold (a new object: path ->
 * SHA-256, or "deleted"; for a log the box appends to, {"sha256", "size"});
 * NULL when out of memory. */
json_t *box_prep_known(const struct box_prep *bp, const char *id);

/* The size the log at path of container id had when the box became ready,
 * where box_prep_known() holds it as a log the box appends to (what the
 * collection compares with from then on); 0 otherwise. */
size_t box_prep_log_size(const struct box_prep *bp, const char *id, const char *path);

#endif
