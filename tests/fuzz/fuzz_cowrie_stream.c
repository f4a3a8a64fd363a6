/*
 * libFuzzer harness for cowrie_stream.c: the input's lines as a sequence of
 * events (JSON objects whose string fields carry what an attacker sent:
 * usernames, passwords, commands, forwarded bytes) through one stream.
 * Beyond "no crash, no leak", every line it makes is an object with the
 * fields every Cowrie line has, a string eventid of Cowrie's, and dumps
 * to JSON that reads back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cowrie_stream.h"

#include "fuzz_check.h"

static void check_line(const json_t *l)
{
	static const char *const common[] = {"eventid", "timestamp", "session",
	                                     "sensor",  "protocol",  "message"};
	CHECK(json_is_object(l));
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		CHECK(json_is_string(json_object_get(l, common[i])));
	CHECK(strncmp(json_string_value(json_object_get(l, "eventid")), "cowrie.", 7) == 0);
	char *text = json_dumps(l, JSON_COMPACT);
	CHECK(text != NULL && strchr(text, '\n') == NULL);
	json_error_t err;
	json_t *back = json_loads(text, 0, &err);
	CHECK(back != NULL);
	json_decref(back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cowrie_stream *cs = cowrie_stream_open(NULL, "fuzz", "/artifacts");
	const char *p = (const char *)data, *end = p + size;

	if (cs == NULL)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		json_error_t err;
		json_t *ev = json_loadb(p, n, JSON_ALLOW_NUL, &err);
		json_t *out = json_array();
		if (ev != NULL && out != NULL) {
			int r = cowrie_translate(cs, ev, out);
			CHECK(r < 0 || (size_t)r == json_array_size(out));
			size_t i;
			json_t *l;
			json_array_foreach(out, i, l) check_line(l);
		}
		json_decref(out);
		json_decref(ev);
		p += n + 1;
	}
	cowrie_stream_close(cs);
	return 0;
}
