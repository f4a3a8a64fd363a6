/* A box's limits on a cgroup above its own (see runtime_cgroup.h). */
#include "runtime_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long long int_or_none(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (long long)json_integer_value(v)
	                                                       : -1;
}

/* A cgroup path we are willing to make: absolute, plain components, no
 * "." or "..". */
static int plain_path(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n < 2 || n >= sizeof(((struct runtime_limits *)0)->parent) - 8 ||
	    p[n - 1] == '/' || strstr(p, "//") != NULL || strstr(p, "/./") != NULL ||
	    strstr(p, "/../") != NULL || strcmp(p + n - 2, "/.") == 0 ||
	    strcmp(p + n - 3, "/..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return 0;
	return 1;
}

int runtime_limits_read(const json_t *config, struct runtime_limits *out)
{
	const json_t *linux_ = json_object_get(config, "linux");
	const json_t *res = json_object_get(linux_, "resources");
	const char *path = json_string_value(json_object_get(linux_, "cgroupsPath"));

	memset(out, 0, sizeof(*out));
	out->memory = out->memsw = out->pids = out->cpu_quota = out->cpu_period = -1;
	if (!json_is_object(linux_))
		return -1;
	if (path == NULL || !plain_path(path))
		return 0;
	snprintf(out->parent, sizeof(out->parent), "%s", path);
	out->memory = int_or_none(json_object_get(res, "memory"), "limit");
	out->memsw = int_or_none(json_object_get(res, "memory"), "swap");
	out->pids = int_or_none(json_object_get(res, "pids"), "limit");
	out->cpu_quota = int_or_none(json_object_get(res, "cpu"), "quota");
	out->cpu_period = int_or_none(json_object_get(res, "cpu"), "period");
	if (out->memory < 0)
		out->memsw = -1; /* swap alone is not a limit v1 takes */
	if (out->cpu_quota < 0)
		out->cpu_period = -1;
	return out->memory > 0 || out->pids > 0 || out->cpu_quota > 0;
}

int runtime_mkdirs(char *path)
{
	for (char *s = strchr(path + 1, '/');; s = strchr(s + 1, '/')) {
		if (s != NULL)
			*s = '\0';
		int r = mkdir(path, 0755);
		if (s != NULL)
			*s = '/';
		if (r < 0 && errno != EEXIST)
			return -errno;
		if (s == NULL)
			return 0;
	}
}

static int write_value(const char *dir, const char *file, long long v)
{
	char path[700], text[32];
	int fd, n, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%lld", v);
	if (write(fd, text, (size_t)n) != n)
		r = -errno;
	close(fd);
	return r;
}

/* dir of a v1 hierarchy (root/name) with the parent made in it; -errno.
 * (A hierarchy's root lacks most limit files, pids.max among them: its
 * cgroup.procs says it is one.) */
static int hierarchy(const char *root, const char *name, const char *parent, char *dir, size_t len)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/%s/cgroup.procs", root, name);
	if (access(p, F_OK) < 0)
		return -ENOENT; /* no v1 hierarchy of this controller */
	snprintf(dir, len, "%s/%s%s", root, name, parent);
	return runtime_mkdirs(dir);
}

int runtime_limits_apply(const struct runtime_limits *l, const char *root)
{
	char dir[600], memsw[640];
	int r;

	if (l->memory > 0) {
		if ((r = hierarchy(root, "memory", l->parent, dir, sizeof(dir))) < 0 ||
		    (r = write_value(dir, "memory.limit_in_bytes", l->memory)) < 0)
			return r;
		/* memsw exists only with swap accounting; when it does it must
		 * be set too, or swap would go unbounded. */
		snprintf(memsw, sizeof(memsw), "%s/memory.memsw.limit_in_bytes", dir);
		if (l->memsw > 0 && access(memsw, F_OK) == 0 &&
		    (r = write_value(dir, "memory.memsw.limit_in_bytes", l->memsw)) < 0)
			return r;
	}
	if (l->pids > 0 && ((r = hierarchy(root, "pids", l->parent, dir, sizeof(dir))) < 0 ||
	                    (r = write_value(dir, "pids.max", l->pids)) < 0))
		return r;
	if (l->cpu_quota > 0) {
		if ((r = hierarchy(root, "cpu", l->parent, dir, sizeof(dir))) < 0)
			return r;
		if (l->cpu_period > 0 &&
		    (r = write_value(dir, "cpu.cfs_period_us", l->cpu_period)) < 0)
			return r;
		if ((r = write_value(dir, "cpu.cfs_quota_us", l->cpu_quota)) < 0)
			return r;
	}
	return 0;
}

void runtime_limits_move(json_t *config, const struct runtime_limits *l)
{
	json_t *linux_ = json_object_get(config, "linux");
	json_t *res = json_object_get(linux_, "resources");
	char child[sizeof(l->parent) + 8];

	if (l->memory > 0) {
		json_object_del(json_object_get(res, "memory"), "limit");
		json_object_del(json_object_get(res, "memory"), "swap");
	}
	if (l->pids > 0)
		json_object_del(res, "pids");
	if (l->cpu_quota > 0) {
		json_object_del(json_object_get(res, "cpu"), "quota");
		json_object_del(json_object_get(res, "cpu"), "period");
	}
	snprintf(child, sizeof(child), "%s/%s", l->parent, RUNTIME_CGROUP_CHILD);
	json_object_set_new(linux_, "cgroupsPath", json_string(child));
}

size_t runtime_state_parents(const json_t *state, char out[][512], size_t max)
{
	const json_t *paths = json_object_get(state, "cgroup_paths");
	const char *key, *suffix = "/" RUNTIME_CGROUP_CHILD;
	const json_t *v;
	size_t n = 0;

	json_object_foreach((json_t *)paths, key, v)
	{
		const char *p = json_string_value(v);
		size_t len = p != NULL ? strlen(p) : 0, k, i;

		(void)key;
		if (n == max || len <= strlen(suffix) || len - strlen(suffix) >= 512 ||
		    strcmp(p + len - strlen(suffix), suffix) != 0 || !plain_path(p))
			continue;
		k = len - strlen(suffix);
		for (i = 0; i < n && !(strlen(out[i]) == k && strncmp(out[i], p, k) == 0); i++)
			;
		if (i < n)
			continue;
		memcpy(out[n], p, k);
		out[n][k] = '\0';
		n++;
	}
	return n;
}

int runtime_systemd_cgroup(json_t *config, const char *root, char *dir, size_t len)
{
	json_t *linux_ = json_object_get(config, "linux");
	json_t *mounts = json_object_get(config, "mounts");
	const char *path = json_string_value(json_object_get(linux_, "cgroupsPath"));
	int n;

	if (!json_is_object(linux_) || !json_is_array(mounts))
		return -1;
	if (path == NULL || !plain_path(path))
		return 0;
	n = snprintf(dir, len, "%s/systemd%s", root, path);
	if (n < 0 || (size_t)n >= len)
		return -1;
	json_t *m = json_pack("{s:s, s:s, s:s, s:[s, s, s, s, s]}", "destination",
	                      "/sys/fs/cgroup/systemd", "type", "bind", "source", dir, "options",
	                      "rbind", "rw", "nosuid", "nodev", "noexec");
	if (m == NULL || json_array_append_new(mounts, m) < 0)
		return -1;
	return 1;
}
