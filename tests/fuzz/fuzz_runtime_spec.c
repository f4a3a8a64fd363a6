/*
 * libFuzzer harness for runtime_spec.c and runtime_devices.c: any bytes as
 * the config.json an engine writes into a bundle (hermes-runtime runs as
 * root on what dockerd gives it). Beyond "no crash, no over-read" it
 * checks what runtime_main.c relies on: a mount found is an absolute path
 * and dropping it leaves none with that destination; a boot time taken is
 * a positive number of milliseconds; after stripping, neither HOSTNAME nor
 * a text's variable nor the boot time is in the environment; a device
 * node added is one the config's device cgroup rules do not let the box
 * open.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "box_boot.h"
#include "runtime_devices.h"
#include "runtime_spec.h"

#include "fuzz_check.h"

static void check_config(json_t *c)
{
	struct runtime_mounts m;
	struct runtime_texts t;
	json_t *env;
	size_t f, i;

	runtime_take_texts(c, &t);
	runtime_texts_free(&t);
	int64_t boot = runtime_take_boot(c);
	CHECK(boot == -1 || (boot > 0 && boot < 1000000000000000LL));
	runtime_root_path(c);
	runtime_find_mounts(c, &m);
	for (f = 0; f < ENGINE_FILES_N; f++) {
		if (m.source[f] == NULL)
			continue;
		CHECK(m.source[f][0] == '/');
		runtime_drop_mount(c, runtime_net_dest[f]);
	}
	runtime_find_mounts(c, &m);
	for (f = 0; f < ENGINE_FILES_N; f++)
		CHECK(m.source[f] == NULL);
	/* The unshare rule: at most once. */
	if (runtime_quiet_uts_unshare(c) == 1)
		CHECK(runtime_quiet_uts_unshare(c) == 0);
	runtime_strip_env(c);
	env = json_object_get(json_object_get(c, "process"), "env");
	for (i = 0; i < json_array_size(env); i++) {
		const char *e = json_string_value(json_array_get(env, i));
		if (e == NULL)
			continue;
		CHECK(strncmp(e, "HOSTNAME=", 9) != 0);
		CHECK(strncmp(e, BOX_BOOT_ENV "=", sizeof(BOX_BOOT_ENV)) != 0);
		for (f = 0; f < ENGINE_FILES_N; f++) {
			size_t n = strlen(runtime_etc_env[f]);
			CHECK(strncmp(e, runtime_etc_env[f], n) != 0 || e[n] != '=');
		}
	}
}

static void check_devices(json_t *c)
{
	static const struct runtime_dev devs[] = {{"vda", 'b', 254, 0, 0660, 0, 6},
	                                          {"tty1", 'c', 4, 1, 0620, 0, 5},
	                                          {"kmsg", 'c', 1, 11, 0644, 0, 0},
	                                          {"fuse", 'c', 10, 229, 0600, 0, 0}};
	json_t *list = json_object_get(json_object_get(c, "linux"), "devices");
	size_t before = json_is_array(list) ? json_array_size(list) : 0;
	int added = runtime_add_devices(c, devs, sizeof(devs) / sizeof(devs[0]));

	if (added <= 0)
		return;
	list = json_object_get(json_object_get(c, "linux"), "devices");
	CHECK(json_array_size(list) == before + (size_t)added);
	for (size_t k = before; k < json_array_size(list); k++) {
		const json_t *d = json_array_get(list, k);
		const char *type = json_string_value(json_object_get(d, "type"));
		CHECK(type != NULL);
		CHECK(!runtime_dev_allowed(c, type[0],
		                           (long)json_integer_value(json_object_get(d, "major")),
		                           (long)json_integer_value(json_object_get(d, "minor"))));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *c = json_loadb((const char *)data, size, 0, NULL);

	if (c != NULL) {
		check_config(c);
		check_devices(c);
		json_decref(c);
	}
	return 0;
}
