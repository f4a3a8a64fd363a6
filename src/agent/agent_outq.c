/*
 * agent_outq: the frames waiting to go to Hermes, in one buffer of OUT_CAP
 * bytes. Channel output is read straight into it (after a reserved header);
 * nothing is queued without room, so a Hermes that stops reading stops the
 * agent's reading, never grows its memory.
 */
#include "agent_conn.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

size_t out_used(void)
{
	return C.out_tail - C.out_head;
}

/* Room for n more bytes at the tail, moving the queue down when needed. */
uint8_t *out_reserve(size_t n)
{
	if (OUT_CAP - out_used() < n)
		return NULL;
	if (OUT_CAP - C.out_tail < n) {
		memmove(C.out, C.out + C.out_head, out_used());
		C.out_tail -= C.out_head;
		C.out_head = 0;
	}
	return C.out + C.out_tail;
}

/* Queues one frame; 0 when there is no room (the caller tries later). */
int out_msg(const struct agent_msg *m)
{
	uint8_t frame[AGENT_HDR_LEN + AGENT_MAX_STR + 64];
	size_t n = agent_encode(frame, sizeof(frame), m);
	uint8_t *p;

	if (n == 0)
		return 1; /* cannot happen for what the agent sends; drop it */
	if ((p = out_reserve(n)) == NULL)
		return 0;
	memcpy(p, frame, n);
	C.out_tail += n;
	return 1;
}

int out_simple(uint8_t type, uint32_t ch, uint32_t value)
{
	struct agent_msg m = {.type = type, .channel = ch};

	if (type == AGENT_WINDOW || type == AGENT_OPEN_OK)
		m.u.window = value;
	else if (type == AGENT_HELLO_OK)
		m.u.version = value;
	return out_msg(&m);
}

void out_flush(void)
{
	while (!C.dead && out_used() > 0) {
		ssize_t n =
		    send(C.sock, C.out + C.out_head, out_used(), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			C.dead = 1;
			break;
		}
		C.out_head += (size_t)n;
	}
	if (C.out_head == C.out_tail)
		C.out_head = C.out_tail = 0;
}
