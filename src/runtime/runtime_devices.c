/* The host's device nodes in a box's /dev, none of them openable (see
 * runtime_devices.h). */
#include "runtime_devices.h"

#include <stdio.h>
#include <string.h>

/* What runc allows whatever the config says (runc 1.1's AllowedDevices,
 * appended after the config's rules): null, random, full, tty, zero,
 * urandom, console, pts, ptmx, tun. A node of these is never added. */
static const struct {
	char type;
	long major, minor; /* -1: any */
} runc_allows[] = {{'c', 1, 3}, {'c', 1, 8}, {'c', 1, 7},    {'c', 5, 0}, {'c', 1, 5},
                   {'c', 1, 9}, {'c', 5, 1}, {'c', 136, -1}, {'c', 5, 2}, {'c', 10, 200}};

/* The names runc makes in every /dev itself, and Docker's mounts there. */
static const char *const runc_names[] = {"null",    "zero", "full", "random", "urandom", "tty",
                                         "console", "ptmx", "fd",   "stdin",  "stdout",  "stderr",
                                         "core",    "shm",  "pts",  "mqueue"};

static long num_or_any(const json_t *v)
{
	return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

int runtime_dev_allowed(const json_t *config, char type, long major, long minor)
{
	const json_t *rules = json_object_get(
	    json_object_get(json_object_get(config, "linux"), "resources"), "devices");
	/* A cgroup with no rule allows everything. */
	int r = 1, w = 1;
	size_t i;

	for (i = 0; i < sizeof(runc_allows) / sizeof(runc_allows[0]); i++)
		if (runc_allows[i].type == type && runc_allows[i].major == major &&
		    (runc_allows[i].minor == -1 || runc_allows[i].minor == minor))
			return 1;
	for (i = 0; i < json_array_size(rules); i++) {
		const json_t *rule = json_array_get(rules, i);
		const char *t = json_string_value(json_object_get(rule, "type"));
		const char *access = json_string_value(json_object_get(rule, "access"));
		long ma = num_or_any(json_object_get(rule, "major"));
		long mi = num_or_any(json_object_get(rule, "minor"));
		int allow = json_is_true(json_object_get(rule, "allow"));

		if (!json_is_boolean(json_object_get(rule, "allow")))
			return 1; /* a rule we cannot read: assume the worst */
		if (t != NULL && t[0] != '\0' && strcmp(t, "a") != 0 && t[0] != type)
			continue;
		if ((ma != -1 && ma != major) || (mi != -1 && mi != minor))
			continue;
		if (access == NULL || access[0] == '\0')
			access = "rwm"; /* runc's default */
		if (strchr(access, 'r') != NULL)
			r = allow;
		if (strchr(access, 'w') != NULL)
			w = allow;
	}
	return r || w;
}

static int named(const json_t *devices, const char *path)
{
	for (size_t i = 0; i < json_array_size(devices); i++) {
		const char *p =
		    json_string_value(json_object_get(json_array_get(devices, i), "path"));
		if (p != NULL && strcmp(p, path) == 0)
			return 1;
	}
	return 0;
}

static int plain_name(const char *s)
{
	size_t n = strnlen(s, sizeof(((struct runtime_dev *)0)->name));

	if (n == 0 || n >= sizeof(((struct runtime_dev *)0)->name) || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || (unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	for (size_t i = 0; i < sizeof(runc_names) / sizeof(runc_names[0]); i++)
		if (strcmp(s, runc_names[i]) == 0)
			return 0;
	return 1;
}

int runtime_add_devices(json_t *config, const struct runtime_dev *devs, size_t n)
{
	json_t *linux_ = json_object_get(config, "linux"), *list;
	char path[80];
	int added = 0;

	if (!json_is_object(linux_))
		return -1;
	list = json_object_get(linux_, "devices");
	if (!json_is_array(list)) {
		list = json_array();
		if (json_object_set_new(linux_, "devices", list) < 0)
			return -1;
	}
	for (size_t i = 0; i < n && added < RUNTIME_DEVICES_MAX; i++) {
		const struct runtime_dev *d = &devs[i];
		json_t *e;

		if (!plain_name(d->name) || (d->type != 'c' && d->type != 'b') || d->major < 0 ||
		    d->minor < 0 || runtime_dev_allowed(config, d->type, d->major, d->minor))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", d->name);
		if (named(list, path))
			continue;
		e = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", path, "type",
		              d->type == 'c' ? "c" : "b", "major", (json_int_t)d->major, "minor",
		              (json_int_t)d->minor, "fileMode", (json_int_t)(d->mode & 07777),
		              "uid", (json_int_t)d->uid, "gid", (json_int_t)d->gid);
		if (e == NULL || json_array_append_new(list, e) < 0)
			break;
		added++;
	}
	return added;
}
