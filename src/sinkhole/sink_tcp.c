/*
 * sink_tcp: every TCP connection a box opens, to any address and port;
 * see sinkhole.h.
 *
 * A connection is read until it shows what it is. An HTTP request head
 * (on any port) becomes a fetch: the monitor is asked for the URL and
 * answers with a status and a body, which is sent back with a head such
 * as nginx's, and the connection closed. Anything else is read and kept
 * up to SINK_HOLD_BYTES, then held open without reading until the box
 * closes it or HOLD_MS pass; when it ends, an egress.connect event says
 * where it went and the monitor keeps what it sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "http_head.h"
#include "sink_tls.h"
#include "log.h"
#include "sinkhole.h"
#include "util.h"

#include <openssl/err.h>

#define IDLE_MS  30000 /* nothing read for this long: the connection ends */
#define HOLD_MS  60000 /* a connection held after its bytes were kept */
#define CHUNK    16384 /* body bytes sent at a time */
#define DRAIN_MS 5000
#define URL_MAX  4096

/* C_DRAIN: answered and shut for writing; what the box still sends is
 * read and dropped until it closes, so that the close is not a reset that
 * could cost it the answer's end. */
/* C_TLS: a TLS handshake (the first byte was a handshake record's). */
/* C_TALK: a dialogue where the server speaks first (SMTP, sink_smtp.c;
 * FTP, sink_ftp.c), replies through wout. */
enum cstate { C_TLS, C_READ, C_FETCH, C_SEND, C_HOLD, C_DRAIN, C_TALK };

struct conn {
	struct conn *next;
	struct sink *s;
	int fd;
	enum cstate st;
	uint64_t id, timer;
	uint32_t src, dst;
	uint16_t sport, dport;
	char *in; /* what the box sent: grows to SINK_HOLD_BYTES */
	size_t in_len, in_cap;
	uint64_t bytes_in;
	bool head_only; /* HEAD: no body */
	bool report;    /* an egress.connect at the end (not an HTTP request) */
	char out[1024];
	size_t out_len, out_off;
	int body;
	off_t body_off, body_len;
	SSL *ssl; /* HTTPS (or any TLS): the box's bytes after the handshake */
	struct sink_smtp *smtp;
	struct sink_ftp *ftp;
	struct buf wout; /* replies of a dialogue, not yet sent */
	bool closing;    /* the dialogue is over once wout is sent */
};

/* Ports where the server speaks first with a mail server's banner (465:
 * after TLS). */
static bool mail_port(uint16_t p)
{
	return p == 25 || p == 587 || p == 2525;
}

static struct conn *conns;

/* Room for up to want more bytes of the box's in c->in, grown as needed
 * (most connections send little): how many fit, 0 when full or out of
 * memory. */
static size_t room(struct conn *c, size_t want)
{
	size_t need = c->in_len + want < SINK_HOLD_BYTES ? c->in_len + want : SINK_HOLD_BYTES;

	if (need > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap : 4096;
		while (cap < need)
			cap *= 2;
		if (cap > SINK_HOLD_BYTES)
			cap = SINK_HOLD_BYTES;
		char *p = realloc(c->in, cap);
		if (p == NULL)
			return c->in_cap - c->in_len;
		c->in = p;
		c->in_cap = cap;
	}
	return need - c->in_len;
}

static void arm(struct conn *c, int64_t ms);

static void conn_end(struct conn *c)
{
	struct sink *s = c->s;
	char ip[16];

	if (c->report) {
		int fd = c->in_len > 0 ? sink_memfd("connect", c->in, c->in_len) : -1;
		json_t *ev = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:s?}", "event",
		                       "egress.connect", "proto", "tcp", "dst", sink_ip(c->dst, ip),
		                       "dport", c->dport, "sport", c->sport, "bytes",
		                       (json_int_t)c->bytes_in, "host", sink_dns_name(c->dst));
		if (ev != NULL && c->in_len > 0) {
			/* The first bytes, readable, for the analyst's eye. */
			char *text = util_utf8_sanitize(c->in, c->in_len < 256 ? c->in_len : 256);
			json_object_set_new(ev, "head", json_string(text ? text : ""));
			free(text);
		}
		if (ev != NULL && c->ssl != NULL) {
			const char *sni = sink_tls_sni(c->ssl);
			json_object_set_new(ev, "tls", json_true());
			if (sni != NULL)
				json_object_set_new(ev, "sni", json_string(sni));
		}
		sink_box_event(s, c->src, ev, fd);
	}
	for (struct conn **p = &conns; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	loop_del_timer(s->loop, c->timer);
	loop_del_fd(s->loop, c->fd);
	SSL_free(c->ssl);
	free(c->in);
	sink_smtp_free(c->smtp);
	sink_ftp_free(c->ftp);
	buf_free(&c->wout);
	close(c->fd);
	if (c->body >= 0)
		close(c->body);
	sink_box_disconnect(s, c->src);
	free(c);
}

static void on_timer(struct loop *l, void *arg)
{
	struct conn *c = arg;

	c->timer = 0;
	if (c->st == C_FETCH) {
		/* The monitor did not answer in time: a gateway's timeout. */
		sink_tcp_fetched(c->s, c->id, 504, NULL, -1);
		return;
	}
	conn_end(c);
}

static void arm(struct conn *c, int64_t ms)
{
	loop_del_timer(c->s->loop, c->timer);
	c->timer = loop_add_timer(c->s->loop, ms, on_timer, c);
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Not Allowed";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Temporarily Unavailable";
	default:
		return "Gateway Time-out";
	}
}

/* nginx's own error page, as a stock server sends it. */
static int error_body(int status, char *out, size_t cap)
{
	return snprintf(out, cap,
	                "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
	                "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n"
	                "</body>\r\n</html>\r\n",
	                status, reason(status), status, reason(status));
}

static void on_io(struct loop *l, int fd, int events, void *arg);

/* The response head (and an error's body) into c->out; the body, if any,
 * follows from c->body. */
static void respond(struct conn *c, int status, const char *type, int body)
{
	char date[64], err[512] = "";
	time_t now = time(NULL);
	struct tm tm;
	struct stat st;
	off_t len = 0;

	c->body = -1;
	if (body >= 0 && fstat(body, &st) == 0 && S_ISREG(st.st_mode)) {
		c->body = body;
		len = st.st_size;
	} else if (body >= 0) {
		close(body);
	}
	if (c->body < 0 && status != 200) {
		len = error_body(status, err, sizeof(err));
		type = "text/html";
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	int n = snprintf(c->out, sizeof(c->out),
	                 "HTTP/1.1 %d %s\r\nServer: nginx\r\nDate: %s\r\nContent-Type: %s\r\n"
	                 "Content-Length: %lld\r\nConnection: close\r\n\r\n%s",
	                 status, reason(status), date, type ? type : "application/octet-stream",
	                 (long long)len, c->head_only ? "" : err);
	c->out_len = n > 0 && (size_t)n < sizeof(c->out) ? (size_t)n : 0;
	c->out_off = 0;
	c->body_off = 0;
	c->body_len = c->head_only ? 0 : (c->body >= 0 ? len : 0);
	c->st = C_SEND;
	loop_set_events(c->s->loop, c->fd, LOOP_WRITE);
	arm(c, IDLE_MS);
}

/* A whole request head: ask the monitor. */
static void ask(struct conn *c, struct http_head *h)
{
	char url[URL_MAX], ip[16], fallback[320];
	json_t *hdrs = json_array();

	char box[16];

	const char *sni = c->ssl != NULL ? sink_tls_sni(c->ssl) : NULL;
	unsigned dflt = c->ssl != NULL ? 443 : 80;

	sink_ip(c->dst, ip);
	if (c->dport == dflt)
		snprintf(fallback, sizeof(fallback), "%.300s", sni ? sni : ip);
	else
		snprintf(fallback, sizeof(fallback), "%.300s:%u", sni ? sni : ip, c->dport);
	c->head_only = strcmp(h->method, "HEAD") == 0;
	if (http_head_url(h, c->ssl != NULL, fallback, url, sizeof(url)) < 0) {
		respond(c, 400, NULL, -1);
		return;
	}
	for (size_t i = 0; i < h->n_headers && hdrs != NULL; i++) {
		char *n = util_utf8_sanitize(h->headers[i].name, strlen(h->headers[i].name));
		char *v = util_utf8_sanitize(h->headers[i].value, strlen(h->headers[i].value));
		json_array_append_new(hdrs, json_pack("[s?s?]", n, v));
		free(n);
		free(v);
	}
	char *m = util_utf8_sanitize(h->method, strlen(h->method));
	char *u = util_utf8_sanitize(url, strlen(url));
	json_t *msg = json_pack("{s:s, s:I, s:s, s:i, s:s, s:i, s:s?, s:s?, s:o}", "t", "fetch",
	                        "id", (json_int_t)c->id, "box", sink_ip(c->src, box), "sport",
	                        c->sport, "dst", ip, "dport", c->dport, "method", m, "url", u,
	                        "headers", hdrs ? hdrs : json_array());
	if (msg != NULL && c->ssl != NULL) {
		json_object_set_new(msg, "tls", json_true());
		if (sni != NULL)
			json_object_set_new(msg, "sni", json_string(sni));
	}
	free(m);
	free(u);
	c->st = C_FETCH;
	c->report = false; /* the monitor logs the request */
	loop_set_events(c->s->loop, c->fd, 0);
	arm(c, (int64_t)c->s->set.fetch_timeout * 1000 + 10000);
	if (!sink_send(c->s, msg, -1))
		respond(c, 502, NULL, -1);
}

/* Bytes arrived in C_READ: what are they? */
static void classify(struct conn *c)
{
	static struct http_head h; /* large: one at a time */

	if (http_head_looks_like(c->in, c->in_len)) {
		int r = http_head_parse(c->in, c->in_len, &h);
		if (r > 0)
			ask(c, &h);
		else if (r < 0)
			respond(c, 400, NULL, -1);
		return;
	}
	if (c->in_len == SINK_HOLD_BYTES) {
		/* All that is kept: hold it open, read no more. */
		c->st = C_HOLD;
		loop_set_events(c->s->loop, c->fd, 0);
		arm(c, HOLD_MS);
	}
}

/* Bytes to the box, through TLS when it has it: the count written, 0
 * when it would block (events set for the retry), -1 when it is over. */
static ssize_t conn_write(struct conn *c, const void *p, size_t n)
{
	if (c->ssl == NULL) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		return w;
	}
	int w = SSL_write(c->ssl, p, (int)n);
	if (w > 0)
		return w;
	switch (SSL_get_error(c->ssl, w)) {
	case SSL_ERROR_WANT_WRITE:
		loop_set_events(c->s->loop, c->fd, LOOP_WRITE);
		return 0;
	case SSL_ERROR_WANT_READ:
		loop_set_events(c->s->loop, c->fd, LOOP_READ);
		return 0;
	default:
		return -1;
	}
}

/* Bytes from the box: the count, 0 when none are there yet, -1 at its
 * end or an error. */
static ssize_t conn_read(struct conn *c, void *p, size_t n)
{
	if (c->ssl == NULL) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		return r == 0 ? -1 : r;
	}
	int r = SSL_read(c->ssl, p, (int)n);
	if (r > 0)
		return r;
	int e = SSL_get_error(c->ssl, r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

static void send_some(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
		if (n <= 0) {
			if (n < 0)
				conn_end(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	while (c->body_off < c->body_len) {
		char buf[CHUNK];
		size_t want = (size_t)(c->body_len - c->body_off) < sizeof(buf)
		                  ? (size_t)(c->body_len - c->body_off)
		                  : sizeof(buf);
		ssize_t got = pread(c->body, buf, want, c->body_off);
		if (got <= 0) {
			conn_end(c);
			return;
		}
		ssize_t n = conn_write(c, buf, (size_t)got);
		if (n <= 0) {
			if (n < 0)
				conn_end(c);
			return;
		}
		c->body_off += n;
	}
	if (c->ssl != NULL)
		SSL_shutdown(c->ssl);
	shutdown(c->fd, SHUT_WR);
	c->st = C_DRAIN;
	loop_set_events(c->s->loop, c->fd, LOOP_READ);
	arm(c, DRAIN_MS);
}

/* Sends what wout holds; the dialogue's end once it is all sent. */
static void flush_wout(struct conn *c)
{
	while (buf_avail(&c->wout) > 0) {
		ssize_t n = conn_write(c, buf_peek(&c->wout), buf_avail(&c->wout));
		if (n < 0) {
			conn_end(c);
			return;
		}
		if (n == 0) {
			loop_set_events(c->s->loop, c->fd, LOOP_READ | LOOP_WRITE);
			return;
		}
		buf_skip(&c->wout, (size_t)n);
	}
	buf_reset(&c->wout);
	if (c->closing) {
		if (c->ssl != NULL)
			SSL_shutdown(c->ssl);
		shutdown(c->fd, SHUT_WR);
		c->st = C_DRAIN;
		arm(c, DRAIN_MS);
	}
	loop_set_events(c->s->loop, c->fd, LOOP_READ);
}

/* A mail server greets the box. */
static void start_mail(struct conn *c)
{
	c->smtp = sink_smtp_new(c->s, c->src, c->sport, c->dst, c->dport);
	if (c->smtp == NULL)
		return; /* read as any other connection */
	c->st = C_TALK;
	sink_smtp_banner(c->smtp, &c->wout);
	flush_wout(c);
}

/* FTP's replies: sent when the socket can take them (never from inside
 * the FTP code, which goes on with the connection after it asks). */
static void want_flush(void *arg)
{
	struct conn *c = arg;
	loop_set_events(c->s->loop, c->fd, LOOP_READ | LOOP_WRITE);
}

static void start_ftp(struct conn *c)
{
	c->ftp = sink_ftp_new(c->s, c->src, c->sport, c->dst, c->dport, &c->wout, want_flush, c);
	if (c->ftp == NULL)
		return;
	c->st = C_TALK;
	flush_wout(c);
}

/* The box's side of the dialogue; what it sent is kept as any connection's. */
static void talk_input(struct conn *c)
{
	uint8_t buf[16384];
	ssize_t n = conn_read(c, buf, sizeof(buf));

	if (n == 0)
		return;
	if (n < 0) {
		conn_end(c);
		return;
	}
	size_t keep = room(c, (size_t)n);
	memcpy(c->in + c->in_len, buf, keep);
	c->in_len += keep;
	c->bytes_in += (uint64_t)n;
	arm(c, IDLE_MS);
	if (c->smtp != NULL ? !sink_smtp_input(c->smtp, buf, (size_t)n, &c->wout)
	                    : !sink_ftp_input(c->ftp, buf, (size_t)n))
		c->closing = true;
	flush_wout(c);
}

/* The TLS handshake goes on; done, the connection reads as any other. */
static void handshake(struct conn *c)
{
	int r = SSL_accept(c->ssl);

	arm(c, IDLE_MS);
	if (r == 1) {
		c->st = C_READ;
		loop_set_events(c->s->loop, c->fd, LOOP_READ);
		if (c->dport == 465)
			start_mail(c); /* SMTP over TLS */
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		loop_set_events(c->s->loop, c->fd, LOOP_READ);
		return;
	case SSL_ERROR_WANT_WRITE:
		loop_set_events(c->s->loop, c->fd, LOOP_WRITE);
		return;
	default:
		/* A client that does not trust us, or no TLS after all. */
		ERR_clear_error();
		conn_end(c);
	}
}

static void on_io(struct loop *l, int fd, int events, void *arg)
{
	struct conn *c = arg;

	if (c->st == C_SEND) {
		arm(c, IDLE_MS);
		send_some(c);
		return;
	}
	if (c->st == C_DRAIN) {
		char sink[4096];
		ssize_t n = recv(fd, sink, sizeof(sink), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_end(c);
		return;
	}
	if (c->st == C_TLS) {
		handshake(c);
		return;
	}
	if (c->st == C_TALK) {
		if (events & LOOP_WRITE)
			flush_wout(c);
		if ((events & LOOP_READ) && c->st == C_TALK && !c->closing)
			talk_input(c);
		return;
	}
	if (c->st != C_READ)
		return;
	if (c->in_len == 0 && c->ssl == NULL && sink_tls_ready()) {
		uint8_t first;
		if (recv(fd, &first, 1, MSG_PEEK) == 1 && first == 0x16) {
			/* A TLS handshake record: HTTPS, or TLS to anything. */
			if ((c->ssl = sink_tls_new(fd, c->dst)) != NULL) {
				c->st = C_TLS;
				handshake(c);
				return;
			}
		}
	}
	/* Read what the buffer holds now; a full one doubles. */
	size_t space = room(c, c->in_cap > c->in_len ? c->in_cap - c->in_len
	                                             : (c->in_len > 4096 ? c->in_len : 4096));
	if (space == 0) {
		conn_end(c); /* out of memory */
		return;
	}
	ssize_t n = conn_read(c, c->in + c->in_len, space);
	if (n == 0)
		return;
	if (n < 0) {
		conn_end(c);
		return;
	}
	c->in_len += (size_t)n;
	c->bytes_in += (uint64_t)n;
	arm(c, IDLE_MS);
	classify(c);
}

static void on_accept(struct loop *l, int lfd, int events, void *arg)
{
	struct sink *s = arg;

	for (int i = 0; i < 64; i++) {
		struct sockaddr_in peer, me;
		socklen_t pl = sizeof(peer), ml = sizeof(me);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (getsockname(fd, (struct sockaddr *)&me, &ml) < 0 ||
		    peer.sin_family != AF_INET || !sink_box_connect(s, peer.sin_addr.s_addr)) {
			/* Over the box's rate: a reset, as from a closed port. */
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			continue;
		}
		if (sink_ftp_data(s, peer.sin_addr.s_addr, me.sin_addr.s_addr, ntohs(me.sin_port),
		                  fd))
			continue; /* an FTP session's data connection */
		struct conn *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			sink_box_disconnect(s, peer.sin_addr.s_addr);
			close(fd);
			continue;
		}
		c->s = s;
		c->fd = fd;
		c->body = -1;
		c->id = ++s->next_id;
		c->src = peer.sin_addr.s_addr;
		c->sport = ntohs(peer.sin_port);
		c->dst = me.sin_addr.s_addr;
		c->dport = ntohs(me.sin_port);
		c->st = C_READ;
		c->report = true;
		buf_init(&c->wout);
		c->next = conns;
		conns = c;
		loop_add_fd(s->loop, fd, LOOP_READ, on_io, c);
		arm(c, IDLE_MS);
		if (mail_port(c->dport))
			start_mail(c);
		else if (c->dport == 21)
			start_ftp(c);
	}
}

void sink_tcp_start(struct sink *s, int listen_fd)
{
	loop_add_fd(s->loop, listen_fd, LOOP_READ, on_accept, s);
}

void sink_tcp_fetched(struct sink *s, uint64_t id, int status, const char *type, int fd)
{
	for (struct conn *c = conns; c != NULL; c = c->next)
		if (c->id == id && c->st == C_FETCH) {
			respond(c, status, type, fd);
			return;
		}
	if (fd >= 0)
		close(fd); /* the box went away meanwhile */
}
