/*
 * pool: pre-warmed container pool; see pool.h.
 *
 * A container moves CREATING -> STARTING -> READY -> (renamed) handed out.
 * Waiters (sessions asking while none is READY) queue in order; each READY
 * container goes to the oldest waiter. refill() keeps
 * ready + warming >= size + waiters, so a burst of logins creates on demand.
 * A failed creation is retried once (the prototype's rule) and further
 * refills back off, so a Docker outage does not become a busy loop; a
 * session that asks meanwhile gets one creation at once, when none is under
 * way, so that logins work again as soon as the engine does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "box_boot.h"
#include "demux.h"

#include "log.h"
#include "pool.h"
#include "sandbox_spec.h"
#include "util.h"

enum cstate { C_CREATING, C_STARTING, C_READY, C_RENAMING };

struct pcont {
	struct pcont *next;
	struct pool *pool;
	enum cstate state;
	char id[65];
	char name[80];
	uint64_t call;
	int attempts;
	struct waiter *for_waiter; /* while C_RENAMING */
	char new_name[64];         /* while C_RENAMING: the name asked for */
	bool doomed;               /* shutdown: remove once it exists */
	bool networked;            /* pool_net_attach_cb said yes */
	char exec_id[65];          /* the prepare command's exec */
	size_t prepared;           /* prepare commands done */
	uint64_t timer;            /* its next look */
	int64_t prepare_deadline;
	int64_t boot_ms; /* its boot time (box_boot.h), 0: the host's */
};

struct waiter {
	struct waiter *next;
	struct pool *pool;
	uint64_t handle;
	char session_id[SESSION_ID_LEN + 1];
	pool_cb cb;
	void *arg;
	uint64_t timer;
	bool had_ready; /* a ready container existed when it asked */
	struct pcont *assigned;
};

struct pool {
	struct loop *loop;
	struct docker *docker;
	const struct config *cfg;
	struct events *ev;
	struct pcont *conts;
	struct waiter *waiters;
	uint64_t next_handle;
	uint64_t refill_timer;
	int64_t backoff_ms;
	size_t calls; /* stop/remove calls in flight */
	bool shutting_down;
	uint64_t cleanup_timer;
	char instance[SANDBOX_INSTANCE_LEN + 1]; /* hermes.instance (sandbox_instance) */
	char runtime[72];                        /* the engine's OCI runtime; "" its default */
	pool_orphan_cb orphan;
	void *orphan_arg;
	pool_net_attach_cb net_attach;
	pool_net_gone_cb net_gone;
	void *net_arg;
	json_t *prepare; /* the commands (argv arrays) every box runs, in order,
	                  * before it is ready */
	bool boot_clock; /* pool_set_boot_clock */
	pool_prestart_cb prestart;
	void *prestart_arg;
	enum sandbox_init init;
	struct pcont *stops;              /* pool_release's records, their stop in flight */
	const char *const *baseline_argv; /* pool_set_baseline's command (borrowed) */
	pool_baseline_cb baseline;
	void *baseline_arg;
};

#define CLEANUP_EVERY_MS (6 * 3600 * 1000)
#define LIST_ANSWER_MAX  ((size_t)16 << 20) /* our containers, listed */

static void refill(struct pool *p);
static void backoff(struct pool *p);
static void create_one(struct pool *p, struct pcont *c);
static void ready(struct pool *p, struct pcont *c);
static void read_baseline(struct pool *p, struct pcont *c);

struct pool *pool_new(struct loop *l, struct docker *d, const struct config *cfg, struct events *ev)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->loop = l;
	p->docker = d;
	p->cfg = cfg;
	p->ev = ev;
	p->next_handle = 1;
	sandbox_instance(cfg, p->instance);
	return p;
}

static void unlink_cont(struct pool *p, struct pcont *c)
{
	for (struct pcont **pp = &p->conts; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void unlink_waiter(struct pool *p, struct waiter *w)
{
	for (struct waiter **pp = &p->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

void pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	while (p->conts != NULL) {
		struct pcont *c = p->conts;
		p->conts = c->next;
		docker_cancel(p->docker, c->call);
		loop_del_timer(p->loop, c->timer);
		free(c);
	}
	while (p->waiters != NULL) {
		struct waiter *w = p->waiters;
		p->waiters = w->next;
		loop_del_timer(p->loop, w->timer);
		free(w);
	}
	loop_del_timer(p->loop, p->refill_timer);
	loop_del_timer(p->loop, p->cleanup_timer);
	json_decref(p->prepare);
	/* Stops still in flight (a shutdown that gave up): the engine's client
	 * cancels their calls without a callback. */
	while (p->stops != NULL) {
		struct pcont *c = p->stops;
		p->stops = c->next;
		free(c);
	}
	free(p);
}

unsigned pool_ready(const struct pool *p)
{
	unsigned n = 0;
	for (const struct pcont *c = p->conts; c != NULL; c = c->next)
		n += c->state == C_READY;
	return n;
}

unsigned pool_warming(const struct pool *p)
{
	unsigned n = 0;
	for (const struct pcont *c = p->conts; c != NULL; c = c->next)
		n += c->state == C_CREATING || c->state == C_STARTING;
	return n;
}

static unsigned count_waiters(const struct pool *p)
{
	unsigned n = 0;
	for (const struct waiter *w = p->waiters; w != NULL; w = w->next)
		n += w->assigned == NULL;
	return n;
}

static void container_event(struct pool *p, const char *type, const struct pcont *c,
                            const char *session, int pooled)
{
	json_t *e = event_new(type, session, NULL, 0);

	json_object_set_new(e, "container_id", json_string(c->id));
	if (c->name[0] != '\0')
		json_object_set_new(e, "container_name", json_string(c->name));
	if (pooled >= 0)
		json_object_set_new(e, "pooled", json_boolean(pooled));
	events_emit(p->ev, e);
}

static void error_event(struct pool *p, const char *op, const char *id, const char *err)
{
	json_t *e = event_new("container.error", NULL, NULL, 0);

	json_object_set_new(e, "operation", json_string(op));
	json_object_set_new(e, "error", json_string(err));
	if (id != NULL && id[0] != '\0')
		json_object_set_new(e, "container_id", json_string(id));
	events_emit(p->ev, e);
}

/* Fire-and-forget calls: stop and remove. */
static void on_simple_done(void *arg, const struct docker_reply *r)
{
	struct pool *p = arg;

	p->calls--;
	(void)r;
}

static void on_stop_done(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg; /* a detached record (p->stops), freed here */
	struct pool *p = c->pool;

	for (struct pcont **pp = &p->stops; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	p->calls--;
	/* 304: already stopped (the session's own exit may have ended it). */
	if (r->error != NULL && r->status != 304) {
		warn("stopping %s: %s", c->name, r->error);
		error_event(p, "stop", c->id, r->error);
	} else
		container_event(p, "container.stopped", c, NULL, -1);
	free(c);
}

static void remove_container(struct pool *p, const char *id, const char *reason)
{
	char path[160];

	if (p->net_gone != NULL)
		p->net_gone(p->net_arg, id);
	snprintf(path, sizeof(path), "/containers/%s?force=true", id);
	p->calls++;
	if (docker_request(p->docker, "DELETE", path, NULL, 30000, on_simple_done, p) == 0)
		p->calls--;
	json_t *e = event_new("container.removed", NULL, NULL, 0);
	json_object_set_new(e, "container_id", json_string(id));
	json_object_set_new(e, "reason", json_string(reason));
	events_emit(p->ev, e);
}

static void give(struct pool *p, struct waiter *w, struct pcont *c, const char *error)
{
	struct pool_container out;

	unlink_waiter(p, w);
	loop_del_timer(p->loop, w->timer);
	if (c != NULL) {
		memset(&out, 0, sizeof(out));
		snprintf(out.id, sizeof(out.id), "%s", c->id);
		snprintf(out.name, sizeof(out.name), "%s", c->name);
		out.pooled = w->had_ready;
		unlink_cont(p, c);
		free(c);
	}
	pool_cb cb = w->cb;
	void *arg = w->arg;
	free(w);
	cb(arg, c != NULL ? &out : NULL, error);
}

static void on_renamed(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;
	struct waiter *w = c->for_waiter;

	c->call = 0;
	if (r->error != NULL) {
		/* Not fatal: the session still gets the container, under the
		 * pool name; the events say which session has it. */
		warn("renaming %s: %s", c->id, r->error);
		error_event(p, "rename", c->id, r->error);
	} else {
		/* The name asked for, not one made again: the clock may have
		 * passed a second since. */
		snprintf(c->name, sizeof(c->name), "%s", c->new_name);
	}
	give(p, w, c, NULL);
}

/* Hands ready containers to waiters, oldest first. */
static void match(struct pool *p)
{
	for (;;) {
		struct waiter *w = NULL;
		struct pcont *c = NULL;
		for (struct waiter *x = p->waiters; x != NULL; x = x->next)
			if (x->assigned == NULL) {
				w = x;
				break;
			}
		for (struct pcont *x = p->conts; x != NULL; x = x->next)
			if (x->state == C_READY) {
				c = x;
				break;
			}
		if (w == NULL || c == NULL)
			return;
		char path[200];
		sandbox_container_name(w->session_id, time(NULL), c->new_name);
		snprintf(path, sizeof(path), "/containers/%s/rename?name=%s", c->id, c->new_name);
		c->state = C_RENAMING;
		c->for_waiter = w;
		w->assigned = c;
		c->call = docker_request(p->docker, "POST", path, NULL, 10000, on_renamed, c);
		if (c->call == 0)
			give(p, w, c, NULL);
	}
}

static void ready(struct pool *p, struct pcont *c);
static void prepare(struct pool *p, struct pcont *c);

/* Whether a container's step may go on; if not it is dealt with. */
static bool still_wanted(struct pool *p, struct pcont *c)
{
	if (!c->doomed)
		return true;
	remove_container(p, c->id, "unused");
	unlink_cont(p, c);
	free(c);
	return false;
}

/* A box that failed a step (op, doing: "start", "starting"): removed, and
 * the pool backs off. */
static void failed(struct pool *p, struct pcont *c, const char *op, const char *doing,
                   const char *err)
{
	warn("%s %s: %s", doing, c->name, err);
	error_event(p, op, c->id, err);
	remove_container(p, c->id, "unused");
	unlink_cont(p, c);
	free(c);
	backoff(p);
	refill(p);
}

/* The running box's init, for its network. */
static void on_inspected(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;
	const char *why = r->error;
	char err[256];
	int pid;

	c->call = 0;
	if (!still_wanted(p, c))
		return;
	if (why == NULL && docker_json_running_pid(r->json, &pid, &why) < 0 && why == NULL)
		why = "not running";
	if (why != NULL) {
		failed(p, c, "inspect", "inspecting", why);
		return;
	}
	if (p->net_attach(p->net_arg, c->id, pid, err, sizeof(err)) < 0) {
		failed(p, c, "network", "wiring the network of", err);
		return;
	}
	c->networked = true;
	if (p->prepare != NULL) {
		prepare(p, c);
		return;
	}
	read_baseline(p, c);
}

/* ---- the commands every box runs before it is ready (pool_add_prepare) ---- */

#define PREPARE_POLL_MS 200

static void on_prepare_polled(void *arg, const struct docker_reply *r);

static void prepare_poll(struct loop *l, void *arg)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;
	char path[160];

	c->timer = 0;
	snprintf(path, sizeof(path), "/exec/%s/json", c->exec_id);
	c->call = docker_request(p->docker, "GET", path, NULL, 10000, on_prepare_polled, c);
}

static void on_prepare_polled(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;
	json_t *running = json_object_get(r->json, "Running");
	json_t *code = json_object_get(r->json, "ExitCode");

	c->call = 0;
	if (!still_wanted(p, c))
		return;
	if (r->error != NULL || !json_is_boolean(running)) {
		failed(p, c, "prepare", "preparing",
		       r->error ? r->error : "exec inspect: no Running");
		return;
	}
	if (json_is_true(running)) {
		if (util_mono_ms() > c->prepare_deadline) {
			failed(p, c, "prepare", "preparing", "the command did not end in time");
			return;
		}
		c->timer = loop_add_timer(p->loop, PREPARE_POLL_MS, prepare_poll, c);
		return;
	}
	if (!json_is_integer(code) || json_integer_value(code) != 0) {
		char why[64];
		snprintf(why, sizeof(why), "the command exited with %lld",
		         json_is_integer(code) ? (long long)json_integer_value(code) : -1LL);
		failed(p, c, "prepare", "preparing", why);
		return;
	}
	c->prepared++;
	if (c->prepared < json_array_size(p->prepare)) {
		prepare(p, c);
		return;
	}
	read_baseline(p, c);
}

/* The tmpfs tar's output: Docker's multiplexed stream, stdout kept. */
static void keep_stdout(void *arg, int stream, const uint8_t *data, size_t len)
{
	if (stream == 1)
		buf_put(arg, data, len);
}

static void on_baseline_output(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;
	struct demux d;
	struct buf tar;

	c->call = 0;
	if (!still_wanted(p, c))
		return;
	buf_init(&tar);
	demux_init(&d);
	if (r->error != NULL || r->body == NULL ||
	    demux_feed(&d, r->body, r->body_len, keep_stdout, &tar) < 0 || tar.len == 0)
		warn("container %s: cannot read what its boot left (%s): its collection will count "
		     "that as the session's",
		     c->name, r->error ? r->error : "no archive");
	else
		p->baseline(p->baseline_arg, c->id, tar.data, tar.len);
	buf_free(&tar);
	ready(p, c);
}

static void on_baseline_exec(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;
	const char *id = NULL;
	char path[160];

	c->call = 0;
	if (!still_wanted(p, c))
		return;
	if (r->error != NULL || docker_json_id(r->json, &id, NULL) < 0) {
		warn("container %s: cannot read what its boot left (%s)", c->name,
		     r->error ? r->error : "exec create: no valid id");
		ready(p, c);
		return;
	}
	/* Not hijacked: the engine sends the stream as the answer's body,
	 * which ends when the command does. */
	snprintf(path, sizeof(path), "/exec/%s/start", id);
	json_t *body = json_pack("{s:b, s:b}", "Detach", 0, "Tty", 0);
	c->call = docker_request_max(p->docker, "POST", path, body, POOL_BASELINE_MAX, 30000,
	                             on_baseline_output, c);
	json_decref(body);
	if (c->call == 0)
		ready(p, c);
}

/* The box's state at ready (pool_set_baseline), then ready. */
static void read_baseline(struct pool *p, struct pcont *c)
{
	char path[160];

	if (p->baseline == NULL || p->baseline_argv == NULL) {
		ready(p, c);
		return;
	}
	json_t *body = sandbox_tool_exec_spec(p->baseline_argv);
	snprintf(path, sizeof(path), "/containers/%s/exec", c->id);
	c->call =
	    body ? docker_request(p->docker, "POST", path, body, 10000, on_baseline_exec, c) : 0;
	json_decref(body);
	if (c->call == 0)
		ready(p, c);
}

static void on_prepare_started(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;

	c->call = 0;
	if (!still_wanted(p, c))
		return;
	if (r->error != NULL) {
		failed(p, c, "prepare", "preparing", r->error);
		return;
	}
	c->timer = loop_add_timer(p->loop, PREPARE_POLL_MS, prepare_poll, c);
}

static void on_prepare_created(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;
	const char *id = NULL;
	char path[160];

	c->call = 0;
	if (!still_wanted(p, c))
		return;
	if (r->error != NULL || docker_json_id(r->json, &id, NULL) < 0) {
		failed(p, c, "prepare", "preparing",
		       r->error ? r->error : "exec create: no valid id");
		return;
	}
	snprintf(c->exec_id, sizeof(c->exec_id), "%s", id);
	snprintf(path, sizeof(path), "/exec/%s/start", c->exec_id);
	json_t *body = json_pack("{s:b, s:b}", "Detach", 1, "Tty", 0);
	c->call = docker_request(p->docker, "POST", path, body, 10000, on_prepare_started, c);
	json_decref(body);
}

/* The next command, POOL_PREPARE_ID standing for the box's id. */
static void prepare(struct pool *p, struct pcont *c)
{
	char path[160];
	json_t *argv = json_array(), *arg;
	size_t i;

	json_array_foreach(json_array_get(p->prepare, c->prepared), i, arg)
	{
		const char *s = json_string_value(arg);
		json_array_append_new(argv,
		                      json_string(strcmp(s, POOL_PREPARE_ID) == 0 ? c->id : s));
	}
	json_t *body = json_pack("{s:o, s:b, s:b, s:s}", "Cmd", argv, "AttachStdout", 0,
	                         "AttachStderr", 0, "User", "root");

	if (c->prepared == 0)
		c->prepare_deadline = util_mono_ms() + p->cfg->container_pool.spawn_timeout * 1000;
	snprintf(path, sizeof(path), "/containers/%s/exec", c->id);
	c->call = docker_request(p->docker, "POST", path, body, 10000, on_prepare_created, c);
	json_decref(body);
}

static void on_started(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;

	c->call = 0;
	if (r->error != NULL) {
		failed(p, c, "start", "starting", r->error);
		return;
	}
	if (!still_wanted(p, c))
		return;
	if (p->net_attach != NULL) {
		char path[128];
		snprintf(path, sizeof(path), "/containers/%s/json", c->id);
		c->call =
		    docker_request(p->docker, "GET", path, NULL,
		                   p->cfg->container_pool.spawn_timeout * 1000, on_inspected, c);
		return;
	}
	if (p->prepare != NULL) {
		prepare(p, c);
		return;
	}
	read_baseline(p, c);
}

static void ready(struct pool *p, struct pcont *c)
{
	c->state = C_READY;
	p->backoff_ms = 0;
	container_event(p, "container.created", c, NULL, 1);
	debug("container %s ready (%u ready)", c->name, pool_ready(p));
	match(p);
}

/* A create whose answer was lost or mangled may still have made the
 * container: look it up by its name and, if it is ours, remove it. (One
 * the engine makes after this look finds nothing is left to the next
 * start's reconciliation.) */
struct lost {
	struct pool *pool;
	char name[80]; /* as pcont's */
};

static void on_lost_inspected(void *arg, const struct docker_reply *r)
{
	struct lost *l = arg;
	struct pool *p = l->pool;
	const char *id, *inst;

	p->calls--;
	if (r->error == NULL && docker_json_id(r->json, &id, NULL) == 0 &&
	    docker_json_label(r->json, "hermes.instance", &inst, NULL) == 0 &&
	    strcmp(inst, p->instance) == 0) {
		warn("container %s was made though its create failed: removing it", l->name);
		remove_container(p, id, "unused");
	}
	free(l);
}

static void forget_lost(struct pool *p, const char *name)
{
	struct lost *l = calloc(1, sizeof(*l));
	char path[128];

	if (l == NULL)
		return;
	l->pool = p;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(path, sizeof(path), "/containers/%s/json", name);
	p->calls++;
	if (docker_request(p->docker, "GET", path, NULL, 30000, on_lost_inspected, l) == 0) {
		p->calls--;
		free(l);
	}
}

static void start_box(struct pool *p, struct pcont *c)
{
	char path[128];

	snprintf(path, sizeof(path), "/containers/%s/start", c->id);
	c->state = C_STARTING;
	c->call = docker_request(p->docker, "POST", path, NULL,
	                         p->cfg->container_pool.spawn_timeout * 1000, on_started, c);
}

static void on_files_put(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;

	c->call = 0;
	if (r->error != NULL) {
		failed(p, c, "archive", "putting the boot files into", r->error);
		return;
	}
	if (c->doomed) {
		remove_container(p, c->id, "unused");
		unlink_cont(p, c);
		free(c);
		return;
	}
	start_box(p, c);
}

/* The prestart files, unpacked into the box's root while it is created and
 * not yet started. */
static void put_files(struct pool *p, struct pcont *c)
{
	struct buf tar;
	char path[128];

	buf_init(&tar);
	if (p->prestart(p->prestart_arg, c->id, c->boot_ms, &tar) < 0) {
		buf_free(&tar);
		failed(p, c, "archive", "making the boot files of", "out of memory");
		return;
	}
	if (tar.len == 0) {
		buf_free(&tar);
		start_box(p, c);
		return;
	}
	snprintf(path, sizeof(path), "/containers/%s/archive?path=/", c->id);
	c->state = C_STARTING;
	c->call =
	    docker_request_data(p->docker, "PUT", path, "application/x-tar", tar.data, tar.len,
	                        p->cfg->container_pool.spawn_timeout * 1000, on_files_put, c);
	buf_free(&tar); /* wiped: it holds the host keys */
	if (c->call == 0)
		failed(p, c, "archive", "putting the boot files into", "out of memory");
}

static void on_created(void *arg, const struct docker_reply *r)
{
	struct pcont *c = arg;
	struct pool *p = c->pool;
	const char *id = NULL;

	c->call = 0;
	if (r->error != NULL || docker_json_id(r->json, &id, NULL) < 0) {
		const char *err = r->error ? r->error : "create: no valid container id";
		warn("creating a container: %s", err);
		error_event(p, "create", NULL, err);
		if (r->status != 400) /* a refused spec made nothing */
			forget_lost(p, c->name);
		c->name[0] = '\0'; /* the retry under a new name: the old may be taken */
		if (++c->attempts < 2 && !p->shutting_down && !c->doomed) {
			create_one(p, c); /* the one retry */
			return;
		}
		unlink_cont(p, c);
		free(c);
		backoff(p);
		refill(p);
		return;
	}
	snprintf(c->id, sizeof(c->id), "%s", id);
	if (c->doomed) {
		remove_container(p, c->id, "unused");
		unlink_cont(p, c);
		free(c);
		return;
	}
	if (p->prestart != NULL) {
		put_files(p, c);
		return;
	}
	start_box(p, c);
}

static void create_one(struct pool *p, struct pcont *c)
{
	char created[32], path[160], rnd[SESSION_ID_LEN + 1];
	json_t *spec;

	util_rfc3339(util_wall(), created);
	if (c->name[0] == '\0') {
		util_session_id(rnd);
		snprintf(c->name, sizeof(c->name), "hermes-pool-%.12s", rnd);
	}
	spec = sandbox_container_spec(p->cfg, NULL, created, p->instance,
	                              p->runtime[0] != '\0' ? p->runtime : NULL);
	c->boot_ms = 0;
	if (p->boot_clock && spec != NULL) {
		/* A kernel boots a moment before its init starts. */
		uint32_t r = 0;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint32_t)util_mono_us();
		c->boot_ms = (int64_t)(util_wall() * 1000.0) - BOX_BOOT_LEAD_MIN_MS -
		             (int64_t)(r % (BOX_BOOT_LEAD_MAX_MS - BOX_BOOT_LEAD_MIN_MS + 1));
		if (sandbox_spec_boot(spec, c->boot_ms) < 0) {
			json_decref(spec);
			spec = NULL;
		}
	}
	if (spec != NULL && sandbox_spec_init(spec, p->init) < 0) {
		json_decref(spec);
		spec = NULL;
	}
	snprintf(path, sizeof(path), "/containers/create?name=%s", c->name);
	c->state = C_CREATING;
	c->call = docker_request(p->docker, "POST", path, spec,
	                         p->cfg->container_pool.spawn_timeout * 1000, on_created, c);
	json_decref(spec);
}

/* One more container, made now. */
static bool add_one(struct pool *p)
{
	struct pcont *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return false;
	c->pool = p;
	c->next = p->conts;
	p->conts = c;
	create_one(p, c);
	return true;
}

static void fill(struct pool *p)
{
	unsigned want = (unsigned)p->cfg->container_pool.size + count_waiters(p);
	unsigned have = pool_ready(p) + pool_warming(p);

	while (have < want && add_one(p))
		have++;
}

static void on_refill_timer(struct loop *l, void *arg)
{
	struct pool *p = arg;

	p->refill_timer = 0;
	if (!p->shutting_down)
		fill(p);
}

/* After a failure (backoff_ms > 0) creations wait, doubling up to a minute,
 * until one succeeds again. */
static void refill(struct pool *p)
{
	if (p->shutting_down || p->refill_timer != 0)
		return;
	if (p->backoff_ms > 0)
		p->refill_timer = loop_add_timer(p->loop, p->backoff_ms, on_refill_timer, p);
	else
		fill(p);
}

static void backoff(struct pool *p)
{
	p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : 2000;
	if (p->backoff_ms > 60000)
		p->backoff_ms = 60000;
}

/* ---- removal of old evidence (container_pool.cleanup_stopped_after_days) ---- */

struct aged {
	struct pool *pool;
	char id[65];
};

static void on_aged_inspected(void *arg, const struct docker_reply *r)
{
	struct aged *a = arg;
	struct pool *p = a->pool;
	const char *finished = NULL;
	time_t t;

	p->calls--;
	if (r->error == NULL && docker_json_stopped_at(r->json, &t, &finished, NULL) == 0) {
		int days = p->cfg->container_pool.cleanup_stopped_after_days;
		if (t > 0 && time(NULL) - t > (time_t)days * 86400) {
			info("removing container %.12s, stopped since %s (older than %d days)",
			     a->id, finished, days);
			remove_container(p, a->id, "expired");
		}
	}
	free(a);
}

static void on_stopped_listed(void *arg, const struct docker_reply *r)
{
	struct pool *p = arg;
	size_t i, n = 0;

	p->calls--;
	if (r->error != NULL) {
		warn("listing stopped containers: %s", r->error);
		return;
	}
	docker_json_list(r->json, &n, NULL); /* not a list: nothing to look at */
	for (i = 0; i < n; i++) {
		const char *id;
		struct aged *a;
		char path[128];

		if (p->shutting_down || docker_json_listed_id(r->json, i, &id, NULL) < 0 ||
		    (a = calloc(1, sizeof(*a))) == NULL)
			continue;
		a->pool = p;
		snprintf(a->id, sizeof(a->id), "%s", id);
		snprintf(path, sizeof(path), "/containers/%s/json", id);
		p->calls++;
		if (docker_request(p->docker, "GET", path, NULL, 30000, on_aged_inspected, a) ==
		    0) {
			p->calls--;
			free(a);
		}
	}
}

static void on_cleanup_timer(struct loop *l, void *arg)
{
	struct pool *p = arg;

	p->cleanup_timer = 0;
	if (p->shutting_down)
		return;
	/* filters={"label":["hermes.role=target"],"status":["exited"]} */
	p->calls++;
	if (docker_request(
	        p->docker, "GET",
	        "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22hermes.role%3Dtarget"
	        "%22%5D%2C%22status%22%3A%5B%22exited%22%5D%7D",
	        NULL, 30000, on_stopped_listed, p) == 0)
		p->calls--;
	p->cleanup_timer = loop_add_timer(p->loop, CLEANUP_EVERY_MS, on_cleanup_timer, p);
}

static void on_leftovers(void *arg, const struct docker_reply *r)
{
	struct pool *p = arg;
	size_t i, n = 0, removed = 0, stopped = 0;

	p->calls--;
	if (r->error != NULL) {
		warn("listing what an earlier run left: %s", r->error);
		error_event(p, "reconcile", NULL, r->error);
		return;
	}
	docker_json_list(r->json, &n, NULL); /* not a list: nothing left */
	for (i = 0; i < n; i++) {
		struct docker_listed c;

		if (docker_json_listed(r->json, i, &c, NULL) < 0)
			continue;
		if (strncmp(c.name, "hermes-pool-", 12) == 0) {
			/* Never handed out: nothing to keep. */
			remove_container(p, c.id, "orphaned");
			removed++;
		} else if (strcmp(c.state, "running") == 0 || strcmp(c.state, "paused") == 0 ||
		           strcmp(c.state, "restarting") == 0) {
			/* A session's, cut off by the kill: evidence, stopped
			 * (after its artifacts, when the monitor can find them). */
			if (p->orphan != NULL)
				p->orphan(p->orphan_arg, c.id, c.name);
			else
				pool_release(p, c.id, c.name);
			stopped++;
		}
	}
	if (removed + stopped > 0)
		warn("an earlier run left %zu unused and %zu running session containers", removed,
		     stopped);
	json_t *e = event_new("pool.reconciled", NULL, NULL, 0);
	json_object_set_new(e, "removed", json_integer((json_int_t)removed));
	json_object_set_new(e, "stopped", json_integer((json_int_t)stopped));
	events_emit(p->ev, e);
}

void pool_reconcile(struct pool *p, pool_orphan_cb orphan, void *arg)
{
	char path[256];

	p->orphan = orphan;
	p->orphan_arg = arg;
	/* filters={"label":["hermes.instance=<id>"]} */
	snprintf(
	    path, sizeof(path),
	    "/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22" SANDBOX_INSTANCE_LABEL
	    "%%3D%s%%22%%5D%%7D",
	    p->instance);
	p->calls++;
	if (docker_request_max(p->docker, "GET", path, NULL, LIST_ANSWER_MAX, 30000, on_leftovers,
	                       p) == 0)
		p->calls--;
}

void pool_add_prepare(struct pool *p, const char *const *argv)
{
	json_t *a = json_array();

	if (p->prepare == NULL)
		p->prepare = json_array();
	for (size_t i = 0; argv[i] != NULL; i++)
		json_array_append_new(a, json_string(argv[i]));
	json_array_append_new(p->prepare, a);
}

void pool_set_baseline(struct pool *p, const char *const *argv, pool_baseline_cb cb, void *arg)
{
	p->baseline_argv = argv;
	p->baseline = cb;
	p->baseline_arg = arg;
}

void pool_set_init(struct pool *p, enum sandbox_init init)
{
	p->init = init;
}

void pool_set_prestart(struct pool *p, pool_prestart_cb cb, void *arg)
{
	p->prestart = cb;
	p->prestart_arg = arg;
}

void pool_set_boot_clock(struct pool *p, bool on)
{
	p->boot_clock = on;
}

void pool_set_runtime(struct pool *p, const char *runtime)
{
	snprintf(p->runtime, sizeof(p->runtime), "%s", runtime != NULL ? runtime : "");
}

void pool_set_net(struct pool *p, pool_net_attach_cb attach, pool_net_gone_cb gone, void *arg)
{
	p->net_attach = attach;
	p->net_gone = gone;
	p->net_arg = arg;
}

void pool_start(struct pool *p)
{
	info("warming %d containers from %s", p->cfg->container_pool.size,
	     p->cfg->container_pool.image);
	refill(p);
	if (p->cfg->container_pool.cleanup_stopped_after_days > 0)
		p->cleanup_timer = loop_add_timer(p->loop, 0, on_cleanup_timer, p);
}

static void on_waiter_timeout(struct loop *l, void *arg)
{
	struct waiter *w = arg;

	w->timer = 0;
	if (w->assigned != NULL)
		return; /* a rename is under way; it answers */
	give(w->pool, w, NULL, "no container became ready in time");
}

static void on_deliver_now(struct loop *l, void *arg)
{
	struct waiter *w = arg;
	w->timer = loop_add_timer(l, (int64_t)w->pool->cfg->container_pool.spawn_timeout * 1000,
	                          on_waiter_timeout, w);
	match(w->pool);
}

uint64_t pool_allocate(struct pool *p, const char *session_id, pool_cb cb, void *arg)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return 0;
	w->pool = p;
	w->handle = p->next_handle++;
	snprintf(w->session_id, sizeof(w->session_id), "%s", session_id);
	w->cb = cb;
	w->arg = arg;
	w->had_ready = pool_ready(p) > count_waiters(p);
	/* Append: the oldest waiter is served first. */
	struct waiter **pp = &p->waiters;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = w;
	if (!w->had_ready)
		warn("pool empty: creating a container on demand for session %.8s", session_id);
	if (!w->had_ready && p->refill_timer != 0 && pool_warming(p) == 0)
		/* Backing off after failed creations, but someone waits now:
		 * one try for them at once, as the engine may be well again
		 * (the pool's own refills keep their pace, and a try is
		 * under way for every later waiter until this one ends). */
		(void)add_one(p);
	else
		refill(p);
	/* Matching happens from the loop, so the callback never runs inside
	 * this call. */
	w->timer = loop_add_timer(p->loop, 0, on_deliver_now, w);
	return w->handle;
}

void pool_cancel(struct pool *p, uint64_t handle)
{
	for (struct waiter *w = p->waiters; w != NULL; w = w->next) {
		if (w->handle != handle)
			continue;
		if (w->assigned != NULL) {
			/* Rename in flight: abandon it; the container was
			 * never used, so it goes back to READY for the next. */
			struct pcont *c = w->assigned;
			docker_cancel(p->docker, c->call);
			c->call = 0;
			c->for_waiter = NULL;
			c->state = C_READY;
		}
		unlink_waiter(p, w);
		loop_del_timer(p->loop, w->timer);
		free(w);
		match(p);
		return;
	}
}

void pool_release(struct pool *p, const char *id, const char *name)
{
	struct pcont *rec = calloc(1, sizeof(*rec));
	char path[160];

	if (rec == NULL || !docker_id_valid(id)) {
		free(rec);
		return;
	}
	rec->pool = p;
	if (p->net_gone != NULL)
		p->net_gone(p->net_arg, id);
	snprintf(rec->id, sizeof(rec->id), "%s", id);
	snprintf(rec->name, sizeof(rec->name), "%s", name ? name : "");
	/* t=0: SIGKILL at once. What the box held is collected by now, and a
	 * stopped box is kept as it was at the kill; systemd's orderly
	 * shutdown would only cost a second and half a second of CPU (every
	 * unit stopped, systemd-shutdown) per box. */
	snprintf(path, sizeof(path), "/containers/%s/stop?t=0", id);
	p->calls++;
	if (docker_request(p->docker, "POST", path, NULL, 30000, on_stop_done, rec) == 0) {
		p->calls--;
		free(rec);
		return;
	}
	rec->next = p->stops;
	p->stops = rec;
}

void pool_shutdown(struct pool *p)
{
	p->shutting_down = true;
	loop_del_timer(p->loop, p->refill_timer);
	p->refill_timer = 0;
	loop_del_timer(p->loop, p->cleanup_timer);
	p->cleanup_timer = 0;
	while (p->waiters != NULL)
		give(p, p->waiters, NULL, "shutting down");
	for (struct pcont *c = p->conts, *next; c != NULL; c = next) {
		next = c->next;
		if (c->state == C_READY || c->state == C_RENAMING) {
			docker_cancel(p->docker, c->call);
			remove_container(p, c->id, "unused");
			unlink_cont(p, c);
			free(c);
		} else
			c->doomed = true; /* removed as soon as it exists */
	}
}

bool pool_busy(const struct pool *p)
{
	return p->calls > 0 || p->conts != NULL;
}
