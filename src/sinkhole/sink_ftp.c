/*
 * sink_ftp: FTP downloads a box makes from any address, as a vsftpd
 * answers them: any login is accepted, passive mode only (PASV, EPSV:
 * the data connection comes to the address the box dialled, on a port
 * picked here, and the catch-all listener hands it over), and each RETR
 * is a fetch of ftp://HOST/PATH (HOST the name the box resolved, else the
 * address) answered by the monitor as an HTTP fetch is. Listings are
 * empty; uploads are refused. See sinkhole.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "sinkhole.h"
#include "util.h"

#define LINE_MAX_FTP 1024
#define MAX_ERRORS   20
#define CHUNK        16384

struct sink_ftp {
	struct sink_ftp *next;
	struct sink *s;
	uint32_t src, dst;
	uint16_t sport, dport;
	struct buf *out;
	void (*flush)(void *arg);
	void *flush_arg;
	char line[LINE_MAX_FTP + 1];
	size_t line_len;
	bool overlong, quit;
	int errors;
	char cwd[512];
	char user[128];
	uint16_t pasv;     /* the passive port, 0 when none */
	int data;          /* the data connection, or -1 */
	bool listing;      /* the data connection is for a listing */
	uint64_t fetch_id; /* a SIZE or RETR waiting for the monitor, 0 when none */
	bool for_size;     /* it is SIZE's (curl asks first, and takes 550 as "no file") */
	int body;          /* the file fetched last, or -1 */
	char body_path[512];
	off_t body_len;
	bool sending; /* a RETR sends body on the data connection */
	off_t body_off;
	char file[512];
};

static struct sink_ftp *all; /* every control connection */

struct sink_ftp *sink_ftp_new(struct sink *s, uint32_t src, uint16_t sport, uint32_t dst,
                              uint16_t dport, struct buf *out, void (*flush)(void *), void *arg)
{
	struct sink_ftp *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->s = s;
	f->src = src;
	f->sport = sport;
	f->dst = dst;
	f->dport = dport;
	f->out = out;
	f->flush = flush;
	f->flush_arg = arg;
	f->data = f->body = -1;
	snprintf(f->cwd, sizeof(f->cwd), "/");
	f->next = all;
	all = f;
	buf_putf(out, "220 (vsFTPd 3.0.5)\r\n");
	return f;
}

static void close_data(struct sink_ftp *f)
{
	if (f->data >= 0) {
		loop_del_fd(f->s->loop, f->data);
		close(f->data);
		sink_box_disconnect(f->s, f->src);
		f->data = -1;
	}
	f->listing = f->sending = false;
}

void sink_ftp_free(struct sink_ftp *f)
{
	if (f == NULL)
		return;
	for (struct sink_ftp **p = &all; *p != NULL; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	close_data(f);
	if (f->body >= 0)
		close(f->body);
	free(f);
}

static void reply(struct sink_ftp *f, const char *text)
{
	buf_putf(f->out, "%s\r\n", text);
	f->flush(f->flush_arg);
}

/* The transfer on the data connection is done (or failed). */
static void transfer_end(struct sink_ftp *f, bool ok)
{
	close_data(f);
	reply(f, ok ? "226 Transfer complete." : "426 Failure writing network stream.");
}

static void on_data(struct loop *l, int fd, int events, void *arg)
{
	struct sink_ftp *f = arg;
	char buf[CHUNK];

	if (f->listing) {
		transfer_end(f, true); /* an empty directory */
		return;
	}
	if (!f->sending) {
		/* Connected before the fetch was answered: wait. */
		loop_set_events(l, fd, 0);
		return;
	}
	while (f->body_off < f->body_len) {
		size_t want = (size_t)(f->body_len - f->body_off) < sizeof(buf)
		                  ? (size_t)(f->body_len - f->body_off)
		                  : sizeof(buf);
		ssize_t got = pread(f->body, buf, want, f->body_off);
		if (got <= 0) {
			transfer_end(f, false);
			return;
		}
		ssize_t n = send(fd, buf, (size_t)got, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				transfer_end(f, false);
			return;
		}
		f->body_off += n;
	}
	transfer_end(f, true);
}

/* A data connection and something to send: go. */
static void maybe_send(struct sink_ftp *f)
{
	if (f->data >= 0 && (f->sending || f->listing))
		loop_set_events(f->s->loop, f->data, LOOP_WRITE);
}

bool sink_ftp_data(struct sink *s, uint32_t src, uint32_t dst, uint16_t dport, int fd)
{
	for (struct sink_ftp *f = all; f != NULL; f = f->next)
		if (f->pasv != 0 && f->src == src && f->dst == dst && f->pasv == dport &&
		    f->data < 0) {
			f->pasv = 0;
			f->data = fd;
			loop_add_fd(s->loop, fd, 0, on_data, f);
			maybe_send(f);
			return true;
		}
	return false;
}

/* RETR of the file fetched: it goes out on the data connection. */
static void send_body(struct sink_ftp *f)
{
	char msg[700];

	snprintf(msg, sizeof(msg),
	         "150 Opening BINARY mode data connection for %.400s (%lld bytes).", f->file,
	         (long long)f->body_len);
	reply(f, msg);
	f->sending = true;
	f->body_off = 0;
	maybe_send(f);
}

bool sink_ftp_fetched(struct sink *s, uint64_t id, int status, int fd)
{
	struct stat st;
	char msg[64];
	struct sink_ftp *f = all;

	while (f != NULL && (id == 0 || f->fetch_id != id))
		f = f->next;
	if (f == NULL)
		return false;
	f->fetch_id = 0;
	if (status != 200 || fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		if (f->for_size) {
			reply(f, "550 Could not get file size.");
		} else {
			close_data(f);
			reply(f, "550 Failed to open file.");
		}
		return true;
	}
	f->body = fd;
	f->body_len = st.st_size;
	if (f->for_size) {
		snprintf(msg, sizeof(msg), "213 %lld", (long long)st.st_size);
		reply(f, msg);
	} else {
		send_body(f);
	}
	return true;
}

/* A path the box named, made absolute against the working directory. */
static void resolve(const struct sink_ftp *f, const char *arg, char *out, size_t cap)
{
	int n;

	if (arg[0] == '/')
		n = snprintf(out, cap, "%s", arg);
	else
		n = snprintf(out, cap, "%s%s%s", f->cwd, strcmp(f->cwd, "/") == 0 ? "" : "/", arg);
	if (n < 0 || (size_t)n >= cap)
		snprintf(out, cap, "/"); /* too long to be a path of ours */
}

static void error_reply(struct sink_ftp *f, const char *text)
{
	reply(f, text);
	if (++f->errors >= MAX_ERRORS) {
		reply(f, "421 Too many errors.");
		f->quit = true;
	}
}

/* A passive port for the box to connect to: random, high. */
static void open_passive(struct sink_ftp *f, bool extended)
{
	char msg[128];
	uint8_t r[2];
	const uint8_t *a = (const uint8_t *)&f->dst;

	close_data(f);
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r[0] = r[1] = 0x5a;
	f->pasv = (uint16_t)(30000 + ((r[0] << 8 | r[1]) % 20000));
	if (extended)
		snprintf(msg, sizeof(msg), "229 Entering Extended Passive Mode (|||%u|)", f->pasv);
	else
		snprintf(msg, sizeof(msg), "227 Entering Passive Mode (%u,%u,%u,%u,%u,%u).", a[0],
		         a[1], a[2], a[3], f->pasv >> 8, f->pasv & 0xff);
	reply(f, msg);
}

/* SIZE (for_size) or RETR of arg: from the file fetched last if it is
 * that one, else fetched now. */
static void get(struct sink_ftp *f, const char *arg, bool for_size)
{
	char path[512], url[700], ip[16], box[16], sz[64];
	const char *host = sink_dns_name(f->dst);

	if (!for_size && f->data < 0 && f->pasv == 0) {
		error_reply(f, "425 Use PORT or PASV first.");
		return;
	}
	if (f->fetch_id != 0) {
		error_reply(f, "425 Busy.");
		return;
	}
	resolve(f, arg, path, sizeof(path));
	snprintf(f->file, sizeof(f->file), "%s", arg);
	if (f->body >= 0 && strcmp(path, f->body_path) == 0) {
		if (for_size) {
			snprintf(sz, sizeof(sz), "213 %lld", (long long)f->body_len);
			reply(f, sz);
		} else {
			send_body(f);
		}
		return;
	}
	if (f->body >= 0)
		close(f->body);
	f->body = -1;
	snprintf(f->body_path, sizeof(f->body_path), "%s", path);
	f->for_size = for_size;
	char *p = util_utf8_sanitize(path, strlen(path));
	snprintf(url, sizeof(url), "ftp://%s%s", host ? host : sink_ip(f->dst, ip), p ? p : "/");
	free(p);
	f->fetch_id = ++f->s->next_id;
	json_t *msg = json_pack("{s:s, s:I, s:s, s:i, s:s, s:i, s:s, s:s, s:o}", "t", "fetch", "id",
	                        (json_int_t)f->fetch_id, "box", sink_ip(f->src, box), "sport",
	                        f->sport, "dst", sink_ip(f->dst, ip), "dport", f->dport, "method",
	                        "GET", "url", url, "headers", json_array());
	if (!sink_send(f->s, msg, -1)) {
		f->fetch_id = 0;
		reply(f, "550 Failed to open file.");
	}
}

static bool verb(const char *line, const char *v, const char **arg)
{
	size_t n = strlen(v);
	if (strncasecmp(line, v, n) != 0 || (line[n] != '\0' && line[n] != ' '))
		return false;
	*arg = line + n;
	while (**arg == ' ')
		(*arg)++;
	return true;
}

static void command(struct sink_ftp *f, const char *line)
{
	const char *arg;
	char msg[700];

	if (verb(line, "USER", &arg)) {
		snprintf(f->user, sizeof(f->user), "%s", arg);
		reply(f, "331 Please specify the password.");
	} else if (verb(line, "PASS", &arg)) {
		reply(f, "230 Login successful.");
	} else if (verb(line, "SYST", &arg)) {
		reply(f, "215 UNIX Type: L8");
	} else if (verb(line, "FEAT", &arg)) {
		reply(f, "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n UTF8\r\n211 End");
	} else if (verb(line, "PWD", &arg) || verb(line, "XPWD", &arg)) {
		snprintf(msg, sizeof(msg), "257 \"%.500s\" is the current directory", f->cwd);
		reply(f, msg);
	} else if (verb(line, "CWD", &arg)) {
		char path[512];
		resolve(f, arg, path, sizeof(path));
		snprintf(f->cwd, sizeof(f->cwd), "%s", path);
		reply(f, "250 Directory successfully changed.");
	} else if (verb(line, "CDUP", &arg)) {
		char *slash = strrchr(f->cwd, '/');
		if (slash != NULL && slash != f->cwd)
			*slash = '\0';
		else
			snprintf(f->cwd, sizeof(f->cwd), "/");
		reply(f, "250 Directory successfully changed.");
	} else if (verb(line, "TYPE", &arg)) {
		reply(f, toupper((unsigned char)arg[0]) == 'A' ? "200 Switching to ASCII mode."
		                                               : "200 Switching to Binary mode.");
	} else if (verb(line, "MODE", &arg) || verb(line, "STRU", &arg) ||
	           verb(line, "OPTS", &arg)) {
		reply(f, "200 OK.");
	} else if (verb(line, "PASV", &arg)) {
		open_passive(f, false);
	} else if (verb(line, "EPSV", &arg)) {
		open_passive(f, true);
	} else if (verb(line, "PORT", &arg) || verb(line, "EPRT", &arg)) {
		error_reply(f, "500 Illegal PORT command.");
	} else if (verb(line, "SIZE", &arg)) {
		get(f, arg, true);
	} else if (verb(line, "MDTM", &arg)) {
		reply(f, "213 20250311140217");
	} else if (verb(line, "RETR", &arg)) {
		get(f, arg, false);
	} else if (verb(line, "LIST", &arg) || verb(line, "NLST", &arg)) {
		if (f->data < 0 && f->pasv == 0) {
			error_reply(f, "425 Use PORT or PASV first.");
			return;
		}
		f->listing = true;
		reply(f, "150 Here comes the directory listing.");
		maybe_send(f);
	} else if (verb(line, "STOR", &arg) || verb(line, "APPE", &arg) ||
	           verb(line, "DELE", &arg) || verb(line, "MKD", &arg) || verb(line, "RMD", &arg)) {
		error_reply(f, "550 Permission denied.");
	} else if (verb(line, "NOOP", &arg)) {
		reply(f, "200 NOOP ok.");
	} else if (verb(line, "QUIT", &arg)) {
		reply(f, "221 Goodbye.");
		f->quit = true;
	} else {
		error_reply(f, "500 Unknown command.");
	}
}

bool sink_ftp_input(struct sink_ftp *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && !f->quit; i++) {
		if (p[i] != '\n') {
			if (f->line_len < LINE_MAX_FTP)
				f->line[f->line_len++] = (char)p[i];
			else
				f->overlong = true;
			continue;
		}
		if (f->line_len > 0 && f->line[f->line_len - 1] == '\r')
			f->line_len--;
		f->line[f->line_len] = '\0';
		if (f->overlong || memchr(f->line, '\0', f->line_len) != NULL)
			error_reply(f, "500 Input line too long.");
		else
			command(f, f->line);
		f->line_len = 0;
		f->overlong = false;
	}
	return !f->quit;
}
