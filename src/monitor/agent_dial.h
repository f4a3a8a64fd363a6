/*
 * agent_dial: the monitor's way into a box's session agent
 * (docs/agent-protocol.md, "How Hermes reaches it").
 *
 * Asks Docker for the box's init pid, creates a TCP socket inside that
 * process's network namespace (setns there and back: a socket stays in the
 * namespace it was made in), connects it to 127.0.0.1:PORT, writes the
 * HELLO frame and hands the connected socket over. Nothing the box controls
 * is looked up on the host: no path, and no address outside the box's own
 * namespace. A namespace that turns out to be the monitor's own is refused.
 *
 * Not for: speaking the protocol past HELLO (the worker does that).
 */
#ifndef HERMES_AGENT_DIAL_H
#define HERMES_AGENT_DIAL_H

#include <stddef.h>
#include <stdint.h>

#include "agent_proto.h"
#include "docker.h"
#include "loop.h"

/* Start-up, before any worker: keeps a handle on the monitor's own network
 * namespace. Returns 0, or a negative errno when the agent cannot be used
 * (no CAP_SYS_ADMIN, say): then every channel goes through docker exec. */
int agent_dial_init(void);
bool agent_dial_usable(void);

/* fd >= 0: a connected, non-blocking, close-on-exec socket that has sent
 * HELLO (the callee owns it); else error says why. Called exactly once,
 * later, from the loop, unless cancelled. */
typedef void (*agent_dial_cb)(void *arg, int fd, const char *error);

/* hello: the HELLO frame to send (copied). Returns a handle, or 0 when out
 * of memory (no callback then). */
uint64_t agent_dial(struct loop *l, struct docker *d, const char *container_id, int port,
                    const uint8_t *hello, size_t hello_len, agent_dial_cb cb, void *arg);
/* 0 or a finished handle: no-op. The callback is not called. */
void agent_dial_cancel(uint64_t handle);

/* Exposed for the tests: a TCP socket in pid's network namespace connecting
 * to 127.0.0.1:port (non-blocking; the connect may be in progress). */
int agent_dial_socket(int pid, int port);

#endif
