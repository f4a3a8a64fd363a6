/*
 * libFuzzer harness for config_parse: any bytes must give either a config that keeps every rule,
 * or a list of one-line problems, never a crash or a leak.
 *
 * Not a test of messages' wording (tests/unit/test_config.c does that).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

/* What a caller may rely on after a successful parse. */
static void check_config(const struct config *c)
{
	size_t i;

	check(c->server.port >= 1 && c->server.port <= 65535);
	check(c->server.max_concurrent_sessions >= 1);
	check(c->server.session_timeout >= 60);
	check(c->server.login_grace_time >= 1);
	check(c->server.host && *c->server.host);
	/* NULL: the stealth profile's (made at start from the image). */
	check(c->server.banner == NULL ||
	      (*c->server.banner && strlen(c->server.banner) <= 200 &&
	       strncmp(c->server.banner, "SSH-", 4) != 0 && !strpbrk(c->server.banner, "\r\n")));
	check(c->stealth.profile && *c->stealth.profile);
	check(c->authentication.accept_all_after_failures >= 0);
	for (i = 0; i < c->authentication.n_static_credentials; i++) {
		check(c->authentication.static_credentials[i].username != NULL);
		check(*c->authentication.static_credentials[i].username != '\0');
		check(c->authentication.static_credentials[i].password != NULL);
	}
	check(c->container_pool.size >= 1);
	check(c->container_pool.spawn_timeout >= 5);
	check(c->container_pool.max_session_duration >= 60);
	check(c->container_pool.cleanup_stopped_after_days >= 0);
	check(c->container_pool.hostname && strlen(c->container_pool.hostname) <= 63);
	check(c->container_pool.security.memory_limit >= 6 << 20);
	check(c->container_pool.security.cpu_quota >= 0.1 &&
	      c->container_pool.security.cpu_quota <= 8.0);
	check(c->container_pool.security.pids_limit >= 10);
	check(c->container_pool.security.tmpfs_size > 0);
	for (i = 0; i < c->container_pool.security.cap_add.n; i++)
		check(c->container_pool.security.cap_add.items[i] != NULL);
	for (i = 0; i < c->container_pool.security.cap_drop.n; i++)
		check(c->container_pool.security.cap_drop.items[i] != NULL);
	for (i = 0; i < c->container_pool.security.security_opt.n; i++)
		check(c->container_pool.security.security_opt.items[i] != NULL);
	check(strcmp(c->recording.format, "asciinema") == 0);
	check(strcmp(c->logging.format, "json") == 0 || strcmp(c->logging.format, "text") == 0);
	check(c->logging.level >= 10 && c->logging.level <= 50);
	check(c->recording.output_dir && *c->recording.output_dir);
	check(c->logging.output_dir && *c->logging.output_dir);
	check(c->docker.socket_path && *c->docker.socket_path);
}

/* Every problem is one line "fuzz.yaml:..." and nothing else. */
static void check_errors(const char *errors)
{
	const char *p = errors;

	check(*p != '\0');
	while (*p) {
		const char *nl = strchr(p, '\n');

		check(nl != NULL);
		check(strncmp(p, "fuzz.yaml:", 10) == 0);
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char *errors = NULL;

	if (config_parse("fuzz.yaml", data, size, &c, &errors) == 0) {
		check(c != NULL && errors == NULL);
		check_config(c);
	} else {
		check(c == NULL && errors != NULL);
		check_errors(errors);
	}
	config_free(c);
	free(errors);
	return 0;
}
