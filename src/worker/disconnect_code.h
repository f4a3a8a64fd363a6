/*
 * disconnect_code: an SSH_MSG_DISCONNECT with OpenSSH's reason code and
 * text (MaxAuthTries: 2, "Too many authentication failures"; a bad service
 * request: 2, "bad service request NAME"), sent and flushed before the
 * connection closes.
 *
 * libssh 0.10 has no call that sends a DISCONNECT with a code of one's
 * choosing (ssh_disconnect() always writes 11, by application), and its
 * non-blocking socket may still hold that packet when it closes the
 * connection. So the worker has libssh send an SSH_MSG_IGNORE of exactly
 * the DISCONNECT's size and rewrites its payload on the way out: libssh
 * packs every payload and then reads it back through ssh_buffer_get() - an
 * exported function it calls through its PLT - before it compresses, MACs
 * and encrypts it. This module defines ssh_buffer_get in the worker, which
 * takes precedence, returns what libssh's own returns, and rewrites exactly
 * one payload: the armed IGNORE, once. The packet is then flushed and the
 * connection closed without another word. tests/integration/
 * test_stealth_wire.py reads the code and text a real client receives, so
 * a libssh that stops calling it through its PLT (a -Bsymbolic build) fails
 * that test rather than passing unseen.
 */
#ifndef HERMES_DISCONNECT_CODE_H
#define HERMES_DISCONNECT_CODE_H

#include <stdint.h>

#include <libssh/libssh.h>

/* Finds libssh's own ssh_buffer_get. Call before the sandbox. 0, or -1. */
int disconnect_code_init(void);

/* Sends DISCONNECT (code, text), waits up to 2 s for it to leave, and
 * closes the connection (ssh_silent_disconnect). text: at most 200 bytes. */
void disconnect_send(ssh_session s, uint32_t code, const char *text);

#endif
