/*
 * worker: one SSH connection, in a process forked by the monitor for it.
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
};

void worker_main(const struct worker_args *a) __attribute__((noreturn));

#endif
