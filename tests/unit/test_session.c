/* The monitor's side of the worker boundary (session.c), driven with a fake worker over a
 * socketpair and an engine that is not there: what a worker may send and when, what a
 * worker's last messages may still change, and what the event log takes from a worker. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "boxes.h"
#include "ipc.h"
#include "pool.h"
#include "recent_failures.h"
#include "session.h"
#include "util.h"

struct fixture {
	char dir[64];
	struct config *cfg;
	struct session_ctx ctx;
};

/* A worker stand-in: a child that waits to be killed. */
struct fake_worker {
	int fd; /* our end of the IPC socketpair */
	pid_t pid;
	struct session *s;
	struct buf store;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char yaml[2048], *errors = NULL;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/hermes-test-session-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(yaml, sizeof(yaml),
	         "server:\n  max_auth_tries: 3\n  max_concurrent_sessions: 1\n"
	         "authentication:\n  static_credentials:\n    - username: root\n"
	         "      password: toor\n  accept_all_after_failures: 0\n"
	         "docker:\n  socket_path: %s/no-engine.sock\n"
	         "logging:\n  output_dir: %s\n  max_session_log: 64k\n"
	         "recording:\n  output_dir: %s\n"
	         "forensics:\n  enabled: false\n",
	         fx->dir, fx->dir, fx->dir);
	if (config_parse("test", yaml, strlen(yaml), &fx->cfg, &errors) != 0) {
		fprintf(stderr, "%s\n", errors);
		return -1;
	}
	struct session_ctx *c = &fx->ctx;
	const char *err = NULL;
	c->cfg = fx->cfg;
	auth_policy_init(&c->policy, fx->cfg);
	c->events = events_open(fx->dir);
	if (c->events != NULL &&
	    events_set_session_budget(c->events, (uint64_t)fx->cfg->logging.max_session_log) < 0)
		return -1;
	c->loop = loop_new();
	c->docker = docker_new(c->loop, fx->cfg->docker.socket_path, NULL, &err);
	c->pool = pool_new(c->loop, c->docker, fx->cfg, c->events);
	c->boxes = boxes_new(c->loop, c->pool, 0, 4);
	c->failures = recent_failures_new(8, 16);
	if (!c->events || !c->loop || !c->docker || !c->pool || !c->boxes || !c->failures)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	boxes_free(fx->ctx.boxes);
	pool_free(fx->ctx.pool);
	docker_free(fx->ctx.docker);
	recent_failures_free(fx->ctx.failures);
	loop_free(fx->ctx.loop);
	events_close(fx->ctx.events);
	config_free(fx->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static void start(struct fixture *fx, struct fake_worker *w)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	w->fd = sv[1];
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
		for (;;)
			pause();
	}
	buf_init(&w->store);
	w->s = session_new(&fx->ctx, sv[0], "192.0.2.7", 40000, "127.0.0.1", 22);
	assert_non_null(w->s);
	session_set_pid(w->s, w->pid);
}

static void send_password(struct fake_worker *w, const char *user, const char *password)
{
	struct ipc_msg m = {.type = IPC_AUTH_PASSWORD};

	m.auth_password.user = (struct ipc_str){(const uint8_t *)user, strlen(user)};
	m.auth_password.password = (struct ipc_str){(const uint8_t *)password, strlen(password)};
	assert_int_equal(ipc_send(w->fd, &m), 0);
}

static void send_event(struct fake_worker *w, const char *type, const char *fields)
{
	struct ipc_msg m = {.type = IPC_EVENT};

	m.event.type = (struct ipc_str){(const uint8_t *)type, strlen(type)};
	m.event.fields = (struct ipc_str){(const uint8_t *)fields, strlen(fields)};
	assert_int_equal(ipc_send(w->fd, &m), 0);
}

/* Runs the monitor's loop until it has read what is queued (a short while). */
static void run(struct fixture *fx)
{
	for (int i = 0; i < 20; i++)
		loop_once(fx->ctx.loop, 10);
}

/* The monitor's answer to an auth message, or -1 when none came. */
static int auth_reply(struct fixture *fx, struct fake_worker *w, uint32_t *disconnect)
{
	struct ipc_msg m;
	struct pollfd p = {.fd = w->fd, .events = POLLIN};

	run(fx);
	if (poll(&p, 1, 0) != 1 || ipc_recv(w->fd, &m, &w->store) != 1)
		return -1;
	assert_int_equal(m.type, IPC_AUTH_REPLY);
	if (disconnect != NULL)
		*disconnect = m.auth_reply.disconnect;
	return (int)m.auth_reply.accepted;
}

/* Whether the monitor killed the fake worker; reaps it either way and ends the session. */
static bool finish(struct fake_worker *w)
{
	int st = 0;
	bool killed = false;

	for (int i = 0; i < 200; i++) {
		if (waitpid(w->pid, &st, WNOHANG) == w->pid) {
			killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
			break;
		}
		usleep(5000);
		if (i == 199) {
			kill(w->pid, SIGTERM);
			waitpid(w->pid, &st, 0);
		}
	}
	session_worker_exited(w->s, st);
	close(w->fd);
	buf_free(&w->store);
	return killed;
}

/* How many lines of the event log have "event":"TYPE" (and contain `also`, if given). */
static int count_events(struct fixture *fx, const char *type, const char *also)
{
	char path[128], needle[96], line[65536];
	int n = 0;

	snprintf(path, sizeof(path), "%s/events.jsonl", fx->dir);
	snprintf(needle, sizeof(needle), "\"event\":\"%s\"", type);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL && (also == NULL || strstr(line, also) != NULL))
			n++;
	fclose(f);
	return n;
}

/* An accepted login still queued when the worker is gone (the login-grace alarm) must not
 * hold a place of max_concurrent_sessions: once leaked, no one could log in again. */
static void test_login_read_after_the_worker_died_is_not_counted(void **state)
{
	struct fixture *fx = *state;
	struct fake_worker w;

	start(fx, &w);
	send_password(&w, "root", "toor");
	kill(w.pid, SIGKILL); /* SIGCHLD before the loop read the message */
	finish(&w);
	assert_int_equal(fx->ctx.logged_in, 0);

	/* The place is free: the next attacker gets in, and holds it while there. */
	struct fake_worker w2;
	start(fx, &w2);
	send_password(&w2, "root", "toor");
	assert_int_equal(auth_reply(fx, &w2, NULL), 1);
	assert_int_equal(fx->ctx.logged_in, 1);
	kill(w2.pid, SIGKILL);
	finish(&w2);
	assert_int_equal(fx->ctx.logged_in, 0);
}

/* Once the monitor has decided to kill a worker, nothing it sent after counts. */
static void test_nothing_counts_after_the_kill(void **state)
{
	struct fixture *fx = *state;
	struct fake_worker w;
	struct ipc_msg resize = {.type = IPC_RESIZE, .resize = {.width = 80, .height = 24}};

	start(fx, &w);
	assert_int_equal(ipc_send(w.fd, &resize), 0); /* not allowed before login */
	send_password(&w, "root", "toor");
	assert_int_equal(auth_reply(fx, &w, NULL), -1);
	assert_true(finish(&w));
	assert_int_equal(fx->ctx.logged_in, 0);
	assert_int_equal(count_events(fx, "login.success", NULL), 0);
	assert_int_equal(count_events(fx, "session.closed", NULL), 1);
}

/* MaxAuthTries is the monitor's to enforce: a worker that asks again after it was told to
 * disconnect is killed, and its extra attempt is not judged. */
static void test_auth_past_max_auth_tries_kills(void **state)
{
	struct fixture *fx = *state;
	struct fake_worker w;
	uint32_t disconnect = 0;

	start(fx, &w);
	for (int i = 0; i < 3; i++) {
		send_password(&w, "root", "wrong");
		assert_int_equal(auth_reply(fx, &w, &disconnect), 0);
		assert_int_equal(disconnect, i == 2 ? 1 : 0);
	}
	send_password(&w, "root", "toor");
	assert_int_equal(auth_reply(fx, &w, NULL), -1);
	assert_true(finish(&w));
	assert_int_equal(count_events(fx, "login.failed", NULL), 3);
	assert_int_equal(count_events(fx, "login.success", NULL), 0);
	assert_int_equal(fx->ctx.logged_in, 0);
}

/* A worker's event carries only the fields its type has: no alert, nothing nested, none of
 * the monitor's own fields. */
static void test_worker_cannot_forge_fields(void **state)
{
	struct fixture *fx = *state;
	static const char *const forged[] = {
	    "{\"version\":\"SSH-2.0-x\",\"alert\":{\"type\":\"honeytoken\"}}",
	    "{\"version\":\"SSH-2.0-x\",\"src_ip\":\"10.9.9.9\"}",
	    "{\"version\":{\"nested\":[1,2,3]}}",
	    "{\"version\":\"SSH-2.0-x\",\"version_b64\":7}",
	};

	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		struct fake_worker w;
		start(fx, &w);
		send_event(&w, "client.version", forged[i]);
		run(fx);
		assert_true(finish(&w));
	}
	assert_int_equal(count_events(fx, "client.version", NULL), 0);

	/* The real thing passes, with exactly its fields. */
	struct fake_worker w;
	start(fx, &w);
	send_event(&w, "client.version", "{\"version\":\"SSH-2.0-OpenSSH_9.6\"}");
	run(fx);
	kill(w.pid, SIGKILL);
	finish(&w);
	assert_int_equal(count_events(fx, "client.version", "\"version\":\"SSH-2.0-OpenSSH_9.6\""),
	                 1);
	assert_int_equal(count_events(fx, "client.version", "alert"), 0);
}

/* No session adds more than logging.max_session_log to the log: past it its events are
 * dropped, marked once, counted at the end; its session.closed is written all the same. */
static void test_event_budget_per_session(void **state)
{
	struct fixture *fx = *state;
	struct fake_worker w;
	char fields[12000], path[128];
	struct stat before, after;

	snprintf(path, sizeof(path), "%s/events.jsonl", fx->dir);
	start(fx, &w);
	send_password(&w, "root", "toor");
	assert_int_equal(auth_reply(fx, &w, NULL), 1);
	assert_int_equal(stat(path, &before), 0);
	for (int i = 0; i < 40; i++) {
		int n = snprintf(fields, sizeof(fields),
		                 "{\"channel\":0,\"tty\":true,\"source\":\"interactive\","
		                 "\"command\":\"%d ",
		                 i);
		memset(fields + n, 'x', 8000);
		snprintf(fields + n + 8000, sizeof(fields) - (size_t)n - 8000, "\"}");
		send_event(&w, "command.input", fields);
		run(fx);
	}
	assert_int_equal(stat(path, &after), 0);
	/* 40 lines of 8 KB would be 320 KB. */
	assert_true(after.st_size - before.st_size < 64 * 1024);
	assert_int_equal(count_events(fx, "events.limit_reached", "\"limit_bytes\":65536"), 1);
	assert_int_equal(count_events(fx, "events.dropped", NULL), 0);
	kill(w.pid, SIGKILL);
	finish(&w);
	assert_int_equal(count_events(fx, "session.closed", NULL), 1);
	int kept = count_events(fx, "command.input", NULL);
	assert_true(kept >= 6 && kept <= 8);
	char dropped[64];
	snprintf(dropped, sizeof(dropped), "\"events\":%d,", 40 - kept);
	assert_int_equal(count_events(fx, "events.dropped", dropped), 1);

	/* Another session has a budget of its own. */
	start(fx, &w);
	send_event(&w, "client.version", "{\"version\":\"SSH-2.0-next\"}");
	run(fx);
	kill(w.pid, SIGKILL);
	finish(&w);
	assert_int_equal(count_events(fx, "client.version", "SSH-2.0-next"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_login_read_after_the_worker_died_is_not_counted,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nothing_counts_after_the_kill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auth_past_max_auth_tries_kills, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_worker_cannot_forge_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_budget_per_session, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
