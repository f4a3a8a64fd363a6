/*
 * client_hello: the cleartext start of an SSH client's side of a
 * connection - its identification line and its first binary packet, the
 * KEXINIT (RFC 4253 sections 4.2, 6 and 7.1) - read as it passes, for the
 * client.kex event and its HASSH.
 *
 * The caller offers bytes as they arrive; client_hello_take() says how
 * many of them belong to that opening and never takes a byte past the end
 * of the KEXINIT packet, so a relay that forwards exactly what was taken
 * can stop there and hand the rest of the stream over untouched.
 *
 * The identification line is judged as OpenSSH's server judges it (read a
 * byte at a time, CR dropped, up to LF): a NUL, a byte after CR other than
 * LF, more than 8192 bytes, a first line that is not "SSH-x.y-software"
 * (a server takes no lines before it) end the reading with HELLO_FAILED and
 * ident_error "Invalid SSH identification string."; a protocol other than
 * 2.0 or 1.99 with "Protocol major versions differ.". Nothing past the
 * offending byte is taken. Those are sshd's answers, which the relay sends
 * the client instead of passing the line on. Anything else unexpected (a
 * packet that is not a KEXINIT or is too large, a malformed name-list or
 * one that is not printable US-ASCII as RFC 4251 5 wants) ends the reading
 * with HELLO_FAILED and no ident_error; the bytes taken so far are still
 * the client's own and must be forwarded.
 */
#ifndef HERMES_CLIENT_HELLO_H
#define HERMES_CLIENT_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HELLO_LINE_MAX   255         /* kept of the line (RFC 4253 4.2: 255) */
#define HELLO_IDENT_MAX  8192        /* OpenSSH's SSH_MAX_BANNER_LEN */
#define HELLO_PACKET_MAX (32 * 1024) /* a KEXINIT is ~1-2 KiB */

enum hello_state { HELLO_LINE, HELLO_PACKET, HELLO_DONE, HELLO_FAILED };

/* The KEXINIT's name-lists, in wire order. */
enum hello_list {
	KEX_ALGS,
	HOST_KEY_ALGS,
	CIPHERS_CS,
	CIPHERS_SC,
	MACS_CS,
	MACS_SC,
	COMP_CS,
	COMP_SC,
	LANG_CS,
	LANG_SC,
	HELLO_LISTS
};

/* The lists' names in client.kex (docs/events.md), by enum hello_list. */
extern const char *const client_hello_list_names[HELLO_LISTS];

struct client_hello {
	enum hello_state state;
	const char *why;         /* HELLO_FAILED: what was wrong */
	const char *ident_error; /* HELLO_FAILED on the line: sshd's answer */
	uint8_t line[HELLO_LINE_MAX];
	size_t line_len;   /* bytes of the line so far (CR not counted) */
	bool expect_nl;    /* a CR came: only LF may follow */
	size_t line_taken; /* bytes of the stream the line took, CR LF too */
	uint8_t *packet;   /* the KEXINIT packet, length field first; allocated
	                      to its size once the length field is in */
	uint8_t length_field[4];
	size_t packet_len, packet_want;
	/* HELLO_DONE: pointers into packet, not NUL-terminated. */
	const uint8_t *list[HELLO_LISTS];
	size_t list_len[HELLO_LISTS];
	int first_kex_follows;
};

void client_hello_init(struct client_hello *h);
void client_hello_free(struct client_hello *h);

/* Takes bytes from p[0..n) and returns how many it took: all of them
 * while the opening lasts, fewer when it ends inside them, 0 once it has
 * ended (state HELLO_DONE or HELLO_FAILED). */
size_t client_hello_take(struct client_hello *h, const uint8_t *p, size_t n);

/* HELLO_DONE: appends to out the text HASSH is the MD5 of,
 * "kex;ciphers;macs;compression" with the client-to-server lists (no NUL).
 * Returns 0, or -1 if not done or out of memory. */
int client_hello_hassh_input(const struct client_hello *h, struct buf *out);

#endif
