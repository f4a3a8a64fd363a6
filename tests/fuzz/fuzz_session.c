/* libFuzzer harness: the monitor's dispatch of a worker's messages (session.c), driven by a
 * fake worker over a socketpair, with an engine that is not there (every Docker call fails).
 * Each input is a script of messages of the types a worker sends, with fields and strings
 * from the input; between messages the monitor's loop runs. At the end the worker "exits":
 * the session must close, and no login may stay counted. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boxes.h"
#include "ipc.h"
#include "pool.h"
#include "recent_failures.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct session_ctx ctx;
static struct config *cfg;
static char dir[64];
static unsigned runs;

/* Event types the worker reports, and a few it must not. */
static const char *const types[] = {
    "client.version",  "client.kex",          "session.pty",   "session.env",
    "forward.request", "forward.data",        "file.transfer", "file.operation",
    "command.input",   "recording.truncated", "login.success", "session.closed",
};

/* Field sets that pass the policy, so that scripts get past it. */
static const char *const fields[] = {
    "{\"version\":\"SSH-2.0-x\"}",
    "{\"channel\":1,\"term\":\"xterm\",\"width\":80,\"height\":24}",
    "{\"channel\":1,\"name\":\"LANG\",\"value\":\"C\"}",
    ("{\"channel\":1,\"protocol\":\"sftp\",\"direction\":\"upload\",\"path\":\"/tmp/x\","
     "\"bytes\":3,\"pflags\":26,\"status\":0}"),
    "{\"channel\":0,\"tty\":true,\"source\":\"interactive\",\"command\":\"ls\"}",
    "{\"kind\":\"x11\"}",
};

static void setup(void)
{
	char yaml[1024], *errors = NULL;
	const char *err;

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/hermes-fuzz-session-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(yaml, sizeof(yaml),
	         "server:\n  max_auth_tries: 4\n  max_concurrent_sessions: 2\n"
	         "authentication:\n  static_credentials:\n    - username: root\n"
	         "      password: toor\n  accept_all_after_failures: 2\n"
	         "docker:\n  socket_path: %s/no-engine.sock\n"
	         "logging:\n  output_dir: %s\n  max_session_log: 64k\n"
	         "recording:\n  output_dir: %s\n"
	         "forensics:\n  enabled: false\n",
	         dir, dir, dir);
	if (config_parse("fuzz", yaml, strlen(yaml), &cfg, &errors) != 0)
		abort();
	ctx.cfg = cfg;
	auth_policy_init(&ctx.policy, cfg);
	ctx.events = events_open(dir);
	ctx.loop = loop_new();
	ctx.docker = docker_new(ctx.loop, cfg->docker.socket_path, NULL, &err);
	ctx.pool = pool_new(ctx.loop, ctx.docker, cfg, ctx.events);
	ctx.boxes = boxes_new(ctx.loop, ctx.pool, 0, 4);
	ctx.failures = recent_failures_new(8, 16);
	if (!ctx.events || events_set_session_budget(ctx.events, 64 << 10) < 0 || !ctx.loop ||
	    !ctx.docker || !ctx.pool || !ctx.boxes || !ctx.failures)
		abort();
}

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t byte(struct reader *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static struct ipc_str take(struct reader *r, size_t len)
{
	struct ipc_str s = {r->p, len < r->n ? len : r->n};

	r->p += s.n;
	r->n -= s.n;
	return s;
}

static void spin(int times)
{
	for (int i = 0; i < times; i++)
		loop_once(ctx.loop, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = {data, size};
	struct buf store;
	int sv[2];

	if (cfg == NULL)
		setup();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct session *s = session_new(&ctx, sv[0], "192.0.2.1", 4000, "127.0.0.1", 22);
	if (s == NULL)
		abort();
	buf_init(&store);
	for (int n = 0; r.n > 0 && n < 64; n++) {
		struct ipc_msg m = {.type = 1 + byte(&r) % IPC_SESSION_END};
		uint8_t shape = byte(&r);

		if (m.type == IPC_EVENT) {
			const char *t = types[byte(&r) % (sizeof(types) / sizeof(types[0]))];
			m.event.type = (struct ipc_str){(const uint8_t *)t, strlen(t)};
			if (shape & 0x80) {
				const char *f =
				    fields[byte(&r) % (sizeof(fields) / sizeof(fields[0]))];
				m.event.fields = (struct ipc_str){(const uint8_t *)f, strlen(f)};
			} else {
				m.event.fields = take(&r, byte(&r));
			}
		} else if (m.type == IPC_AUTH_PASSWORD && (shape & 0x80)) {
			m.auth_password.user = (struct ipc_str){(const uint8_t *)"root", 4};
			m.auth_password.password = (struct ipc_str){(const uint8_t *)"toor", 4};
		} else {
			/* Any other message: each field from the input, by its kind. */
			int i = 0;
			for (const struct ipc_field *f = ipc_layout(m.type); f->kind != 0;
			     f++, i++) {
				void *at = (char *)&m + f->off;
				if (f->kind == 'u') {
					uint32_t v = (shape & (1u << (i % 5))) ? byte(&r) : 0;
					memcpy(at, &v, sizeof(v));
				} else if (f->kind == 'q') {
					uint64_t v = byte(&r);
					memcpy(at, &v, sizeof(v));
				} else {
					struct ipc_str str = take(&r, byte(&r) % 64);
					memcpy(at, &str, sizeof(str));
				}
			}
		}
		if (ipc_send(sv[1], &m) < 0)
			break;
		spin(shape & 0x40 ? 0 : 2);
		/* The monitor's answers are read and dropped, as a worker would. */
		struct ipc_msg reply;
		while (recv(sv[1], NULL, 0, MSG_PEEK | MSG_DONTWAIT) >= 0 &&
		       ipc_recv(sv[1], &reply, &store) == 1)
			for (size_t i = 0; i < reply.nfds; i++)
				close(reply.fds[i]);
	}
	close(sv[1]);
	session_worker_exited(s, 0);
	spin(4);
	buf_free(&store);
	if (ctx.logged_in != 0)
		__builtin_trap(); /* a login counted for a session that is gone */
	/* Keep the log small: every so often, empty it. */
	if (++runs % 500 == 0) {
		char path[128];
		snprintf(path, sizeof(path), "%s/events.jsonl", dir);
		if (truncate(path, 0) != 0)
			abort();
	}
	return 0;
}
