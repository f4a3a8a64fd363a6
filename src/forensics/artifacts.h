/*
 * artifacts: what an attacker left in a session's container, copied out
 * when the session ends, before the container is stopped.
 *
 * Docker's changes list gives the paths added or changed in the writable
 * layer; the tmpfs mounts /tmp and /dev/shm, which it does not cover and
 * which vanish at the stop, are read with one exec of tar in the container
 * (docs/artifacts.md). Each regular file is fetched through the archive
 * endpoint (one call per path, or one for a directory's many paths and for
 * names that are not UTF-8), stored once under forensics.artifacts_dir
 * named by its SHA-256, and logged (file.created, file.changed;
 * file.deleted for removals, artifact.skipped for what a cap kept out or
 * could not be read: every changed path is one or the other); a manifest
 * per session lists all of it. Runs entirely on the monitor's loop through
 * the async Docker client; the only blocking work is writing a file of at
 * most max_file_size, and an archive's entries are taken a slice at a time.
 */
#ifndef HERMES_ARTIFACTS_H
#define HERMES_ARTIFACTS_H

#include <stdbool.h>

#include "config.h"
#include "docker.h"
#include "events.h"
#include "loop.h"

struct artifacts;

struct artifact_session {
	const char *session_id;
	const char *src_ip;
	int src_port;
	const char *container_id;
	const char *container_name;
	/* Absolute paths the session uploaded over SFTP/SCP (NULL-terminated,
	 * or NULL): their artifacts say so ("transfer": true). */
	const char *const *uploads;
	/* What an earlier session left in this container (sticky_ttl): the
	 * `seen` its collection ended with. An entry still as it was is
	 * listed in the manifest ("unchanged": true) and raises no event.
	 * NULL: a fresh container. Not kept. */
	const json_t *known;
	/* What Hermes itself put in the box before it was ready (box_prep.h),
	 * in the same form: an entry still so is listed in the manifest
	 * ("prepared": true) and raises no event. A log the box appends to is
	 * {"sha256": ..., "size": ...}: grown from it, only what was appended
	 * is stored ("appended"); changed otherwise, it is stored whole and
	 * said to be altered ("log_altered"). NULL: nothing. Not kept. */
	const json_t *prepared;
};

/* Called once the collection is over, whatever came of it. seen (owned by
 * the callee, NULL after a failure) maps every path found to what it was:
 * its SHA-256, "link:TARGET" or "deleted", for the next session of the
 * same container. */
typedef void (*artifacts_done_cb)(void *arg, const char *container_id, const char *container_name,
                                  json_t *seen);

/* Creates artifacts_dir and its sessions/ directory; NULL (with the reason
 * in the log) when it cannot. */
struct artifacts *artifacts_new(const struct config *cfg, struct loop *l, struct docker *d,
                                struct events *ev);
/* Drops collections in flight, calling each one's callback with seen NULL
 * (after a shutdown that gave up waiting for them); a callback must then
 * start no collection. */
void artifacts_free(struct artifacts *a);

/* The boxes are made by hermes-runtime (sandbox_spec.h): their
 * /etc/hostname, /etc/hosts and /etc/resolv.conf are their own files,
 * which the engine's archive cannot read (it serves its own copies), so
 * they are read from the box with the tmpfs mounts. */
void artifacts_read_etc(struct artifacts *a);

/* The boxes boot with systemd (sandbox_spec.h): /run is a tmpfs too, read
 * with the others but for journald's files (docs/artifacts.md). */
void artifacts_read_run(struct artifacts *a);

/* The command whose output is a tar (names from "/") of what a box holds
 * at ready that its collection compares with (pool_set_baseline): /run as
 * a collection reads it, and /var/log. Run before anyone has logged in, it
 * is the image's own tar; a collection reads the layer's files through the
 * engine instead. */
extern const char *const artifacts_baseline_cmd[];

/* Starts collecting; done(arg, ...) always follows, from the loop. */
void artifacts_collect(struct artifacts *a, const struct artifact_session *s,
                       artifacts_done_cb done, void *arg);

/* Collections still running. */
unsigned artifacts_running(const struct artifacts *a);

#endif
