/*
 * kex_tap: the relay that reads the client's opening; see kex_tap.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kex_tap.h"

#define CHUNK 4096

int kex_tap_open(struct kex_tap *t, int client_fd)
{
	int sv[2];

	buf_init(&t->out);
	buf_init(&t->held);
	t->client_in = t->server_out = t->server_kexinit_end = 0;
	t->server_seen = t->server_line = 0;
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

static void give_libssh(struct kex_tap *t);

/* A line sshd would not take: its answer instead of libssh's silence, after
 * the server's own line. Text and CRLF go in two writes, as sshd's do, and
 * what the client sent past the offending byte stays unread, so the close
 * that follows is a reset exactly where sshd's is. */
static void refuse_line(struct kex_tap *t)
{
	const char *text = t->hello.ident_error;

	kex_tap_to_client(t);
	if (buf_avail(&t->out) == 0) {
		(void)send(t->client, text, strlen(text), MSG_NOSIGNAL);
		(void)send(t->client, "\r\n", 2, MSG_NOSIGNAL);
	}
	set_broken(t);
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
	if (t->hello.ident_error != NULL) {
		refuse_line(t);
		return;
	}
	/* At most the opening (a line of 8 KiB and a packet of at most
	 * 32 KiB) is ever held: BUF_MAX is never near. */
	t->client_in += take;
	if (buf_put(&t->held, b, take) < 0) {
		set_broken(t);
		return;
	}
	give_libssh(t);
}

/* Hands libssh what it may have of the held bytes: the line once it has
 * ended; the rest once libssh's KEXINIT has gone out, or at once when the
 * opening failed (libssh sees what sshd would have choked on too). The
 * socketpair's buffer holds all of it. */
static void give_libssh(struct kex_tap *t)
{
	size_t upto;

	if (t->broken || t->spliced || t->hello.ident_error != NULL)
		return;
	if (t->hello.state == HELLO_FAILED || kex_tap_server_kexinit_out(t))
		upto = t->client_in;
	else if (t->hello.state != HELLO_LINE)
		upto = t->hello.line_taken;
	else
		upto = 0;
	size_t given = t->client_in - buf_avail(&t->held);
	if (upto <= given)
		return;
	size_t n = upto - given;
	ssize_t w = send(t->mine, buf_peek(&t->held), n, MSG_NOSIGNAL);
	if (w != (ssize_t)n) {
		set_broken(t);
		return;
	}
	buf_skip(&t->held, n);
	buf_compact(&t->held);
}

bool kex_tap_server_kexinit_out(const struct kex_tap *t)
{
	return t->server_kexinit_end != 0 && t->server_out >= t->server_kexinit_end;
}

/* Follows libssh's stream to where its KEXINIT ends. */
static void scan_server(struct kex_tap *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && t->server_kexinit_end == 0; i++, t->server_seen++) {
		if (t->server_line == 0) {
			if (p[i] == '\n')
				t->server_line = t->server_seen + 1;
			continue;
		}
		size_t k = t->server_seen - t->server_line;
		if (k < 4)
			t->server_len[k] = p[i];
		if (k == 3) {
			t->server_kexinit_end =
			    t->server_line + 4 + (size_t)buf_be32(t->server_len);
		}
	}
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
		scan_server(t, b, (size_t)n);
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
		t->server_out += (size_t)n;
	}
	buf_compact(&t->out);
	give_libssh(t);
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
	       buf_avail(&t->held) == 0 && unread(t->mine) == 0 && unread(t->theirs) == 0;
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
	buf_free(&t->held);
	client_hello_free(&t->hello);
}
