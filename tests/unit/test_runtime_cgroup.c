/* Unit tests for runtime_cgroup: which limits move, where the box's cgroup
 * goes, what the parent gets (a directory standing in for /sys/fs/cgroup),
 * and which parents runc's state names for removal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime_cgroup.h"

static const char docker[] =
    "{\"linux\":{\"cgroupsPath\":\"/docker/abc\",\"resources\":{"
    "\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],"
    "\"memory\":{\"limit\":268435456,\"swap\":268435456,\"disableOOMKiller\":false},"
    "\"cpu\":{\"shares\":0,\"quota\":50000,\"period\":100000},"
    "\"pids\":{\"limit\":100}}}}";

static json_t *load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static void test_read_and_move(void **state)
{
	json_t *c = load(docker), *res;
	struct runtime_limits l;

	(void)state;
	assert_int_equal(runtime_limits_read(c, &l), 1);
	assert_string_equal(l.parent, "/docker/abc");
	assert_int_equal(l.memory, 268435456);
	assert_int_equal(l.memsw, 268435456);
	assert_int_equal(l.pids, 100);
	assert_int_equal(l.cpu_quota, 50000);
	assert_int_equal(l.cpu_period, 100000);
	runtime_limits_move(c, &l);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(c, "linux"), "cgroupsPath")),
	    "/docker/abc/box");
	res = json_object_get(json_object_get(c, "linux"), "resources");
	assert_null(json_object_get(json_object_get(res, "memory"), "limit"));
	assert_null(json_object_get(json_object_get(res, "memory"), "swap"));
	assert_non_null(json_object_get(json_object_get(res, "memory"), "disableOOMKiller"));
	assert_null(json_object_get(res, "pids"));
	assert_null(json_object_get(json_object_get(res, "cpu"), "quota"));
	assert_non_null(json_object_get(json_object_get(res, "cpu"), "shares"));
	assert_non_null(json_object_get(res, "devices")); /* the device rules stay the box's */
	json_decref(c);
}

static void test_nothing_to_move(void **state)
{
	struct runtime_limits l;
	json_t *c;

	(void)state;
	/* the systemd driver's form, a relative path, "..": left alone */
	static const char *const paths[] = {"system.slice:docker:abc",
	                                    "docker/abc",
	                                    "/docker/../x",
	                                    "/docker//abc",
	                                    "/docker/abc/",
	                                    "/a b"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char text[256];
		snprintf(
		    text, sizeof(text),
		    "{\"linux\":{\"cgroupsPath\":\"%s\",\"resources\":{\"pids\":{\"limit\":9}}}}",
		    paths[i]);
		c = load(text);
		assert_int_equal(runtime_limits_read(c, &l), 0);
		json_decref(c);
	}
	c = load(
	    "{\"linux\":{\"cgroupsPath\":\"/docker/abc\",\"resources\":{\"pids\":{\"limit\":0},"
	    "\"memory\":{\"swap\":5}}}}");
	assert_int_equal(runtime_limits_read(c, &l), 0); /* no limit: nothing moves */
	json_decref(c);
	c = load("{}");
	assert_int_equal(runtime_limits_read(c, &l), -1);
	json_decref(c);
}

static void test_apply(void **state)
{
	char root[] = "/tmp/hermes-cg-XXXXXX", p[256], buf[64];
	struct runtime_limits l = {.parent = "/docker/abc",
	                           .memory = 1000,
	                           .memsw = 2000,
	                           .pids = 7,
	                           .cpu_quota = 5,
	                           .cpu_period = 10};
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	/* A v1 memory and pids hierarchy: their files at the root; no cpu. */
	snprintf(p, sizeof(p),
	         "mkdir -p %s/memory/docker/abc %s/pids/docker && touch "
	         "%s/memory/cgroup.procs %s/memory/docker/abc/memory.limit_in_bytes "
	         "%s/pids/cgroup.procs",
	         root, root, root, root, root);
	assert_int_equal(system(p), 0);
	/* a memory limit to write; pids: the directory is made, but the
	 * kernel would make pids.max in it, which a plain directory lacks */
	assert_int_equal(runtime_limits_apply(&l, root), -ENOENT);
	snprintf(p, sizeof(p), "%s/memory/docker/abc/memory.limit_in_bytes", root);
	f = fopen(p, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "1000");
	snprintf(p, sizeof(p), "%s/pids/docker/abc", root);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	/* no cpu hierarchy at all: refused rather than a limit lost */
	l.memory = l.pids = -1;
	assert_int_equal(runtime_limits_apply(&l, root), -ENOENT);
	snprintf(p, sizeof(p), "rm -rf %s", root);
	assert_int_equal(system(p), 0);
}

static void test_systemd_cgroup(void **state)
{
	json_t *c = load("{\"linux\":{\"cgroupsPath\":\"/docker/abc\"},\"mounts\":["
	                 "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\"}]}");
	json_t *d = load(docker), *m;
	struct runtime_limits l;
	char dir[200];

	(void)state;
	/* After the limits moved: the box's own cgroup, the child. */
	assert_int_equal(runtime_limits_read(d, &l), 1);
	json_decref(d);
	runtime_limits_move(c, &l);
	assert_int_equal(runtime_systemd_cgroup(c, "/sys/fs/cgroup", dir, sizeof(dir)), 1);
	assert_string_equal(dir, "/sys/fs/cgroup/systemd/docker/abc/box");
	m = json_object_get(c, "mounts");
	assert_int_equal(json_array_size(m), 2);
	m = json_array_get(m, 1); /* after runc's cgroup mount, so over it */
	assert_string_equal(json_string_value(json_object_get(m, "destination")),
	                    "/sys/fs/cgroup/systemd");
	assert_string_equal(json_string_value(json_object_get(m, "source")), dir);
	assert_string_equal(json_string_value(json_object_get(m, "type")), "bind");
	json_t *o = json_object_get(m, "options");
	assert_int_equal(json_array_size(o), 5);
	assert_string_equal(json_string_value(json_array_get(o, 1)), "rw");
	json_decref(c);
	/* The systemd driver's path, a dot segment, nowhere to put it: nothing. */
	c = load("{\"linux\":{\"cgroupsPath\":\"system.slice:docker:abc\"},\"mounts\":[]}");
	assert_int_equal(runtime_systemd_cgroup(c, "/sys/fs/cgroup", dir, sizeof(dir)), 0);
	assert_int_equal(json_array_size(json_object_get(c, "mounts")), 0);
	json_decref(c);
	c = load("{\"linux\":{\"cgroupsPath\":\"/docker/../x\"},\"mounts\":[]}");
	assert_int_equal(runtime_systemd_cgroup(c, "/sys/fs/cgroup", dir, sizeof(dir)), 0);
	json_decref(c);
	c = load("{\"linux\":{\"cgroupsPath\":\"/docker/abc\"}}");
	assert_int_equal(runtime_systemd_cgroup(c, "/sys/fs/cgroup", dir, sizeof(dir)), -1);
	json_decref(c);
	c = load("{\"linux\":{\"cgroupsPath\":\"/docker/abc\"},\"mounts\":[]}");
	assert_int_equal(runtime_systemd_cgroup(c, "/sys/fs/cgroup", dir, 20), -1);
	json_decref(c);
}

static void test_state_parents(void **state)
{
	json_t *s = load("{\"cgroup_paths\":{"
	                 "\"memory\":\"/sys/fs/cgroup/memory/docker/abc/box\","
	                 "\"pids\":\"/sys/fs/cgroup/pids/docker/abc/box\","
	                 "\"cpu\":\"/sys/fs/cgroup/cpu/docker/abc\","
	                 "\"devices\":\"/sys/fs/cgroup/devices/docker/../abc/box\","
	                 "\"x\":7,\"y\":\"/box\"}}");
	char out[4][512];

	(void)state;
	assert_int_equal(runtime_state_parents(s, out, 4), 2);
	assert_string_equal(out[0], "/sys/fs/cgroup/memory/docker/abc");
	assert_string_equal(out[1], "/sys/fs/cgroup/pids/docker/abc");
	assert_int_equal(runtime_state_parents(s, out, 1), 1);
	json_decref(s);
	s = load("{}");
	assert_int_equal(runtime_state_parents(s, out, 4), 0);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_and_move),  cmocka_unit_test(test_nothing_to_move),
	    cmocka_unit_test(test_apply),          cmocka_unit_test(test_state_parents),
	    cmocka_unit_test(test_systemd_cgroup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
