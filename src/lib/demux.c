/*
 * demux: splits Docker's framed exec output (Tty false) into stdout and
 * stderr, handing payload on as it arrives.
 *
 * Not for TTY execs (their stream is raw bytes) and not for stdin (Docker
 * never frames what we send). Holds no payload: only the partial 8-byte
 * header is kept between calls.
 */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "demux.h"

/* hdr_have == sizeof(hdr) means "inside a frame's payload". */
#define HDR_LEN sizeof(((struct demux *)0)->hdr)

void demux_init(struct demux *d)
{
	memset(d, 0, sizeof(*d));
}

/* Docker writes the padding as zeros; anything else means we lost sync with
 * the framing, and guessing further would mix streams or garble output.
 * Checked on the bytes there are, so a bad header fails at its first byte. */
static int header_valid(const struct demux *d)
{
	const uint8_t *h = d->hdr;
	size_t i;

	if (d->hdr_have > 0 && h[0] > 2)
		return -EPROTO;
	for (i = 1; i < d->hdr_have && i < 4; i++)
		if (h[i] != 0)
			return -EPROTO;
	return 0;
}

static void header_done(struct demux *d)
{
	const uint8_t *h = d->hdr;

	d->stream = h[0];
	d->remaining = buf_be32(h + 4);
	/* A zero-size frame carries nothing: go straight to the next header. */
	d->hdr_have = d->remaining > 0 ? HDR_LEN : 0;
}

int demux_feed(struct demux *d, const uint8_t *data, size_t len, demux_cb cb, void *arg)
{
	size_t pos = 0, n;
	int e;

	while (pos < len) {
		if (d->hdr_have < HDR_LEN) {
			n = HDR_LEN - d->hdr_have;
			if (n > len - pos)
				n = len - pos;
			memcpy(d->hdr + d->hdr_have, data + pos, n);
			d->hdr_have += n;
			pos += n;
			e = header_valid(d);
			if (e)
				return e;
			if (d->hdr_have == HDR_LEN)
				header_done(d);
			continue;
		}
		n = len - pos;
		if (n > d->remaining)
			n = d->remaining;
		cb(arg, d->stream, data + pos, n);
		pos += n;
		d->remaining -= (uint32_t)n;
		if (d->remaining == 0)
			d->hdr_have = 0;
	}
	return 0;
}
