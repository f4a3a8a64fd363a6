/*
 * disconnect_code: a DISCONNECT with OpenSSH's code and text; see
 * disconnect_code.h.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "disconnect_code.h"

#define SSH2_MSG_DISCONNECT 1
#define SSH2_MSG_IGNORE     2
#define TEXT_MAX            200

static void *(*libssh_buffer_get)(ssh_buffer);
/* The armed rewrite: an IGNORE whose data is `marker` becomes
 * DISCONNECT(code, text, ""). Both payloads are 13 + strlen(text) bytes. */
static struct {
	char marker[8 + TEXT_MAX + 1];
	char text[TEXT_MAX + 1];
	uint32_t code; /* 0: nothing armed */
} armed;

int disconnect_code_init(void)
{
	libssh_buffer_get = (void *(*)(ssh_buffer))dlsym(RTLD_NEXT, "ssh_buffer_get");
	return libssh_buffer_get != NULL ? 0 : -1;
}

void *ssh_buffer_get(ssh_buffer buffer)
{
	uint8_t *p = libssh_buffer_get != NULL ? libssh_buffer_get(buffer) : NULL;

	if (armed.code == 0 || p == NULL)
		return p;
	/* byte IGNORE, string marker */
	size_t n = ssh_buffer_get_len(buffer), ml = strlen(armed.marker), tl = strlen(armed.text);
	if (n == 1 + 4 + ml && p[0] == SSH2_MSG_IGNORE && buf_be32(p + 1) == ml &&
	    memcmp(p + 5, armed.marker, ml) == 0) {
		/* byte DISCONNECT, uint32 code, string text, string "" */
		p[0] = SSH2_MSG_DISCONNECT;
		buf_set_be32(p + 1, armed.code);
		buf_set_be32(p + 5, (uint32_t)tl);
		memcpy(p + 9, armed.text, tl);
		buf_set_be32(p + 9 + tl, 0);
		armed.code = 0;
	}
	return p;
}

void disconnect_send(ssh_session s, uint32_t code, const char *text)
{
	size_t tl = strnlen(text, TEXT_MAX);

	memcpy(armed.text, text, tl);
	armed.text[tl] = '\0';
	/* Printable and unlike anything else an IGNORE of ours would carry. */
	for (size_t i = 0; i < 8 + tl; i++)
		armed.marker[i] = (char)('A' + i % 26);
	armed.marker[8 + tl] = '\0';
	armed.code = code;
	if (ssh_send_ignore(s, armed.marker) == SSH_OK)
		ssh_blocking_flush(s, 2000);
	armed.code = 0;
	ssh_silent_disconnect(s);
}
