/*
 * Unit tests for config.c: defaults, a complete valid file, and every kind of problem with the
 * exact "file:line: key: message" it must produce. Most cases parse in-memory strings; a few go
 * through config_load and real files (including config/hermes.example.yaml, found through
 * HERMES_SOURCE_ROOT, the repository root).
 *
 * Not here: what other modules do with the values.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* ---- helpers ---- */

static struct config *parse_ok(const char *yaml)
{
	struct config *c = NULL;
	char *errors = NULL;
	int rc = config_parse("t.yaml", yaml, strlen(yaml), &c, &errors);

	if (rc != 0)
		print_error("unexpected errors for:\n%s\n---\n%s", yaml,
		            errors ? errors : "(null)");
	assert_int_equal(rc, 0);
	assert_non_null(c);
	assert_null(errors);
	return c;
}

static char *parse_bad(const char *yaml)
{
	struct config *c = (struct config *)1;
	char *errors = NULL;
	int rc = config_parse("t.yaml", yaml, strlen(yaml), &c, &errors);

	assert_int_equal(rc, -1);
	assert_null(c);
	assert_non_null(errors);
	return errors;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

static int has_line(const char *errors, const char *line)
{
	size_t len = strlen(line);
	const char *p = errors;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);

		if (l == len && memcmp(p, line, len) == 0)
			return 1;
		p += l + (nl ? 1 : 0);
	}
	return 0;
}

static void assert_has_line(const char *errors, const char *line)
{
	if (!has_line(errors, line)) {
		print_error("expected line: %s\nerrors were:\n%s", line, errors);
		fail();
	}
}

/* The YAML gives exactly one problem, and it is EXPECTED (a whole line). */
static void expect_one(const char *yaml, const char *expected)
{
	char *errors = parse_bad(yaml);

	assert_has_line(errors, expected);
	if (count_lines(errors) != 1) {
		print_error("expected one line for:\n%s\n---\ngot:\n%s", yaml, errors);
		fail();
	}
	free(errors);
}

/* ---- defaults ---- */

static void check_defaults(const struct config *c)
{
	assert_string_equal(c->server.host, "0.0.0.0");
	assert_int_equal(c->server.port, 2222);
	assert_string_equal(c->server.host_key_path, "/data/keys/ssh_host_rsa_key");
	assert_int_equal(c->server.max_concurrent_sessions, 10);
	assert_int_equal(c->server.session_timeout, 3600);
	assert_int_equal(c->server.login_grace_time, 120);
	assert_null(c->server.banner);
	assert_string_equal(c->stealth.profile, "auto");
	assert_true(c->stealth.auth_delay);
	assert_true(c->stealth.log_history);
	assert_false(c->authentication.keyboard_interactive);
	assert_int_equal(c->authentication.n_static_credentials, 0);
	assert_int_equal(c->authentication.accept_all_after_failures, 3);
	assert_int_equal(c->container_pool.size, 3);
	assert_int_equal(c->container_pool.spawn_timeout, 30);
	assert_string_equal(c->container_pool.image, "hermes-target-ubuntu:latest");
	assert_int_equal(c->container_pool.max_session_duration, 3600);
	assert_int_equal(c->container_pool.cleanup_stopped_after_days, 7);
	assert_string_equal(c->container_pool.hostname, "prod-web-01");
	assert_string_equal(c->container_pool.runtime, "auto");
	assert_string_equal(c->container_pool.security.network_mode, "none");
	assert_int_equal(c->container_pool.security.memory_limit, 268435456);
	assert_true(c->container_pool.security.cpu_quota == 0.5);
	assert_int_equal(c->container_pool.security.pids_limit, 100);
	assert_int_equal(c->container_pool.security.tmpfs_size, 52428800);
	assert_int_equal(c->container_pool.security.cap_drop.n, 1);
	assert_string_equal(c->container_pool.security.cap_drop.items[0], "ALL");
	assert_int_equal(c->container_pool.security.cap_add.n, 13);
	assert_string_equal(c->container_pool.security.cap_add.items[0], "CHOWN");
	assert_string_equal(c->container_pool.security.cap_add.items[1], "DAC_OVERRIDE");
	assert_string_equal(c->container_pool.security.cap_add.items[12], "SETFCAP");
	for (size_t i = 0; i < c->container_pool.security.cap_add.n; i++)
		assert_string_not_equal(c->container_pool.security.cap_add.items[i], "NET_RAW");
	assert_int_equal(c->container_pool.security.security_opt.n, 0);
	assert_true(c->recording.enabled);
	assert_string_equal(c->recording.output_dir, "/data/recordings");
	assert_string_equal(c->recording.format, "asciinema");
	assert_true(c->forensics.enabled);
	assert_string_equal(c->forensics.artifacts_dir, "/data/artifacts");
	assert_int_equal(c->forensics.max_file_size, 10 << 20);
	assert_int_equal(c->forensics.max_session_size, 100 << 20);
	assert_int_equal(c->logging.level, LOG_INFO);
	assert_string_equal(c->logging.format, "json");
	assert_string_equal(c->logging.output_dir, "/data/logs");
	assert_string_equal(c->docker.socket_path, "/var/run/docker.sock");
	assert_null(c->docker.base_url);
	assert_string_equal(c->egress.fetch, "off");
	assert_int_equal(c->egress.hosts.n, 0);
	assert_int_equal(c->egress.live_ports.n, 4);
	assert_string_equal(c->egress.live_ports.items[0], "80");
	assert_string_equal(c->egress.live_ports.items[1], "443");
	assert_string_equal(c->egress.live_ports.items[2], "21");
	assert_string_equal(c->egress.live_ports.items[3], "8080");
	assert_string_equal(c->egress.subnet, "10.77.0.0/16");
	assert_int_equal(c->egress.max_fetch_size, 10 << 20);
	assert_int_equal(c->egress.fetch_timeout, 30);
	assert_int_equal(c->egress.fetch_rate, 1 << 20);
	assert_int_equal(c->egress.max_fetches, 4);
	assert_int_equal(c->egress.connect_rate, 20);
	assert_int_equal(c->egress.max_connections, 64);
	assert_int_equal(c->egress.event_rate, 50);
	assert_int_equal(c->egress.box_rate, 1 << 20);
}

static void test_defaults(void **state)
{
	static const char *const empties[] = {
	    "",           "# only a comment\n\n   # another\n", "---\n",
	    "---\n...\n", "server:\n  # port: 22\ndocker:\n", /* null sections count as absent */
	};
	struct config *c;
	size_t i;

	(void)state;
	c = config_new_defaults();
	assert_non_null(c);
	assert_null(c->path);
	check_defaults(c);
	config_free(c);

	for (i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		c = parse_ok(empties[i]);
		check_defaults(c);
		assert_string_equal(c->path, "t.yaml");
		config_free(c);
	}
	config_free(NULL);
}

/* ---- a full valid file ---- */

static const char full_yaml[] = "server:\n"
                                "  host: 127.0.0.1\n"
                                "  port: 22\n"
                                "  host_key_path: /etc/hermes/keys/rsa\n"
                                "  max_concurrent_sessions: 50\n"
                                "  session_timeout: 60\n"
                                "  login_grace_time: 30\n"
                                "  banner: 'OpenSSH_9.6p1 Debian-4'\n"
                                "authentication:\n"
                                "  static_credentials:\n"
                                "    - username: root\n"
                                "      password: 123456\n"
                                "    - {username: \"admin\", password: \"\"}\n"
                                "  accept_all_after_failures: 0\n"
                                "container_pool:\n"
                                "  size: 5\n"
                                "  spawn_timeout: 5\n"
                                "  image: \"my/image:1.2\"\n"
                                "  max_session_duration: 7200\n"
                                "  cleanup_stopped_after_days: 0\n"
                                "  hostname: db-02.corp\n"
                                "  security:\n"
                                "    network_mode: bridge\n"
                                "    memory_limit: 1g\n"
                                "    cpu_quota: 2\n"
                                "    pids_limit: 10\n"
                                "    tmpfs_size: 512K\n"
                                "    capabilities:\n"
                                "      drop: [ALL]\n"
                                "      add: []\n"
                                "    security_opt:\n"
                                "      - no-new-privileges:true\n"
                                "      - seccomp=unconfined\n"
                                "recording:\n"
                                "  enabled: No\n"
                                "  output_dir: rec\n"
                                "  format: asciinema\n"
                                "logging:\n"
                                "  level: debug\n"
                                "  format: text\n"
                                "  output_dir: \"logs dir\"\n"
                                "stealth:\n"
                                "  profile: /etc/hermes/alpine.profile\n"
                                "  auth_delay: false\n"
                                "  log_history: false\n"
                                "docker:\n"
                                "  socket_path: /run/docker.sock\n"
                                "  base_url: tcp://socket-proxy:2375\n";

static void test_full_valid(void **state)
{
	struct config *c = parse_ok(full_yaml);
	const struct credential *cr = c->authentication.static_credentials;

	(void)state;
	assert_string_equal(c->server.host, "127.0.0.1");
	assert_int_equal(c->server.port, 22);
	assert_string_equal(c->server.host_key_path, "/etc/hermes/keys/rsa");
	assert_int_equal(c->server.max_concurrent_sessions, 50);
	assert_int_equal(c->server.session_timeout, 60);
	assert_int_equal(c->server.login_grace_time, 30);
	assert_string_equal(c->server.banner, "OpenSSH_9.6p1 Debian-4");
	assert_string_equal(c->stealth.profile, "/etc/hermes/alpine.profile");
	assert_false(c->stealth.auth_delay);
	assert_false(c->stealth.log_history);
	assert_int_equal(c->authentication.n_static_credentials, 2);
	assert_string_equal(cr[0].username, "root");
	assert_string_equal(cr[0].password, "123456");
	assert_string_equal(cr[1].username, "admin");
	assert_string_equal(cr[1].password, "");
	assert_int_equal(c->authentication.accept_all_after_failures, 0);
	assert_int_equal(c->container_pool.size, 5);
	assert_int_equal(c->container_pool.spawn_timeout, 5);
	assert_string_equal(c->container_pool.image, "my/image:1.2");
	assert_int_equal(c->container_pool.max_session_duration, 7200);
	assert_int_equal(c->container_pool.cleanup_stopped_after_days, 0);
	assert_string_equal(c->container_pool.hostname, "db-02.corp");
	assert_string_equal(c->container_pool.security.network_mode, "bridge");
	assert_int_equal(c->container_pool.security.memory_limit, 1073741824);
	assert_true(c->container_pool.security.cpu_quota == 2.0);
	assert_int_equal(c->container_pool.security.pids_limit, 10);
	assert_int_equal(c->container_pool.security.tmpfs_size, 524288);
	assert_int_equal(c->container_pool.security.cap_drop.n, 1);
	assert_string_equal(c->container_pool.security.cap_drop.items[0], "ALL");
	assert_null(c->container_pool.security.cap_drop.items[1]);
	assert_int_equal(c->container_pool.security.cap_add.n, 0);
	assert_int_equal(c->container_pool.security.security_opt.n, 2);
	assert_string_equal(c->container_pool.security.security_opt.items[1], "seccomp=unconfined");
	assert_false(c->recording.enabled);
	assert_string_equal(c->recording.output_dir, "rec");
	assert_string_equal(c->recording.format, "asciinema");
	assert_int_equal(c->logging.level, LOG_DEBUG);
	assert_string_equal(c->logging.format, "text");
	assert_string_equal(c->logging.output_dir, "logs dir");
	assert_string_equal(c->docker.socket_path, "/run/docker.sock");
	assert_string_equal(c->docker.base_url, "tcp://socket-proxy:2375");
	config_free(c);
}

static void test_scalar_forms(void **state)
{
	static const struct {
		const char *value;
		bool expect;
	} bools[] = {
	    {"true", true},   {"True", true},   {"YES", true}, {"on", true},
	    {"false", false}, {"FALSE", false}, {"no", false}, {"Off", false},
	};
	struct config *c;
	char yaml[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		snprintf(yaml, sizeof(yaml), "recording: {enabled: %s}\n", bools[i].value);
		c = parse_ok(yaml);
		assert_int_equal(c->recording.enabled, bools[i].expect);
		config_free(c);
	}

	c = parse_ok("container_pool: {security: {cpu_quota: 0.1}}\n");
	assert_true(c->container_pool.security.cpu_quota == 0.1);
	config_free(c);
	c = parse_ok("container_pool: {security: {cpu_quota: 8.0, memory_limit: 6m}}\n");
	assert_true(c->container_pool.security.cpu_quota == 8.0);
	assert_int_equal(c->container_pool.security.memory_limit, 6 << 20);
	config_free(c);
	c = parse_ok("container_pool: {security: {cpu_quota: 1.5e0}}\n");
	assert_true(c->container_pool.security.cpu_quota == 1.5);
	config_free(c);

	c = parse_ok("server: {port: 65535}\nlogging: {level: Critical}\n");
	assert_int_equal(c->server.port, 65535);
	assert_int_equal(c->logging.level, LOG_CRITICAL);
	config_free(c);
	c = parse_ok("server: {port: 1}\nlogging: {level: \"WARNING\"}\n");
	assert_int_equal(c->server.port, 1);
	assert_int_equal(c->logging.level, LOG_WARNING);
	config_free(c);

	c = parse_ok("docker: {base_url: ~}\n");
	assert_null(c->docker.base_url);
	config_free(c);
	c = parse_ok("docker:\n  base_url: unix:///run/docker.sock\n");
	assert_string_equal(c->docker.base_url, "unix:///run/docker.sock");
	config_free(c);

	/* A multi-line plain scalar folds to one line, as YAML says. */
	c = parse_ok("server:\n  banner: OpenSSH_8.9p1\n    Ubuntu-3\n");
	assert_string_equal(c->server.banner, "OpenSSH_8.9p1 Ubuntu-3");
	config_free(c);
}

static void test_numeric_password(void **state)
{
	struct config *c = parse_ok("authentication:\n"
	                            "  static_credentials:\n"
	                            "    - {username: root, password: 123456}\n"
	                            "    - {username: u1, password: 0123}\n"
	                            "    - {username: u2, password: yes}\n"
	                            "    - {username: 42, password: 1.50}\n"
	                            "    - {username: u3, password: \"null\"}\n");
	const struct credential *cr = c->authentication.static_credentials;

	(void)state;
	assert_int_equal(c->authentication.n_static_credentials, 5);
	assert_string_equal(cr[0].password, "123456");
	assert_string_equal(cr[1].password, "0123");
	assert_string_equal(cr[2].password, "yes");
	assert_string_equal(cr[3].username, "42");
	assert_string_equal(cr[3].password, "1.50");
	assert_string_equal(cr[4].password, "null");
	config_free(c);
}

/* ---- problems ---- */

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_one("serve:\n  port: 22\n", "t.yaml:1: serve: unknown key");
	expect_one("server:\n  host: x\n  prot: 22\n", "t.yaml:3: server.prot: unknown key");
	expect_one("container_pool:\n"
	           "  security:\n"
	           "    capabilities:\n"
	           "      keep: [NET_RAW]\n",
	           "t.yaml:4: container_pool.security.capabilities.keep: unknown key");
	expect_one("authentication:\n"
	           "  static_credentials:\n"
	           "    - username: a\n"
	           "      password: b\n"
	           "      shell: /bin/sh\n",
	           "t.yaml:5: authentication.static_credentials[0].shell: unknown key");
	/* Keys are matched exactly: no case folding. */
	expect_one("Server: {}\n", "t.yaml:1: Server: unknown key");
	/* Whatever a key holds is echoed safely on one line. */
	expect_one("\"a\\nb\\x01\": 1\n", "t.yaml:1: a\\x0ab\\x01: unknown key");
	expect_one("[a]: 1\n", "t.yaml:1: keys must be names, got a list");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_one("server:\n  port: \"abc\"\n",
	           "t.yaml:2: server.port: must be an integer, got \"abc\"");
	expect_one("server:\n  port: abc\n",
	           "t.yaml:2: server.port: must be an integer, got \"abc\"");
	expect_one("server:\n  port: 22.5\n",
	           "t.yaml:2: server.port: must be an integer, got 22.5");
	expect_one("server:\n  port: \"22\"\n",
	           "t.yaml:2: server.port: must be an integer, got \"22\"");
	expect_one("server:\n  port: true\n",
	           "t.yaml:2: server.port: must be an integer, got true");
	expect_one("server:\n  port:\n", "t.yaml:2: server.port: must be an integer, got null");
	expect_one("server:\n  port: [22]\n",
	           "t.yaml:2: server.port: must be an integer, got a list");
	expect_one("server:\n  port: 0x16\n",
	           "t.yaml:2: server.port: must be an integer, got \"0x16\"");
	expect_one("server:\n  port: +22\n", "t.yaml:2: server.port: must be an integer, got +22");
	expect_one("container_pool:\n  security:\n    cpu_quota: half\n",
	           "t.yaml:3: container_pool.security.cpu_quota: must be a number, got \"half\"");
	expect_one("container_pool:\n  security:\n    cpu_quota: inf\n",
	           "t.yaml:3: container_pool.security.cpu_quota: must be a number, got \"inf\"");
	expect_one("container_pool:\n  security:\n    cpu_quota: '0.5'\n",
	           "t.yaml:3: container_pool.security.cpu_quota: must be a number, got \"0.5\"");
	expect_one("forensics:\n  max_file_size: 49m\n",
	           "t.yaml:2: forensics.max_file_size: must be at most 48m, got \"49m\"");
	expect_one("forensics:\n  max_session_size: 0\n",
	           "t.yaml:2: forensics.max_session_size: must be greater than 0, got 0");
	expect_one("recording:\n  enabled: 1\n",
	           "t.yaml:2: recording.enabled: must be true or false, got 1");
	expect_one("recording:\n  enabled: \"true\"\n",
	           "t.yaml:2: recording.enabled: must be true or false, got \"true\"");
	expect_one("recording:\n  enabled: maybe\n",
	           "t.yaml:2: recording.enabled: must be true or false, got \"maybe\"");
	expect_one("server: 5\n", "t.yaml:1: server: must be a mapping, got 5");
	expect_one("server: [1, 2]\n", "t.yaml:1: server: must be a mapping, got a list");
	expect_one("container_pool:\n  security: on\n",
	           "t.yaml:2: container_pool.security: must be a mapping, got on");
	expect_one("- server\n", "t.yaml:1: the top level must be a mapping, got a list");
	expect_one("just text\n", "t.yaml:1: the top level must be a mapping, got \"just text\"");
	expect_one("server:\n  host: ~\n", "t.yaml:2: server.host: must be a string, got null");
	expect_one("server:\n  host: null\n", "t.yaml:2: server.host: must be a string, got null");
	expect_one("server:\n  host: \"\"\n", "t.yaml:2: server.host: must not be empty");
	expect_one("server:\n  host: {a: 1}\n",
	           "t.yaml:2: server.host: must be a string, got a mapping");
	expect_one("server:\n  host: \"a\\0b\"\n",
	           "t.yaml:2: server.host: must not contain NUL bytes");
	expect_one("recording:\n  output_dir:\n",
	           "t.yaml:2: recording.output_dir: must be a string, got null");
	expect_one(
	    "container_pool:\n  security:\n    capabilities:\n      drop: ALL\n",
	    "t.yaml:4: container_pool.security.capabilities.drop: must be a list, got \"ALL\"");
	expect_one("container_pool:\n  security:\n    security_opt:\n",
	           "t.yaml:3: container_pool.security.security_opt: must be a list, got null");
	expect_one(
	    "container_pool:\n  security:\n    capabilities:\n      add:\n        - CHOWN\n        "
	    "- [X]\n",
	    "t.yaml:6: container_pool.security.capabilities.add[1]: must be a string, got a list");
	expect_one("container_pool:\n  security:\n    security_opt: [\"\"]\n",
	           "t.yaml:3: container_pool.security.security_opt[0]: must not be empty");
	expect_one("logging:\n  level: loud\n", "t.yaml:2: logging.level: must be one of DEBUG, "
	                                        "INFO, WARNING, ERROR, CRITICAL, got \"loud\"");
	expect_one("logging:\n  level: 10\n", "t.yaml:2: logging.level: must be one of DEBUG, "
	                                      "INFO, WARNING, ERROR, CRITICAL, got 10");
	expect_one("logging:\n  format: JSON\n",
	           "t.yaml:2: logging.format: must be \"json\" or \"text\", got \"JSON\"");
	expect_one("recording:\n  format: asciicast\n",
	           "t.yaml:2: recording.format: must be \"asciinema\", got \"asciicast\"");
	expect_one("docker:\n  base_url: http://localhost:2375\n",
	           "t.yaml:2: docker.base_url: must be null or start with unix:// or tcp://, got "
	           "\"http://localhost:2375\"");
	expect_one("docker:\n  base_url: tcp://\n", "t.yaml:2: docker.base_url: must be null or "
	                                            "start with unix:// or tcp://, got \"tcp://\"");
	expect_one("docker:\n  socket_path: ''\n",
	           "t.yaml:2: docker.socket_path: must not be empty");
}

static void test_ranges(void **state)
{
	static const struct {
		const char *yaml, *expected;
	} cases[] = {
	    {"server: {port: 0}", "t.yaml:1: server.port: must be between 1 and 65535, got 0"},
	    {"server: {port: 70000}",
	     "t.yaml:1: server.port: must be between 1 and 65535, got 70000"},
	    {"server: {port: -1}", "t.yaml:1: server.port: must be between 1 and 65535, got -1"},
	    {"container_pool: {sticky_ttl: -1}",
	     "t.yaml:1: container_pool.sticky_ttl: must be between 0 and 604800, got -1"},
	    {"container_pool: {sticky_ttl: 604801}",
	     "t.yaml:1: container_pool.sticky_ttl: must be between 0 and 604800, got 604801"},
	    {"server: {port: 99999999999999999999}",
	     "t.yaml:1: server.port: must be between 1 and 65535, got 99999999999999999999"},
	    {"server: {max_concurrent_sessions: 0}",
	     "t.yaml:1: server.max_concurrent_sessions: must be at least 1, got 0"},
	    {"server: {max_concurrent_sessions: 2147483648}",
	     "t.yaml:1: server.max_concurrent_sessions: must be at most 2147483647, got "
	     "2147483648"},
	    {"server: {session_timeout: 59}",
	     "t.yaml:1: server.session_timeout: must be at least 60, got 59"},
	    {"server: {session_timeout: -99999999999999999999}",
	     "t.yaml:1: server.session_timeout: must be at most 2147483647, got "
	     "-99999999999999999999"},
	    {"server: {login_grace_time: 0}",
	     "t.yaml:1: server.login_grace_time: must be at least 1, got 0"},
	    {"authentication: {accept_all_after_failures: -1}",
	     "t.yaml:1: authentication.accept_all_after_failures: must be at least 0, got -1"},
	    {"container_pool: {size: 0}",
	     "t.yaml:1: container_pool.size: must be at least 1, got 0"},
	    {"container_pool: {spawn_timeout: 4}",
	     "t.yaml:1: container_pool.spawn_timeout: must be at least 5, got 4"},
	    {"container_pool: {max_session_duration: 59}",
	     "t.yaml:1: container_pool.max_session_duration: must be at least 60, got 59"},
	    {"container_pool: {cleanup_stopped_after_days: -1}",
	     "t.yaml:1: container_pool.cleanup_stopped_after_days: must be at least 0, got -1"},
	    {"container_pool: {security: {pids_limit: 9}}",
	     "t.yaml:1: container_pool.security.pids_limit: must be at least 10, got 9"},
	    {"container_pool: {security: {cpu_quota: 0.05}}",
	     "t.yaml:1: container_pool.security.cpu_quota: must be between 0.1 and 8.0, got 0.05"},
	    {"container_pool: {security: {cpu_quota: 8.5}}",
	     "t.yaml:1: container_pool.security.cpu_quota: must be between 0.1 and 8.0, got 8.5"},
	    {"container_pool: {security: {cpu_quota: 0}}",
	     "t.yaml:1: container_pool.security.cpu_quota: must be between 0.1 and 8.0, got 0"},
	    {"container_pool: {security: {cpu_quota: 1e999}}",
	     "t.yaml:1: container_pool.security.cpu_quota: must be a number, got \"1e999\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_one(cases[i].yaml, cases[i].expected);
}

static void test_bad_sizes(void **state)
{
	static const struct {
		const char *value, *expected;
	} mem[] = {
	    {"lots", "must look like <n>[kmg], got \"lots\""},
	    {"10x", "must look like <n>[kmg], got \"10x\""},
	    {"1.5g", "must look like <n>[kmg], got \"1.5g\""},
	    {"-5m", "must look like <n>[kmg], got \"-5m\""},
	    {"''", "must look like <n>[kmg], got \"\""},
	    {"256mb", "must look like <n>[kmg], got \"256mb\""},
	    {"99999999999g", "must look like <n>[kmg], got \"99999999999g\""},
	    {"0m", "must be greater than 0, got \"0m\""},
	    {"5m", "must be at least 6m (Docker's minimum), got \"5m\""},
	    {"6291455", "must be at least 6m (Docker's minimum), got 6291455"},
	    {"~", "must be a string, got null"},
	};
	char yaml[128], expected[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(mem) / sizeof(mem[0]); i++) {
		snprintf(yaml, sizeof(yaml), "container_pool:\n  security:\n    memory_limit: %s\n",
		         mem[i].value);
		snprintf(expected, sizeof(expected),
		         "t.yaml:3: container_pool.security.memory_limit: %s", mem[i].expected);
		expect_one(yaml, expected);
	}
	expect_one("container_pool: {security: {tmpfs_size: 0}}",
	           "t.yaml:1: container_pool.security.tmpfs_size: must be greater than 0, got 0");
	expect_one(
	    "container_pool: {security: {tmpfs_size: 50 m}}",
	    "t.yaml:1: container_pool.security.tmpfs_size: must look like <n>[kmg], got \"50 m\"");
}

static void test_bad_credentials(void **state)
{
	(void)state;
	expect_one("authentication:\n"
	           "  static_credentials:\n"
	           "    - username: a\n"
	           "      password: b\n"
	           "    - username: root\n",
	           "t.yaml:5: authentication.static_credentials[1].password: missing");
	expect_one("authentication:\n  static_credentials:\n    - password: x\n",
	           "t.yaml:3: authentication.static_credentials[0].username: missing");
	expect_one("authentication:\n  static_credentials:\n    - {username: '', password: x}\n",
	           "t.yaml:3: authentication.static_credentials[0].username: must not be empty");
	expect_one(
	    "authentication:\n  static_credentials:\n    - {username: a, password: }\n",
	    "t.yaml:3: authentication.static_credentials[0].password: must be a string, got null");
	expect_one("authentication:\n  static_credentials:\n    - {username: [a], password: b}\n",
	           "t.yaml:3: authentication.static_credentials[0].username: must be a string, got "
	           "a list");
	expect_one(
	    "authentication:\n  static_credentials:\n    - root:toor\n",
	    "t.yaml:3: authentication.static_credentials[0]: must be a mapping with username "
	    "and password, got \"root:toor\"");
	expect_one("authentication:\n  static_credentials: {username: a, password: b}\n",
	           "t.yaml:2: authentication.static_credentials: must be a list, got a mapping");
	expect_one("authentication:\n"
	           "  static_credentials:\n"
	           "    - username: a\n"
	           "      password: b\n"
	           "      password: c\n",
	           "t.yaml:5: authentication.static_credentials[0].password: duplicate key (first "
	           "given at line 4)");

	/* An entry with two problems, and one with none in between: both reported. */
	char *errors = parse_bad("authentication:\n"
	                         "  static_credentials:\n"
	                         "    - {user: a}\n"
	                         "    - {username: ok, password: ok}\n"
	                         "    - {}\n");
	assert_has_line(errors, "t.yaml:3: authentication.static_credentials[0].user: unknown key");
	assert_has_line(errors, "t.yaml:3: authentication.static_credentials[0].username: missing");
	assert_has_line(errors, "t.yaml:3: authentication.static_credentials[0].password: missing");
	assert_has_line(errors, "t.yaml:5: authentication.static_credentials[2].username: missing");
	assert_has_line(errors, "t.yaml:5: authentication.static_credentials[2].password: missing");
	assert_int_equal(count_lines(errors), 5);
	free(errors);
}

static void test_string_rules(void **state)
{
	struct config *c;
	char yaml[512];

	(void)state;
	expect_one("server:\n  banner: 'SSH-2.0-OpenSSH_9'\n",
	           "t.yaml:2: server.banner: must not include the \"SSH-2.0-\" prefix, got "
	           "\"SSH-2.0-OpenSSH_9\"");
	expect_one(
	    "stealth:\n  profile: Debian 12\n",
	    "t.yaml:2: stealth.profile: must be auto, a profile's name (letters, digits, '.', "
	    "'_', '-') or an absolute path, got \"Debian 12\"");
	expect_one("stealth:\n  profile: ''\n", "t.yaml:2: stealth.profile: must not be empty");
	c = parse_ok("server:\n  banner: ~\nstealth:\n  profile: ubuntu-22.04\n");
	assert_null(c->server.banner);
	assert_string_equal(c->stealth.profile, "ubuntu-22.04");
	config_free(c);
	expect_one("server:\n  banner: ' OpenSSH'\n",
	           "t.yaml:2: server.banner: must not begin or end with a space, got \" OpenSSH\"");
	expect_one("server:\n  banner: \"OpenSSH\\r\\nX\"\n",
	           "t.yaml:2: server.banner: must be printable ASCII, got \"OpenSSH\\x0d\\x0aX\"");
	expect_one("server:\n  banner: \"Open\\u00e9\"\n",
	           "t.yaml:2: server.banner: must be printable ASCII, got \"Open\\xc3\\xa9\"");
	snprintf(yaml, sizeof(yaml), "server:\n  banner: %0201d\n", 0);
	expect_one(yaml, "t.yaml:2: server.banner: must be at most 200 characters, got "
	                 "000000000000000000000000000000000000000000000000000000000000...");
	snprintf(yaml, sizeof(yaml), "server:\n  banner: %0200d\n", 0);
	c = parse_ok(yaml);
	assert_int_equal(strlen(c->server.banner), 200);
	config_free(c);

	static const char *const bad_hosts[] = {"-web", "web-", "a..b", "web_01", "a.", "x y"};
	static const char *const good_hosts[] = {"a", "web-01", "db.internal.corp", "0"};
	size_t i;

	for (i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		char expected[256];

		snprintf(yaml, sizeof(yaml), "container_pool:\n  hostname: '%s'\n", bad_hosts[i]);
		snprintf(
		    expected, sizeof(expected),
		    "t.yaml:2: container_pool.hostname: must be a hostname (letters, digits, '-' "
		    "and '.', at most 63 characters), got \"%s\"",
		    bad_hosts[i]);
		expect_one(yaml, expected);
	}
	for (i = 0; i < sizeof(good_hosts) / sizeof(good_hosts[0]); i++) {
		snprintf(yaml, sizeof(yaml), "container_pool:\n  hostname: '%s'\n", good_hosts[i]);
		c = parse_ok(yaml);
		assert_string_equal(c->container_pool.hostname, good_hosts[i]);
		config_free(c);
	}
	snprintf(yaml, sizeof(yaml), "container_pool: {hostname: %063d}\n", 0);
	c = parse_ok(yaml);
	config_free(c);
	snprintf(yaml, sizeof(yaml), "container_pool: {hostname: %064d}\n", 0);
	free(parse_bad(yaml));

	c = parse_ok("container_pool: {runtime: io.containerd.runc-v2_x}\n");
	assert_string_equal(c->container_pool.runtime, "io.containerd.runc-v2_x");
	config_free(c);
	expect_one("container_pool:\n  runtime: 'a/b'\n",
	           "t.yaml:2: container_pool.runtime: must be auto, default or an engine's runtime "
	           "name (letters, digits, '-', '_', '.'), got \"a/b\"");
	snprintf(yaml, sizeof(yaml), "container_pool: {runtime: %065d}\n", 0);
	free(parse_bad(yaml));
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	expect_one("server:\n  port: 22\nserver:\n  port: 23\n",
	           "t.yaml:3: server: duplicate key (first given at line 1)");
	expect_one("server:\n  port: 22\n  host: x\n  port: 23\n",
	           "t.yaml:4: server.port: duplicate key (first given at line 2)");
	expect_one(
	    "container_pool: {security: {capabilities: {drop: [], drop: [ALL]}}}\n",
	    "t.yaml:1: container_pool.security.capabilities.drop: duplicate key (first given "
	    "at line 1)");
}

static void test_yaml_structure(void **state)
{
	char *big;
	size_t i;

	(void)state;
	expect_one("server:\n  port: 22\n host: x\n",
	           "t.yaml:3: did not find expected key (while parsing a block mapping at line 1)");
	expect_one("server: [1, 2\n",
	           "t.yaml:2: did not find expected ',' or ']' (while parsing a flow sequence at "
	           "line 1)");
	expect_one(
	    "a: 'unterminated\n",
	    "t.yaml:2: found unexpected end of stream (while scanning a quoted scalar at line "
	    "1)");
	expect_one("server: {port: 22}\n\tbad: 1\n",
	           "t.yaml:2: found character that cannot start any token (while scanning for the "
	           "next token at line 2)");
	expect_one("server: &s {port: 22}\ncontainer_pool: *s\n",
	           "t.yaml:2: aliases are not supported");
	expect_one("server: {port: 22}\n---\nserver: {port: 23}\n",
	           "t.yaml:2: only one YAML document is allowed");
	expect_one("a: 1\n\xc3\x28\n", "t.yaml:2: invalid trailing UTF-8 octet: #28");

	/* Deep nesting stops early, before libyaml's loader would recurse that deep. */
	big = malloc(200001);
	assert_non_null(big);
	memset(big, '[', 100000);
	memset(big + 100000, ']', 100000);
	big[200000] = '\0';
	expect_one(big, "t.yaml:1: nested deeper than 32 levels");

	/* Just over 1 MiB: refused before parsing, whatever it holds. */
	free(big);
	big = malloc(1024 * 1024 + 2);
	assert_non_null(big);
	for (i = 0; i < 1024 * 1024 + 1; i++)
		big[i] = i % 64 == 63 ? '\n' : '#';
	big[1024 * 1024 + 1] = '\0';
	expect_one(big, "t.yaml: larger than 1 MiB (1048577 bytes)");
	/* Exactly 1 MiB of comments is fine. */
	big[1024 * 1024] = '\0';
	config_free(parse_ok(big));
	free(big);
}

static void test_many_errors(void **state)
{
	char *errors = parse_bad("server:\n"                          /* 1 */
	                         "  prot: 22\n"                       /* 2 */
	                         "  port: 70000\n"                    /* 3 */
	                         "  session_timeout: soon\n"          /* 4 */
	                         "container_pool:\n"                  /* 5 */
	                         "  security:\n"                      /* 6 */
	                         "    memory_limit: lots\n"           /* 7 */
	                         "    cpu_quota: 9\n"                 /* 8 */
	                         "authentication:\n"                  /* 9 */
	                         "  static_credentials:\n"            /* 10 */
	                         "    - username: root\n"             /* 11 */
	                         "logging: {level: LOUD, color: 1}\n" /* 12 */
	                         "extra: 1\n");                       /* 13 */
	char *big;
	size_t i, len;

	(void)state;
	assert_has_line(errors, "t.yaml:2: server.prot: unknown key");
	assert_has_line(errors, "t.yaml:3: server.port: must be between 1 and 65535, got 70000");
	assert_has_line(errors,
	                "t.yaml:4: server.session_timeout: must be an integer, got \"soon\"");
	assert_has_line(
	    errors, "t.yaml:7: container_pool.security.memory_limit: must look like <n>[kmg], got "
	            "\"lots\"");
	assert_has_line(errors,
	                "t.yaml:8: container_pool.security.cpu_quota: must be between 0.1 and 8.0, "
	                "got 9");
	assert_has_line(errors,
	                "t.yaml:11: authentication.static_credentials[0].password: missing");
	assert_has_line(errors, "t.yaml:12: logging.level: must be one of DEBUG, INFO, WARNING, "
	                        "ERROR, CRITICAL, got \"LOUD\"");
	assert_has_line(errors, "t.yaml:12: logging.color: unknown key");
	assert_has_line(errors, "t.yaml:13: extra: unknown key");
	assert_int_equal(count_lines(errors), 9);
	/* Reported in file order. */
	assert_true(strstr(errors, "server.prot") < strstr(errors, "server.port"));
	assert_true(strstr(errors, "logging.color") < strstr(errors, "extra"));
	free(errors);

	/* A flood of problems is cut at 100 lines plus one saying so. */
	big = malloc(300 * 16);
	assert_non_null(big);
	for (i = 0, len = 0; i < 300; i++)
		len += (size_t)sprintf(big + len, "k%zu: 1\n", i);
	errors = parse_bad(big);
	assert_int_equal(count_lines(errors), 101);
	assert_has_line(errors, "t.yaml:100: k99: unknown key");
	assert_has_line(errors, "t.yaml: too many errors, the rest are not shown");
	free(errors);
	/* Exactly 100 are all shown, with no note. */
	for (i = 0, len = 0; i < 100; i++)
		len += (size_t)sprintf(big + len, "k%zu: 1\n", i);
	errors = parse_bad(big);
	assert_int_equal(count_lines(errors), 100);
	assert_false(has_line(errors, "t.yaml: too many errors, the rest are not shown"));
	free(errors);
	free(big);
}

static void test_parse_size(void **state)
{
	(void)state;
	assert_int_equal(config_parse_size("0"), 0);
	assert_int_equal(config_parse_size("1"), 1);
	assert_int_equal(config_parse_size("256m"), 268435456);
	assert_int_equal(config_parse_size("256M"), 268435456);
	assert_int_equal(config_parse_size("50m"), 52428800);
	assert_int_equal(config_parse_size("4k"), 4096);
	assert_int_equal(config_parse_size("4K"), 4096);
	assert_int_equal(config_parse_size("2g"), 2147483648LL);
	assert_int_equal(config_parse_size("8G"), 8589934592LL);
	assert_int_equal(config_parse_size("007k"), 7168);
	assert_int_equal(config_parse_size("9223372036854775807"), INT64_MAX);
	assert_int_equal(config_parse_size("9223372036854775808"), -1);
	assert_int_equal(config_parse_size("8589934591g"), 8589934591LL << 30);
	assert_int_equal(config_parse_size("8589934592g"), -1);
	assert_int_equal(config_parse_size(NULL), -1);
	assert_int_equal(config_parse_size(""), -1);
	assert_int_equal(config_parse_size("m"), -1);
	assert_int_equal(config_parse_size("-1"), -1);
	assert_int_equal(config_parse_size("+1"), -1);
	assert_int_equal(config_parse_size(" 1"), -1);
	assert_int_equal(config_parse_size("1 "), -1);
	assert_int_equal(config_parse_size("1.5m"), -1);
	assert_int_equal(config_parse_size("1mb"), -1);
	assert_int_equal(config_parse_size("1t"), -1);
	assert_int_equal(config_parse_size("1b"), -1);
	assert_int_equal(config_parse_size("0x10"), -1);
}

/* ---- files ---- */

static char *write_temp(const char *text)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
	char *path;
	FILE *f;
	int fd;

	assert_true(asprintf(&path, "%s/test_config.XXXXXX", dir) > 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void test_load_file(void **state)
{
	struct config *c = (struct config *)1;
	char *path, *errors = NULL, *expected;

	(void)state;
	path = write_temp(full_yaml);
	assert_int_equal(config_load(path, &c, &errors), 0);
	assert_null(errors);
	assert_string_equal(c->path, path);
	assert_int_equal(c->server.port, 22);
	assert_string_equal(c->authentication.static_credentials[0].password, "123456");
	config_free(c);
	unlink(path);
	free(path);

	/* Messages name the file as given. */
	path = write_temp("server:\n  port: 0\n");
	assert_int_equal(config_load(path, &c, &errors), -1);
	assert_null(c);
	assert_true(
	    asprintf(&expected, "%s:2: server.port: must be between 1 and 65535, got 0", path) > 0);
	assert_has_line(errors, expected);
	free(expected);
	free(errors);
	/* errors may be NULL when the caller only wants the verdict */
	assert_int_equal(config_load(path, &c, NULL), -1);
	assert_null(c);
	unlink(path);

	/* The file is gone now. */
	c = (struct config *)1;
	assert_int_equal(config_load(path, &c, &errors), -1);
	assert_null(c);
	assert_true(asprintf(&expected, "%s: cannot open: No such file or directory", path) > 0);
	assert_has_line(errors, expected);
	assert_int_equal(count_lines(errors), 1);
	free(expected);
	free(errors);
	free(path);
}

static void test_honeytokens(void **state)
{
	(void)state;
	struct config *c = parse_ok("honeytokens:\n"
	                            "  credentials:\n"
	                            "    - {username: postgres, password: 'P0stgr3s-Pr0d-2023!'}\n"
	                            "    - password: Xk9#mQ2vL7pR!wd4\n"
	                            "  files: [/etc/config/app.env, /root/.ssh/config]\n");
	assert_int_equal(c->honeytokens.n_credentials, 2);
	assert_string_equal(c->honeytokens.credentials[0].username, "postgres");
	assert_string_equal(c->honeytokens.credentials[0].password, "P0stgr3s-Pr0d-2023!");
	assert_null(c->honeytokens.credentials[1].username);
	assert_string_equal(c->honeytokens.credentials[1].password, "Xk9#mQ2vL7pR!wd4");
	assert_int_equal(c->honeytokens.files.n, 2);
	assert_string_equal(c->honeytokens.files.items[1], "/root/.ssh/config");
	config_free(c);

	c = parse_ok("honeytokens:\n");
	assert_int_equal(c->honeytokens.n_credentials, 0);
	assert_int_equal(c->honeytokens.files.n, 0);
	config_free(c);

	expect_one("honeytokens:\n  credentials:\n    - username: a\n",
	           "t.yaml:3: honeytokens.credentials[0].password: missing");
	expect_one("honeytokens:\n  credentials:\n    - {username: a, password: ''}\n",
	           "t.yaml:3: honeytokens.credentials[0].password: must not be empty");
	expect_one("honeytokens:\n  credentials:\n    - {password: a, shell: b}\n",
	           "t.yaml:3: honeytokens.credentials[0].shell: unknown key");
	static const char *const bad_paths[] = {"etc/passwd", "/",       "/etc/",   "/etc//x",
	                                        "/etc/./x",   "/etc/..", "/a/../b", "/a/."};
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		char yaml[128], want[200];
		snprintf(yaml, sizeof(yaml), "honeytokens:\n  files: ['%s']\n", bad_paths[i]);
		snprintf(want, sizeof(want),
		         "t.yaml:2: honeytokens.files[0]: must be an absolute path without \".\", "
		         "\"..\" or \"//\"");
		expect_one(yaml, want);
	}
}

static void test_retention_keys(void **state)
{
	(void)state;
	struct config *c = parse_ok("recording: {retention_days: 30}\n"
	                            "forensics: {retention_days: 90, disk_budget: 20g}\n");
	assert_int_equal(c->recording.retention_days, 30);
	assert_int_equal(c->forensics.retention_days, 90);
	assert_int_equal(c->forensics.disk_budget, 20LL << 30);
	config_free(c);
	c = parse_ok("forensics: {disk_budget: 0}\n");
	assert_int_equal(c->forensics.disk_budget, 0);
	assert_int_equal(c->recording.retention_days, 0);
	config_free(c);
	expect_one("forensics: {disk_budget: lots}\n",
	           "t.yaml:1: forensics.disk_budget: must look like <n>[kmg], got \"lots\"");
	expect_one("recording: {retention_days: -1}\n",
	           "t.yaml:1: recording.retention_days: must be between 0 and 36500, got -1");
	/* max_file_size still refuses 0: only the budget may be "none". */
	expect_one("forensics: {max_file_size: 0}\n",
	           "t.yaml:1: forensics.max_file_size: must be greater than 0, got 0");
}

static void test_connection_limits(void **state)
{
	(void)state;
	struct config *c = config_new_defaults();
	assert_int_equal(c->server.max_auth_tries, 6);
	assert_int_equal(c->server.max_sessions_per_ip, 32);
	assert_int_equal(c->server.max_startups[0], 2000);
	assert_int_equal(c->server.max_startups[1], 30);
	assert_int_equal(c->server.max_startups[2], 4000);
	assert_int_equal(c->container_pool.sticky_ttl, 3600);
	assert_int_equal(c->container_pool.max_boxes, 64);
	assert_true(c->container_pool.agent);
	config_free(c);
	c = parse_ok(
	    "server: {max_startups: '5:50:20', max_auth_tries: 3, max_sessions_per_ip: 1}");
	assert_int_equal(c->server.max_startups[0], 5);
	assert_int_equal(c->server.max_startups[1], 50);
	assert_int_equal(c->server.max_startups[2], 20);
	assert_int_equal(c->server.max_auth_tries, 3);
	config_free(c);
	c = parse_ok("server: {max_startups: 8}");
	assert_int_equal(c->server.max_startups[0], 8);
	assert_int_equal(c->server.max_startups[1], 100);
	assert_int_equal(c->server.max_startups[2], 8);
	config_free(c);
	static const char *const bad[] = {
	    "'10:30'", "'10:30:5'",     "'0:30:100'", "'10:0:100'", "'10:101:100'",
	    "'a:b:c'", "'10:30:100:1'", "'10::100'",  "''",         "'-1'"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char yaml[96];
		snprintf(yaml, sizeof(yaml), "server: {max_startups: %s}", bad[i]);
		char *errors = parse_bad(yaml);
		assert_non_null(strstr(errors, "server.max_startups: must be start:rate:full"));
		free(errors);
	}
	expect_one("server: {max_auth_tries: 0}",
	           "t.yaml:1: server.max_auth_tries: must be between 1 and 1000, got 0");
}

static void test_egress(void **state)
{
	(void)state;
	struct config *c = parse_ok("container_pool:\n"
	                            "  security:\n"
	                            "    network_mode: sinkhole\n"
	                            "egress:\n"
	                            "  fetch: live\n"
	                            "  hosts:\n"
	                            "    update.example.com: \"192.0.2.10:8080\"\n"
	                            "    cdn.example.net: 198.51.100.1:80\n"
	                            "    Mixed.Case.Example: '203.0.113.7:65535'\n"
	                            "  live_ports: [80, '443', 1]\n"
	                            "  subnet: 10.99.0.0/24\n"
	                            "  max_fetch_size: 256m\n"
	                            "  fetch_timeout: 3600\n"
	                            "  fetch_rate: 1k\n"
	                            "  max_fetches: 64\n"
	                            "  connect_rate: 1\n"
	                            "  max_connections: 100000\n"
	                            "  event_rate: 7\n");
	assert_string_equal(c->container_pool.security.network_mode, "sinkhole");
	assert_string_equal(c->egress.fetch, "live");
	/* In the file's order, names as written. */
	assert_int_equal(c->egress.hosts.n, 3);
	assert_string_equal(c->egress.hosts.names[0], "update.example.com");
	assert_string_equal(c->egress.hosts.values[0], "192.0.2.10:8080");
	assert_string_equal(c->egress.hosts.names[1], "cdn.example.net");
	assert_string_equal(c->egress.hosts.values[1], "198.51.100.1:80");
	assert_string_equal(c->egress.hosts.names[2], "Mixed.Case.Example");
	assert_string_equal(c->egress.hosts.values[2], "203.0.113.7:65535");
	assert_int_equal(c->egress.live_ports.n, 3);
	assert_string_equal(c->egress.live_ports.items[0], "80");
	assert_string_equal(c->egress.live_ports.items[1], "443");
	assert_string_equal(c->egress.live_ports.items[2], "1");
	assert_string_equal(c->egress.subnet, "10.99.0.0/24");
	assert_int_equal(c->egress.max_fetch_size, 256 << 20);
	assert_int_equal(c->egress.fetch_timeout, 3600);
	assert_int_equal(c->egress.fetch_rate, 1024);
	assert_int_equal(c->egress.max_fetches, 64);
	assert_int_equal(c->egress.connect_rate, 1);
	assert_int_equal(c->egress.max_connections, 100000);
	assert_int_equal(c->egress.event_rate, 7);
	config_free(c);

	/* The other two fetch modes; no live ports; the subnet's bounds. */
	c = parse_ok("egress: {fetch: cache, live_ports: [], subnet: 10.0.0.0/8, hosts: {}}\n");
	assert_string_equal(c->egress.fetch, "cache");
	assert_int_equal(c->egress.live_ports.n, 0);
	assert_string_equal(c->egress.subnet, "10.0.0.0/8");
	assert_int_equal(c->egress.hosts.n, 0);
	config_free(c);
	c = parse_ok("egress: {fetch: 'off', subnet: 172.30.255.240/28}\n");
	assert_string_equal(c->egress.fetch, "off");
	assert_string_equal(c->egress.subnet, "172.30.255.240/28");
	config_free(c);
	/* hosts: null is no hosts, as a section of nulls is the defaults. */
	c = parse_ok("egress:\n  hosts:\n");
	assert_int_equal(c->egress.hosts.n, 0);
	config_free(c);
	c = parse_ok("egress:\n");
	assert_string_equal(c->egress.fetch, "off");
	config_free(c);
}

static void test_egress_bad(void **state)
{
	static const struct {
		const char *yaml, *expected;
	} cases[] = {
	    {"egress: {fetch: on}", "t.yaml:1: egress.fetch: must be \"off\", \"cache\" or "
	                            "\"live\", got on"},
	    {"egress: {fetch: Live}", "t.yaml:1: egress.fetch: must be \"off\", \"cache\" or "
	                              "\"live\", got \"Live\""},
	    {"egress: {fetch: ''}", "t.yaml:1: egress.fetch: must not be empty"},
	    {"egress: {fetch: [live]}", "t.yaml:1: egress.fetch: must be a string, got a list"},
	    {"egress:\n  hosts:\n    a.example: 192.0.2.1\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: 'b.example:80'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: '192.0.2.1:0'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: '192.0.2.1:65536'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: '192.0.2.1:'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: '192.0.2.1:80x'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: '192.0.2.1:-80'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: '192.0.2.256:80'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: '[2001:db8::1]:80'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: ':80'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example: '1.2.3.4.5.6.7.8.9.10.11.12:80'\n",
	     "t.yaml:3: egress.hosts.a.example: must be \"A.B.C.D:PORT\""},
	    {"egress:\n  hosts:\n    a.example:\n",
	     "t.yaml:3: egress.hosts.a.example: must be a string, got null"},
	    {"egress:\n  hosts:\n    a.example: [192.0.2.1:80]\n",
	     "t.yaml:3: egress.hosts.a.example: must be a string, got a list"},
	    {"egress:\n  hosts:\n    a.example: '192.0.2.1:80'\n    a.example: '192.0.2.2:80'\n",
	     "t.yaml:4: egress.hosts.a.example: duplicate key"},
	    {"egress:\n  hosts: [a.example]\n",
	     "t.yaml:2: egress.hosts: must be a mapping, got a list"},
	    {"egress:\n  hosts: 'a.example=192.0.2.1:80'\n",
	     "t.yaml:2: egress.hosts: must be a mapping, got \"a.example=192.0.2.1:80\""},
	    {"egress:\n  hosts:\n    [a]: '192.0.2.1:80'\n",
	     "t.yaml:3: egress.hosts: keys must be host names, got a list"},
	    {"egress:\n  hosts:\n    '': '192.0.2.1:80'\n",
	     "t.yaml:3: egress.hosts: keys must be host names, got \"\""},
	    /* A name with a colon would split hermes-fetch's NAME:ADDR:PORT. */
	    {"egress:\n  hosts:\n    'a:b': '192.0.2.1:80'\n",
	     "t.yaml:3: egress.hosts: keys must be host names, got \"a:b\""},
	    {"egress: {live_ports: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
	     "19, "
	     "20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33]}",
	     "t.yaml:1: egress.live_ports: at most 32 items"},
	    {"egress: {live_ports: [80, 0]}",
	     "t.yaml:1: egress.live_ports[1]: must be a port, 1 to 65535"},
	    {"egress: {live_ports: [65536]}",
	     "t.yaml:1: egress.live_ports[0]: must be a port, 1 to 65535"},
	    {"egress: {live_ports: [http]}",
	     "t.yaml:1: egress.live_ports[0]: must be a port, 1 to 65535"},
	    {"egress: {live_ports: ['80x']}",
	     "t.yaml:1: egress.live_ports[0]: must be a port, 1 to 65535"},
	    {"egress: {live_ports: 80}", "t.yaml:1: egress.live_ports: must be a list, got 80"},
	    {"egress: {box_rate: 8k}",
	     "t.yaml:1: egress.box_rate: must be at least 16k, got \"8k\""},
	    {"egress: {box_rate: 2g}", "t.yaml:1: egress.box_rate: must be at most 1g, got \"2g\""},
	    {"egress: {subnet: 10.77.0.1/16}",
	     "t.yaml:1: egress.subnet: must be an IPv4 network A.B.C.D/N, N from 8 to 28, no host "
	     "bits set, got \"10.77.0.1/16\""},
	    {"egress: {subnet: 10.77.0.0/30}",
	     "t.yaml:1: egress.subnet: must be an IPv4 network A.B.C.D/N, N from 8 to 28, no host "
	     "bits set, got \"10.77.0.0/30\""},
	    {"egress: {subnet: 10.0.0.0/7}",
	     "t.yaml:1: egress.subnet: must be an IPv4 network A.B.C.D/N, N from 8 to 28, no host "
	     "bits set, got \"10.0.0.0/7\""},
	    {"egress: {subnet: garbage}",
	     "t.yaml:1: egress.subnet: must be an IPv4 network A.B.C.D/N, N from 8 to 28, no host "
	     "bits set, got \"garbage\""},
	    {"egress: {subnet: 10.77.0.0}",
	     "t.yaml:1: egress.subnet: must be an IPv4 network A.B.C.D/N, N from 8 to 28, no host "
	     "bits set, got \"10.77.0.0\""},
	    {"egress: {subnet: 'fd00::/64'}",
	     "t.yaml:1: egress.subnet: must be an IPv4 network A.B.C.D/N, N from 8 to 28, no host "
	     "bits set, got \"fd00::/64\""},
	    {"egress: {max_fetch_size: 257m}",
	     "t.yaml:1: egress.max_fetch_size: must be at most 256m, got \"257m\""},
	    {"egress: {max_fetch_size: 0}",
	     "t.yaml:1: egress.max_fetch_size: must be greater than 0, got 0"},
	    {"egress: {fetch_rate: 1023}",
	     "t.yaml:1: egress.fetch_rate: must be at least 1k, got 1023"},
	    {"egress: {fetch_timeout: 0}",
	     "t.yaml:1: egress.fetch_timeout: must be between 1 and 3600, got 0"},
	    {"egress: {fetch_timeout: 3601}",
	     "t.yaml:1: egress.fetch_timeout: must be between 1 and 3600, got 3601"},
	    {"egress: {max_fetches: 65}",
	     "t.yaml:1: egress.max_fetches: must be between 1 and 64, got 65"},
	    {"egress: {connect_rate: 0}",
	     "t.yaml:1: egress.connect_rate: must be between 1 and 100000, got 0"},
	    {"egress: {max_connections: 100001}",
	     "t.yaml:1: egress.max_connections: must be between 1 and 100000, got 100001"},
	    {"egress: {event_rate: -1}",
	     "t.yaml:1: egress.event_rate: must be between 1 and 100000, got -1"},
	    {"egress: {fetch: live, proxy: x}", "t.yaml:1: egress.proxy: unknown key"},
	    {"egress: live", "t.yaml:1: egress: must be a mapping, got \"live\""},
	    {"container_pool: {security: {network_mode: ''}}",
	     "t.yaml:1: container_pool.security.network_mode: must not be empty"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_one(cases[i].yaml, cases[i].expected);
}

static void test_metrics_listen(void **state)
{
	static const struct {
		const char *yaml, *expected;
	} bad[] = {
	    {"metrics: {listen: 9101}", "t.yaml:1: metrics.listen: must be HOST:PORT, got 9101"},
	    {"metrics: {listen: '127.0.0.1'}",
	     "t.yaml:1: metrics.listen: must be HOST:PORT, got \"127.0.0.1\""},
	    {"metrics: {listen: '127.0.0.1:0'}",
	     "t.yaml:1: metrics.listen: must be HOST:PORT, got \"127.0.0.1:0\""},
	    {"metrics: {listen: '::1:9101'}",
	     "t.yaml:1: metrics.listen: must be HOST:PORT, got \"::1:9101\""},
	    {"metrics: {listen: ''}", "t.yaml:1: metrics.listen: must not be empty"},
	    {"metrics: {listen: '127.0.0.1:9101', path: /m}",
	     "t.yaml:1: metrics.path: unknown key"},
	};
	struct config *c = NULL;
	char *errors = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_one(bad[i].yaml, bad[i].expected);
	const char *good = "metrics:\n  listen: '[::1]:9101'\n";
	assert_int_equal(config_parse("t.yaml", good, strlen(good), &c, &errors), 0);
	assert_string_equal(c->metrics.listen, "[::1]:9101");
	config_free(c);
	c = config_new_defaults();
	assert_null(c->metrics.listen); /* off by default */
	config_free(c);
}

static void test_example_file(void **state)
{
	const char *root = getenv("HERMES_SOURCE_ROOT");
	struct config *c = NULL;
	char *path, *errors = NULL;
	const struct credential *cr;

	(void)state;
	if (!root || !*root)
		skip();
	assert_true(asprintf(&path, "%s/config/hermes.example.yaml", root) > 0);
	if (config_load(path, &c, &errors) != 0) {
		print_error("%s", errors ? errors : "(null)\n");
		fail();
	}
	assert_null(errors);
	assert_int_equal(c->server.port, 2222);
	assert_string_equal(c->server.host_key_path, "data/keys/ssh_host_rsa_key");
	assert_string_equal(c->recording.output_dir, "data/recordings");
	assert_string_equal(c->logging.output_dir, "data/logs");
	assert_string_equal(c->logging.format, "text");
	assert_int_equal(c->authentication.n_static_credentials, 2);
	cr = c->authentication.static_credentials;
	assert_string_equal(cr[0].username, "root");
	assert_string_equal(cr[0].password, "toor");
	assert_string_equal(cr[1].username, "admin");
	assert_string_equal(cr[1].password, "admin123");
	/* The image's bait: '#' and '!' inside a plain scalar are text. */
	assert_int_equal(c->honeytokens.n_credentials, 2);
	assert_string_equal(c->honeytokens.credentials[0].password, "P0stgr3s-Pr0d-2023!");
	assert_null(c->honeytokens.credentials[1].username);
	assert_string_equal(c->honeytokens.credentials[1].password, "Xk9#mQ2vL7pR!wd4");
	assert_int_equal(c->honeytokens.files.n, 3);
	/* Everything else is the default. */
	assert_null(c->server.banner);
	assert_int_equal(c->server.login_grace_time, 120);
	assert_string_equal(c->container_pool.hostname, "prod-web-01");
	assert_int_equal(c->container_pool.security.memory_limit, 268435456);
	assert_int_equal(c->container_pool.security.cap_add.n, 13);
	assert_int_equal(c->container_pool.security.security_opt.n, 0);
	assert_int_equal(c->logging.level, LOG_INFO);
	assert_null(c->docker.base_url);
	config_free(c);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),        cmocka_unit_test(test_full_valid),
	    cmocka_unit_test(test_scalar_forms),    cmocka_unit_test(test_numeric_password),
	    cmocka_unit_test(test_unknown_keys),    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_ranges),          cmocka_unit_test(test_bad_sizes),
	    cmocka_unit_test(test_bad_credentials), cmocka_unit_test(test_string_rules),
	    cmocka_unit_test(test_duplicate_keys),  cmocka_unit_test(test_yaml_structure),
	    cmocka_unit_test(test_many_errors),     cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_load_file),       cmocka_unit_test(test_metrics_listen),
	    cmocka_unit_test(test_example_file),    cmocka_unit_test(test_honeytokens),
	    cmocka_unit_test(test_retention_keys),  cmocka_unit_test(test_connection_limits),
	    cmocka_unit_test(test_egress),          cmocka_unit_test(test_egress_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
