/*
 * sinkhole_proc: the monitor's side of the sinkhole (docs/sinkhole.md).
 *
 * Owns the sinkhole's network (sink_net.h), wires every box of the pool
 * into it, starts hermes-sinkhole in it (again, a second later, if it
 * dies) and reads what it says. Nothing it says is trusted: each message
 * is checked (its kind, its fields and their types and lengths: sink_msg.h;
 * the box it names) before it becomes an event. A box's address names its container,
 * and the container the session that has it (the newest one), so every
 * egress event carries the session and the attacker's address.
 *
 * A fetch (an HTTP request a box made) is answered by egress.fetch: `off`
 * a 404; `cache` the body kept for that URL (fetch_cache.h), else 404;
 * `live` the cache, else hermes-fetch is exec'd for the URL (at most
 * egress.max_fetches at once), and its body is kept in the artifacts
 * (file.downloaded) and sent to the box. Every request is one egress.http
 * event, with the command line that made it when it can be found.
 *
 * Not for: the traffic itself (src/sinkhole/), or bytes from a box in
 * the monitor's loop beyond a message.
 */
#ifndef HERMES_SINKHOLE_PROC_H
#define HERMES_SINKHOLE_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "events.h"
#include "loop.h"
#include "pool.h"

struct sinkhole_proc;

/* The session that has container id now (or had it last): its id, the
 * attacker's address and port. false when none is known. */
typedef bool (*sinkhole_owner_cb)(void *arg, const char *container_id, const char **session,
                                  const char **src_ip, int *src_port);

/* Start-up, as root, before the pool starts: makes the network, hooks the
 * pool and starts the program (dir: where hermes-sinkhole and hermes-fetch
 * are). NULL (logged) on failure: sinkhole mode cannot run. */
struct sinkhole_proc *sinkhole_proc_new(struct loop *l, const struct config *cfg, struct events *ev,
                                        struct pool *pool, const char *dir, uid_t uid, gid_t gid,
                                        sinkhole_owner_cb owner, void *owner_arg);
void sinkhole_proc_free(struct sinkhole_proc *sp);

/* SIGCHLD: true when pid was the sinkhole's or a fetcher's. */
bool sinkhole_proc_reaped(struct sinkhole_proc *sp, pid_t pid, int status);

/* Shutdown: the program is told to stop (SIGTERM), fetches are killed. */
void sinkhole_proc_stop(struct sinkhole_proc *sp);
bool sinkhole_proc_running(const struct sinkhole_proc *sp);

#endif
