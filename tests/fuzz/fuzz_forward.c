/*
 * libFuzzer harness for forward_capture: what a client sends into a
 * direct-tcpip forward, and the hosts it names, through the capture and the
 * three events. Input: byte 0 the piece size the bytes come in, byte 1 how
 * many times the bytes are sent (so a capture passes 64 KiB from a small
 * input), byte 2 how many times the hosts repeat (so they pass any bound);
 * then the bytes, whose first two NUL-ended runs are also the destination
 * and the originator host (libssh hands C strings).
 *
 * Checked: the capture keeps exactly the first FORWARD_CAPTURE bytes sent
 * and counts them all; every event fits one IPC message (else the worker
 * could not report it) and reads back, as the monitor reads it, to what was
 * sent: the data and the hosts, cut at FORWARD_HOST_MAX, byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward_capture.h"
#include "ipc.h"
#include "util.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes base64 text into out (room for len * 3 / 4 bytes); returns the
 * length, or -1 for anything but padded base64. */
static long unbase64(const char *s, uint8_t *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static signed char val[256];
	size_t n = strlen(s), o = 0;

	if (val[0] == 0) {
		memset(val, -1, sizeof(val));
		for (int i = 0; i < 64; i++)
			val[(unsigned char)tab[i]] = (signed char)i;
	}
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			signed char d = val[(unsigned char)s[i + k]];
			if (s[i + k] == '=' && i + 4 == n && k >= 2)
				pad++;
			else if (d < 0 || pad > 0)
				return -1;
			v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
		}
		out[o++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)v;
	}
	return (long)o;
}

/* The event as the worker sends it and the monitor reads it. */
static json_t *through_ipc(json_t *ev)
{
	char *text;
	json_t *back;

	CHECK(ev != NULL);
	text = json_dumps(ev, JSON_COMPACT);
	CHECK(text != NULL && strlen(text) <= IPC_LONG_STR_MAX);
	back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	CHECK(json_is_object(back));
	free(text);
	json_decref(ev);
	return back;
}

/* ev[key] is host's first FORWARD_HOST_MAX bytes: as text when they are
 * UTF-8, else in KEY_b64. */
static void same_host(const json_t *ev, const char *key, const char *host)
{
	size_t n = host != NULL ? strnlen(host, FORWARD_HOST_MAX) : 0;
	const char *text = json_string_value(json_object_get(ev, key));
	char b64key[32];

	CHECK(text != NULL);
	snprintf(b64key, sizeof(b64key), "%s_b64", key);
	const char *b64 = json_string_value(json_object_get(ev, b64key));
	if (n > 0 && util_utf8_valid(host, n)) {
		CHECK(b64 == NULL && strlen(text) == n && memcmp(text, host, n) == 0);
	} else if (b64 != NULL) {
		uint8_t *raw = malloc(strlen(b64) + 1);
		CHECK(raw != NULL);
		CHECK(unbase64(b64, raw) == (long)n && memcmp(raw, host, n) == 0);
		free(raw);
	} else {
		CHECK(n == 0 && text[0] == '\0');
	}
}

/* s repeated times, as a C string. */
static char *repeat(const uint8_t *s, size_t n, size_t times)
{
	char *out = malloc(n * times + 1);

	CHECK(out != NULL);
	for (size_t i = 0; i < times; i++)
		memcpy(out + i * n, s, n);
	out[n * times] = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sent[FORWARD_CAPTURE], got[FORWARD_CAPTURE + 3];
	struct forward_capture c;
	size_t chunk, times, scale, kept = 0;
	uint64_t total = 0;

	if (size < 3)
		return 0;
	chunk = (size_t)data[0] + 1;
	times = (size_t)data[1] + 1;
	scale = (size_t)data[2] % 16 + 1;
	data += 3;
	size -= 3;
	while ((size + chunk - 1) / chunk * times > 4096)
		chunk *= 2; /* a few thousand pieces at most: runs stay fast */

	/* The capture: the bytes, times over, in pieces. */
	forward_capture_init(&c);
	for (size_t t = 0; t < times; t++) {
		for (size_t at = 0; at < size; at += chunk) {
			size_t n = size - at < chunk ? size - at : chunk;
			bool full = forward_capture_take(&c, data + at, n);
			total += n;
			for (size_t i = 0; i < n && kept < FORWARD_CAPTURE; i++)
				sent[kept++] = data[at + i];
			CHECK(full == (kept == FORWARD_CAPTURE));
			CHECK(c.total == total);
		}
	}
	CHECK(buf_avail(&c.data) == kept && memcmp(buf_peek(&c.data), sent, kept) == 0);

	/* The hosts: the first NUL-ended runs, repeated. */
	const uint8_t *nul = memchr(data, 0, size);
	size_t dlen = nul != NULL ? (size_t)(nul - data) : size;
	const uint8_t *o = nul != NULL ? nul + 1 : data + size;
	const uint8_t *nul2 = memchr(o, 0, (size_t)(data + size - o));
	size_t olen = nul2 != NULL ? (size_t)(nul2 - o) : (size_t)(data + size - o);
	char *dst = repeat(data, dlen, scale), *orig = repeat(o, olen, scale);
	int port = (int)(size * 7919 % 70000) - 1000; /* libssh's ints, whatever they are */

	json_t *ev = through_ipc(forward_data_event(&c, 3, dst, port));
	CHECK(json_integer_value(json_object_get(ev, "forward")) == 3);
	CHECK(json_integer_value(json_object_get(ev, "dst_port")) == port);
	CHECK(json_integer_value(json_object_get(ev, "bytes")) == (json_int_t)total);
	CHECK(json_is_boolean(json_object_get(ev, "truncated")) &&
	      json_is_true(json_object_get(ev, "truncated")) == (total > kept));
	const char *b64 = json_string_value(json_object_get(ev, "data_b64"));
	CHECK(b64 != NULL && strlen(b64) <= (FORWARD_CAPTURE + 2) / 3 * 4);
	CHECK(unbase64(b64, got) == (long)kept && memcmp(got, sent, kept) == 0);
	same_host(ev, "dst_host", dst);
	json_decref(ev);

	ev = through_ipc(forward_open_event(7, size & 1, dst, port, orig, -port));
	CHECK(strcmp(json_string_value(json_object_get(ev, "kind")), "direct-tcpip") == 0);
	CHECK(json_integer_value(json_object_get(ev, "forward")) == 7);
	CHECK(json_is_true(json_object_get(ev, "accepted")) == (size & 1));
	CHECK(json_integer_value(json_object_get(ev, "dst_port")) == port);
	CHECK(json_integer_value(json_object_get(ev, "orig_port")) == -port);
	same_host(ev, "dst_host", dst);
	same_host(ev, "orig_host", orig);
	json_decref(ev);

	ev = through_ipc(forward_listen_event(size & 2, size & 4 ? orig : NULL, port));
	CHECK(strcmp(json_string_value(json_object_get(ev, "kind")),
	             size & 2 ? "cancel-tcpip-forward" : "tcpip-forward") == 0);
	CHECK(json_integer_value(json_object_get(ev, "bind_port")) == port);
	same_host(ev, "bind_host", size & 4 ? orig : NULL);
	json_decref(ev);

	free(dst);
	free(orig);
	forward_capture_free(&c);
	return 0;
}
