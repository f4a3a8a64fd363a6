/* What hermes-runtime changes in an OCI bundle's config.json (see
 * runtime_spec.h). */
#include "runtime_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>

#include "box_boot.h"

const char *const runtime_net_dest[ENGINE_FILES_N] = ENGINE_FILE_PATHS;
const char *const runtime_etc_env[ENGINE_FILES_N] = ENGINE_FILE_ENVS;

/* Which of runtime_etc_env e names ("NAME=..."), or -1. */
static int etc_env(const char *e)
{
	size_t f, n;

	for (f = 0; f < ENGINE_FILES_N; f++) {
		n = strlen(runtime_etc_env[f]);
		if (strncmp(e, runtime_etc_env[f], n) == 0 && e[n] == '=')
			return (int)f;
	}
	return -1;
}

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int is_bind(const json_t *m)
{
	const char *type = str_of(m, "type");
	const json_t *opts = json_object_get(m, "options");
	size_t i;

	if (type != NULL && strcmp(type, "bind") == 0)
		return 1;
	/* runc takes a mount with "bind" or "rbind" among its options as a
	 * bind whatever its type says. */
	for (i = 0; i < json_array_size(opts); i++) {
		const char *o = json_string_value(json_array_get(opts, i));
		if (o != NULL && (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0))
			return 1;
	}
	return 0;
}

void runtime_find_mounts(const json_t *config, struct runtime_mounts *out)
{
	const json_t *mounts = json_object_get(config, "mounts");
	size_t i, f;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < json_array_size(mounts); i++) {
		const json_t *m = json_array_get(mounts, i);
		const char *dest = str_of(m, "destination"), *src = str_of(m, "source");

		if (dest == NULL || src == NULL || src[0] != '/' || !is_bind(m))
			continue;
		for (f = 0; f < ENGINE_FILES_N; f++)
			if (strcmp(dest, runtime_net_dest[f]) == 0)
				out->source[f] = src; /* the last one wins, as in runc */
	}
}

size_t runtime_drop_mount(json_t *config, const char *dest)
{
	json_t *mounts = json_object_get(config, "mounts");
	size_t i = 0, n = 0;

	while (i < json_array_size(mounts)) {
		const char *d = str_of(json_array_get(mounts, i), "destination");
		if (d != NULL && strcmp(d, dest) == 0 && json_array_remove(mounts, i) == 0)
			n++;
		else
			i++;
	}
	return n;
}

void runtime_take_texts(const json_t *config, struct runtime_texts *out)
{
	const json_t *env = json_object_get(json_object_get(config, "process"), "env");
	size_t i;
	int f;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < json_array_size(env); i++) {
		const char *e = json_string_value(json_array_get(env, i));
		if (e == NULL || (f = etc_env(e)) < 0)
			continue;
		free(out->text[f]); /* the last one wins, as in an environment */
		out->text[f] = strdup(e + strlen(runtime_etc_env[f]) + 1);
	}
}

void runtime_texts_free(struct runtime_texts *t)
{
	for (size_t f = 0; f < ENGINE_FILES_N; f++)
		free(t->text[f]);
	memset(t, 0, sizeof(*t));
}

/* Whether e is BOX_BOOT_ENV=...; *value the text after '='. */
static int boot_env(const char *e, const char **value)
{
	size_t n = sizeof(BOX_BOOT_ENV) - 1;

	if (strncmp(e, BOX_BOOT_ENV, n) != 0 || e[n] != '=')
		return 0;
	*value = e + n + 1;
	return 1;
}

static int init_env(const char *e, const char **value)
{
	size_t n = sizeof(BOX_INIT_ENV) - 1;

	if (strncmp(e, BOX_INIT_ENV, n) != 0 || e[n] != '=')
		return 0;
	*value = e + n + 1;
	return 1;
}

int runtime_take_systemd(const json_t *config)
{
	const json_t *env = json_object_get(json_object_get(config, "process"), "env");
	int systemd = 0;

	for (size_t i = 0; i < json_array_size(env); i++) {
		const char *e = json_string_value(json_array_get(env, i)), *v;
		if (e != NULL && init_env(e, &v))
			systemd = strcmp(v, BOX_INIT_SYSTEMD) == 0; /* the last one wins */
	}
	return systemd;
}

int64_t runtime_take_boot(const json_t *config)
{
	const json_t *env = json_object_get(json_object_get(config, "process"), "env");
	int64_t boot = -1;
	size_t i;

	for (i = 0; i < json_array_size(env); i++) {
		const char *e = json_string_value(json_array_get(env, i)), *v;
		int64_t ms = 0;
		size_t k;

		if (e == NULL || !boot_env(e, &v))
			continue;
		/* 1 to 15 decimal digits: milliseconds since the epoch until
		 * the year 33658, and no overflow. */
		for (k = 0; k < 15 && v[k] >= '0' && v[k] <= '9'; k++)
			ms = ms * 10 + (v[k] - '0');
		boot = k > 0 && v[k] == '\0' && ms > 0 ? ms : -1; /* the last one wins */
	}
	return boot;
}

size_t runtime_strip_env(json_t *config)
{
	json_t *env = json_object_get(json_object_get(config, "process"), "env");
	size_t i = 0, n = 0;

	while (i < json_array_size(env)) {
		const char *e = json_string_value(json_array_get(env, i)), *v;
		if (e != NULL &&
		    (strncmp(e, "HOSTNAME=", 9) == 0 || etc_env(e) >= 0 || boot_env(e, &v) ||
		     init_env(e, &v)) &&
		    json_array_remove(env, i) == 0)
			n++;
		else
			i++;
	}
	return n;
}

const char *runtime_root_path(const json_t *config)
{
	const char *p = str_of(json_object_get(config, "root"), "path");

	return p != NULL && p[0] != '\0' ? p : NULL;
}

/* runc's global options that take a value (runc 1.1's main.go). */
static int global_takes_value(const char *opt)
{
	static const char *const names[] = {"log", "log-format", "root", "criu", "rootless"};
	size_t i;

	while (*opt == '-')
		opt++;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(opt, names[i]) == 0)
			return 1;
	return 0;
}

int runtime_state_path(const char *root, const char *id, char *out, size_t cap)
{
	int n;

	if (id[0] == '\0' || strchr(id, '/') != NULL || strcmp(id, ".") == 0 ||
	    strcmp(id, "..") == 0)
		return -1;
	n = snprintf(out, cap, "%s/%s/state.json", root, id);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

void runtime_parse_args(int argc, char *const argv[], struct runtime_call *out)
{
	int i;

	out->command = NULL;
	out->bundle = NULL;
	out->root = "/run/runc";
	out->id = NULL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *name = a;
		if (a[0] != '-') {
			out->command = a;
			break;
		}
		while (*name == '-')
			name++;
		if (strncmp(name, "root=", 5) == 0)
			out->root = name + 5;
		else if (strcmp(name, "root") == 0 && i + 1 < argc)
			out->root = argv[i + 1];
		if (strchr(a, '=') == NULL && global_takes_value(a))
			i++;
	}
	if (out->command != NULL && i + 1 < argc && argv[argc - 1][0] != '-')
		out->id = argv[argc - 1];
	if (out->command == NULL ||
	    (strcmp(out->command, "create") != 0 && strcmp(out->command, "run") != 0))
		return;
	out->bundle = ".";
	for (i++; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if ((strcmp(a, "--bundle") == 0 || strcmp(a, "-bundle") == 0 ||
		     strcmp(a, "-b") == 0 || strcmp(a, "--b") == 0) &&
		    i + 1 < argc)
			out->bundle = argv[++i];
		else if (strncmp(a, "--bundle=", 9) == 0)
			out->bundle = a + 9;
		else if (strncmp(a, "-bundle=", 8) == 0)
			out->bundle = a + 8;
		else if (strncmp(a, "-b=", 3) == 0)
			out->bundle = a + 3;
	}
}

int runtime_quiet_uts_unshare(json_t *config)
{
	json_t *seccomp = json_object_get(json_object_get(config, "linux"), "seccomp");
	json_t *calls = json_object_get(seccomp, "syscalls"), *rule;
	size_t i, j;

	if (!json_is_array(calls))
		return 0;
	for (i = 0; i < json_array_size(calls); i++) {
		const json_t *names = json_object_get(json_array_get(calls, i), "names");
		for (j = 0; j < json_array_size(names); j++) {
			const char *n = json_string_value(json_array_get(names, j));
			if (n != NULL && strcmp(n, "unshare") == 0)
				return 0;
		}
	}
	rule = json_pack("{s:[s], s:s, s:i, s:[{s:i, s:I, s:i, s:s}]}", "names", "unshare",
	                 "action", "SCMP_ACT_ERRNO", "errnoRet", 0, "args", "index", 0, "value",
	                 (json_int_t)CLONE_NEWUTS, "valueTwo", 0, "op", "SCMP_CMP_EQ");
	return rule != NULL && json_array_append_new(calls, rule) == 0;
}
