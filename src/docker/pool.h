/*
 * pool: the pre-warmed container pool, in the monitor.
 *
 * At start it creates container_pool.size containers at once, in parallel.
 * An allocation takes a ready one (renamed to the session's name) and a
 * replacement starts warming at once; when none is ready the request waits
 * for the next one to come up, and one is created on demand (a warning).
 * A released container is stopped, never removed: it is evidence. At
 * shutdown the unused ready ones are removed. Every container carries the
 * instance label, so a restart after a kill finds what it left
 * (pool_reconcile). All Docker calls are
 * asynchronous (docker.h); results come back through callbacks.
 */
#ifndef HERMES_POOL_H
#define HERMES_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "docker.h"
#include "events.h"
#include "loop.h"
#include "sandbox_spec.h"

struct pool;

struct pool_container {
	char id[65];
	char name[80];
	bool pooled; /* was ready (pre-warmed) when allocated */
};

/* c is NULL on failure, with error saying why. */
typedef void (*pool_cb)(void *arg, const struct pool_container *c, const char *error);

struct pool *pool_new(struct loop *l, struct docker *d, const struct config *cfg,
                      struct events *ev);
void pool_free(struct pool *p);

/* A session container a killed run left running: the callee stops it
 * (pool_release) once it is done with it (its artifacts). */
typedef void (*pool_orphan_cb)(void *arg, const char *id, const char *name);

/*
 * Start-up, before pool_start: the containers a killed Hermes of the same
 * data (logging.output_dir; label hermes.instance) left behind. Unused
 * pre-warmed ones are removed; each session container still running goes
 * to orphan(arg, ...), or is stopped at once when orphan is NULL (kept, as
 * every session container is). One pool.reconciled event says how many.
 * The listing is done when pool_busy() turns false.
 */
void pool_reconcile(struct pool *p, pool_orphan_cb orphan, void *arg);

/* A box's network, wired by the caller once the box runs and before it is
 * ready (network_mode sinkhole, sink_net.h): attach gets the container and
 * its init's pid and returns 0, or a negative errno with err filled (the
 * box is then removed as any that failed to start); gone says a container
 * that was attached is stopped or removed. Set before pool_start. */
typedef int (*pool_net_attach_cb)(void *arg, const char *id, int pid, char *err, size_t len);
typedef void (*pool_net_gone_cb)(void *arg, const char *id);
void pool_set_net(struct pool *p, pool_net_attach_cb attach, pool_net_gone_cb gone, void *arg);

/* The engine's OCI runtime boxes are created with (sandbox_runtime_pick);
 * NULL, the engine's default. Set before pool_start. */
void pool_set_runtime(struct pool *p, const char *runtime);

/* What a box's own daemons wrote as it booted, read once it is prepared
 * (before it is ready): argv, a command run in the box whose output is a
 * tar archive (NULL-terminated, entries named from "/"; borrowed: it must
 * outlive the pool), and cb is given that archive for the box id, to
 * remember as the box's state at ready. The command is the image's own:
 * no one has logged in yet. One exec, not the engine's archive endpoint:
 * each call of that costs the engine a process of its own (a re-exec of
 * dockerd, ~0.2 s of CPU), and it cannot see the tmpfs mounts. At most
 * POOL_BASELINE_MAX bytes. One that cannot be read leaves the box ready all
 * the same (cb is not called). Set before pool_start. */
#define POOL_BASELINE_MAX ((size_t)16 << 20)
typedef void (*pool_baseline_cb)(void *arg, const char *id, const uint8_t *tar, size_t len);
void pool_set_baseline(struct pool *p, const char *const *argv, pool_baseline_cb cb, void *arg);

/* The boxes' PID 1 (sandbox_spec.h): the image's by default. Set before
 * pool_start. */
void pool_set_init(struct pool *p, enum sandbox_init init);

/* Each box is given a boot time of its own, a moment before it starts, for
 * hermes-runtime to set its clocks by (box_boot.h). Set before pool_start. */
void pool_set_boot_clock(struct pool *p, bool on);

/* Adds a command (argv, NULL-terminated; copied) every box runs as root
 * before it is ready, after its network and the commands added before; an
 * argument POOL_PREPARE_ID is the box's container id. A box whose command
 * fails or whose commands outlast spawn_timeout is removed. Set before
 * pool_start. */
#define POOL_PREPARE_ID "{container_id}"
void pool_add_prepare(struct pool *p, const char *const *argv);

/* Files a new box gets in its root before it starts (before its init runs:
 * what a booting system reads, the ssh host keys and the machine id), as a
 * tar archive cb appends to *tar for the box id (Docker unpacks it at "/").
 * cb returns 0, or -1 when it could not (the box is then removed); an empty
 * *tar puts nothing. A box started again (a returning attacker's) is not
 * given them again. Set before pool_start. */
typedef int (*pool_prestart_cb)(void *arg, const char *id, int64_t boot_ms, struct buf *tar);
void pool_set_prestart(struct pool *p, pool_prestart_cb cb, void *arg);

/* Starts warming up to the configured size. */
void pool_start(struct pool *p);
/* Containers ready now, and creations still in flight. */
unsigned pool_ready(const struct pool *p);
unsigned pool_warming(const struct pool *p);

/* Asks for a container for session_id; the callback comes later from the
 * loop (never inside this call). Returns a handle for pool_cancel. */
uint64_t pool_allocate(struct pool *p, const char *session_id, pool_cb cb, void *arg);
void pool_cancel(struct pool *p, uint64_t handle);

/* Stops a session's container (kept for forensics). */
void pool_release(struct pool *p, const char *id, const char *name);

/* Shutdown: no more warming; ready containers and any still warming are
 * removed. Done when pool_busy() turns false. */
void pool_shutdown(struct pool *p);
bool pool_busy(const struct pool *p);

#endif
