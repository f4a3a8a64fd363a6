/*
 * syslog_out: events to syslog without blocking the loop; see syslog_out.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "syslog_msg.h"
#include "syslog_out.h"

#define REPORT_EVERY 1000 /* drops between two reports */

struct syslog_out {
	struct loop *loop;
	struct syslog_target target;
	int facility;
	int pid; /* the monitor's: PROCID */
	char host[256];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;
	bool connected;   /* TCP: the connect is done */
	uint64_t retry;   /* TCP: the reconnect timer */
	struct buf queue; /* TCP: whole frames, "LEN MSG" */
	size_t head_left; /* TCP: bytes of the first frame not sent yet, once
	                   * part of it went (0: the queue starts with a frame) */
	unsigned long dropped;
};

static void on_tcp(struct loop *l, int fd, int events, void *arg);

static void drop(struct syslog_out *so, const char *why)
{
	if (so->dropped++ % REPORT_EVERY == 0)
		warn("logging.syslog: a message dropped (%s); %lu so far", why, so->dropped);
}

static int resolve(struct syslog_out *so, const char **why)
{
	if (so->target.kind == SYSLOG_LOCAL) {
		struct sockaddr_un *un = (struct sockaddr_un *)&so->addr;
		un->sun_family = AF_UNIX;
		size_t n = strnlen(so->target.host, sizeof(un->sun_path) - 1);
		memcpy(un->sun_path, so->target.host, n); /* parsed: it fits */
		un->sun_path[n] = '\0';
		so->addrlen = sizeof(*un);
		return 0;
	}
	struct addrinfo hints = {
	    .ai_socktype = so->target.kind == SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(so->target.host, so->target.port, &hints, &res);
	if (r != 0 || res == NULL || res->ai_addrlen > sizeof(so->addr)) {
		*why = r != 0 ? gai_strerror(r) : "no address";
		if (res != NULL)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(&so->addr, res->ai_addr, res->ai_addrlen);
	so->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int open_socket(struct syslog_out *so)
{
	int type = so->target.kind == SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd = socket(so->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&so->addr, so->addrlen) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	so->fd = fd;
	return 0;
}

static void on_retry(struct loop *l, void *arg);

/* TCP: the connection is gone or never came; another in a while. */
static void tcp_lost(struct syslog_out *so, int err)
{
	if (so->fd >= 0) {
		loop_del_fd(so->loop, so->fd);
		close(so->fd);
		so->fd = -1;
	}
	if (so->connected || so->retry == 0)
		warn("logging.syslog %s:%s: %s; trying again every %d s", so->target.host,
		     so->target.port, strerror(err), SYSLOG_RETRY_MS / 1000);
	so->connected = false;
	/* A frame cut by the loss would start the next connection mid-message:
	 * the rest of it goes. */
	if (so->head_left > 0) {
		buf_skip(&so->queue, so->head_left);
		buf_compact(&so->queue);
		so->head_left = 0;
		drop(so, "cut by the connection's loss");
	}
	if (so->retry == 0)
		so->retry = loop_add_timer(so->loop, SYSLOG_RETRY_MS, on_retry, so);
}

static void tcp_start(struct syslog_out *so)
{
	int r = open_socket(so);
	if (r < 0) {
		tcp_lost(so, -r);
		return;
	}
	loop_add_fd(so->loop, so->fd, LOOP_WRITE, on_tcp, so);
}

static void on_retry(struct loop *l, void *arg)
{
	struct syslog_out *so = arg;
	(void)l;
	so->retry = 0;
	tcp_start(so);
}

/* The size of the frame at p ("LEN MSG"; only whole frames are queued). */
static size_t frame_size(const uint8_t *p, size_t avail)
{
	size_t len = 0, i = 0;

	while (i < avail && p[i] >= '0' && p[i] <= '9')
		len = len * 10 + (size_t)(p[i++] - '0');
	return i + 1 + len;
}

/* n bytes of the queue went: where the first frame now stands. */
static void sent(struct syslog_out *so, size_t n)
{
	while (n > 0) {
		if (so->head_left == 0)
			so->head_left = frame_size(buf_peek(&so->queue), buf_avail(&so->queue));
		size_t take = n < so->head_left ? n : so->head_left;
		so->head_left -= take;
		n -= take;
		buf_skip(&so->queue, take);
	}
}

static void tcp_flush(struct syslog_out *so)
{
	while (buf_avail(&so->queue) > 0) {
		ssize_t n = send(so->fd, buf_peek(&so->queue), buf_avail(&so->queue),
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			tcp_lost(so, n < 0 ? errno : EPIPE);
			return;
		}
		sent(so, (size_t)n);
	}
	buf_compact(&so->queue);
	loop_set_events(so->loop, so->fd, LOOP_READ | (buf_avail(&so->queue) > 0 ? LOOP_WRITE : 0));
}

static void on_tcp(struct loop *l, int fd, int events, void *arg)
{
	struct syslog_out *so = arg;
	(void)l;

	if (!so->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			tcp_lost(so, err);
			return;
		}
		so->connected = true;
		info("logging.syslog: connected to %s:%s", so->target.host, so->target.port);
	}
	if (events & LOOP_READ) {
		/* A collector says nothing: bytes or the end both mean it is gone. */
		char b[256];
		ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			tcp_lost(so, n == 0 ? ECONNRESET : errno);
			return;
		}
	}
	tcp_flush(so);
}

struct syslog_out *syslog_out_new(struct loop *l, const char *target, const char *facility,
                                  const char *hostname, const char **why)
{
	struct syslog_out *so = calloc(1, sizeof(*so));
	if (so == NULL) {
		*why = "out of memory";
		return NULL;
	}
	so->loop = l;
	so->fd = -1;
	so->pid = (int)getpid();
	buf_init(&so->queue);
	snprintf(so->host, sizeof(so->host), "%s", hostname);
	so->facility = syslog_facility(facility);
	if (so->facility < 0) {
		*why = "logging.syslog_facility: not a facility's name";
		free(so);
		return NULL;
	}
	if (syslog_target_parse(target, &so->target, why) < 0 || resolve(so, why) < 0) {
		free(so);
		return NULL;
	}
	if (so->target.kind == SYSLOG_TCP) {
		tcp_start(so);
	} else {
		int r = open_socket(so);
		/* No syslog daemon yet (/dev/log missing): each send tries again. */
		if (r < 0)
			warn("logging.syslog %s: %s", target, strerror(-r));
	}
	return so;
}

void syslog_out_free(struct syslog_out *so)
{
	if (so == NULL)
		return;
	if (so->fd >= 0) {
		if (so->target.kind == SYSLOG_TCP) {
			loop_del_fd(so->loop, so->fd);
			/* What is queued goes if it can at once: no wait at exit. */
			if (so->connected && buf_avail(&so->queue) > 0)
				(void)send(so->fd, buf_peek(&so->queue), buf_avail(&so->queue),
				           MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		close(so->fd);
	}
	loop_del_timer(so->loop, so->retry);
	buf_free(&so->queue);
	free(so);
}

static void send_dgram(struct syslog_out *so, const char *msg, size_t len)
{
	if (so->fd < 0 && open_socket(so) < 0) {
		drop(so, "no socket");
		return;
	}
	if (len > SYSLOG_DGRAM_MAX)
		len = SYSLOG_DGRAM_MAX;
	if (send(so->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		drop(so, strerror(errno));
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
			close(so->fd); /* the daemon restarted: a new socket next time */
			so->fd = -1;
		}
	}
}

void syslog_out_send(struct syslog_out *so, const json_t *ev, const char *json, size_t json_len)
{
	size_t len = 0;
	char *msg = syslog_msg(ev, json, json_len, so->facility, so->host, so->pid, &len);

	if (msg == NULL) {
		drop(so, "out of memory");
		return;
	}
	if (so->target.kind != SYSLOG_TCP) {
		send_dgram(so, msg, len);
	} else {
		char head[24];
		int h = snprintf(head, sizeof(head), "%zu ", len);
		if (buf_avail(&so->queue) + (size_t)h + len > SYSLOG_QUEUE) {
			drop(so, so->connected ? "the collector is slow" : "no connection");
		} else if (buf_reserve(&so->queue, (size_t)h + len) < 0) {
			drop(so, "out of memory");
		} else if (buf_put(&so->queue, head, (size_t)h) < 0 ||
		           buf_put(&so->queue, msg, len) < 0) {
			drop(so, "out of memory"); /* not after the reserve */
		} else if (so->connected) {
			tcp_flush(so);
		}
	}
	free(msg);
}
