/*
 * agent_logind: a login made a logind session, as sshd's pam_systemd makes
 * it: logind's CreateSession over the system bus, with the connection's
 * process as the session's leader. logind moves it into session-N.scope
 * (the shells it starts follow), starts the user's manager, and keeps the
 * session until the descriptor it hands back is closed: this process holds
 * it for the connection's life. A box without logind or a bus (Hermes's own
 * init) has no session, as before; nothing here may hold the login up for
 * long.
 */
#include "agent.h"
#include "dbus_msg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUS_PATH "/run/dbus/system_bus_socket"
#define WAIT_MS  3000 /* logind answers in milliseconds; a stuck bus costs this once */
#define MAX_FDS  4

struct bus {
	int fd;
	int64_t deadline;
	uint8_t in[DBUS_MSG_MAX];
	size_t in_len;
	int fds[MAX_FDS];
	size_t nfds;
};

static int wait_in(struct bus *b)
{
	struct pollfd p = {.fd = b->fd, .events = POLLIN};
	int64_t left = b->deadline - now_ms();
	int r;

	if (left <= 0)
		return -1;
	do
		r = poll(&p, 1, (int)left);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

/* More bytes (and any descriptors with them) into b->in. */
static int fill(struct bus *b)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	} c;
	struct iovec iov = {b->in + b->in_len, sizeof(b->in) - b->in_len};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = c.buf,
	                    .msg_controllen = sizeof(c.buf)};
	ssize_t r;

	if (iov.iov_len == 0 || wait_in(b) < 0)
		return -1;
	do
		r = recvmsg(b->fd, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	b->in_len += (size_t)r;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h != NULL; h = CMSG_NXTHDR(&mh, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)(void *)CMSG_DATA(h);
		for (size_t i = 0; i < n; i++) {
			if (b->nfds < MAX_FDS)
				b->fds[b->nfds++] = fds[i];
			else
				close(fds[i]);
		}
	}
	return 0;
}

/* One line of the authentication exchange, as a C string without CRLF. */
static int auth_line(struct bus *b, char *out, size_t cap)
{
	for (;;) {
		uint8_t *nl = memchr(b->in, '\n', b->in_len);
		if (nl != NULL) {
			size_t len = (size_t)(nl - b->in) + 1;
			if (len - 1 >= cap)
				return -1;
			memcpy(out, b->in, len - 1);
			out[len - 1] = '\0';
			if (len >= 2 && out[len - 2] == '\r')
				out[len - 2] = '\0';
			memmove(b->in, b->in + len, b->in_len - len);
			b->in_len -= len;
			return 0;
		}
		if (fill(b) < 0)
			return -1;
	}
}

static int authenticate(struct bus *b)
{
	char line[256], hex[32], msg[96];
	unsigned uid = (unsigned)geteuid();
	char dec[16];
	size_t n = 0;

	snprintf(dec, sizeof(dec), "%u", uid);
	for (size_t i = 0; dec[i] != '\0'; i++)
		n += (size_t)snprintf(hex + n, sizeof(hex) - n, "%02x", (unsigned char)dec[i]);
	int len = snprintf(msg, sizeof(msg), "%cAUTH EXTERNAL %s\r\n", 0, hex);
	if (write_all(b->fd, msg, (size_t)len) < 0 || auth_line(b, line, sizeof(line)) < 0 ||
	    strncmp(line, "OK ", 3) != 0)
		return -1;
	if (write_all(b->fd, "NEGOTIATE_UNIX_FD\r\n", 19) < 0 ||
	    auth_line(b, line, sizeof(line)) < 0 || strcmp(line, "AGREE_UNIX_FD") != 0)
		return -1;
	return write_all(b->fd, "BEGIN\r\n", 7);
}

/* Reads messages until the answer to `serial`; others (the bus's signals)
 * are skipped. Returns its length in b->in (then consumed by the caller),
 * or -1. */
static long answer(struct bus *b, uint32_t serial, struct dbus_header *h)
{
	for (;;) {
		long n = dbus_header_read(b->in, b->in_len, h);
		if (n < 0)
			return -1;
		if (n > 0) {
			if (h->reply_serial == serial &&
			    (h->type == DBUS_METHOD_RETURN || h->type == DBUS_ERROR))
				return n;
			memmove(b->in, b->in + n, b->in_len - (size_t)n);
			b->in_len -= (size_t)n;
			continue;
		}
		if (fill(b) < 0)
			return -1;
	}
}

static int call(struct bus *b, const uint8_t *msg, size_t len, uint32_t serial,
                struct dbus_header *h)
{
	if (len == 0 || write_all(b->fd, msg, len) < 0)
		return -1;
	return answer(b, serial, h) > 0 && h->type == DBUS_METHOD_RETURN ? 0 : -1;
}

int logind_session_open(struct agent_login *l)
{
	static struct bus b;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct dbus_header h;
	struct dbus_session_reply rep;
	uint8_t out[2048];
	int r = -1;

	memset(&b, 0, sizeof(b));
	l->logind_fifo = -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", BUS_PATH);
	b.deadline = now_ms() + WAIT_MS;
	/* Nothing on the bus waits: a full backlog (a stopped dbus-daemon)
	 * refuses the connect at once, a write it cannot take fails (ours fit
	 * an empty socket's buffer), and reads wait in poll until the deadline. */
	b.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (b.fd < 0 || connect(b.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    authenticate(&b) < 0 || call(&b, out, dbus_hello(out, sizeof(out), 1), 1, &h) < 0)
		goto out;
	memmove(b.in, b.in + h.total, b.in_len - h.total);
	b.in_len -= h.total;
	struct dbus_session_req q;
	dbus_sshd_session(&q, (uint32_t)l->user.uid, (uint32_t)l->pid, l->client_addr);
	if (call(&b, out, dbus_create_session(out, sizeof(out), 2, &q), 2, &h) < 0 ||
	    h.unix_fds != b.nfds || dbus_session_reply_read(b.in, &h, &rep) < 0)
		goto out;
	snprintf(l->logind_id, sizeof(l->logind_id), "%s", rep.id);
	l->logind_fifo = b.fds[rep.fifo_index];
	b.fds[rep.fifo_index] = -1;
	r = 0;
out:
	for (size_t i = 0; i < b.nfds; i++)
		if (b.fds[i] >= 0)
			close(b.fds[i]);
	if (b.fd >= 0)
		close(b.fd);
	return r;
}
