/*
 * agent_dial: connects the monitor to a box's session agent; see
 * agent_dial.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_dial.h"
#include "log.h"

#define DIAL_RETRY_MS  50
#define DIAL_TRIES     100 /* 5 s: a box that has just started is still starting its agent */
#define DIAL_MAX_HELLO 8192

static int own_netns = -1;
static struct stat own_netns_st;

struct dial {
	struct dial *next;
	uint64_t handle;
	struct loop *loop;
	struct docker *docker;
	char container_id[65];
	int port;
	int pid;
	uint8_t hello[DIAL_MAX_HELLO];
	size_t hello_len;
	agent_dial_cb cb;
	void *arg;
	uint64_t call, timer;
	int fd;
	int tries;
};

static struct dial *dials;
static uint64_t next_handle = 1;

int agent_dial_init(void)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/* Entering a namespace needs CAP_SYS_ADMIN: try it on our own one,
	 * which changes nothing, so that a monitor without it knows now. */
	if (setns(fd, CLONE_NEWNET) < 0 || fstat(fd, &own_netns_st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	own_netns = fd;
	return 0;
}

bool agent_dial_usable(void)
{
	return own_netns >= 0;
}

int agent_dial_socket(int pid, int port)
{
	char path[64];
	struct stat st;
	int ns, fd, e;

	if (own_netns < 0)
		return -EPERM;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return -errno;
	/* A box always has a namespace of its own; ours would mean a pid that
	 * is not the box's, and a port that may be the host's. */
	if (fstat(ns, &st) < 0 ||
	    (st.st_dev == own_netns_st.st_dev && st.st_ino == own_netns_st.st_ino)) {
		close(ns);
		return -EXDEV;
	}
	if (setns(ns, CLONE_NEWNET) < 0) {
		e = errno;
		close(ns);
		return -e;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	e = errno;
	close(ns);
	if (setns(own_netns, CLONE_NEWNET) < 0)
		fatal("cannot return to the monitor's network namespace: %s", strerror(errno));
	if (fd < 0)
		return -e;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void unlink_dial(struct dial *d)
{
	for (struct dial **p = &dials; *p != NULL; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			return;
		}
}

static void finish(struct dial *d, int fd, const char *error)
{
	unlink_dial(d);
	if (d->fd >= 0) {
		loop_del_fd(d->loop, d->fd);
		if (d->fd != fd)
			close(d->fd);
	}
	loop_del_timer(d->loop, d->timer);
	d->cb(d->arg, fd, error);
	free(d);
}

static void try_connect(struct dial *d);

static void on_retry(struct loop *l, void *arg)
{
	struct dial *d = arg;

	d->timer = 0;
	try_connect(d);
}

/* Refused or reset: the agent is not listening yet (a box just started), or
 * root in the box stopped it. Asked again for a while. */
static void retry_or_fail(struct dial *d, int err)
{
	if (d->fd >= 0) {
		loop_del_fd(d->loop, d->fd);
		close(d->fd);
		d->fd = -1;
	}
	if (++d->tries >= DIAL_TRIES || (err != ECONNREFUSED && err != ECONNRESET)) {
		char why[160];
		snprintf(why, sizeof(why), "agent on port %d: %s", d->port, strerror(err));
		finish(d, -1, why);
		return;
	}
	d->timer = loop_add_timer(d->loop, DIAL_RETRY_MS, on_retry, d);
}

static void connected(struct dial *d)
{
	size_t done = 0;
	int fd = d->fd;

	/* A fresh socket's send buffer takes a HELLO whole. */
	ssize_t n = send(fd, d->hello, d->hello_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n >= 0)
		done = (size_t)n;
	if (done != d->hello_len) {
		retry_or_fail(d, n < 0 ? errno : EMSGSIZE);
		return;
	}
	finish(d, fd, NULL);
}

static void on_writable(struct loop *l, int fd, int events, void *arg)
{
	struct dial *d = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		retry_or_fail(d, err);
		return;
	}
	connected(d);
}

static void try_connect(struct dial *d)
{
	int fd = agent_dial_socket(d->pid, d->port);

	if (fd < 0) {
		retry_or_fail(d, -fd);
		return;
	}
	d->fd = fd;
	if (loop_add_fd(d->loop, fd, LOOP_WRITE, on_writable, d) < 0) {
		close(fd);
		d->fd = -1;
		finish(d, -1, "out of memory");
	}
}

static void on_inspected(void *arg, const struct docker_reply *r)
{
	struct dial *d = arg;

	d->call = 0;
	if (r->error != NULL) {
		finish(d, -1, r->error);
		return;
	}
	if (docker_json_running_pid(r->json, &d->pid, NULL) < 0) {
		finish(d, -1, "the box is not running");
		return;
	}
	try_connect(d);
}

uint64_t agent_dial(struct loop *l, struct docker *dk, const char *container_id, int port,
                    const uint8_t *hello, size_t hello_len, agent_dial_cb cb, void *arg)
{
	struct dial *d;
	char path[128];

	if (hello_len > DIAL_MAX_HELLO || !docker_id_valid(container_id) ||
	    (d = calloc(1, sizeof(*d))) == NULL)
		return 0;
	d->handle = next_handle++;
	d->loop = l;
	d->docker = dk;
	snprintf(d->container_id, sizeof(d->container_id), "%s", container_id);
	d->port = port;
	memcpy(d->hello, hello, hello_len);
	d->hello_len = hello_len;
	d->cb = cb;
	d->arg = arg;
	d->fd = -1;
	snprintf(path, sizeof(path), "/containers/%s/json", container_id);
	d->call = docker_request_max(dk, "GET", path, NULL, 256 * 1024, 10000, on_inspected, d);
	if (d->call == 0) {
		free(d);
		return 0;
	}
	d->next = dials;
	dials = d;
	return d->handle;
}

void agent_dial_cancel(uint64_t handle)
{
	struct dial *d = dials;

	while (d != NULL && d->handle != handle)
		d = d->next;
	if (handle == 0 || d == NULL)
		return;
	unlink_dial(d);
	if (d->call != 0)
		docker_cancel(d->docker, d->call);
	if (d->fd >= 0) {
		loop_del_fd(d->loop, d->fd);
		close(d->fd);
	}
	loop_del_timer(d->loop, d->timer);
	free(d);
}
