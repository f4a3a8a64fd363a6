/*
 * smtp_proto: a Postfix-like SMTP server's dialogue; see smtp_proto.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "smtp_proto.h"

#define MAX_ERRORS 20

enum state { S_CMD, S_DATA, S_AUTH_PLAIN, S_AUTH_USER, S_AUTH_PASS };

struct smtp {
	char host[SMTP_FIELD];
	enum state st;
	char line[SMTP_LINE_MAX + 1];
	size_t line_len;
	bool overlong, helo, mail, quit;
	int errors;
	unsigned queued;
	struct smtp_msg m;
	uint8_t data[SMTP_KEEP_MAX];
};

struct smtp *smtp_new(const char *hostname)
{
	struct smtp *s = calloc(1, sizeof(*s));
	if (s != NULL)
		snprintf(s->host, sizeof(s->host), "%s", hostname);
	return s;
}

void smtp_free(struct smtp *s)
{
	free(s);
}

void smtp_banner(struct smtp *s, struct buf *out)
{
	buf_putf(out, "220 %s ESMTP Postfix (Ubuntu)\r\n", s->host);
}

/* "FROM:<a@b>" after the verb: what is between the brackets (or the
 * word), into out. */
static void address(const char *arg, char *out)
{
	const char *lt = strchr(arg, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	size_t n;

	if (lt != NULL && gt != NULL) {
		arg = lt + 1;
		n = (size_t)(gt - arg);
	} else {
		while (*arg == ' ')
			arg++;
		n = strcspn(arg, " ");
	}
	if (n >= SMTP_FIELD)
		n = SMTP_FIELD - 1;
	memcpy(out, arg, n);
	out[n] = '\0';
}

/* Base64 text into out (NUL-terminated, at most cap - 1 bytes): the
 * length, or -1. */
static int unbase64(const char *in, uint8_t *out, size_t cap)
{
	size_t n = strlen(in);
	uint8_t tmp[SMTP_LINE_MAX];

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(tmp))
		return -1;
	int r = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
	if (r < 0)
		return -1;
	r -= (in[n - 1] == '=') + (in[n - 2] == '=');
	if ((size_t)r >= cap)
		r = (int)cap - 1;
	memcpy(out, tmp, (size_t)r);
	out[r] = '\0';
	return r;
}

/* Copies a decoded credential as text: NULs and controls as '?'. */
static void keep_text(char *dst, const uint8_t *p, size_t n)
{
	if (n >= SMTP_FIELD)
		n = SMTP_FIELD - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = p[i] < 0x20 ? '?' : (char)p[i];
	dst[n] = '\0';
}

/* AUTH PLAIN's "authzid\0user\0pass". */
static bool plain(struct smtp *s, const char *b64)
{
	uint8_t d[SMTP_LINE_MAX];
	int n = unbase64(b64, d, sizeof(d));
	const uint8_t *u = n > 0 ? memchr(d, 0, (size_t)n) : NULL;
	const uint8_t *p = u != NULL ? memchr(u + 1, 0, (size_t)(d + n - u - 1)) : NULL;

	if (p == NULL)
		return false;
	keep_text(s->m.auth_user, u + 1, (size_t)(p - u - 1));
	keep_text(s->m.auth_pass, p + 1, (size_t)(d + n - p - 1));
	return true;
}

static bool verb(const char *line, const char *v, const char **arg)
{
	size_t n = strlen(v);
	if (strncasecmp(line, v, n) != 0 || (line[n] != '\0' && line[n] != ' ' && line[n] != ':'))
		return false;
	*arg = line + n;
	while (**arg == ' ')
		(*arg)++;
	return true;
}

static void new_message(struct smtp *s)
{
	s->mail = false;
	s->m.from[0] = '\0';
	s->m.n_to = 0;
	s->m.len = 0;
	s->m.bytes = 0;
}

static void error(struct smtp *s, struct buf *out, const char *reply)
{
	buf_putf(out, "%s\r\n", reply);
	if (++s->errors >= MAX_ERRORS) {
		buf_putf(out, "421 4.7.0 %s Error: too many errors\r\n", s->host);
		s->quit = true;
	}
}

static void command(struct smtp *s, const char *line, struct buf *out)
{
	const char *arg;
	uint8_t d[SMTP_FIELD];
	int n;

	if ((s->st == S_AUTH_PLAIN || s->st == S_AUTH_USER || s->st == S_AUTH_PASS) &&
	    strcmp(line, "*") == 0) {
		s->st = S_CMD;
		error(s, out, "501 5.7.0 Authentication aborted");
		return;
	}
	switch (s->st) {
	case S_AUTH_PLAIN:
		s->st = S_CMD;
		if (plain(s, line))
			buf_putf(out, "235 2.7.0 Authentication successful\r\n");
		else
			error(s, out, "535 5.7.8 Error: authentication failed: bad protocol");
		return;
	case S_AUTH_USER:
		if ((n = unbase64(line, d, sizeof(d))) < 0) {
			s->st = S_CMD;
			error(s, out, "535 5.7.8 Error: authentication failed: bad protocol");
			return;
		}
		keep_text(s->m.auth_user, d, (size_t)n);
		s->st = S_AUTH_PASS;
		buf_putf(out, "334 UGFzc3dvcmQ6\r\n");
		return;
	case S_AUTH_PASS:
		s->st = S_CMD;
		if ((n = unbase64(line, d, sizeof(d))) < 0) {
			error(s, out, "535 5.7.8 Error: authentication failed: bad protocol");
			return;
		}
		keep_text(s->m.auth_pass, d, (size_t)n);
		buf_putf(out, "235 2.7.0 Authentication successful\r\n");
		return;
	default:
		break;
	}
	if (verb(line, "EHLO", &arg)) {
		snprintf(s->m.helo, sizeof(s->m.helo), "%s", arg);
		s->helo = true;
		new_message(s);
		buf_putf(out,
		         "250-%s\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
		         "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
		         "250-DSN\r\n250 SMTPUTF8\r\n",
		         s->host);
	} else if (verb(line, "HELO", &arg)) {
		snprintf(s->m.helo, sizeof(s->m.helo), "%s", arg);
		s->helo = true;
		new_message(s);
		buf_putf(out, "250 %s\r\n", s->host);
	} else if (verb(line, "AUTH", &arg)) {
		if (!s->helo) {
			error(s, out, "503 5.5.1 Error: send HELO/EHLO first");
		} else if (strncasecmp(arg, "PLAIN", 5) == 0 && arg[5] == ' ') {
			if (plain(s, arg + 6))
				buf_putf(out, "235 2.7.0 Authentication successful\r\n");
			else
				error(s, out,
				      "535 5.7.8 Error: authentication failed: bad protocol");
		} else if (strcasecmp(arg, "PLAIN") == 0) {
			s->st = S_AUTH_PLAIN;
			buf_putf(out, "334 \r\n");
		} else if (strncasecmp(arg, "LOGIN", 5) == 0 && (arg[5] == '\0' || arg[5] == ' ')) {
			if (arg[5] == ' ' && (n = unbase64(arg + 6, d, sizeof(d))) >= 0) {
				keep_text(s->m.auth_user, d, (size_t)n);
				s->st = S_AUTH_PASS;
				buf_putf(out, "334 UGFzc3dvcmQ6\r\n");
			} else {
				s->st = S_AUTH_USER;
				buf_putf(out, "334 VXNlcm5hbWU6\r\n");
			}
		} else {
			error(s, out,
			      "535 5.7.8 Error: authentication failed: Invalid authentication "
			      "mechanism");
		}
	} else if (verb(line, "MAIL", &arg)) {
		if (!s->helo)
			error(s, out, "503 5.5.1 Error: send HELO/EHLO first");
		else if (s->mail)
			error(s, out, "503 5.5.1 Error: nested MAIL command");
		else if (strncasecmp(arg, "FROM:", 5) != 0)
			error(s, out, "501 5.5.4 Syntax: MAIL FROM:<address>");
		else {
			new_message(s);
			address(arg + 5, s->m.from);
			s->mail = true;
			buf_putf(out, "250 2.1.0 Ok\r\n");
		}
	} else if (verb(line, "RCPT", &arg)) {
		if (!s->mail)
			error(s, out, "503 5.5.1 Error: need MAIL command");
		else if (strncasecmp(arg, "TO:", 3) != 0)
			error(s, out, "501 5.5.4 Syntax: RCPT TO:<address>");
		else if (s->m.n_to == SMTP_RCPT_MAX)
			buf_putf(out, "452 4.5.3 Error: too many recipients\r\n");
		else {
			address(arg + 3, s->m.to[s->m.n_to++]);
			buf_putf(out, "250 2.1.5 Ok\r\n");
		}
	} else if (verb(line, "DATA", &arg)) {
		if (!s->mail)
			error(s, out, "503 5.5.1 Error: need MAIL command");
		else if (s->m.n_to == 0)
			error(s, out, "554 5.5.1 Error: no valid recipients");
		else {
			s->st = S_DATA;
			buf_putf(out, "354 End data with <CR><LF>.<CR><LF>\r\n");
		}
	} else if (verb(line, "RSET", &arg)) {
		new_message(s);
		buf_putf(out, "250 2.0.0 Ok\r\n");
	} else if (verb(line, "NOOP", &arg)) {
		buf_putf(out, "250 2.0.0 Ok\r\n");
	} else if (verb(line, "VRFY", &arg)) {
		buf_putf(out, "252 2.0.0 %s\r\n",
		         *arg ? "Cannot VRFY user" : "Syntax: VRFY address");
	} else if (verb(line, "QUIT", &arg)) {
		buf_putf(out, "221 2.0.0 Bye\r\n");
		s->quit = true;
	} else {
		error(s, out, "502 5.5.2 Error: command not recognized");
	}
}

/* A line of the message (with its line end), or its end. */
static void data_line(struct smtp *s, const char *p, size_t n, bool whole, struct buf *out,
                      smtp_msg_cb cb, void *arg)
{
	size_t body = n;
	while (body > 0 && (p[body - 1] == '\n' || p[body - 1] == '\r'))
		body--;
	if (whole && body == 1 && p[0] == '.') {
		s->m.data = s->data;
		cb(arg, &s->m);
		s->queued++;
		buf_putf(out, "250 2.0.0 Ok: queued as %08X%02X\r\n", 0x4C3A1000u + s->queued,
		         s->queued & 0xffu);
		s->st = S_CMD;
		new_message(s);
		return;
	}
	size_t keep = s->m.len + n <= SMTP_KEEP_MAX ? n : SMTP_KEEP_MAX - s->m.len;
	memcpy(s->data + s->m.len, p, keep);
	s->m.len += keep;
	s->m.bytes += n;
}

bool smtp_input(struct smtp *s, const uint8_t *p, size_t n, struct buf *out, smtp_msg_cb cb,
                void *arg)
{
	for (size_t i = 0; i < n && !s->quit; i++) {
		bool full = s->line_len == SMTP_LINE_MAX;
		if (!full)
			s->line[s->line_len++] = (char)p[i];
		if (p[i] != '\n' && !full)
			continue;
		if (s->st == S_DATA) {
			/* A data line longer than a command's is passed in parts;
			 * the byte that found the store full begins the next. */
			if (full) {
				data_line(s, s->line, s->line_len, false, out, cb, arg);
				s->overlong = true;
				s->line_len = 0;
				s->line[s->line_len++] = (char)p[i];
				if (p[i] != '\n')
					continue;
			}
			data_line(s, s->line, s->line_len, !s->overlong, out, cb, arg);
			s->overlong = false;
			s->line_len = 0;
			continue;
		}
		if (full) {
			s->overlong = true; /* dropped up to its end */
			s->line_len = 0;
			if (p[i] != '\n')
				continue;
		}
		if (s->overlong) {
			s->overlong = false;
			s->line_len = 0;
			error(s, out, "500 5.5.0 Error: line too long");
			continue;
		}
		s->line_len--; /* the LF */
		if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
			s->line_len--;
		s->line[s->line_len] = '\0';
		if (memchr(s->line, '\0', s->line_len) != NULL)
			error(s, out, "500 5.5.2 Error: bad syntax");
		else
			command(s, s->line, out);
		s->line_len = 0;
	}
	return !s->quit;
}
