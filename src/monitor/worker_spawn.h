/*
 * worker_spawn: how the monitor starts the worker of a connection.
 *
 * Every worker is the program hermes-worker, never a fork of the monitor:
 * nothing of the monitor's memory, environment or descriptors reaches it.
 * Two ways, chosen by server.worker_template_uses:
 *
 * - Exec'd for the connection (0): a fresh address space, its own layout
 *   (ASLR) and stack canary, every time - what OpenSSH's sshd-session
 *   gives - at the price of loading libssh, OpenSSL and their sixteen
 *   shared objects and the host keys once per connection (about 20 ms of
 *   CPU here, docs/performance.md).
 *
 * - Forked from a template (N > 0, 100 by default): the monitor execs
 *   hermes-worker --template, which loads the keys and the libraries,
 *   confines itself (worker_sandbox.h) and then forks one worker per
 *   connection it is sent (IPC_TEMPLATE_SPAWN with the connection's three
 *   descriptors), each the monitor's own child (CLONE_PARENT) that loads
 *   the worker's filter on top of the template's before it reads a byte.
 *   The template never reads from the network. The workers of one template
 *   share its layout and canary, so a template serves at most N
 *   connections, and is replaced at once when one of the workers dies of a
 *   signal the monitor did not send (a crash, a forbidden system call):
 *   guessing a canary or an address by crashing workers over and over
 *   (blind ROP) meets a new layout at every try. The next template is
 *   started as one retires (the first with the monitor), so that its
 *   start overlaps other work rather than the accept of a connection. A
 *   template that cannot be started or fails falls back to exec'd workers
 *   for a minute.
 *
 * The first message of an exec'd worker or a template (IPC_WORKER_INIT)
 * comes from here too; a template's worker has its settings from the
 * template, and its connection's fields from IPC_TEMPLATE_SPAWN.
 */
#ifndef HERMES_WORKER_SPAWN_H
#define HERMES_WORKER_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "worker_init.h"

struct loop;
struct worker_sandbox;
struct worker_spawn;

/* path: hermes-worker; init: what every worker is told (keys, settings,
 * the worker's filter), kept by the caller; sb: the templates' filter. */
struct worker_spawn *worker_spawn_new(struct loop *loop, const char *path,
                                      const struct worker_init *init,
                                      const struct worker_sandbox *sb, int template_uses);

/*
 * Starts the worker of a connection: client_fd its socket, ipc_fd the
 * worker's end of its IPC socketpair, monitor_fd the session's end (the
 * first message goes there). Both of the first two are closed here, always.
 * Returns the worker's pid (a child of the caller's) with *log_fd the read
 * end of its stderr, or -1 if none was started.
 */
pid_t worker_spawn_start(struct worker_spawn *ws, int client_fd, int ipc_fd, int monitor_fd,
                         const char *session_id, const char *ip, int port, int *log_fd);

/* A child the monitor reaped: true if it was a template (handled here). */
bool worker_spawn_reaped(struct worker_spawn *ws, pid_t pid, int status);

/* A worker was reaped: one that died of a crash's signal (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS: not the monitor's SIGKILL or
 * SIGTERM) retires the running template. */
void worker_spawn_worker_ended(struct worker_spawn *ws, int status);

/* Retires the template (it exits once its control socket closes). */
void worker_spawn_free(struct worker_spawn *ws);

#endif
