/*
 * agent_link: the worker's end of the connection to the box's session agent
 * (docs/agent-protocol.md). One per worker; the channels that run through it
 * are pumps (pump.h) attached under their agent channel number.
 *
 * What the agent sends is hostile: every frame is decoded and checked
 * (agent_proto.h), and a frame beyond the credit this side gave, for a
 * channel in the wrong state, or malformed ends the link; every channel on
 * it then ends with no exit status, as when a server's sshd dies.
 * Memory is bounded by the credits: the link reads the socket whenever it
 * can, and the agent may send no more than each pump has room for.
 *
 * The fd registration with the ssh_event changes only in
 * agent_link_service(), called after each ssh_event_dopoll().
 */
#ifndef HERMES_AGENT_LINK_H
#define HERMES_AGENT_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh/libssh.h>

#include "agent_proto.h"

struct agent_link;
struct pump;

/* Takes fd (a connected stream that has already sent HELLO). */
struct agent_link *agent_link_new(int fd, ssh_event event);
/* Ends every attached pump's stream, unregisters and closes the fd. */
void agent_link_free(struct agent_link *l);

/* Sends OPEN for channel id (non-zero, never reused) and attaches p, which
 * gets the channel's output, EOF and exit. Returns 0 or a negative errno. */
int agent_link_open(struct agent_link *l, uint32_t id, const struct agent_open *open,
                    struct pump *p);
/* The pump is going away: CLOSE is sent if the channel had not ended. */
void agent_link_detach(struct agent_link *l, uint32_t id);

/* Bytes the agent will take on channel id now (its credit). */
size_t agent_link_room(const struct agent_link *l, uint32_t id);
/* Queues DATA (at most agent_link_room() bytes), EOF, RESIZE, SIGNAL, or
 * WINDOW (credit given back as the pump moved output on). */
int agent_link_data(struct agent_link *l, uint32_t id, const uint8_t *p, size_t n);
int agent_link_send(struct agent_link *l, const struct agent_msg *m);

/* While held, the link reads nothing: a pump writing its queued output to
 * libssh, which may poll the whole event from inside, must not have more
 * appended to the queue it is writing from. */
void agent_link_hold(struct agent_link *l, bool hold);

/* After each poll round: flushes what is queued, re-registers. */
void agent_link_service(struct agent_link *l);
bool agent_link_dead(const struct agent_link *l);

#endif
