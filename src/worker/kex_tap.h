/*
 * kex_tap: reads the client's cleartext opening on the wire, which libssh
 * does not expose, without relaying the connection for its whole life.
 *
 * libssh is given one end of a socketpair instead of the TCP socket. While
 * the opening lasts the tap forwards the client's bytes to libssh - exactly
 * those client_hello takes, so nothing past the client's KEXINIT is read -
 * and libssh's bytes to the client. Once the KEXINIT has passed, libssh has
 * read everything forwarded and everything it wrote has gone out, the tap
 * puts the TCP socket in place of libssh's end with dup2(): same descriptor
 * number, so libssh's poll set stays valid, and from then on libssh talks
 * to the client directly with no copy in between. The worker is single
 * threaded, so neither side can move while that happens.
 */
#ifndef HERMES_KEX_TAP_H
#define HERMES_KEX_TAP_H

#include <stdbool.h>

#include "buf.h"
#include "client_hello.h"

struct kex_tap {
	int client; /* the TCP socket, -1 once spliced */
	int mine;   /* the tap's end of the socketpair */
	int theirs; /* libssh's end; after the splice, the TCP socket */
	struct client_hello hello;
	struct buf out; /* libssh's bytes the client has not taken yet */
	/* The client's bytes libssh has not been given yet: the identification
	 * line until it ends (libssh gets it whole or, when sshd would refuse
	 * it, not at all), and the client's KEXINIT until libssh's own has
	 * gone out (sshd sends its KEXINIT whatever the client offers; libssh
	 * would give up on one it cannot agree with before sending its own). */
	struct buf held;
	size_t client_in;  /* bytes taken from the client */
	size_t server_out; /* bytes of libssh's sent to the client */
	/* Where libssh's KEXINIT ends in its stream: 0 until known. Found by
	 * reading its line (up to LF) and then the packet's length. */
	size_t server_kexinit_end;
	size_t server_seen; /* bytes of libssh's stream scanned for it */
	size_t server_line; /* the length of its line, once its LF came */
	uint8_t server_len[4];
	bool broken; /* either side failed: the opening cannot complete */
	bool spliced;
};

/* Makes the socketpair; t->theirs is the descriptor to give libssh. */
int kex_tap_open(struct kex_tap *t, int client_fd);

/* libssh's KEXINIT has gone out to the client. */
bool kex_tap_server_kexinit_out(const struct kex_tap *t);

/* The client socket is readable: forward what belongs to the opening. */
void kex_tap_from_client(struct kex_tap *t);

/* libssh's end has written, or the client can take more: forward it. */
void kex_tap_to_client(struct kex_tap *t);

/* Still wants to read from the client (the opening has not ended). */
bool kex_tap_reading(const struct kex_tap *t);

/* True when the splice can happen now without losing or reordering a
 * byte. */
bool kex_tap_can_splice(const struct kex_tap *t);

/* Puts the TCP socket in place of libssh's end. Returns 0 or -errno. */
int kex_tap_splice(struct kex_tap *t);

/* Closes what the tap still holds (not libssh's end) and frees the
 * opening's buffers; t->hello's lists are gone after this. */
void kex_tap_close(struct kex_tap *t);

#endif
