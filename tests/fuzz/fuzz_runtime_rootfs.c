/*
 * libFuzzer harness for runtime_rootfs.c: any bytes as what the host's
 * mountinfo says of a box's root (the options dockerd mounted it with).
 * The first line is the root's path, the rest the mountinfo text; the whole
 * input is also read as one option string. Beyond "no crash, no
 * over-read" it checks what runtime_main.c relies on: every layer read
 * back is an absolute path, and the options it is mounted again with name
 * no path at all, only the short names (lower, lowerN, upper, work), and
 * keep every other option.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_rootfs.h"

#include "fuzz_check.h"

static void check_opts(const char *opts)
{
	struct runtime_overlay o;
	char *out;
	int n;

	if (runtime_overlay_parse(opts, "/var/lib/docker/overlay2", &o) < 0)
		return;
	CHECK(o.nlower > 0 && o.nlower <= RUNTIME_OVERLAY_LAYERS_MAX);
	CHECK(o.upper[0] == '/' && o.work[0] == '/');
	for (size_t i = 0; i < o.nlower; i++)
		CHECK(o.lower[i][0] == '/');
	out = malloc(RUNTIME_OVERLAY_OPTS_MAX + 1);
	CHECK(out != NULL);
	n = runtime_overlay_options(&o, out, RUNTIME_OVERLAY_OPTS_MAX + 1);
	if (n >= 0) {
		const char *tail = strstr(out, ",upperdir=upper,workdir=work");
		CHECK((size_t)n == strlen(out));
		CHECK(strncmp(out, "lowerdir=lower", 14) == 0);
		CHECK(tail != NULL);
		/* No layer path before the other options. */
		CHECK(memchr(out, '/', (size_t)(tail - out)) == NULL);
		tail += strlen(",upperdir=upper,workdir=work");
		CHECK(strcmp(tail[0] == ',' ? tail + 1 : tail, o.other) == 0);
	}
	free(out);
	runtime_overlay_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *nl, type[64], *opts;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_opts(text);
	opts = malloc(RUNTIME_OVERLAY_OPTS_MAX + 1);
	if (opts != NULL && (nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		if (runtime_mountinfo_find(nl + 1, text, type, sizeof(type), opts,
		                           RUNTIME_OVERLAY_OPTS_MAX + 1) == 0) {
			CHECK(strchr(type, ' ') == NULL && strchr(opts, ' ') == NULL);
			check_opts(opts);
		}
	}
	free(opts);
	free(text);
	return 0;
}
