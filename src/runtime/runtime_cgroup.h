/* A box's limits on a cgroup above its own (docs/stealth.md).
 *
 * Docker writes a box's memory, pids and CPU limits into the box's own
 * cgroup, and with a private cgroup namespace that cgroup is the box's
 * /sys/fs/cgroup: `cat /sys/fs/cgroup/memory/memory.limit_in_bytes` says
 * 268435456 where /proc/meminfo says 24 GB, and pids.max says 100. A
 * server's read "max". hermes-runtime moves the limits to a parent cgroup
 * of the box's own (the path Docker chose, which the runtime makes and
 * limits) and runs the box in a child of it, "box": the kernel enforces a
 * parent's limits on everything below it, and the box sees only its child.
 *
 * cgroup v1 hierarchies only (these hosts); elsewhere nothing moves. The
 * parent is removed again when the container is deleted.
 */
#ifndef HERMES_RUNTIME_CGROUP_H
#define HERMES_RUNTIME_CGROUP_H

#include <jansson.h>
#include <stddef.h>

#define RUNTIME_CGROUP_CHILD "box"

struct runtime_limits {
	char parent[512];    /* the cgroup path Docker chose, e.g. /docker/ID */
	long long memory;    /* bytes, -1: none */
	long long memsw;     /* memory + swap, bytes, -1: none */
	long long pids;      /* -1: none */
	long long cpu_quota; /* microseconds a period, -1: none */
	long long cpu_period;
};

/* The limits config sets and where they would go. Returns 1 when there is
 * something to move, 0 when not (no absolute cgroupsPath, as with the
 * systemd driver's "slice:prefix:name"; or no limit), -1 when the config
 * is not one we can read. Pure. */
int runtime_limits_read(const json_t *config, struct runtime_limits *out);

/* Makes the parent in each v1 hierarchy under root ("/sys/fs/cgroup")
 * that a limit needs and writes the limits there. 0, or -errno (then
 * nothing should move; what was made stays for runtime_limits_cleanup). */
int runtime_limits_apply(const struct runtime_limits *l, const char *root);

/* Takes the limits out of config's resources and puts the box's cgroup
 * in the child of the parent. Pure. */
void runtime_limits_move(json_t *config, const struct runtime_limits *l);

/* mkdir -p of an absolute path (changed in place, restored): 0 or -errno. */
int runtime_mkdirs(char *path);

/* For a box whose init is systemd, on a host with a cgroup v1 name=systemd
 * hierarchy: the box's own cgroup there (config's cgroupsPath, absolute;
 * after runtime_limits_move, its "box" child), mounted writable over the
 * read-only one runc mounts at /sys/fs/cgroup/systemd. systemd as PID 1
 * makes its init.scope and its services' cgroups in it; the hierarchy has
 * no controller, and its root, where release_agent is, stays out of sight
 * (SECURITY.md). Sets dir (root "/systemd" path: what must exist before
 * runc mounts it) and appends the mount after every other. Returns 1 when
 * added, 0 when config has no absolute cgroupsPath (the systemd cgroup
 * driver's "slice:prefix:name"), -1 when config is not one we can read.
 * Pure. */
int runtime_systemd_cgroup(json_t *config, const char *root, char *dir, size_t len);

/* From runc's state.json of a container: the parents (directories that
 * hold a "box" child) its cgroups are in, at most max, into out. Returns
 * how many. Pure. */
size_t runtime_state_parents(const json_t *state, char out[][512], size_t max);

#endif
