/*
 * sink_tftp: TFTP reads (RFC 1350) a box asks of any address: each read
 * request is a fetch of tftp://HOST/FILE (HOST the name the box resolved
 * to that address, else the address), answered by the monitor as an HTTP
 * fetch is; the body is then sent in 512-byte blocks, each sent again
 * until acknowledged (at most TFTP_TRIES times, a second apart). Writes
 * are refused with an access violation; both are logged. See sinkhole.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sinkhole.h"
#include "util.h"

#define OP_RRQ    1
#define OP_WRQ    2
#define OP_DATA   3
#define OP_ACK    4
#define OP_ERROR  5
#define BLOCK     512
#define TRIES     5
#define RESEND_MS 1000
#define MAX_XFERS 256

struct xfer {
	struct xfer *next;
	struct sink *s;
	uint64_t id;
	struct sockaddr_in peer;
	uint32_t server; /* the address the box sent to: our replies' source */
	int body;
	off_t size;
	uint16_t block; /* the block sent last, waiting for its ACK (0: none yet) */
	int tries;
	uint64_t timer;
	bool waiting;  /* for the monitor's answer */
	bool netascii; /* the client asked for text: LF sent as CR LF, CR as CR NUL */
	char url[700];
};

static struct xfer *xfers;
static int n_xfers;
static int sock = -1;

static void send_to(const struct xfer *x, const uint8_t *p, size_t n)
{
	sink_udp_send(sock, &x->peer, x->server, p, n);
}

static void send_error(const struct xfer *x, int code, const char *msg)
{
	uint8_t p[128];
	size_t n = strlen(msg);

	if (n > sizeof(p) - 5)
		n = sizeof(p) - 5;
	p[0] = 0;
	p[1] = OP_ERROR;
	p[2] = 0;
	p[3] = (uint8_t)code;
	memcpy(p + 4, msg, n);
	p[4 + n] = 0;
	send_to(x, p, 5 + n);
}

static void xfer_end(struct xfer *x)
{
	for (struct xfer **p = &xfers; *p != NULL; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
	loop_del_timer(x->s->loop, x->timer);
	if (x->body >= 0)
		close(x->body);
	n_xfers--;
	free(x);
}

static void on_resend(struct loop *l, void *arg);

/* Sends block x->block (again). */
static void send_block(struct xfer *x)
{
	uint8_t p[4 + BLOCK];
	off_t at = (off_t)(x->block - 1) * BLOCK;
	ssize_t n = at < x->size ? pread(x->body, p + 4, BLOCK, at) : 0;

	if (n < 0) {
		send_error(x, 0, "Read error");
		xfer_end(x);
		return;
	}
	p[0] = 0;
	p[1] = OP_DATA;
	p[2] = (uint8_t)(x->block >> 8);
	p[3] = (uint8_t)x->block;
	send_to(x, p, 4 + (size_t)n);
	loop_del_timer(x->s->loop, x->timer);
	x->timer = loop_add_timer(x->s->loop, RESEND_MS, on_resend, x);
}

static void on_resend(struct loop *l, void *arg)
{
	struct xfer *x = arg;

	x->timer = 0;
	if (x->waiting || ++x->tries >= TRIES) {
		xfer_end(x); /* the box went away, or the monitor never answered */
		return;
	}
	send_block(x);
}

/* The body as netascii (RFC 764's line ends), in a memfd of its own; fd
 * is closed. -1 on failure. */
static int netascii(int fd, struct stat *st)
{
	uint8_t in[BLOCK * 8], out[BLOCK * 16];
	int m = memfd_create("netascii", MFD_CLOEXEC);
	off_t at = 0;
	ssize_t n;
	size_t done;

	while (m >= 0 && (n = pread(fd, in, sizeof(in), at)) > 0) {
		size_t k = 0;
		for (ssize_t i = 0; i < n; i++) {
			if (in[i] == '\n')
				out[k++] = '\r';
			out[k++] = in[i];
			if (in[i] == '\r')
				out[k++] = '\0';
		}
		if (util_write_all(m, out, k, &done) < 0) {
			close(m);
			m = -1;
		}
		at += n;
	}
	close(fd);
	if (m >= 0 && fstat(m, st) < 0) {
		close(m);
		m = -1;
	}
	return m;
}

bool sink_tftp_fetched(struct sink *s, uint64_t id, int status, int fd)
{
	struct stat st;

	for (struct xfer *x = xfers; x != NULL; x = x->next) {
		if (x->id != id || !x->waiting)
			continue;
		x->waiting = false;
		if (status != 200 || fd < 0 || fstat(fd, &st) < 0 || st.st_size >= 65535L * BLOCK) {
			if (fd >= 0)
				close(fd);
			send_error(x, 1, "File not found");
			xfer_end(x);
			return true;
		}
		if (x->netascii)
			fd = netascii(fd, &st);
		if (fd < 0) {
			send_error(x, 0, "Read error");
			xfer_end(x);
			return true;
		}
		x->body = fd;
		x->size = st.st_size;
		x->block = 1;
		x->tries = 0;
		send_block(x);
		return true;
	}
	return false;
}

static struct xfer *find(const struct sockaddr_in *peer)
{
	for (struct xfer *x = xfers; x != NULL; x = x->next)
		if (x->peer.sin_addr.s_addr == peer->sin_addr.s_addr &&
		    x->peer.sin_port == peer->sin_port)
			return x;
	return NULL;
}

/* A request's file name and mode: false when it has none. */
static bool request(const uint8_t *p, size_t n, const char **file, const char **mode)
{
	const uint8_t *end1 = n > 2 ? memchr(p + 2, 0, n - 2) : NULL;
	const uint8_t *end2 = end1 ? memchr(end1 + 1, 0, (size_t)(p + n - end1 - 1)) : NULL;

	if (end2 == NULL || end1 == p + 2)
		return false;
	*file = (const char *)p + 2;
	*mode = (const char *)end1 + 1;
	return true;
}

void sink_tftp_packet(struct sink *s, int fd, const uint8_t *p, size_t n,
                      const struct sockaddr_in *from, uint32_t dst)
{
	char ip[16], box[16], url[700];
	const char *file, *mode;
	struct xfer *x = find(from);
	uint16_t op = n >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 0;

	sock = fd;
	if (op == OP_ACK && x != NULL && n >= 4) {
		uint16_t blk = (uint16_t)(p[2] << 8 | p[3]);
		if (blk != x->block)
			return; /* a late duplicate */
		if ((off_t)blk * BLOCK > x->size) {
			xfer_end(x); /* the last block (short, maybe empty) arrived */
			return;
		}
		x->block++;
		x->tries = 0;
		send_block(x);
		return;
	}
	if (op != OP_RRQ && op != OP_WRQ)
		return;

	struct xfer tmp = {.peer = *from, .server = dst, .body = -1};
	if (!request(p, n, &file, &mode) || strlen(file) > 512) {
		send_error(&tmp, 4, "Illegal TFTP operation");
		return;
	}
	const char *host = sink_dns_name(dst);
	char *f = util_utf8_sanitize(file, strlen(file));
	snprintf(url, sizeof(url), "tftp://%s/%s", host ? host : sink_ip(dst, ip),
	         f != NULL ? (f[0] == '/' ? f + 1 : f) : "");
	free(f);
	if (x != NULL && op == OP_RRQ && strcmp(x->url, url) == 0)
		return; /* the client's retransmission: that transfer goes on */
	if (x != NULL)  /* a new request from the same port: the old one is over */
		xfer_end(x);
	if (op == OP_WRQ || n_xfers >= MAX_XFERS) {
		json_t *ev = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s}", "event",
		                       "egress.connect", "proto", "udp", "dst", sink_ip(dst, ip),
		                       "dport", 69, "sport", ntohs(from->sin_port), "tftp",
		                       op == OP_WRQ ? "write" : "read", "url", url);
		sink_box_event(s, from->sin_addr.s_addr, ev, -1);
		send_error(&tmp, op == OP_WRQ ? 2 : 3,
		           op == OP_WRQ ? "Access violation" : "Disk full");
		return;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return;
	*x = tmp;
	x->s = s;
	x->id = ++s->next_id;
	x->waiting = true;
	x->netascii = strcasecmp(mode, "netascii") == 0;
	snprintf(x->url, sizeof(x->url), "%s", url);
	x->next = xfers;
	xfers = x;
	n_xfers++;
	json_t *msg =
	    json_pack("{s:s, s:I, s:s, s:i, s:s, s:i, s:s, s:s, s:s, s:o}", "t", "fetch", "id",
	              (json_int_t)x->id, "box", sink_ip(from->sin_addr.s_addr, box), "sport",
	              ntohs(from->sin_port), "dst", sink_ip(dst, ip), "dport", 69, "method", "GET",
	              "url", url, "proto", "udp", "headers", json_array());
	/* The answer's wait: the fetch's, then the box's patience. */
	x->timer =
	    loop_add_timer(s->loop, (int64_t)s->set.fetch_timeout * 1000 + 5000, on_resend, x);
	if (!sink_send(s, msg, -1)) {
		send_error(x, 0, "Not available");
		xfer_end(x);
	}
}
