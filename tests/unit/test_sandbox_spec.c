/*
 * Unit tests for sandbox_spec.c: every field of the container and exec
 * bodies, checked against a config built here, plus the container name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox_spec.h"

static char *drop[] = {"ALL"};
static char *add[] = {"CHOWN", "SETUID", "SETGID"};
static char *secopt[] = {"no-new-privileges:true",
                         "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\"}"};

static struct config cfg;

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.container_pool.image = "hermes-target-ubuntu:latest";
	cfg.container_pool.hostname = "prod-web-01";
	cfg.container_pool.security.network_mode = "none";
	cfg.container_pool.security.memory_limit = 256LL * 1024 * 1024; /* "256m" */
	cfg.container_pool.security.cpu_quota = 0.5;
	cfg.container_pool.security.pids_limit = 100;
	cfg.container_pool.security.tmpfs_size = 50LL * 1024 * 1024; /* "50m" */
	cfg.container_pool.security.cap_drop = (struct strlist){drop, 1};
	cfg.container_pool.security.cap_add = (struct strlist){add, 3};
	cfg.container_pool.security.security_opt = (struct strlist){secopt, 2};
	cfg.egress.subnet = "10.77.0.0/16";
	return 0;
}

static const char *str_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t int_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void assert_bool_at(json_t *o, const char *key, int want)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	assert_true(json_is_boolean(v));
	assert_int_equal(json_is_true(v), want);
}

/* The object has exactly these keys: a field added by mistake fails too. */
static void assert_keys(json_t *o, const char *const *keys, size_t n)
{
	size_t i;

	assert_int_equal(json_object_size(o), n);
	for (i = 0; i < n; i++)
		if (!json_object_get(o, keys[i]))
			fail_msg("missing key %s", keys[i]);
}

static void assert_strings(json_t *a, const char *const *want, size_t n)
{
	size_t i;

	assert_non_null(a);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), n);
	for (i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);

		assert_true(json_is_string(v));
		assert_string_equal(json_string_value(v), want[i]);
	}
}

static void test_container_spec(void **state)
{
	static const char *const top[] = {
	    "Image",        "Hostname",     "Labels",     "Tty",  "OpenStdin",  "AttachStdin",
	    "AttachStdout", "AttachStderr", "WorkingDir", "User", "HostConfig", "Env"};
	static const char *const hc_keys[] = {
	    "NetworkMode", "Memory",         "MemorySwap",    "CpuQuota",     "CpuPeriod",
	    "PidsLimit",   "CapDrop",        "CapAdd",        "SecurityOpt",  "Tmpfs",
	    "Init",        "AutoRemove",     "RestartPolicy", "CgroupnsMode", "IpcMode",
	    "Privileged",  "ReadonlyRootfs", "ShmSize",       "Runtime"};
	static const char *const want_add[] = {"CHOWN", "SETUID", "SETGID"};
	static const char *const want_drop[] = {"ALL"};
	static const char *const want_opt[] = {"no-new-privileges:true",
	                                       "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\"}"};
	json_t *s, *labels, *hc, *tmpfs, *rp, *env;

	(void)state;
	s = sandbox_container_spec(&cfg, "0123abcd4567ef890123abcd4567ef89",
	                           "2025-11-23T19:07:26.123456Z", "00ff00ff00ff00ff", "hermes");
	assert_non_null(s);
	assert_keys(s, top, sizeof(top) / sizeof(top[0]));
	assert_null(json_object_get(s, "Cmd"));
	assert_string_equal(str_at(s, "Image"), "hermes-target-ubuntu:latest");
	assert_string_equal(str_at(s, "Hostname"), "prod-web-01");
	assert_bool_at(s, "Tty", 0);
	assert_bool_at(s, "OpenStdin", 0);
	assert_bool_at(s, "AttachStdin", 0);
	assert_bool_at(s, "AttachStdout", 0);
	assert_bool_at(s, "AttachStderr", 0);
	assert_string_equal(str_at(s, "WorkingDir"), "/root");
	assert_string_equal(str_at(s, "User"), "root");
	/* hermes-runtime's texts, for it alone to take out (network none: a
	 * resolver too) */
	env = json_object_get(s, "Env");
	assert_int_equal(json_array_size(env), 3);
	assert_string_equal(json_string_value(json_array_get(env, 0)),
	                    "HERMES_ETC_HOSTNAME=prod-web-01\n");
	assert_memory_equal(json_string_value(json_array_get(env, 1)),
	                    "HERMES_ETC_HOSTS=127.0.0.1\tlocalhost\n127.0.1.1\tprod-web-01\n\n",
	                    58);
	assert_string_equal(json_string_value(json_array_get(env, 2)),
	                    "HERMES_ETC_RESOLV_CONF=nameserver 10.77.0.1\n");

	labels = json_object_get(s, "Labels");
	assert_non_null(labels);
	assert_int_equal(json_object_size(labels), 4);
	assert_string_equal(str_at(labels, "hermes.instance"), "00ff00ff00ff00ff");
	assert_string_equal(str_at(labels, "hermes.role"), "target");
	assert_string_equal(str_at(labels, "hermes.session_id"),
	                    "0123abcd4567ef890123abcd4567ef89");
	assert_string_equal(str_at(labels, "hermes.created"), "2025-11-23T19:07:26.123456Z");

	hc = json_object_get(s, "HostConfig");
	assert_non_null(hc);
	assert_keys(hc, hc_keys, sizeof(hc_keys) / sizeof(hc_keys[0]));
	assert_null(json_object_get(hc, "NanoCpus"));
	assert_string_equal(str_at(hc, "NetworkMode"), "none");
	assert_int_equal(int_at(hc, "Memory"), 268435456);
	assert_int_equal(int_at(hc, "MemorySwap"), 268435456);
	assert_int_equal(int_at(hc, "CpuQuota"), 50000);
	assert_int_equal(int_at(hc, "CpuPeriod"), 100000);
	assert_int_equal(int_at(hc, "PidsLimit"), 100);
	assert_strings(json_object_get(hc, "CapDrop"), want_drop, 1);
	assert_strings(json_object_get(hc, "CapAdd"), want_add, 3);
	assert_strings(json_object_get(hc, "SecurityOpt"), want_opt, 2);
	tmpfs = json_object_get(hc, "Tmpfs");
	assert_non_null(tmpfs);
	assert_int_equal(json_object_size(tmpfs), 1);
	assert_string_equal(str_at(tmpfs, "/tmp"), "rw,exec,nosuid,nodev,size=52428800");
	assert_bool_at(hc, "Init", 0);
	assert_bool_at(hc, "AutoRemove", 0);
	rp = json_object_get(hc, "RestartPolicy");
	assert_non_null(rp);
	assert_int_equal(json_object_size(rp), 1);
	assert_string_equal(str_at(rp, "Name"), "no");
	assert_string_equal(str_at(hc, "CgroupnsMode"), "private");
	assert_string_equal(str_at(hc, "IpcMode"), "private");
	assert_bool_at(hc, "Privileged", 0);
	assert_bool_at(hc, "ReadonlyRootfs", 0);
	assert_string_equal(str_at(hc, "Runtime"), "hermes");
	/* /dev/shm as a server's: half the memory. */
	assert_int_equal(int_at(hc, "ShmSize"),
	                 (json_int_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / 2);
	assert_true(int_at(hc, "ShmSize") > 64LL << 20);
	json_decref(s);
}

static void test_container_prewarmed_and_lists(void **state)
{
	json_t *s, *hc;

	(void)state;
	/* a pre-warmed container has no session yet */
	cfg.container_pool.security.cap_add = (struct strlist){NULL, 0};
	cfg.container_pool.security.network_mode = "bridge";
	cfg.container_pool.security.memory_limit = 1LL << 33; /* 8g: past 32 bits */
	s = sandbox_container_spec(&cfg, NULL, "2025-01-01T00:00:00.000000Z", NULL, NULL);
	assert_non_null(s);
	assert_string_equal(str_at(json_object_get(s, "Labels"), "hermes.session_id"), "");
	assert_null(json_object_get(json_object_get(s, "Labels"), "hermes.instance"));
	hc = json_object_get(s, "HostConfig");
	assert_int_equal(json_array_size(json_object_get(hc, "CapAdd")), 0);
	assert_true(json_is_array(json_object_get(hc, "CapAdd")));
	assert_string_equal(str_at(hc, "NetworkMode"), "bridge");
	assert_int_equal(int_at(hc, "Memory"), 8589934592LL);
	assert_int_equal(int_at(hc, "MemorySwap"), 8589934592LL);
	/* no runtime named: the engine's default, so no key at all, and no
	 * texts that would be variables in PID 1's environment */
	assert_null(json_object_get(hc, "Runtime"));
	assert_null(json_object_get(s, "Env"));
	json_decref(s);
	s = sandbox_container_spec(&cfg, NULL, "t", NULL, "runc");
	assert_null(json_object_get(s, "Env"));
	assert_string_equal(str_at(json_object_get(s, "HostConfig"), "Runtime"), "runc");
	json_decref(s);
	/* a config string that is missing gives no body rather than a bad one */
	cfg.container_pool.image = NULL;
	assert_null(sandbox_container_spec(&cfg, NULL, "x", NULL, NULL));
}

static void test_cpu_quota(void **state)
{
	static const struct {
		double cores;
		json_int_t quota;
	} cases[] = {{0.5, 50000}, {1.25, 125000}, {0.1, 10000},       {0.3, 30000},
	             {0.7, 70000}, {8.0, 800000},  {2.000004, 200000}, {2.000006, 200001}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *s;

		cfg.container_pool.security.cpu_quota = cases[i].cores;
		s = sandbox_container_spec(&cfg, "ab", "t", NULL, NULL);
		assert_non_null(s);
		assert_int_equal(int_at(json_object_get(s, "HostConfig"), "CpuQuota"),
		                 cases[i].quota);
		assert_int_equal(int_at(json_object_get(s, "HostConfig"), "CpuPeriod"), 100000);
		json_decref(s);
	}
}

static const char *const base_env[] = {
    "HOME=/root",
    "USER=root",
    "LOGNAME=root",
    "SHELL=/bin/bash",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

static void check_exec_common(json_t *s, int tty)
{
	static const char *const keys[] = {"AttachStdin", "AttachStdout", "AttachStderr",
	                                   "Tty",         "User",         "WorkingDir",
	                                   "DetachKeys",  "Cmd",          "Env"};

	assert_keys(s, keys, sizeof(keys) / sizeof(keys[0]));
	assert_bool_at(s, "AttachStdin", 1);
	assert_bool_at(s, "AttachStdout", 1);
	assert_bool_at(s, "AttachStderr", 1);
	assert_bool_at(s, "Tty", tty);
	assert_string_equal(str_at(s, "User"), "root");
	assert_string_equal(str_at(s, "WorkingDir"), "/root");
	assert_string_equal(str_at(s, "DetachKeys"), SANDBOX_DETACH_KEYS);
}

static void test_exec_tty_shell(void **state)
{
	static const char *const cmd[] = {"/bin/bash", "-l"};
	const char *env[7];
	struct exec_params p = {.command = NULL, .tty = true, .term = "xterm-256color"};
	json_t *s;

	(void)state;
	memcpy(env, base_env, sizeof(base_env));
	env[5] = "TERM=xterm-256color";
	s = sandbox_exec_spec(&cfg, &p);
	assert_non_null(s);
	check_exec_common(s, 1);
	assert_strings(json_object_get(s, "Cmd"), cmd, 2);
	assert_strings(json_object_get(s, "Env"), env, 6);
	json_decref(s);

	/* no TERM from the client, or a TERM no terminal has: xterm */
	p.term = NULL;
	env[5] = "TERM=xterm";
	s = sandbox_exec_spec(&cfg, &p);
	assert_strings(json_object_get(s, "Env"), env, 6);
	json_decref(s);
	p.term = "xterm\x1b]0;pwned\x07";
	s = sandbox_exec_spec(&cfg, &p);
	assert_strings(json_object_get(s, "Env"), env, 6);
	json_decref(s);
}

static void test_exec_command_no_tty(void **state)
{
	static const char *const cmd[] = {"/bin/bash", "-c", "uname -a; cat /etc/passwd"};
	static const char *const extra[] = {
	    "LANG=C.UTF-8", "NOEQUALS", "=nokey", "LC_ALL=\xff\xfe", "LC_CTYPE=en_US.UTF-8", NULL};
	const char *env[7];
	struct exec_params p = {
	    .command = "uname -a; cat /etc/passwd", .tty = false, .term = "vt100", .env = extra};
	json_t *s;

	(void)state;
	memcpy(env, base_env, sizeof(base_env));
	env[5] = "LANG=C.UTF-8";
	env[6] = "LC_CTYPE=en_US.UTF-8";
	s = sandbox_exec_spec(&cfg, &p);
	assert_non_null(s);
	check_exec_common(s, 0);
	assert_strings(json_object_get(s, "Cmd"), cmd, 3);
	/* no TERM without a tty; malformed or non-UTF-8 extras are dropped */
	assert_strings(json_object_get(s, "Env"), env, 7);
	json_decref(s);

	/* a command that is not UTF-8 cannot be put in JSON at all */
	p.command = "echo \xff";
	assert_null(sandbox_exec_spec(&cfg, &p));
}

/* With the image's session parent, it runs first and gets the token and the
 * command; the shell is its to start. */
static void test_exec_through_session_parent(void **state)
{
	static const char *const login[] = {"/usr/sbin/sshd", "-R", "0123abcd", "-s", "132x43"};
	static const char *const command[] = {"/usr/sbin/sshd", "-R", "0123abcd", "-c",
	                                      "kill -9 $$"};
	struct exec_params p = {.tty = true,
	                        .parent = "/usr/sbin/sshd",
	                        .token = "0123abcd",
	                        .width = 132,
	                        .height = 43};
	json_t *s;

	(void)state;
	s = sandbox_exec_spec(&cfg, &p);
	assert_non_null(s);
	assert_strings(json_object_get(s, "Cmd"), login, 5);
	json_decref(s);
	p.command = "kill -9 $$";
	p.tty = false;
	s = sandbox_exec_spec(&cfg, &p);
	assert_non_null(s);
	assert_strings(json_object_get(s, "Cmd"), command, 5);
	json_decref(s);
	/* "" means no parent: bash directly */
	p.parent = "";
	s = sandbox_exec_spec(&cfg, &p);
	static const char *const direct[] = {"/bin/bash", "-c", "kill -9 $$"};
	assert_strings(json_object_get(s, "Cmd"), direct, 3);
	json_decref(s);
}

/* Hermes's own execs (the tar of the tmpfs mounts): stdout only, no tty,
 * root, the argv as given. */
static void test_tool_exec(void **state)
{
	static const char *const argv[] = {"tar", "-C", "/", "-cf", "-", "tmp", NULL};
	json_t *s = sandbox_tool_exec_spec(argv);

	(void)state;
	assert_non_null(s);
	assert_strings(json_object_get(s, "Cmd"), argv, 6);
	assert_true(json_is_false(json_object_get(s, "AttachStdin")));
	assert_true(json_is_true(json_object_get(s, "AttachStdout")));
	assert_true(json_is_false(json_object_get(s, "AttachStderr")));
	assert_true(json_is_false(json_object_get(s, "Tty")));
	assert_string_equal(json_string_value(json_object_get(s, "User")), "root");
	json_decref(s);
}

/* Docker's own grammar for the detach keys (moby term.ToBytes). */
static void test_detach_keys(void **state)
{
	char *copy = strdup(SANDBOX_DETACH_KEYS), *save = NULL, *k;
	size_t n = 0;

	(void)state;
	assert_non_null(copy);
	for (k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		if (strlen(k) == 1)
			assert_true(k[0] > ' ' && k[0] <= '~');
		else if (strlen(k) == 6 && strncmp(k, "ctrl-", 5) == 0)
			assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz@[\\]^_", k[5]));
		else
			fail_msg("key %s is not in Docker's syntax", k);
		n++;
	}
	free(copy);
	assert_true(n >= 8);
	assert_int_equal(strstr(SANDBOX_DETACH_KEYS, ",,") == NULL, 1);
	assert_true(SANDBOX_DETACH_KEYS[strlen(SANDBOX_DETACH_KEYS) - 1] != ',');
	assert_true(strncmp(SANDBOX_DETACH_KEYS, "ctrl-p", 6) != 0);
}

static void test_container_name(void **state)
{
	char out[64];

	(void)state;
	/* the name is in UTC whatever the local zone */
	setenv("TZ", "HRM-5:30", 1); /* POSIX form: needs no tzdata */
	tzset();
	sandbox_container_name("0123abcd4567ef890123abcd4567ef89", 1700000000, out);
	assert_string_equal(out, "hermes-target-0123abcd-20231114-221320");
	sandbox_container_name("deadbeefcafe", 1709251199, out);
	assert_string_equal(out, "hermes-target-deadbeef-20240229-235959");
	sandbox_container_name("ab1", 0, out);
	assert_string_equal(out, "hermes-target-ab1-19700101-000000");
	/* only [0-9a-f] of the first 8 characters reach the name */
	sandbox_container_name("X/../Z12abcdef", 1700000000, out);
	assert_string_equal(out, "hermes-target-12-20231114-221320");
	sandbox_container_name(NULL, 1700000000, out);
	assert_string_equal(out, "hermes-target--20231114-221320");
	unsetenv("TZ");
	tzset();
}

static void test_etc_texts(void **state)
{
	char out[512];

	(void)state;
	assert_int_equal(sandbox_etc_text(&cfg, ENGINE_HOSTNAME, out, sizeof(out)), 12);
	assert_string_equal(out, "prod-web-01\n");
	assert_true(sandbox_etc_text(&cfg, ENGINE_HOSTS, out, sizeof(out)) > 0);
	assert_string_equal(out, "127.0.0.1\tlocalhost\n127.0.1.1\tprod-web-01\n\n"
	                         "# The following lines are desirable for IPv6 capable hosts\n"
	                         "::1     localhost ip6-localhost ip6-loopback\n"
	                         "ff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n");
	cfg.container_pool.hostname = "web1.example.com";
	assert_true(sandbox_etc_text(&cfg, ENGINE_HOSTS, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "\n127.0.1.1\tweb1.example.com\tweb1\n\n"));
	assert_int_equal(sandbox_etc_text(&cfg, ENGINE_HOSTS, out, 40), 0);
	/* the resolver: the subnet's first address, in none and sinkhole */
	cfg.egress.subnet = "192.168.16.0/20";
	cfg.container_pool.security.network_mode = "sinkhole";
	assert_true(sandbox_etc_text(&cfg, ENGINE_RESOLV, out, sizeof(out)) > 0);
	assert_string_equal(out, "nameserver 192.168.16.1\n");
	/* a Docker network: its resolvers are the engine's to give */
	cfg.container_pool.security.network_mode = "bridge";
	assert_int_equal(sandbox_etc_text(&cfg, ENGINE_RESOLV, out, sizeof(out)), 0);
	json_t *s = sandbox_container_spec(&cfg, NULL, "t", NULL, "hermes");
	assert_int_equal(json_array_size(json_object_get(s, "Env")), 2);
	/* the box's boot time goes after the texts, in milliseconds */
	assert_int_equal(sandbox_spec_boot(s, 1796515745250LL), 0);
	assert_int_equal(json_array_size(json_object_get(s, "Env")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(s, "Env"), 2)),
	                    "HERMES_BOOT_AT=1796515745250");
	assert_int_equal(sandbox_spec_boot(s, 0), -1);
	json_decref(s);
	/* a spec with no environment yet gets one */
	s = sandbox_container_spec(&cfg, NULL, "t", NULL, NULL);
	assert_null(json_object_get(s, "Env"));
	assert_int_equal(sandbox_spec_boot(s, 5), 0);
	assert_int_equal(json_array_size(json_object_get(s, "Env")), 1);
	json_decref(s);
}

/* The box's PID 1: systemd gets its flag for hermes-runtime, a server's
 * /run and /run/lock and its stop signal; Hermes's own init is the command,
 * stopped by SIGTERM; the image's own changes nothing. */
static void test_init(void **state)
{
	json_t *s, *t, *cmd;

	(void)state;
	s = sandbox_container_spec(&cfg, NULL, "t", NULL, "hermes");
	char *before = json_dumps(s, JSON_SORT_KEYS);
	assert_int_equal(sandbox_spec_init(s, SANDBOX_INIT_IMAGE), 0);
	char *after = json_dumps(s, JSON_SORT_KEYS);
	assert_string_equal(before, after);
	free(before);
	free(after);
	json_decref(s);

	s = sandbox_container_spec(&cfg, NULL, "t", NULL, "hermes");
	size_t env = json_array_size(json_object_get(s, "Env"));
	assert_int_equal(sandbox_spec_init(s, SANDBOX_INIT_SYSTEMD), 0);
	assert_int_equal(json_array_size(json_object_get(s, "Env")), env + 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(s, "Env"), env)),
	                    "HERMES_INIT=systemd");
	t = json_object_get(json_object_get(s, "HostConfig"), "Tmpfs");
	assert_non_null(
	    strstr(json_string_value(json_object_get(t, "/run")), "rw,nosuid,nodev,noexec,size="));
	assert_non_null(strstr(json_string_value(json_object_get(t, "/run")), "k,mode=755"));
	assert_string_equal(json_string_value(json_object_get(t, "/run/lock")),
	                    "rw,nosuid,nodev,noexec,size=5120k");
	assert_non_null(json_object_get(t, "/tmp")); /* the attacker's /tmp stays */
	assert_string_equal(json_string_value(json_object_get(s, "StopSignal")), "SIGRTMIN+3");
	assert_null(json_object_get(s, "Cmd")); /* the image's: /sbin/init */
	json_decref(s);

	s = sandbox_container_spec(&cfg, NULL, "t", NULL, NULL);
	assert_int_equal(sandbox_spec_init(s, SANDBOX_INIT_OWN), 0);
	cmd = json_object_get(s, "Cmd");
	assert_int_equal(json_array_size(cmd), 3);
	assert_string_equal(json_string_value(json_array_get(cmd, 0)), "/bin/bash");
	assert_non_null(strstr(json_string_value(json_array_get(cmd, 2)), "exec -a /sbin/init "));
	assert_non_null(strstr(json_string_value(json_array_get(cmd, 2)), "/usr/sbin/sshd -D &"));
	assert_string_equal(json_string_value(json_object_get(s, "StopSignal")), "SIGTERM");
	assert_null(json_object_get(s, "Env")); /* nothing for a runtime */
	t = json_object_get(json_object_get(s, "HostConfig"), "Tmpfs");
	assert_null(json_object_get(t, "/run"));
	json_decref(s);
	/* not a container spec */
	s = json_object();
	assert_int_equal(sandbox_spec_init(s, SANDBOX_INIT_SYSTEMD), -1);
	json_decref(s);
}

static void test_runtime_pick(void **state)
{
	json_t *info = json_loads("{\"Runtimes\":{\"runc\":{\"path\":\"runc\"},"
	                          "\"hermes\":{\"path\":\"/bin/true\"}}}",
	                          0, NULL);
	json_t *gone =
	    json_loads("{\"Runtimes\":{\"hermes\":{\"path\":\"/nonexistent/rt\"}}}", 0, NULL);
	json_t *odd =
	    json_loads("{\"Runtimes\":{\"hermes\":\"x\",\"io.containerd.runc.v2\":{}}}", 0, NULL);
	const char *rt = "unset";
	char why[300];

	(void)state;
	assert_int_equal(sandbox_runtime_pick(info, "auto", true, &rt, why, sizeof(why)), 0);
	assert_string_equal(rt, "hermes");
	assert_string_equal(why, "");
	assert_int_equal(sandbox_runtime_pick(info, "default", true, &rt, why, sizeof(why)), 0);
	assert_null(rt);
	assert_int_equal(sandbox_runtime_pick(info, "runc", true, &rt, why, sizeof(why)), 0);
	assert_string_equal(rt, "runc");
	assert_int_equal(sandbox_runtime_pick(info, "crun", true, &rt, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no OCI runtime named crun"));
	/* registered but its program missing here: the default, and why */
	assert_int_equal(sandbox_runtime_pick(gone, "auto", true, &rt, why, sizeof(why)), 0);
	assert_null(rt);
	assert_non_null(strstr(why, "/nonexistent/rt"));
	/* ... unless the engine is not on this machine */
	assert_int_equal(sandbox_runtime_pick(gone, "auto", false, &rt, why, sizeof(why)), 0);
	assert_string_equal(rt, "hermes");
	/* what the engine says is not an object is not a runtime */
	assert_int_equal(sandbox_runtime_pick(odd, "auto", true, &rt, why, sizeof(why)), 0);
	assert_null(rt);
	assert_non_null(strstr(why, "no hermes runtime"));
	assert_int_equal(
	    sandbox_runtime_pick(odd, "io.containerd.runc.v2", true, &rt, why, sizeof(why)), 0);
	assert_int_equal(sandbox_runtime_pick(NULL, "auto", true, &rt, why, sizeof(why)), 0);
	assert_null(rt);
	json_decref(info);
	json_decref(gone);
	json_decref(odd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_container_spec, setup),
	    cmocka_unit_test_setup(test_container_prewarmed_and_lists, setup),
	    cmocka_unit_test_setup(test_cpu_quota, setup),
	    cmocka_unit_test_setup(test_exec_tty_shell, setup),
	    cmocka_unit_test_setup(test_exec_command_no_tty, setup),
	    cmocka_unit_test_setup(test_exec_through_session_parent, setup),
	    cmocka_unit_test(test_tool_exec),
	    cmocka_unit_test(test_detach_keys),
	    cmocka_unit_test(test_container_name),
	    cmocka_unit_test(test_runtime_pick),
	    cmocka_unit_test_setup(test_init, setup),
	    cmocka_unit_test_setup(test_etc_texts, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
