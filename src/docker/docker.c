/*
 * docker: asynchronous Docker Engine API client; see docker.h.
 *
 * One connection per call with "Connection: close": the Docker socket is
 * local, a connect costs microseconds, and it keeps every call independent
 * (no pipelining, no connection state to repair after an error). For the
 * exec hijack the answer head is read one byte at a time, so that nothing
 * of the raw stream that follows it is swallowed here.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "docker.h"
#include "http.h"
#include "log.h"
#include "util.h"

enum dstate { D_CONNECTING, D_SENDING, D_RECEIVING };

struct dcall {
	struct dcall *next;
	struct docker *d;
	uint64_t id;
	int fd;
	enum dstate state;
	bool hijack;
	struct buf out, in;
	struct http_response head;
	bool have_head;
	struct http_body_state bstate; /* how far the body is decoded */
	struct buf decoded;            /* the body, decoded so far */
	uint64_t timer;
	uint64_t fail_timer; /* to report an early failure from the loop */
	char *fail_reason;
	docker_cb cb;
	docker_hijack_cb hcb;
	void *arg;
	char what[192];      /* "POST /containers/create" for messages */
	const uint8_t *body; /* set just before finish() reports a body */
	size_t body_len;
	size_t max_answer; /* 0: only BUF_MAX */
	bool too_large;
	int64_t started_us; /* for the observer */
};

struct docker {
	struct loop *loop;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct dcall *calls;
	uint64_t next_id;
	size_t pending;
	docker_observe_cb observe;
	void *observe_arg;
};

static int parse_address(struct docker *d, const char *socket_path, const char *base_url,
                         const char **err)
{
	const char *path = socket_path;

	if (base_url != NULL && strncmp(base_url, "tcp://", 6) == 0) {
		char host[256];
		const char *hp = base_url + 6;
		const char *colon = strrchr(hp, ':');
		struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
		struct addrinfo *res = NULL;

		if (colon == NULL || (size_t)(colon - hp) >= sizeof(host) || colon == hp) {
			*err = "docker.base_url: expected tcp://HOST:PORT";
			return -EINVAL;
		}
		memcpy(host, hp, (size_t)(colon - hp));
		host[colon - hp] = '\0';
		/* Resolved once, at start-up, so no lookup ever blocks the loop. */
		if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL) {
			*err = "docker.base_url: cannot resolve the host";
			return -EINVAL;
		}
		memcpy(&d->addr, res->ai_addr, res->ai_addrlen);
		d->addrlen = res->ai_addrlen;
		freeaddrinfo(res);
		return 0;
	}
	if (base_url != NULL && strncmp(base_url, "unix://", 7) == 0)
		path = base_url + 7;
	else if (base_url != NULL) {
		*err = "docker.base_url: must start with unix:// or tcp://";
		return -EINVAL;
	}
	struct sockaddr_un *un = (struct sockaddr_un *)&d->addr;
	if (path == NULL || strlen(path) >= sizeof(un->sun_path) || path[0] == '\0') {
		*err = "docker socket path is empty or too long";
		return -EINVAL;
	}
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, path);
	d->addrlen = (socklen_t)sizeof(*un);
	return 0;
}

struct docker *docker_new(struct loop *l, const char *socket_path, const char *base_url,
                          const char **err)
{
	struct docker *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		*err = "out of memory";
		return NULL;
	}
	d->loop = l;
	d->next_id = 1;
	if (parse_address(d, socket_path, base_url, err) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

static void call_free(struct dcall *c)
{
	struct docker *d = c->d;

	for (struct dcall **pp = &d->calls; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			d->pending--;
			break;
		}
	if (c->fd >= 0) {
		loop_del_fd(d->loop, c->fd);
		close(c->fd);
	}
	loop_del_timer(d->loop, c->timer);
	loop_del_timer(d->loop, c->fail_timer);
	buf_free(&c->out);
	buf_free(&c->in);
	buf_free(&c->decoded);
	free(c->fail_reason);
	free(c);
}

void docker_free(struct docker *d)
{
	if (d == NULL)
		return;
	while (d->calls != NULL)
		call_free(d->calls);
	free(d);
}

size_t docker_pending(const struct docker *d)
{
	return d->pending;
}

void docker_cancel(struct docker *d, uint64_t id)
{
	for (struct dcall *c = d->calls; c != NULL; c = c->next)
		if (c->id == id) {
			call_free(c);
			return;
		}
}

void docker_set_observer(struct docker *d, docker_observe_cb cb, void *arg)
{
	d->observe = cb;
	d->observe_arg = arg;
}

/* Reports the end of a call and frees it. For a hijack, fd is handed over. */
static void finish(struct dcall *c, int status, const char *error, json_t *json)
{
	if (c->d->observe != NULL)
		c->d->observe(c->d->observe_arg, c->what, error != NULL,
		              util_mono_us() - c->started_us);
	if (c->hijack) {
		docker_hijack_cb cb = c->hcb;
		void *arg = c->arg;
		int fd = -1;
		char msg[400];

		if (error == NULL) {
			fd = c->fd;
			loop_del_fd(c->d->loop, fd);
			c->fd = -1;
		} else {
			snprintf(msg, sizeof(msg), "%s: %s", c->what, error);
			error = msg;
		}
		call_free(c);
		cb(arg, fd, error);
		return;
	}
	struct docker_reply r = {.status = status,
	                         .error = error,
	                         .json = json,
	                         .body = c->body,
	                         .body_len = c->body_len,
	                         .too_large = c->too_large};
	char msg[512];
	docker_cb cb = c->cb;
	void *arg = c->arg;

	if (error != NULL) {
		snprintf(msg, sizeof(msg), "%s: %s", c->what, error);
		r.error = msg;
	}
	if (c->fd >= 0) {
		loop_del_fd(c->d->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	/* Free before the callback: it may start new calls or free d. */
	call_free(c);
	if (cb != NULL)
		cb(arg, &r);
}

static void on_timeout(struct loop *l, void *arg)
{
	struct dcall *c = arg;

	c->timer = 0;
	finish(c, 0, "timed out", NULL);
}

static void on_early_failure(struct loop *l, void *arg)
{
	struct dcall *c = arg;
	char reason[200];

	c->fail_timer = 0;
	snprintf(reason, sizeof(reason), "%s", c->fail_reason ? c->fail_reason : "failed");
	finish(c, 0, reason, NULL);
}

/* Fails a call from inside the loop later, so callbacks never run inside
 * docker_request() itself. */
static void fail_later(struct dcall *c, const char *why, int err)
{
	char tmp[200];

	if (err != 0)
		snprintf(tmp, sizeof(tmp), "%s: %s", why, strerror(err));
	else
		snprintf(tmp, sizeof(tmp), "%s", why);
	free(c->fail_reason);
	c->fail_reason = strdup(tmp);
	if (c->fd >= 0) {
		loop_del_fd(c->d->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	loop_del_timer(c->d->loop, c->timer);
	c->timer = 0;
	if (c->fail_timer == 0)
		c->fail_timer = loop_add_timer(c->d->loop, 0, on_early_failure, c);
}

/* Returns true when the call is finished (and freed), false to read on.
 * What came before was decoded by earlier calls: a chunked body that
 * arrives in many reads is read once. */
static bool complete_body(struct dcall *c, bool eof)
{
	struct buf body;
	const uint8_t *p = c->in.data + c->head.head_len;
	size_t n = c->in.len - c->head.head_len;
	int r;

	r = http_body_feed(&c->head, &c->bstate, p, n, eof, &c->decoded);
	if (r == 0 && !eof)
		return false;
	if (r <= 0) {
		finish(c, c->head.status,
		       r == 0 ? "connection closed mid-answer" : "malformed HTTP body", NULL);
		return true;
	}
	/* Ours now: finish() frees the call before the callback reads it. */
	body = c->decoded;
	buf_init(&c->decoded);
	json_t *json = NULL;
	if (body.len > 0)
		json = json_loadb((const char *)body.data, body.len, 0, NULL);
	const char *error = NULL;
	char msg[300];
	if (c->head.status < 200 || c->head.status > 299) {
		const char *m = NULL;
		docker_json_message(json, &m, NULL);
		snprintf(msg, sizeof(msg), "HTTP %d%s%s", c->head.status, m ? ": " : "",
		         m ? m : "");
		error = msg;
	}
	c->body = body.data;
	c->body_len = body.len;
	finish(c, c->head.status, error, json);
	json_decref(json);
	buf_free(&body);
	return true;
}

static void on_readable(struct dcall *c)
{
	uint8_t tmp[16384];

	for (;;) {
		/* While hijacking, read the head byte by byte: what follows it is
		 * the container's stream and belongs to the worker. */
		size_t want = (c->hijack && !c->have_head) ? 1 : sizeof(tmp);
		ssize_t n = read(c->fd, tmp, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			finish(c, 0, strerror(errno), NULL);
			return;
		}
		if (n == 0) {
			if (!c->have_head) {
				finish(c, 0, "connection closed before an answer", NULL);
				return;
			}
			(void)complete_body(c, true);
			return;
		}
		if (buf_put(&c->in, tmp, (size_t)n) < 0 ||
		    (c->max_answer > 0 && c->in.len > c->max_answer + HTTP_HEAD_MAX)) {
			c->too_large = true;
			finish(c, 0, "answer too large", NULL);
			return;
		}
		if (!c->have_head) {
			int r = http_parse_head(c->in.data, c->in.len, &c->head);
			if (r < 0) {
				finish(c, 0, "malformed HTTP answer", NULL);
				return;
			}
			if (r == 0)
				continue;
			c->have_head = true;
			if (c->hijack) {
				if (c->head.status == 101 || c->head.status == 200)
					finish(c, c->head.status, NULL, NULL);
				else {
					char msg[64];
					snprintf(msg, sizeof(msg), "HTTP %d instead of an upgrade",
					         c->head.status);
					finish(c, c->head.status, msg, NULL);
				}
				return;
			}
		}
		/* A body whose end is known (Content-Length reached, last chunk
		 * seen) finishes without waiting for the close; otherwise it ends
		 * at EOF. */
		if (c->head.chunked ||
		    (c->head.content_length >= 0 &&
		     c->in.len - c->head.head_len >= (size_t)c->head.content_length)) {
			if (complete_body(c, false))
				return;
		}
	}
}

static void on_io(struct loop *l, int fd, int events, void *arg)
{
	struct dcall *c = arg;

	if (c->state == D_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			finish(c, 0, strerror(err), NULL);
			return;
		}
		c->state = D_SENDING;
	}
	if (c->state == D_SENDING) {
		while (buf_avail(&c->out) > 0) {
			ssize_t n = send(fd, buf_peek(&c->out), buf_avail(&c->out), MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (n < 0) {
				finish(c, 0, strerror(errno), NULL);
				return;
			}
			buf_skip(&c->out, (size_t)n);
		}
		c->state = D_RECEIVING;
		loop_set_events(l, fd, LOOP_READ);
		return;
	}
	if (events & LOOP_READ)
		on_readable(c);
}

/* A body of its own: what Content-Type says it is, and its bytes. */
struct raw_body {
	const char *type;
	const void *data;
	size_t len;
};

static struct dcall *start_call(struct docker *d, const char *method, const char *path,
                                json_t *body, const struct raw_body *raw, int timeout_ms,
                                bool hijack)
{
	struct dcall *c = calloc(1, sizeof(*c));
	char *text = NULL;
	size_t text_len = 0;

	if (c == NULL)
		return NULL;
	c->d = d;
	c->id = d->next_id++;
	c->fd = -1;
	c->hijack = hijack;
	buf_init(&c->out);
	buf_init(&c->in);
	buf_init(&c->decoded);
	snprintf(c->what, sizeof(c->what), "%s %.160s", method, path);
	c->started_us = util_mono_us();
	c->next = d->calls;
	d->calls = c;
	d->pending++;

	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL) {
			fail_later(c, "cannot encode the request body", 0);
			return c;
		}
		text_len = strlen(text);
	}
	int r = buf_putf(&c->out,
	                 "%s " DOCKER_API
	                 "%s HTTP/1.1\r\nHost: docker\r\nUser-Agent: hermes/" HERMES_VERSION "\r\n",
	                 method, path);
	if (hijack)
		r |= buf_putf(&c->out, "Connection: Upgrade\r\nUpgrade: tcp\r\n");
	else
		r |= buf_putf(&c->out, "Connection: close\r\n");
	if (text != NULL)
		r |= buf_putf(&c->out,
		              "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		              text_len);
	else if (raw != NULL)
		r |= buf_putf(&c->out, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", raw->type,
		              raw->len);
	else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
		r |= buf_putf(&c->out, "Content-Length: 0\r\n\r\n");
	else
		r |= buf_putf(&c->out, "\r\n");
	if (text != NULL)
		r |= buf_put(&c->out, text, text_len);
	else if (raw != NULL)
		r |= buf_put(&c->out, raw->data, raw->len);
	free(text);
	if (r != 0) {
		fail_later(c, "out of memory", 0);
		return c;
	}

	c->fd = socket(d->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fail_later(c, "socket", errno);
		return c;
	}
	c->state = D_SENDING;
	if (connect(c->fd, (struct sockaddr *)&d->addr, d->addrlen) < 0) {
		if (errno == EINPROGRESS || errno == EAGAIN)
			c->state = D_CONNECTING;
		else {
			fail_later(c, "cannot connect to the Docker engine", errno);
			return c;
		}
	}
	if (loop_add_fd(d->loop, c->fd, LOOP_WRITE, on_io, c) < 0) {
		fail_later(c, "out of memory", 0);
		return c;
	}
	if (timeout_ms > 0)
		c->timer = loop_add_timer(d->loop, timeout_ms, on_timeout, c);
	return c;
}

uint64_t docker_request(struct docker *d, const char *method, const char *path, json_t *body,
                        int timeout_ms, docker_cb cb, void *arg)
{
	return docker_request_max(d, method, path, body, DOCKER_ANSWER_MAX, timeout_ms, cb, arg);
}

uint64_t docker_request_max(struct docker *d, const char *method, const char *path, json_t *body,
                            size_t max_answer, int timeout_ms, docker_cb cb, void *arg)
{
	struct dcall *c = start_call(d, method, path, body, NULL, timeout_ms, false);

	if (c == NULL)
		return 0;
	c->cb = cb;
	c->arg = arg;
	c->max_answer = max_answer;
	return c->id;
}

uint64_t docker_request_data(struct docker *d, const char *method, const char *path,
                             const char *content_type, const void *data, size_t len, int timeout_ms,
                             docker_cb cb, void *arg)
{
	struct raw_body raw = {content_type, data, len};
	struct dcall *c = start_call(d, method, path, NULL, &raw, timeout_ms, false);

	if (c == NULL)
		return 0;
	c->cb = cb;
	c->arg = arg;
	c->max_answer = DOCKER_ANSWER_MAX;
	return c->id;
}

uint64_t docker_exec_start(struct docker *d, const char *exec_id, bool tty, int timeout_ms,
                           docker_hijack_cb cb, void *arg)
{
	char path[128];
	json_t *body = json_pack("{s:b, s:b}", "Detach", 0, "Tty", tty ? 1 : 0);
	struct dcall *c;

	snprintf(path, sizeof(path), "/exec/%s/start", exec_id);
	c = start_call(d, "POST", path, body, NULL, timeout_ms, true);
	json_decref(body);
	if (c == NULL)
		return 0;
	c->hcb = cb;
	c->arg = arg;
	if (!docker_id_valid(exec_id))
		fail_later(c, "invalid exec id", 0);
	return c->id;
}

struct waited {
	struct docker_answer *a;
	bool done;
};

static void on_waited(void *arg, const struct docker_reply *r)
{
	struct waited *w = arg;
	struct docker_answer *a = w->a;

	w->done = true;
	a->status = r->status;
	snprintf(a->error, sizeof(a->error), "%s", r->error ? r->error : "");
	a->json = json_incref(r->json);
	if (r->body != NULL && r->body_len > 0 && (a->body = malloc(r->body_len)) != NULL) {
		memcpy(a->body, r->body, r->body_len);
		a->body_len = r->body_len;
	}
}

int docker_call_wait(struct docker *d, const char *method, const char *path, json_t *body,
                     size_t max_answer, int timeout_ms, struct docker_answer *a)
{
	struct waited w = {.a = a};

	memset(a, 0, sizeof(*a));
	if (docker_request_max(d, method, path, body, max_answer, timeout_ms, on_waited, &w) == 0)
		return -ENOMEM;
	while (!w.done)
		loop_once(d->loop, 1000);
	return 0;
}

void docker_answer_clear(struct docker_answer *a)
{
	json_decref(a->json);
	free(a->body);
	memset(a, 0, sizeof(*a));
}
