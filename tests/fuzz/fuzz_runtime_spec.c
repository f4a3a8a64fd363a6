/*
 * libFuzzer harness for runtime_spec.c: any bytes as the config.json an
 * engine writes into a bundle (hermes-runtime runs as root on what dockerd
 * gives it). Beyond "no crash, no over-read" it checks what runtime_main.c
 * relies on: a mount found is an absolute path and dropping it leaves none
 * with that destination; after stripping, neither HOSTNAME nor a text's
 * variable is in the environment, and the texts taken before are still
 * there to write.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_spec.h"

#include "fuzz_check.h"

static void check_config(json_t *c)
{
	struct runtime_mounts m;
	const char *h = runtime_hostname(c);
	json_t *env;
	size_t f, i;

	if (h != NULL)
		CHECK(
		    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
		    strlen(h));
	runtime_root_path(c);
	runtime_find_mounts(c, &m);
	for (f = 0; f < RT_NET_FILES; f++) {
		if (m.source[f] == NULL)
			continue;
		CHECK(m.source[f][0] == '/');
		runtime_drop_mount(c, runtime_net_dest[f]);
	}
	runtime_find_mounts(c, &m);
	for (f = 0; f < RT_NET_FILES; f++)
		CHECK(m.source[f] == NULL);
	runtime_strip_env(c);
	env = json_object_get(json_object_get(c, "process"), "env");
	for (i = 0; i < json_array_size(env); i++) {
		const char *e = json_string_value(json_array_get(env, i));
		if (e == NULL)
			continue;
		CHECK(strncmp(e, "HOSTNAME=", 9) != 0);
		for (f = 0; f < RT_NET_FILES; f++) {
			size_t n = strlen(runtime_etc_env[f]);
			CHECK(strncmp(e, runtime_etc_env[f], n) != 0 || e[n] != '=');
		}
	}
	for (f = 0; f < RT_NET_FILES; f++)
		if (t.text[f] != NULL)
			CHECK(strlen(t.text[f]) < (size_t)1 << 30);
	runtime_texts_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *c = json_loadb((const char *)data, size, 0, NULL);

	if (c != NULL) {
		check_config(c);
		json_decref(c);
	}
	return 0;
}
