/*
 * kex_tap: the relay that reads the client's opening; see kex_tap.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kex_tap.h"

#define CHUNK 4096

int kex_tap_open(struct kex_tap *t, int client_fd)
{
	int sv[2];

	buf_init(&t->out);
	client_hello_init(&t->hello);
	t->client = client_fd;
	t->mine = t->theirs = -1;
	t->broken = t->spliced = false;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	t->mine = sv[0];
	t->theirs = sv[1];
	int fl = fcntl(client_fd, F_GETFL);
	if (fl < 0 || fcntl(client_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* The opening cannot complete: libssh is told the connection is gone. */
static void set_broken(struct kex_tap *t)
{
	t->broken = true;
	if (t->mine >= 0)
		shutdown(t->mine, SHUT_RDWR);
}

void kex_tap_from_client(struct kex_tap *t)
{
	uint8_t b[CHUNK];

	if (!kex_tap_reading(t))
		return;
	ssize_t n = recv(t->client, b, sizeof(b), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The client left or broke the connection during the
		 * opening: libssh sees its end close. */
		set_broken(t);
		return;
	}
	size_t take = client_hello_take(&t->hello, b, (size_t)n);
	if (take == 0)
		return;
	n = recv(t->client, b, take, 0);
	if (n != (ssize_t)take) {
		set_broken(t);
		return;
	}
	/* At most the opening (lines and one packet of at most 32 KiB)
	 * ever goes this way: the socketpair's buffer holds it. */
	ssize_t w = send(t->mine, b, take, MSG_NOSIGNAL);
	if (w != (ssize_t)take)
		set_broken(t);
}

void kex_tap_to_client(struct kex_tap *t)
{
	uint8_t b[CHUNK];

	if (t->spliced || t->broken)
		return;
	for (;;) {
		ssize_t n = recv(t->mine, b, sizeof(b), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			set_broken(t);
			return;
		}
		/* libssh writes its banner and KEXINIT, a few hundred
		 * bytes, before the splice: BUF_MAX is never near. */
		if (buf_put(&t->out, b, (size_t)n) < 0) {
			set_broken(t);
			return;
		}
	}
	while (buf_avail(&t->out) > 0) {
		ssize_t n = send(t->client, buf_peek(&t->out), buf_avail(&t->out), MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			set_broken(t);
			return;
		}
		buf_skip(&t->out, (size_t)n);
	}
	buf_compact(&t->out);
}

bool kex_tap_reading(const struct kex_tap *t)
{
	return !t->spliced && !t->broken &&
	       (t->hello.state == HELLO_LINE || t->hello.state == HELLO_PACKET);
}

static int unread(int fd)
{
	int n = 0;

	if (ioctl(fd, FIONREAD, &n) < 0)
		return -1;
	return n;
}

bool kex_tap_can_splice(const struct kex_tap *t)
{
	return !t->spliced && !t->broken && !kex_tap_reading(t) && buf_avail(&t->out) == 0 &&
	       unread(t->mine) == 0 && unread(t->theirs) == 0;
}

int kex_tap_splice(struct kex_tap *t)
{
	if (!kex_tap_can_splice(t))
		return -EAGAIN;
	if (dup2(t->client, t->theirs) < 0)
		return -errno;
	close(t->client);
	close(t->mine);
	t->client = t->mine = -1;
	t->spliced = true;
	return 0;
}

void kex_tap_close(struct kex_tap *t)
{
	if (t->mine >= 0)
		close(t->mine);
	if (t->client >= 0 && !t->spliced)
		close(t->client);
	t->mine = t->client = -1;
	buf_free(&t->out);
	client_hello_free(&t->hello);
}
