/*
 * demux: splits Docker's multiplexed exec stream (used when Tty is false)
 * into stdout and stderr.
 *
 * Each frame is an 8-byte header [stream, 0, 0, 0, size as big-endian u32]
 * then size bytes of payload; stream is 0 (stdin), 1 (stdout) or 2
 * (stderr). Frames arrive split at arbitrary points; the state carries over
 * between calls. Payload is handed out as it arrives (a frame's payload may
 * come in several pieces), so nothing is buffered here.
 */
#ifndef HERMES_DEMUX_H
#define HERMES_DEMUX_H

#include <stddef.h>
#include <stdint.h>

struct demux {
	uint8_t hdr[8];
	size_t hdr_have;    /* header bytes collected so far */
	uint32_t remaining; /* payload bytes left in the current frame */
	int stream;         /* stream of the current frame */
};

typedef void (*demux_cb)(void *arg, int stream, const uint8_t *data, size_t len);

void demux_init(struct demux *d);
/* Returns 0, or -EPROTO on a header with an unknown stream id or non-zero
 * padding (the state is then undefined: stop reading). */
int demux_feed(struct demux *d, const uint8_t *data, size_t len, demux_cb cb, void *arg);

#endif
