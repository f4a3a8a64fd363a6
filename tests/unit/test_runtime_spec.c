/* Unit tests for runtime_spec: a config.json as dockerd writes it for a
 * box (trimmed to what matters), with the texts Hermes passes, and runc
 * command lines as containerd's shim gives them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "runtime_spec.h"

static const char bundle[] =
    "{\"ociVersion\":\"1.0.2-dev\",\"hostname\":\"prod-web-01\","
    "\"root\":{\"path\":\"/run/containerd/io.containerd.runtime.v2.task/moby/abc/rootfs\"},"
    "\"process\":{\"env\":[\"PATH=/usr/bin\",\"HOSTNAME=prod-web-01\",\"HOSTNAMEX=1\","
    "\"HERMES_ETC_HOSTS=127.0.0.1\\tlocalhost\\n\",\"HERMES_ETC_HOSTNAME=web\\n\","
    "\"HERMES_ETC_RESOLV_CONFX=no\",\"HERMES_ETC_HOSTNAME=prod-web-01\\n\"]},"
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\","
    "\"source\":\"/var/lib/docker/containers/abc/resolv.conf\","
    "\"options\":[\"rbind\",\"rprivate\"]},"
    "{\"destination\":\"/etc/hostname\",\"type\":\"bind\","
    "\"source\":\"/var/lib/docker/containers/abc/hostname\",\"options\":[\"rbind\"]},"
    "{\"destination\":\"/etc/hosts\",\"type\":\"none\","
    "\"source\":\"/var/lib/docker/containers/abc/hosts\",\"options\":[\"rbind\"]},"
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\"}]}";

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	assert_non_null(j);
	return j;
}

static void test_find_and_drop_mounts(void **state)
{
	json_t *c = load(bundle);
	struct runtime_mounts m;

	(void)state;
	runtime_find_mounts(c, &m);
	assert_string_equal(m.source[ENGINE_HOSTNAME], "/var/lib/docker/containers/abc/hostname");
	/* a "none" type with rbind among its options is a bind to runc */
	assert_string_equal(m.source[ENGINE_HOSTS], "/var/lib/docker/containers/abc/hosts");
	assert_string_equal(m.source[ENGINE_RESOLV], "/var/lib/docker/containers/abc/resolv.conf");
	assert_int_equal(runtime_drop_mount(c, "/etc/hosts"), 1);
	assert_int_equal(runtime_drop_mount(c, "/etc/hosts"), 0);
	assert_int_equal(json_array_size(json_object_get(c, "mounts")), 4);
	runtime_find_mounts(c, &m);
	assert_null(m.source[ENGINE_HOSTS]);
	assert_non_null(m.source[ENGINE_HOSTNAME]);
	json_decref(c);
}

static void test_mounts_not_taken(void **state)
{
	/* Not binds, relative sources, wrong types: left alone. */
	json_t *c = load("{\"mounts\":[{\"destination\":\"/etc/hosts\",\"type\":\"tmpfs\","
	                 "\"source\":\"/x\"},{\"destination\":\"/etc/hostname\",\"type\":\"bind\","
	                 "\"source\":\"rel/x\"},{\"destination\":7},\"junk\",{\"destination\":"
	                 "\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":[]}]}");
	struct runtime_mounts m;

	(void)state;
	runtime_find_mounts(c, &m);
	assert_null(m.source[ENGINE_HOSTNAME]);
	assert_null(m.source[ENGINE_HOSTS]);
	assert_null(m.source[ENGINE_RESOLV]);
	json_decref(c);
	c = load("{\"mounts\":{}}");
	runtime_find_mounts(c, &m);
	assert_int_equal(runtime_drop_mount(c, "/etc/hosts"), 0);
	json_decref(c);
}

static void test_strip_env(void **state)
{
	json_t *c = load(bundle), *env;

	(void)state;
	assert_int_equal(runtime_strip_env(c), 4);
	env = json_object_get(json_object_get(c, "process"), "env");
	assert_int_equal(json_array_size(env), 3);
	assert_string_equal(json_string_value(json_array_get(env, 0)), "PATH=/usr/bin");
	assert_string_equal(json_string_value(json_array_get(env, 1)), "HOSTNAMEX=1");
	assert_string_equal(json_string_value(json_array_get(env, 2)),
	                    "HERMES_ETC_RESOLV_CONFX=no");
	assert_int_equal(runtime_strip_env(c), 0);
	json_decref(c);
	c = load("{\"process\":{\"env\":[1,\"HOSTNAME=a\",\"HOSTNAME=b\"]}}");
	assert_int_equal(runtime_strip_env(c), 2);
	json_decref(c);
	c = load("[]");
	assert_int_equal(runtime_strip_env(c), 0);
	json_decref(c);
}

static void test_texts_and_root(void **state)
{
	json_t *c = load(bundle);
	struct runtime_texts t;

	(void)state;
	runtime_take_texts(c, &t);
	assert_string_equal(t.text[ENGINE_HOSTNAME], "prod-web-01\n"); /* the last one */
	assert_string_equal(t.text[ENGINE_HOSTS], "127.0.0.1\tlocalhost\n");
	assert_null(t.text[ENGINE_RESOLV]); /* ..._CONFX is not its name */
	runtime_texts_free(&t);
	assert_null(t.text[ENGINE_HOSTNAME]);
	assert_string_equal(runtime_root_path(c),
	                    "/run/containerd/io.containerd.runtime.v2.task/moby/abc/rootfs");
	json_decref(c);
	c = load("{\"process\":{\"env\":{}},\"root\":{\"path\":\"\"}}");
	runtime_take_texts(c, &t);
	assert_null(t.text[ENGINE_HOSTS]);
	assert_null(runtime_root_path(c));
	json_decref(c);
	c = load("{\"process\":{\"env\":[\"HERMES_ETC_HOSTS=\",7,\"HERMES_ETC_HOSTS\"]}}");
	runtime_take_texts(c, &t);
	assert_string_equal(t.text[ENGINE_HOSTS], "");
	runtime_texts_free(&t);
	json_decref(c);
}

static void test_boot(void **state)
{
	json_t *c;

	(void)state;
	c = load("{\"process\":{\"env\":[\"PATH=/usr/bin\",\"HERMES_BOOT_ATX=5\","
	         "\"HERMES_BOOT_AT=1796515745250\"]}}");
	assert_int_equal(runtime_take_boot(c), 1796515745250LL);
	assert_int_equal(runtime_strip_env(c), 1);
	assert_int_equal(runtime_take_boot(c), -1);
	assert_int_equal(json_array_size(json_object_get(json_object_get(c, "process"), "env")), 2);
	json_decref(c);
	/* The last one wins, and it must be a whole positive number of
	 * milliseconds that cannot overflow. */
	static const char *const bad[] = {
	    "", "-5", "0", "12x", " 12", "1e3", "1000000000000000", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[200];
		snprintf(text, sizeof(text),
		         "{\"process\":{\"env\":[\"HERMES_BOOT_AT=7\",\"HERMES_BOOT_AT=%s\"]}}",
		         bad[i]);
		c = load(text);
		assert_int_equal(runtime_take_boot(c), -1);
		assert_int_equal(runtime_strip_env(c), 2);
		json_decref(c);
	}
	c = load(
	    "{\"process\":{\"env\":[\"HERMES_BOOT_AT=x\",\"HERMES_BOOT_AT=999999999999999\"]}}");
	assert_int_equal(runtime_take_boot(c), 999999999999999LL);
	json_decref(c);
	c = load("{\"process\":{\"env\":{\"HERMES_BOOT_AT\":\"5\"}}}");
	assert_int_equal(runtime_take_boot(c), -1);
	json_decref(c);
}

static void test_systemd(void **state)
{
	json_t *c;

	(void)state;
	c = load("{\"process\":{\"env\":[\"PATH=/usr/bin\",\"HERMES_INITX=systemd\","
	         "\"HERMES_INIT=systemd\"]}}");
	assert_int_equal(runtime_take_systemd(c), 1);
	assert_int_equal(runtime_strip_env(c), 1);
	assert_int_equal(runtime_take_systemd(c), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(c, "process"), "env")), 2);
	json_decref(c);
	/* The last one wins; anything but "systemd" is not. */
	c = load("{\"process\":{\"env\":[\"HERMES_INIT=systemd\",\"HERMES_INIT=sysvinit\"]}}");
	assert_int_equal(runtime_take_systemd(c), 0);
	assert_int_equal(runtime_strip_env(c), 2);
	json_decref(c);
	c = load("{\"process\":{\"env\":[\"HERMES_INIT=systemd \",\"HERMES_INIT=\"]}}");
	assert_int_equal(runtime_take_systemd(c), 0);
	json_decref(c);
	c = load("{\"process\":{\"env\":{\"HERMES_INIT\":\"systemd\"}}}");
	assert_int_equal(runtime_take_systemd(c), 0);
	json_decref(c);
}

/* The rule that answers systemd's unshare(CLONE_NEWUTS): added to a
 * filter with rules, once, and never where a rule names unshare. */
static void test_quiet_uts_unshare(void **state)
{
	json_t *c = load("{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\","
	                 "\"syscalls\":[{\"names\":[\"read\",\"write\"],"
	                 "\"action\":\"SCMP_ACT_ALLOW\"}]}}}");
	json_t *calls, *rule, *arg;

	(void)state;
	assert_int_equal(runtime_quiet_uts_unshare(c), 1);
	calls =
	    json_object_get(json_object_get(json_object_get(c, "linux"), "seccomp"), "syscalls");
	assert_int_equal(json_array_size(calls), 2);
	rule = json_array_get(calls, 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(rule, "names"), 0)),
	                    "unshare");
	assert_string_equal(json_string_value(json_object_get(rule, "action")), "SCMP_ACT_ERRNO");
	assert_true(json_is_integer(json_object_get(rule, "errnoRet")));
	assert_int_equal(json_integer_value(json_object_get(rule, "errnoRet")), 0);
	assert_int_equal(json_array_size(json_object_get(rule, "args")), 1);
	arg = json_array_get(json_object_get(rule, "args"), 0);
	assert_int_equal(json_integer_value(json_object_get(arg, "index")), 0);
	assert_int_equal(json_integer_value(json_object_get(arg, "value")), 0x04000000);
	assert_string_equal(json_string_value(json_object_get(arg, "op")), "SCMP_CMP_EQ");
	/* once */
	assert_int_equal(runtime_quiet_uts_unshare(c), 0);
	assert_int_equal(json_array_size(calls), 2);
	json_decref(c);
	/* a filter that already rules on unshare (a box given CAP_SYS_ADMIN) */
	c = load("{\"linux\":{\"seccomp\":{\"syscalls\":[{\"names\":[\"clone\",\"unshare\"],"
	         "\"action\":\"SCMP_ACT_ALLOW\"}]}}}");
	assert_int_equal(runtime_quiet_uts_unshare(c), 0);
	json_decref(c);
	/* no filter (seccomp=unconfined), or no rules */
	c = load("{\"linux\":{}}");
	assert_int_equal(runtime_quiet_uts_unshare(c), 0);
	assert_null(json_object_get(json_object_get(c, "linux"), "seccomp"));
	json_decref(c);
	c = load("{\"linux\":{\"seccomp\":{\"syscalls\":{}}}}");
	assert_int_equal(runtime_quiet_uts_unshare(c), 0);
	json_decref(c);
}

static void test_state_path(void **state)
{
	char p[64];

	(void)state;
	assert_int_equal(runtime_state_path("/run/runc", "abc", p, sizeof(p)), 0);
	assert_string_equal(p, "/run/runc/abc/state.json");
	assert_int_equal(runtime_state_path("/run/runc", "", p, sizeof(p)), -1);
	assert_int_equal(runtime_state_path("/run/runc", "..", p, sizeof(p)), -1);
	assert_int_equal(runtime_state_path("/run/runc", ".", p, sizeof(p)), -1);
	assert_int_equal(runtime_state_path("/run/runc", "a/../b", p, sizeof(p)), -1);
	assert_int_equal(runtime_state_path("/run/runc", "abc", p, 24), -1); /* 24 + NUL */
	assert_int_equal(runtime_state_path("/run/runc", "abc", p, 25), 0);
}

static void test_parse_args(void **state)
{
	char *shim[] = {"hermes-runtime",
	                "--root",
	                "/var/run/docker/runtime-runc/moby",
	                "--log",
	                "/run/x/log.json",
	                "--log-format",
	                "json",
	                "--systemd-cgroup",
	                "create",
	                "--bundle",
	                "/run/b",
	                "--pid-file",
	                "/run/b/init.pid",
	                "abc"};
	char *eq[] = {"r", "--root=/x", "create", "--pid-file", "p", "-b=/b2", "id"};
	char *dflt[] = {"r", "--debug", "create", "id"};
	char *other[] = {"r", "--root", "create", "delete", "--bundle", "/b", "id"};
	char *none[] = {"r", "--root"};
	struct runtime_call c;

	(void)state;
	runtime_parse_args(14, shim, &c);
	assert_string_equal(c.command, "create");
	assert_string_equal(c.bundle, "/run/b");
	assert_string_equal(c.root, "/var/run/docker/runtime-runc/moby");
	assert_string_equal(c.id, "abc");
	runtime_parse_args(7, eq, &c);
	assert_string_equal(c.bundle, "/b2");
	assert_string_equal(c.root, "/x");
	runtime_parse_args(4, dflt, &c);
	assert_string_equal(c.bundle, ".");
	assert_string_equal(c.root, "/run/runc"); /* runc's default */
	/* "create" here is --root's value; the command is delete: no bundle */
	runtime_parse_args(7, other, &c);
	assert_string_equal(c.command, "delete");
	assert_null(c.bundle);
	assert_string_equal(c.root, "create");
	assert_string_equal(c.id, "id");
	runtime_parse_args(2, none, &c);
	assert_null(c.command);
	assert_null(c.bundle);
	assert_null(c.id);
	char *force[] = {"r", "delete", "--force"};
	runtime_parse_args(3, force, &c);
	assert_null(c.id); /* an option, not a container */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find_and_drop_mounts),
	    cmocka_unit_test(test_mounts_not_taken),
	    cmocka_unit_test(test_strip_env),
	    cmocka_unit_test(test_texts_and_root),
	    cmocka_unit_test(test_boot),
	    cmocka_unit_test(test_systemd),
	    cmocka_unit_test(test_quiet_uts_unshare),
	    cmocka_unit_test(test_state_path),
	    cmocka_unit_test(test_parse_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
