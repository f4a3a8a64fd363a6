/*
 * forward_capture: a direct-tcpip forward (ssh -L, -D) that Hermes connects
 * to nothing - what the client sends into it, kept up to FORWARD_CAPTURE
 * bytes and counted beyond - and the events that report forwards
 * (forward.request, forward.data; docs/events.md).
 *
 * Nothing here parses the client's bytes: they are kept as they came and
 * reported in base64. What matters is that every event fits one IPC message
 * whatever the client sent (hosts of any length and bytes, a capture of any
 * size), or the worker could not report it and the forward would go unseen:
 * host names are cut to FORWARD_HOST_MAX bytes (no real one passes 253).
 * Pure and fuzzed (tests/fuzz/fuzz_forward.c); worker.c owns the channels.
 */
#ifndef HERMES_FORWARD_CAPTURE_H
#define HERMES_FORWARD_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

#define FORWARD_CAPTURE  (64 * 1024) /* bytes of a forward kept */
#define FORWARD_HOST_MAX 1024        /* bytes of a host name kept */

struct forward_capture {
	struct buf data; /* the first FORWARD_CAPTURE bytes */
	uint64_t total;  /* all the client sent */
};

void forward_capture_init(struct forward_capture *c);
void forward_capture_free(struct forward_capture *c);
/* Keeps what fits of data[0..len) and counts all of it; true once the
 * capture is full (the forward may then be closed). */
bool forward_capture_take(struct forward_capture *c, const void *data, size_t len);

/* The fields of forward.data for forward id to dst_host:dst_port (a C
 * string, may be NULL): bytes, data_b64, truncated. NULL when out of
 * memory. */
json_t *forward_data_event(const struct forward_capture *c, uint32_t id, const char *dst_host,
                           int dst_port);

/* The fields of forward.request for a direct-tcpip channel (id: the one its
 * forward.data will carry) and for a tcpip-forward or its cancel. Hosts are
 * C strings as libssh gives them, NULL for none. NULL when out of memory. */
json_t *forward_open_event(uint32_t id, bool accepted, const char *dst_host, int dst_port,
                           const char *orig_host, int orig_port);
json_t *forward_listen_event(bool cancel, const char *bind_host, int bind_port);

#endif
