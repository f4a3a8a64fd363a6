/*
 * libFuzzer harness for client_hello: the client's opening in chunks, as
 * reads deliver them. Byte 0 is the chunk size; then the bytes. Checks that
 * nothing is taken after the opening ended, that what is taken never
 * exceeds what was offered, that a finished KEXINIT's lists lie inside
 * the packet, and that sshd's answer to a refused line is one of its two
 * and comes only with a failure in the line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "client_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_hello h;

	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	data++;
	size--;
	client_hello_init(&h);
	for (size_t off = 0; off < size;) {
		size_t n = size - off < chunk ? size - off : chunk;
		int before = h.state;
		size_t t = client_hello_take(&h, data + off, n);
		if (t > n || ((before == HELLO_DONE || before == HELLO_FAILED) && t != 0))
			__builtin_trap();
		if (t < n && h.state != HELLO_DONE && h.state != HELLO_FAILED)
			__builtin_trap();
		off += n;
	}
	if (h.ident_error != NULL &&
	    (h.state != HELLO_FAILED ||
	     (strcmp(h.ident_error, "Invalid SSH identification string.") != 0 &&
	      strcmp(h.ident_error, "Protocol major versions differ.") != 0)))
		__builtin_trap();
	if (h.state == HELLO_DONE) {
		for (int i = 0; i < HELLO_LISTS; i++)
			if (h.list[i] < h.packet ||
			    h.list[i] + h.list_len[i] > h.packet + h.packet_len)
				__builtin_trap();
		struct buf in;
		buf_init(&in);
		if (client_hello_hassh_input(&h, &in) != 0)
			__builtin_trap();
		buf_free(&in);
	}
	client_hello_free(&h);
	return 0;
}
