/*
 * libFuzzer harness for sftp_watch: both streams of an SFTP session,
 * interleaved in chunks. Input: byte 0-1 where the client part ends (modulo
 * the rest's length), byte 2 the client chunk size, byte 3 the server chunk
 * size, then the client bytes, then the server bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "sftp_watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void on_event(void *arg, const struct sftp_event *e)
{
	size_t *sum = arg, i;

	/* Read every byte handed out, so the sanitizer checks it is ours. */
	if (e->path == NULL || e->path_len > 4096 || e->status < -1 || e->op > SFTP_OP_SETSTAT)
		__builtin_trap();
	if (e->path2 == NULL && e->path2_len != 0)
		__builtin_trap();
	for (i = 0; i < e->path_len; i++)
		*sum += e->path[i];
	for (i = 0; i < e->path2_len; i++)
		*sum += e->path2[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sftp_watch *w;
	size_t sum = 0, split, coff, soff, cn, sn, n;
	const uint8_t *c, *s;

	if (size < 4)
		return 0;
	split = (size_t)(data[0] << 8 | data[1]);
	cn = data[2] == 0 ? 1 : data[2];
	sn = data[3] == 0 ? 1 : data[3];
	data += 4;
	size -= 4;
	split = size == 0 ? 0 : split % (size + 1);
	c = data;
	s = data + split;
	if ((w = sftp_watch_new(on_event, &sum)) == NULL)
		return 0;
	for (coff = 0, soff = 0; coff < split || soff < size - split;) {
		if (coff < split) {
			n = split - coff < cn ? split - coff : cn;
			sftp_watch_client(w, c + coff, n);
			coff += n;
		}
		if (soff < size - split) {
			n = size - split - soff < sn ? size - split - soff : sn;
			sftp_watch_server(w, s + soff, n);
			soff += n;
		}
	}
	sftp_watch_free(w);
	sink = sum;
	return 0;
}
