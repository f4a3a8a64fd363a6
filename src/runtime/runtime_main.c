/* hermes-runtime: the OCI runtime Hermes's boxes are created with, runc
 * with a few changes to the bundle first (docs/stealth.md, "The runtime
 * wrapper"; SECURITY.md says what it may touch).
 *
 * dockerd runs it (through containerd's shim) as it would runc, as root on
 * the host, once per runc command. For `create` it rewrites the bundle's
 * config.json: HOSTNAME out of PID 1's environment, and Docker's bind
 * mounts of /etc/hostname, /etc/hosts and /etc/resolv.conf replaced by
 * files in the box's own root, with the texts Hermes put in the
 * environment for it (runtime_spec.h); the host's device nodes listed for
 * the box's /dev, none of which it may open (runtime_devices.h); and the
 * box's limits on a cgroup above its own (runtime_cgroup.h), which `delete`
 * removes after runc; and, where Hermes gave the box a boot time, runc runs
 * in a time namespace whose clocks start at that boot (runtime_clock.h),
 * which every later runc command on the box joins; and the box's overlay
 * root mounted again with short names for its layers in place of the
 * engine's store's paths (runtime_rootfs.h). Then, for every command, it
 * becomes runc with the same arguments. Whatever it cannot do it leaves as Docker made
 * it and says so on stderr: a box with a tell beats no box.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime_cgroup.h"
#include "runtime_clock.h"
#include "runtime_devices.h"
#include "runtime_files.h"
#include "runtime_rootfs.h"
#include "runtime_spec.h"

#define CONFIG_MAX ((off_t)4 << 20) /* a bundle's config.json is a few KiB */

static void say(const char *what, const char *why)
{
	fprintf(stderr, "hermes-runtime: %s: %s\n", what, why);
}

/* Returns 1 when config changed. */
static int place_net_files(json_t *config, int bundlefd, const struct runtime_texts *t)
{
	/* The hostname follows the container's; the other two are filled
	 * where empty (Docker's init layer leaves them so) and otherwise kept:
	 * a box started again keeps what its sessions made of them. */
	static const enum runtime_place_mode mode[ENGINE_FILES_N] = {
	    RT_PLACE_IF_DIFFERENT, RT_PLACE_IF_EMPTY, RT_PLACE_IF_EMPTY};
	const char *root = runtime_root_path(config);
	struct runtime_mounts m;
	int rootfd, changed = 0;
	size_t f;

	runtime_find_mounts(config, &m);
	if (root == NULL)
		return 0;
	rootfd = openat(bundlefd, root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		say(root, strerror(errno));
		return 0;
	}
	for (f = 0; f < ENGINE_FILES_N; f++) {
		int r;

		if (m.source[f] == NULL || t->text[f] == NULL)
			continue;
		r = runtime_place(rootfd, runtime_net_dest[f], t->text[f], strlen(t->text[f]),
		                  mode[f]);
		if (r < 0) {
			say(runtime_net_dest[f], strerror(-r));
			continue;
		}
		changed |= runtime_drop_mount(config, runtime_net_dest[f]) > 0;
	}
	close(rootfd);
	return changed;
}

/* The host's device nodes directly under /dev. Returns 1 when config
 * changed. */
static int add_host_devices(json_t *config)
{
	struct runtime_dev *devs = calloc(RUNTIME_DEVICES_MAX, sizeof(*devs));
	DIR *d = opendir("/dev");
	struct dirent *e;
	struct stat st;
	size_t n = 0;
	int added = 0;

	if (devs == NULL || d == NULL) {
		say("/dev", devs == NULL ? "out of memory" : strerror(errno));
		free(devs);
		if (d != NULL)
			closedir(d);
		return 0;
	}
	while (n < RUNTIME_DEVICES_MAX && (e = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) ||
		    strlen(e->d_name) >= sizeof(devs[n].name))
			continue;
		snprintf(devs[n].name, sizeof(devs[n].name), "%s", e->d_name);
		devs[n].type = S_ISCHR(st.st_mode) ? 'c' : 'b';
		devs[n].major = (long)major(st.st_rdev);
		devs[n].minor = (long)minor(st.st_rdev);
		devs[n].mode = st.st_mode & 07777;
		devs[n].uid = st.st_uid;
		devs[n].gid = st.st_gid;
		n++;
	}
	closedir(d);
	added = runtime_add_devices(config, devs, n);
	free(devs);
	return added > 0;
}

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Returns 1 when config changed. cgroup v2 (one unified hierarchy at the
 * root) is left as it is. */
static int move_limits(json_t *config)
{
	struct runtime_limits l;
	int r;

	if (access(CGROUP_ROOT "/cgroup.controllers", F_OK) == 0 ||
	    runtime_limits_read(config, &l) != 1)
		return 0;
	if ((r = runtime_limits_apply(&l, CGROUP_ROOT)) < 0) {
		say("the box's limits stay on its own cgroup", strerror(-r));
		return 0;
	}
	runtime_limits_move(config, &l);
	return 1;
}

/* Returns 1 when config changed. Only where the host has a v1 name=systemd
 * hierarchy (these hosts: hybrid cgroups); on cgroup v2 systemd needs its
 * own subtree of the unified hierarchy, not done yet. */
static int systemd_cgroup(json_t *config)
{
	char dir[700];
	int r;

	if (access(CGROUP_ROOT "/systemd/cgroup.procs", F_OK) < 0) {
		say("systemd as the box's init", "the host has no name=systemd cgroup hierarchy");
		return 0;
	}
	if ((r = runtime_systemd_cgroup(config, CGROUP_ROOT, dir, sizeof(dir))) <= 0) {
		say("systemd as the box's init", "no cgroup path to give it");
		return 0;
	}
	if ((r = runtime_mkdirs(dir)) < 0) {
		json_t *mounts = json_object_get(config, "mounts");
		json_array_remove(mounts, json_array_size(mounts) - 1);
		say(dir, strerror(-r));
		return 0;
	}
	return 1;
}

/* The root mounted again without the engine's store in its options
 * (runtime_rootfs.h), before anything else opens it. */
static void rename_root(const json_t *config, const char *bundle)
{
	const char *root = runtime_root_path(config);
	char path[4096];
	int r;

	if (root == NULL)
		return;
	if (root[0] != '/' &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s", bundle, root) < sizeof(path))
		root = path;
	if ((r = runtime_rootfs_rename(root, bundle)) < 0)
		say("the root keeps the engine's names", strerror(-r));
}

static void save(json_t *config, const char *bundle)
{
	char path[4096], tmp[4200];

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	snprintf(tmp, sizeof(tmp), "%s/.config.json.hermes-runtime", bundle);
	if (json_dump_file(config, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0) {
		say(path, "cannot be rewritten; the bundle stays as Docker made it");
		unlink(tmp);
	}
}

/* Returns the box's boot time Hermes passed (ms since the epoch), or -1. */
static int64_t prepare(const char *bundle)
{
	char path[4096];
	json_error_t jerr;
	struct stat st = {0};
	struct runtime_texts texts;
	json_t *config;
	int bundlefd, changed, systemd;
	int64_t boot;

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	if ((bundlefd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		say(bundle, strerror(errno));
		return -1;
	}
	if (stat(path, &st) < 0 || st.st_size > CONFIG_MAX) {
		say(path, st.st_size > CONFIG_MAX ? "too large" : strerror(errno));
		close(bundlefd);
		return -1;
	}
	config = json_load_file(path, 0, &jerr);
	if (config == NULL) {
		say(path, jerr.text);
		close(bundlefd);
		return -1;
	}
	rename_root(config, bundle);
	runtime_take_texts(config, &texts);
	boot = runtime_take_boot(config);
	systemd = runtime_take_systemd(config);
	changed = runtime_strip_env(config) > 0;
	changed |= place_net_files(config, bundlefd, &texts);
	changed |= add_host_devices(config);
	changed |= move_limits(config);
	if (systemd) { /* after the move: its cgroup is the box's child */
		changed |= systemd_cgroup(config);
		changed |= runtime_quiet_uts_unshare(config);
	}
	runtime_texts_free(&texts);
	if (changed)
		save(config, bundle);
	json_decref(config);
	close(bundlefd);
	return boot;
}

static void exec_runc(char **argv)
{
	static const char *const runc[] = {"/usr/sbin/runc", "/usr/bin/runc"};

	argv[0] = (char *)"runc";
	execvp("runc", argv);
	for (size_t i = 0; i < sizeof(runc) / sizeof(runc[0]); i++)
		execv(runc[i], argv);
	say("runc", strerror(errno));
}

/* runc as a child of this process, which waits for it: its status. */
static int run_runc(char **argv)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		exec_runc(argv);
		return 127;
	}
	if (pid == 0) {
		exec_runc(argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* `create` of a box with a boot time: runc made in its time namespace.
 * unshare puts only the children in it, so runc is one: a process whose
 * own time namespace differs from its children's may not clone with
 * CLONE_VM (vfork), as Go's runtime does to start `runc init`, on kernels
 * that do not move it at exec. Also when the clocks could not be set: a
 * namespace made but not set reads the host's clocks. */
static int create_with_clock(int64_t boot, char **argv)
{
	int r = runtime_clock_new(boot);

	if (r < 0)
		say("the box reads the host's uptime", strerror(-r));
	return run_runc(argv);
}

/* `delete`: runc removes the box's cgroups, the parents move_limits made
 * stay; found in runc's state before it goes, removed after (rmdir: only
 * when empty). */
static int delete_and_clean(const struct runtime_call *call, char **argv)
{
	char path[4096], parents[16][512];
	size_t n = 0;
	json_t *state;
	int status;

	if (runtime_state_path(call->root, call->id, path, sizeof(path)) == 0 &&
	    (state = json_load_file(path, 0, NULL)) != NULL) {
		n = runtime_state_parents(state, parents, 16);
		json_decref(state);
	}
	if (n == 0) {
		exec_runc(argv);
		return 127;
	}
	status = run_runc(argv);
	for (size_t i = 0; i < n; i++)
		if (strncmp(parents[i], CGROUP_ROOT "/", sizeof(CGROUP_ROOT)) == 0)
			rmdir(parents[i]);
	return status;
}

/* The container a command is about: the first argument after the command
 * that names one in runc's state directory. Where it stands depends on the
 * command and its options (`kill ID SIGNAL`, `ps --format json ID`, `exec
 * --process FILE ID`), and runc's own state says which word is a box. */
static const char *box_of(int argc, char **argv, const struct runtime_call *call)
{
	char path[4096];
	int i = 1;

	while (i < argc && argv[i] != call->command)
		i++;
	for (i++; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' && runtime_state_path(call->root, a, path, sizeof(path)) == 0 &&
		    access(path, F_OK) == 0)
			return a;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct runtime_call call;
	const char *box;
	int64_t boot = -1;
	int r;

	if (argc < 1)
		return 1;
	runtime_parse_args(argc, argv, &call);
	if (call.bundle != NULL)
		boot = prepare(call.bundle);
	if (boot >= 0)
		return create_with_clock(boot, argv);
	/* Every later command in the box's clocks: runc's check of its init
	 * (start, kill, delete, state), and what Hermes runs in the box (its
	 * preparation, the collection's reads, a shell without the agent). */
	if (call.command != NULL && (box = box_of(argc, argv, &call)) != NULL &&
	    (r = runtime_clock_join(call.root, box)) < 0)
		say("runc with the host's clocks", strerror(-r));
	if (call.command != NULL && strcmp(call.command, "delete") == 0 && call.id != NULL)
		return delete_and_clean(&call, argv);
	exec_runc(argv);
	return 127;
}
