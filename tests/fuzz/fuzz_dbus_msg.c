/*
 * libFuzzer harness for dbus_msg.c's readers: any bytes as what the box's
 * system bus sends the box's sshd (root in the box can be that bus). Beyond
 * "no crash, no over-read" it checks what agent_logind.c relies on: a
 * whole message's length is within the bytes given, its body too, and a
 * session reply's strings and descriptor index are inside the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dbus_msg.h"

#include "fuzz_check.h"

static int inside(const char *s, const uint8_t *m, size_t n)
{
	return s != NULL && (const uint8_t *)s >= m && (const uint8_t *)s + strlen(s) < m + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes: an over-read is ASan's to see. */
	uint8_t *m = malloc(size ? size : 1);
	struct dbus_header h;
	struct dbus_session_reply r;

	if (m == NULL)
		return 0;
	memcpy(m, data, size);
	long n = dbus_header_read(m, size, &h);
	CHECK(n >= -1 && n <= (long)size);
	if (n > 0) {
		CHECK(h.total == (size_t)n && h.body_at + h.body_len == h.total);
		CHECK(h.signature != NULL);
		if (dbus_session_reply_read(m, &h, &r) == 0) {
			CHECK(inside(r.id, m, (size_t)n) && inside(r.runtime_path, m, (size_t)n));
			CHECK(r.fifo_index < h.unix_fds && (r.existing == 0 || r.existing == 1));
		}
	}
	free(m);
	return 0;
}
