/* What hermes-runtime changes in an OCI bundle's config.json before runc
 * reads it (docs/stealth.md, "The runtime wrapper").
 *
 * Docker cannot be told to leave out the three files it bind-mounts over
 * the box's /etc (hostname, hosts, resolv.conf: their mounts name
 * /var/lib/docker/containers/ID/ in /proc/self/mountinfo) nor the HOSTNAME
 * it exports to PID 1. A server has neither. Hermes passes the text each
 * file should have in the container's environment (RUNTIME_ETC_ENV; the
 * monitor knows it, so the artifact collection can tell it from the
 * attacker's); the runtime takes those entries and HOSTNAME out of the
 * environment, puts the files into the box's own root (runtime_files.h),
 * and drops each mount whose file is in place. A file with no text keeps
 * Docker's mount.
 *
 * The input is the engine's (dockerd writes the bundle): every function
 * takes whatever JSON it is given and changes nothing it does not
 * recognise. No I/O here.
 */
#ifndef HERMES_RUNTIME_SPEC_H
#define HERMES_RUNTIME_SPEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "engine_files.h"

/* engine_files.h's paths and variables, as arrays. */
extern const char *const runtime_net_dest[ENGINE_FILES_N]; /* "/etc/hostname", ... */
extern const char *const runtime_etc_env[ENGINE_FILES_N];  /* "HERMES_ETC_HOSTNAME", ... */

/* Where the engine's copy of each file is (the source of its bind mount),
 * NULL where the config has no such mount or it is not a plain bind of an
 * absolute path. Pointers into config. */
struct runtime_mounts {
	const char *source[ENGINE_FILES_N];
};

void runtime_find_mounts(const json_t *config, struct runtime_mounts *out);

/* Removes every mount of config whose destination is `dest`; returns how
 * many. */
size_t runtime_drop_mount(json_t *config, const char *dest);

/* The texts Hermes passed (NULL where none), copied out of config's
 * process.env into heap strings the caller frees. */
struct runtime_texts {
	char *text[ENGINE_FILES_N];
};

void runtime_take_texts(const json_t *config, struct runtime_texts *out);
void runtime_texts_free(struct runtime_texts *t);

/* The box's boot time Hermes passed (box_boot.h: BOX_BOOT_ENV, decimal
 * milliseconds since the epoch), or -1 when there is none or the last one
 * is not such a number. */
int64_t runtime_take_boot(const json_t *config);

/* Whether Hermes said the box's init is systemd (box_boot.h: the last
 * BOX_INIT_ENV entry is BOX_INIT_SYSTEMD). */
int runtime_take_systemd(const json_t *config);

/* systemd runs a few units (logind, logrotate) with ProtectHostname=, for
 * which it calls unshare(CLONE_NEWUTS); the box's seccomp filter refuses
 * it (no CAP_SYS_ADMIN) and systemd then logs, at every boot and every
 * logrotate run, that "UTS namespace setup is prohibited (container
 * manager?)". Adds a rule to config's seccomp filter that answers that one
 * call (flags exactly CLONE_NEWUTS) with success without making it: the
 * unit keeps the box's UTS namespace, whose host name it could not change
 * anyway. Nothing when config has no seccomp filter with syscall rules, or
 * a rule already names unshare. Returns 1 when the rule was added. */
int runtime_quiet_uts_unshare(json_t *config);

/* Removes HOSTNAME=..., the runtime_etc_env entries, BOX_BOOT_ENV and
 * BOX_INIT_ENV from process.env; returns how many entries went. */
size_t runtime_strip_env(json_t *config);

/* The rootfs as config names it ("root": {"path": ...}), or NULL. */
const char *runtime_root_path(const json_t *config);

/* The subcommand of a runc command line (after its global options) and,
 * for "create" and "run", the bundle directory (--bundle/-b, default ".");
 * runc's state directory (--root, default "/run/runc") and the container
 * (the last argument, when it is not an option). NULL where argv has none.
 * Pointers into argv. */
struct runtime_call {
	const char *command;
	const char *bundle;
	const char *root;
	const char *id;
};

void runtime_parse_args(int argc, char *const argv[], struct runtime_call *out);

/* runc's state file of container id under root ("ROOT/ID/state.json") in
 * out; 0, or -1 when id could name something else (empty, ".", "..", a
 * '/') or the path does not fit. */
int runtime_state_path(const char *root, const char *id, char *out, size_t cap);

#endif
