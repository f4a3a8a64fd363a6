/*
 * libFuzzer harness for the recorder: arbitrary bytes, cut at a point the
 * fuzzer chooses, go out as output and input events into a memfd; the file
 * is read back and every line must be JSON of the right shape. When the
 * bytes were valid UTF-8 without NUL, the output events must also carry
 * them back exactly, however they were split. Whatever the bytes, the "m"
 * event (written whole) must carry exactly util_utf8_sanitize()'s text: the
 * recorder escapes in one pass and must agree with it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "recorder.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *slurp(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *s = malloc(cap);
	ssize_t r;

	if (s == NULL)
		abort();
	for (;;) {
		if (cap - n < 2 && (s = realloc(s, cap *= 2)) == NULL)
			abort();
		r = pread(fd, s + n, cap - n - 1, (off_t)n);
		if (r < 0)
			abort();
		if (r == 0)
			break;
		n += (size_t)r;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

/* Checks every line; appends the data of "o" events to out, keeps the last
 * "m" event's in *marker (malloc'd). */
static void check(const char *s, size_t len, char *out, size_t *out_len, size_t out_cap,
                  char **marker)
{
	const char *nl;
	json_t *j, *d;
	size_t line = 0, n;

	if (len == 0 || s[len - 1] != '\n')
		abort();
	while (len > 0) {
		nl = memchr(s, '\n', len);
		j = json_loadb(s, (size_t)(nl - s), 0, NULL);
		if (j == NULL)
			abort();
		if (line == 0) {
			if (!json_is_object(j))
				abort();
		} else {
			if (!json_is_array(j) || json_array_size(j) != 3 ||
			    !json_is_number(json_array_get(j, 0)) ||
			    !json_is_string(json_array_get(j, 1)) ||
			    !json_is_string(json_array_get(j, 2)))
				abort();
			d = json_array_get(j, 2);
			n = json_string_length(d);
			if (strcmp(json_string_value(json_array_get(j, 1)), "o") == 0) {
				if (*out_len + n > out_cap)
					abort();
				memcpy(out + *out_len, json_string_value(d), n);
				*out_len += n;
			}
			if (strcmp(json_string_value(json_array_get(j, 1)), "m") == 0) {
				free(*marker);
				if ((*marker = strndup(json_string_value(d), n)) == NULL)
					abort();
			}
		}
		json_decref(j);
		line++;
		len -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recorder_header h = {.width = 80, .height = 24, .timestamp = 1.0};
	struct recorder *r;
	size_t split, len, out_len = 0, out_cap;
	char *text, *out, *marker = NULL, *want;
	int fd;

	if (size < 2)
		return 0;
	split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
	data += 2;
	size -= 2;
	/* Attacker-chosen header strings too. */
	h.username = strndup((const char *)data, split);
	h.command = h.username;
	if ((fd = memfd_create("fuzz_recorder", MFD_CLOEXEC)) < 0)
		abort();
	if ((r = recorder_new(dup(fd), &h)) == NULL)
		abort();
	if (recorder_event_at(r, 0.25, 'o', data, split) != 0 ||
	    recorder_event_at(r, 0.5, 'i', data, split) != 0 ||
	    recorder_event_at(r, 0.75, 'o', data + split, size - split) != 0 ||
	    recorder_event_at(r, 1.0, 'i', data + split, size - split) != 0 ||
	    recorder_event_at(r, 1.5, 'm', data, size) != 0)
		abort();
	recorder_free(r);
	free((char *)h.username);

	text = slurp(fd, &len);
	close(fd);
	out_cap = size * 3 + 3;
	if ((out = malloc(out_cap)) == NULL)
		abort();
	check(text, len, out, &out_len, out_cap, &marker);
	if (util_utf8_valid(data, size) && (out_len != size || memcmp(out, data, size) != 0))
		abort();
	if ((want = util_utf8_sanitize(data, size)) == NULL || marker == NULL ||
	    strcmp(marker, want) != 0)
		abort();
	free(want);
	free(marker);
	free(out);
	free(text);
	return 0;
}
