/* A channel's life in the monitor (channel.c), driven through its transitions with a stand-in
 * session and Docker's answers handed in by the test (the engine is not there: each call the
 * channel makes is cancelled and its answer given directly). Checks the table, every legal
 * path, and that a transition from the wrong state fails the channel cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "channel.h"
#include "session.h"

#define EXEC_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The stand-in for the session: what the channel asked of it. */
struct fake {
	struct session_ctx ctx;
	struct config *cfg;
	char dir[64];
	char events[16][48]; /* the types of the events made, in order */
	int nevents;
	int ready, ready_ok, ready_agent, ready_first, ready_nfds;
	char ready_error[64];
	int exits;
	uint32_t exit_kind, exit_value;
	int ended, ended_status, ended_signal;
	bool box_gone;
	int gone_asked;
	bool finishing;
};

static struct fake *fake_of(struct session *s)
{
	return (struct fake *)(void *)s;
}

static const char *f_id(const struct session *s)
{
	return "testsess";
}

static json_t *f_event(struct session *s, const char *type)
{
	struct fake *f = fake_of(s);

	if (f->nevents < 16)
		snprintf(f->events[f->nevents++], sizeof(f->events[0]), "%s", type);
	return event_new(type, "testsession", "192.0.2.7", 40000);
}

static void f_send(struct session *s, const struct ipc_msg *m)
{
	struct fake *f = fake_of(s);

	if (m->type == IPC_CHANNEL_READY) {
		f->ready++;
		f->ready_ok = (int)m->channel_ready.ok;
		f->ready_agent = (int)m->channel_ready.agent;
		f->ready_first = (int)m->channel_ready.agent_first;
		f->ready_nfds = (int)m->nfds;
		snprintf(f->ready_error, sizeof(f->ready_error), "%.*s",
		         (int)m->channel_ready.error.n, (const char *)m->channel_ready.error.p);
	} else if (m->type == IPC_EXIT_STATUS) {
		f->exits++;
		f->exit_kind = m->exit_status.kind;
		f->exit_value = m->exit_status.value;
	}
}

static const char *f_container_id(const struct session *s)
{
	return "c0ffee";
}

static const char *f_container_name(const struct session *s)
{
	return "hermes-target-test";
}

static int f_open_recording(struct session *s, uint32_t channel, char **path)
{
	return -1;
}

static void f_ssh_env(const struct session *s, char *client, size_t client_len, char *connection,
                      size_t connection_len)
{
	snprintf(client, client_len, "SSH_CLIENT=192.0.2.7 40000 22");
	snprintf(connection, connection_len, "SSH_CONNECTION=192.0.2.7 40000 127.0.0.1 22");
}

static bool f_box_gone(struct session *s, struct mchan *c, const char *error)
{
	struct fake *f = fake_of(s);

	f->gone_asked++;
	return f->box_gone;
}

static void f_exec_created(struct session *s)
{
}

static void f_ended(struct session *s, int status, int sig)
{
	struct fake *f = fake_of(s);

	f->ended++;
	f->ended_status = status;
	f->ended_signal = sig;
}

static bool f_finishing(const struct session *s)
{
	return ((const struct fake *)(const void *)s)->finishing;
}

static const struct chan_host host = {
    .id = f_id,
    .event = f_event,
    .send = f_send,
    .container_id = f_container_id,
    .container_name = f_container_name,
    .open_recording = f_open_recording,
    .ssh_env = f_ssh_env,
    .box_gone = f_box_gone,
    .exec_created = f_exec_created,
    .ended = f_ended,
    .finishing = f_finishing,
};

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	char yaml[1024], *errors = NULL;
	const char *err = NULL;

	snprintf(f->dir, sizeof(f->dir), "/tmp/hermes-test-channel-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(yaml, sizeof(yaml),
	         "docker:\n  socket_path: %s/no-engine.sock\n"
	         "logging:\n  output_dir: %s\n"
	         "recording:\n  output_dir: %s\n  enabled: false\n"
	         "forensics:\n  enabled: false\n",
	         f->dir, f->dir, f->dir);
	if (config_parse("test", yaml, strlen(yaml), &f->cfg, &errors) != 0) {
		fprintf(stderr, "%s\n", errors);
		return -1;
	}
	f->ctx.cfg = f->cfg;
	f->ctx.loop = loop_new();
	f->ctx.events = events_open(f->dir);
	f->ctx.docker = docker_new(f->ctx.loop, f->cfg->docker.socket_path, NULL, &err);
	snprintf(f->ctx.session_parent, sizeof(f->ctx.session_parent), "/usr/sbin/session-parent");
	if (f->ctx.loop == NULL || f->ctx.events == NULL || f->ctx.docker == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;
	char cmd[128];

	docker_free(f->ctx.docker);
	loop_free(f->ctx.loop);
	events_close(f->ctx.events);
	config_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void open_channel(struct fake *f, struct mchan *c, uint32_t kind, const char *command)
{
	struct ipc_channel_open m = {.channel = 7, .width = 80, .height = 24, .kind = kind};
	const char *why = NULL;

	memset(c, 0, sizeof(*c));
	if (command != NULL)
		m.command = (struct ipc_str){(const uint8_t *)command, strlen(command)};
	assert_int_equal(chan_open(c, (struct session *)(void *)f, &f->ctx, &host, &m, &why), 0);
	assert_int_equal(c->state, CH_WAITING_BOX);
}

/* The Docker call the channel made is over (the test gives its answer). */
static void answered(struct fake *f, struct mchan *c)
{
	assert_int_not_equal(c->call, 0);
	docker_cancel(f->ctx.docker, c->call);
}

static bool has_event(struct fake *f, const char *type)
{
	for (int i = 0; i < f->nevents; i++)
		if (strcmp(f->events[i], type) == 0)
			return true;
	return false;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static void done(struct mchan *c, uint32_t kind, uint32_t value)
{
	struct ipc_channel_done m = {
	    .channel = c->id, .exit_kind = kind, .exit_value = value, .bytes_in = 5};

	chan_done(c, &m);
}

static void test_table(void **state)
{
	static const struct {
		enum chan_state from, to;
	} legal[] = {
	    {CH_FREE, CH_WAITING_BOX},
	    {CH_CREATING_EXEC, CH_WAITING_BOX},
	    {CH_WAITING_BOX, CH_WAITING_AGENT},
	    {CH_WAITING_BOX, CH_CREATING_EXEC},
	    {CH_WAITING_AGENT, CH_CREATING_EXEC},
	    {CH_CREATING_EXEC, CH_HIJACKING},
	    {CH_HIJACKING, CH_STREAMING},
	    {CH_WAITING_BOX, CH_STREAMING},
	    {CH_WAITING_AGENT, CH_STREAMING},
	    {CH_STREAMING, CH_QUERYING_EXIT},
	    {CH_QUERYING_EXIT, CH_QUERYING_EXIT},
	    {CH_QUERYING_EXIT, CH_FETCHING_REPORT},
	    {CH_WAITING_BOX, CH_FREE},
	    {CH_WAITING_AGENT, CH_FREE},
	    {CH_STREAMING, CH_FREE},
	    {CH_QUERYING_EXIT, CH_FREE},
	    {CH_FETCHING_REPORT, CH_FREE},
	};

	for (int from = 0; from < CH_NSTATES; from++)
		for (int to = 0; to < CH_NSTATES; to++) {
			bool want = false;
			for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
				if (legal[i].from == (enum chan_state)from &&
				    legal[i].to == (enum chan_state)to)
					want = true;
			if (chan_transition_allowed(from, to) != want)
				fail_msg("%s -> %s: %s", chan_state_name(from), chan_state_name(to),
				         want ? "refused" : "allowed");
		}
	assert_false(chan_transition_allowed(CH_NSTATES, CH_FREE));
	assert_false(chan_transition_allowed(CH_FREE, CH_NSTATES));
}

/* Agent, box already there: open -> streaming -> closed with the exit in-band. */
static void test_agent_path(void **state)
{
	struct fake *f = *state;
	struct mchan c;
	int p[2];

	assert_int_equal(pipe(p), 0);
	open_channel(f, &c, IPC_KIND_SHELL, NULL);
	chan_agent_ready(&c, p[0]);
	assert_int_equal(c.state, CH_STREAMING);
	assert_int_equal(f->ready, 1);
	assert_int_equal(f->ready_ok, 1);
	assert_int_equal(f->ready_agent, 1);
	assert_int_equal(f->ready_first, 1);
	assert_int_equal(f->ready_nfds, 1);
	assert_true(fd_open(p[0])); /* borrowed */
	assert_true(has_event(f, "session.shell"));
	done(&c, IPC_EXIT_CODE, 3);
	assert_int_equal(c.state, CH_FREE);
	assert_int_equal(f->ended, 1);
	assert_int_equal(f->ended_status, 3);
	assert_int_equal(f->exits, 0); /* the agent told the worker */
	assert_true(has_event(f, "session.channel_closed"));
	close(p[0]);
	close(p[1]);
}

/* Agent being dialled: open -> waiting_agent -> streaming -> closed by a signal. */
static void test_agent_after_dial(void **state)
{
	struct fake *f = *state;
	struct mchan c;

	open_channel(f, &c, IPC_KIND_SHELL, NULL);
	chan_wait_agent(&c);
	assert_int_equal(c.state, CH_WAITING_AGENT);
	chan_agent_ready(&c, -1);
	assert_int_equal(c.state, CH_STREAMING);
	assert_int_equal(f->ready_first, 0);
	assert_int_equal(f->ready_nfds, 0);
	done(&c, IPC_EXIT_SIGNAL, 9);
	assert_int_equal(c.state, CH_FREE);
	assert_int_equal(f->ended_status, -1);
	assert_int_equal(f->ended_signal, 9);
}

/* Runs an exec channel up to streaming: from waiting_box, or through waiting_agent (the
 * agent could not be reached). */
static void exec_to_streaming(struct fake *f, struct mchan *c, bool via_agent_wait)
{
	int p[2];
	json_t *id = json_pack("{s:s}", "Id", EXEC_ID);
	struct docker_reply created = {.status = 201, .json = id};

	open_channel(f, c, IPC_KIND_EXEC, "uname -a");
	assert_true(has_event(f, "command.input"));
	if (via_agent_wait)
		chan_wait_agent(c);
	chan_run_exec(c);
	assert_int_equal(c->state, CH_CREATING_EXEC);
	answered(f, c);
	chan_on_exec_created(c, &created);
	json_decref(id);
	assert_int_equal(c->state, CH_HIJACKING);
	answered(f, c);
	assert_int_equal(pipe(p), 0);
	chan_on_hijacked(c, p[0], NULL);
	assert_int_equal(c->state, CH_STREAMING);
	assert_int_equal(f->ready_ok, 1);
	assert_int_equal(f->ready_agent, 0);
	assert_int_equal(f->ready_nfds, 1);
	assert_false(fd_open(p[0])); /* handed over and closed */
	close(p[1]);
	assert_true(has_event(f, "session.shell"));
}

/* Exec: ... -> streaming -> querying_exit -> fetching_report -> closed. */
static void test_exec_path_with_report(void **state)
{
	struct fake *f = *state;
	struct mchan c;
	json_t *j = json_pack("{s:b, s:i}", "Running", 0, "ExitCode", 130);
	struct docker_reply inspected = {.status = 200, .json = j};
	struct docker_reply no_report = {.status = 404, .error = "no such file"};

	exec_to_streaming(f, &c, false);
	done(&c, 0, 0);
	assert_int_equal(c.state, CH_QUERYING_EXIT);
	done(&c, 0, 0); /* a second DONE while asking changes nothing */
	assert_int_equal(c.state, CH_QUERYING_EXIT);
	answered(f, &c);
	chan_on_exec_inspected(&c, &inspected);
	json_decref(j);
	assert_int_equal(c.state, CH_FETCHING_REPORT);
	answered(f, &c);
	chan_on_exit_report(&c, &no_report);
	assert_int_equal(c.state, CH_FREE);
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->exit_kind, IPC_EXIT_CODE);
	assert_int_equal(f->exit_value, 130);
	assert_int_equal(f->ended_status, 130);
}

/* Exec through waiting_agent, polled while Docker still says Running, then closed with the
 * code (no report for a code under 128). */
static void test_exec_path_polled(void **state)
{
	struct fake *f = *state;
	struct mchan c;
	json_t *running = json_pack("{s:b}", "Running", 1);
	json_t *exited = json_pack("{s:b, s:i}", "Running", 0, "ExitCode", 2);
	struct docker_reply r1 = {.status = 200, .json = running};
	struct docker_reply r2 = {.status = 200, .json = exited};

	exec_to_streaming(f, &c, true);
	done(&c, 0, 0);
	answered(f, &c);
	chan_on_exec_inspected(&c, &r1);
	assert_int_equal(c.state, CH_QUERYING_EXIT);
	assert_int_not_equal(c.timer, 0);
	for (int i = 0; i < 20 && c.timer != 0; i++)
		loop_once(f->ctx.loop, 20); /* the poll's timer asks again */
	assert_int_equal(c.state, CH_QUERYING_EXIT);
	answered(f, &c);
	chan_on_exec_inspected(&c, &r2);
	assert_int_equal(c.state, CH_FREE);
	assert_int_equal(f->exit_value, 2);
	json_decref(running);
	json_decref(exited);
}

/* A box found dead at exec create: back to waiting_box when the session takes another, else
 * failed; a channel closed before it ran says no exit. */
static void test_box_gone(void **state)
{
	struct fake *f = *state;
	struct mchan c;
	struct docker_reply gone = {.status = 404, .error = "no such container"};

	f->box_gone = true;
	open_channel(f, &c, IPC_KIND_SHELL, NULL);
	chan_run_exec(&c);
	answered(f, &c);
	chan_on_exec_created(&c, &gone);
	assert_int_equal(c.state, CH_WAITING_BOX);
	assert_int_equal(c.call, 0);
	done(&c, 0, 0);
	assert_int_equal(c.state, CH_FREE);
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->exit_kind, IPC_EXIT_UNKNOWN);
	assert_int_equal(f->ended, 0);

	f->box_gone = false;
	open_channel(f, &c, IPC_KIND_SHELL, NULL);
	chan_run_exec(&c);
	answered(f, &c);
	chan_on_exec_created(&c, &gone);
	assert_int_equal(c.state, CH_FREE);
	assert_int_equal(f->gone_asked, 2);
	assert_int_equal(f->ready_ok, 0);
	assert_string_equal(f->ready_error, "no such container");
	assert_true(has_event(f, "session.error"));
}

/* The worker's channel request that is its fault is refused, not failed. */
static void test_bad_open(void **state)
{
	struct fake *f = *state;
	struct mchan c;
	struct ipc_channel_open m = {.channel = 1, .kind = IPC_KIND_SUBSYSTEM};
	const char *why = NULL;

	memset(&c, 0, sizeof(c));
	m.command = (struct ipc_str){(const uint8_t *)"shell", 5};
	assert_int_equal(chan_open(&c, (struct session *)(void *)f, &f->ctx, &host, &m, &why), -1);
	assert_string_equal(why, "unknown subsystem");
	chan_free(&c);
	assert_int_equal(c.state, CH_FREE);
}

/* The wrong state for a transition: logged, the channel failed (session.error and a
 * refusing CHANNEL_READY), its fd closed, and nothing crashes. */
static void expect_failed(struct fake *f, struct mchan *c)
{
	assert_int_equal(c->state, CH_FREE);
	assert_int_equal(f->ready_ok, 0);
	assert_string_equal(f->ready_error, "internal error");
	assert_true(has_event(f, "session.error"));
	f->nevents = 0;
}

static void test_illegal_transitions_fail_the_channel(void **state)
{
	struct fake *f = *state;
	struct mchan c;
	int p[2];
	struct docker_reply ok = {.status = 200};

	/* A stream for a channel that asked for none. */
	assert_int_equal(pipe(p), 0);
	open_channel(f, &c, IPC_KIND_SHELL, NULL);
	chan_on_hijacked(&c, p[0], NULL);
	expect_failed(f, &c);
	assert_false(fd_open(p[0]));
	close(p[1]);

	/* An exec channel handed to the agent. */
	exec_to_streaming(f, &c, false);
	chan_agent_ready(&c, -1);
	expect_failed(f, &c);

	/* Waiting for the agent once it streams. */
	exec_to_streaming(f, &c, false);
	chan_wait_agent(&c);
	expect_failed(f, &c);

	/* Answers nobody asked for. */
	open_channel(f, &c, IPC_KIND_SHELL, NULL);
	chan_on_exec_inspected(&c, &ok);
	expect_failed(f, &c);
	open_channel(f, &c, IPC_KIND_SHELL, NULL);
	chan_on_exit_report(&c, &ok);
	expect_failed(f, &c);
	open_channel(f, &c, IPC_KIND_SHELL, NULL);
	chan_on_exec_created(&c, &ok);
	expect_failed(f, &c);

	/* Twice into the exec. */
	open_channel(f, &c, IPC_KIND_SHELL, NULL);
	chan_run_exec(&c);
	chan_run_exec(&c);
	expect_failed(f, &c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test_setup_teardown(test_agent_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agent_after_dial, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exec_path_with_report, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exec_path_polled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_box_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_illegal_transitions_fail_the_channel, setup,
	                                    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
