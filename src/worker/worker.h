/*
 * worker: one SSH connection, in a process of its own (worker_spawn.h).
 *
 * Speaks SSH through libssh (key exchange, authentication, channels) and
 * pumps bytes between each channel and the container stream the monitor
 * hands over. It holds only its client socket and its IPC socket: every
 * decision (is this login accepted, which container, exit codes) is a
 * question to the monitor; every event is a message to it.
 */
#ifndef HERMES_WORKER_H
#define HERMES_WORKER_H

#include <libssh/server.h>

#include "worker_init.h"

struct worker_args {
	int client_fd;
	int ipc_fd;
	ssh_bind bind;                  /* host keys already loaded */
	const struct worker_init *init; /* the connection and the settings */
	/* A template's worker: a session the template accepted on session_fd
	 * (a placeholder the worker puts the connection on); NULL: accept
	 * one here. */
	ssh_session session;
	int session_fd;
};

void worker_main(const struct worker_args *a) __attribute__((noreturn));

#endif
