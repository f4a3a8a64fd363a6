/*
 * Unit tests for smtp_proto: the dialogue a box's mailer has with the
 * sinkhole's Postfix, reply by reply: the banner, EHLO/HELO, a message
 * from MAIL to its final dot (delivered as sent, dot-stuffed), RSET,
 * NOOP, QUIT; AUTH PLAIN and LOGIN in each of their forms, with the
 * credentials kept, and bad base64; commands out of order; the recipient
 * bound; lines over SMTP_LINE_MAX in a command (refused, the dialogue
 * goes on) and in a message (kept whole, never a terminator); a message
 * over SMTP_KEEP_MAX; the same session cut at every byte; NUL in a
 * command; the error bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "smtp_proto.h"

#define HOST       "mx.example.net"
#define MAX_ERRORS 20 /* smtp_proto.c's */
#define MSGS_MAX   8

#define EHLO_REPLY                                                                                 \
	"250-" HOST "\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"          \
	"250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"           \
	"250 SMTPUTF8\r\n"
#define OK_MAIL    "250 2.1.0 Ok\r\n"
#define OK_RCPT    "250 2.1.5 Ok\r\n"
#define GO_AHEAD   "354 End data with <CR><LF>.<CR><LF>\r\n"
#define OK         "250 2.0.0 Ok\r\n"
#define AUTH_OK    "235 2.7.0 Authentication successful\r\n"
#define AUTH_BAD   "535 5.7.8 Error: authentication failed: bad protocol\r\n"
#define ASK_USER   "334 VXNlcm5hbWU6\r\n"
#define ASK_PASS   "334 UGFzc3dvcmQ6\r\n"
#define NEED_MAIL  "503 5.5.1 Error: need MAIL command\r\n"
#define UNKNOWN    "502 5.5.2 Error: command not recognized\r\n"
#define TOO_LONG   "500 5.5.0 Error: line too long\r\n"
#define BAD_SYNTAX "500 5.5.2 Error: bad syntax\r\n"
#define TOO_MANY   "421 4.7.0 " HOST " Error: too many errors\r\n"
#define QUEUED(n)  "250 2.0.0 Ok: queued as 4C3A10" n "\r\n"

static struct smtp *s;
static struct buf out;

/* The messages delivered: copies, their data on the heap; and all of them
 * written out one after another (msg_log), to compare two runs. */
static struct smtp_msg msgs[MSGS_MAX];
static size_t n_msgs;
static struct buf msg_log;

static void on_msg(void *arg, const struct smtp_msg *m)
{
	assert_ptr_equal(arg, &n_msgs);
	assert_true(m->len <= SMTP_KEEP_MAX && m->len <= m->bytes);
	buf_putf(&msg_log, "helo=%s from=%s user=%s pass=%s n_to=%zu", m->helo, m->from,
	         m->auth_user, m->auth_pass, m->n_to);
	for (size_t i = 0; i < m->n_to; i++)
		buf_putf(&msg_log, " to=%s", m->to[i]);
	buf_putf(&msg_log, " bytes=%llu len=%zu\n", (unsigned long long)m->bytes, m->len);
	buf_put(&msg_log, m->data, m->len);
	if (n_msgs < MSGS_MAX) {
		uint8_t *copy = malloc(m->len ? m->len : 1);
		assert_non_null(copy);
		memcpy(copy, m->data, m->len);
		msgs[n_msgs] = *m;
		msgs[n_msgs].data = copy;
	}
	n_msgs++;
}

static void forget_msgs(void)
{
	for (size_t i = 0; i < n_msgs && i < MSGS_MAX; i++)
		free((void *)msgs[i].data);
	n_msgs = 0;
	buf_free(&msg_log);
}

static int setup(void **state)
{
	(void)state;
	s = smtp_new(HOST);
	buf_init(&out);
	buf_init(&msg_log);
	n_msgs = 0;
	return s == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	smtp_free(s);
	buf_free(&out);
	forget_msgs();
	return 0;
}

static bool feedn(const void *p, size_t n)
{
	return smtp_input(s, p, n, &out, on_msg, &n_msgs);
}

static bool feed(const char *text)
{
	return feedn(text, strlen(text));
}

/* The replies since the last call are exactly want. */
static void expect(const char *want)
{
	char *got = malloc(out.len + 1);

	assert_non_null(got);
	memcpy(got, out.data, out.len);
	got[out.len] = '\0';
	assert_int_equal(strlen(got), out.len); /* no NUL in a reply */
	assert_string_equal(got, want);
	free(got);
	buf_reset(&out);
}

/* feed(text) goes on and is answered with want. */
static void say(const char *text, const char *want)
{
	assert_true(feed(text));
	expect(want);
}

/* A mail transaction up to DATA's go-ahead. */
static void start_message(void)
{
	say("EHLO client.example\r\n", EHLO_REPLY);
	say("MAIL FROM:<alice@example.com>\r\n", OK_MAIL);
	say("RCPT TO:<bob@example.org>\r\n", OK_RCPT);
	say("DATA\r\n", GO_AHEAD);
}

static void test_banner(void **state)
{
	(void)state;
	smtp_banner(s, &out);
	expect("220 " HOST " ESMTP Postfix (Ubuntu)\r\n");
}

static void test_ehlo_helo(void **state)
{
	(void)state;
	say("EHLO client.example\r\n", EHLO_REPLY);
	say("HELO client.example\r\n", "250 " HOST "\r\n");
	say("ehlo lower.case\r\n", EHLO_REPLY);
	say("helo lower.case\n", "250 " HOST "\r\n"); /* a bare LF ends a line too */
	assert_int_equal(n_msgs, 0);
}

static void test_message(void **state)
{
	static const char body[] = "From: Alice <alice@example.com>\r\n"
	                           "Subject: hi\r\n"
	                           "\r\n"
	                           "line one\r\n"
	                           "..a line that began with a dot\r\n"
	                           ".\tnot the end either\r\n";

	(void)state;
	say("EHLO laptop.local\r\n", EHLO_REPLY);
	say("MAIL FROM:<alice@example.com> SIZE=120\r\n", OK_MAIL);
	say("RCPT TO:<bob@example.org>\r\n", OK_RCPT);
	say("rcpt to: <carol@example.net> NOTIFY=NEVER\r\n", OK_RCPT);
	say("DATA\r\n", GO_AHEAD);
	say(body, "");
	assert_int_equal(n_msgs, 0);
	say(".\r\n", QUEUED("0101"));
	assert_int_equal(n_msgs, 1);
	assert_string_equal(msgs[0].helo, "laptop.local");
	assert_string_equal(msgs[0].from, "alice@example.com");
	assert_int_equal(msgs[0].n_to, 2);
	assert_string_equal(msgs[0].to[0], "bob@example.org");
	assert_string_equal(msgs[0].to[1], "carol@example.net");
	assert_string_equal(msgs[0].auth_user, "");
	assert_string_equal(msgs[0].auth_pass, "");
	assert_int_equal(msgs[0].len, strlen(body));
	assert_int_equal(msgs[0].bytes, strlen(body));
	assert_memory_equal(msgs[0].data, body, strlen(body));

	/* The next one on the same connection: the null sender, an address
	 * without brackets, bare LFs, no body at all; nothing of the first
	 * is left. */
	say("MAIL FROM:<>\r\n", OK_MAIL);
	say("RCPT TO: dave@example.com\r\n", OK_RCPT);
	say("DATA\r\n", GO_AHEAD);
	say("x\n.\n", QUEUED("0202"));
	say("MAIL FROM:eve@example.com\r\nRCPT TO:<f@g>\r\nDATA\r\n.\r\n",
	    OK_MAIL OK_RCPT GO_AHEAD QUEUED("0303"));
	assert_int_equal(n_msgs, 3);
	assert_string_equal(msgs[1].helo, "laptop.local");
	assert_string_equal(msgs[1].from, "");
	assert_int_equal(msgs[1].n_to, 1);
	assert_string_equal(msgs[1].to[0], "dave@example.com");
	assert_int_equal(msgs[1].len, 2);
	assert_int_equal(msgs[1].bytes, 2);
	assert_memory_equal(msgs[1].data, "x\n", 2);
	assert_string_equal(msgs[2].from, "eve@example.com");
	assert_int_equal(msgs[2].n_to, 1);
	assert_string_equal(msgs[2].to[0], "f@g");
	assert_int_equal(msgs[2].len, 0);
	assert_int_equal(msgs[2].bytes, 0);
}

static void test_rset(void **state)
{
	(void)state;
	say("EHLO client.example\r\n", EHLO_REPLY);
	say("MAIL FROM:<alice@example.com>\r\n", OK_MAIL);
	say("RCPT TO:<bob@example.org>\r\n", OK_RCPT);
	say("RSET\r\n", OK);
	say("DATA\r\n", NEED_MAIL);
	say("RCPT TO:<bob@example.org>\r\n", NEED_MAIL);
	/* The greeting is kept: no new EHLO needed. */
	say("MAIL FROM:<mallory@example.com>\r\n", OK_MAIL);
	say("RCPT TO:<trent@example.org>\r\n", OK_RCPT);
	say("DATA\r\n", GO_AHEAD);
	say("x\r\n.\r\n", QUEUED("0101"));
	assert_int_equal(n_msgs, 1);
	assert_string_equal(msgs[0].from, "mallory@example.com");
	assert_int_equal(msgs[0].n_to, 1);
	assert_string_equal(msgs[0].to[0], "trent@example.org");
}

static void test_noop_vrfy(void **state)
{
	(void)state;
	say("NOOP\r\n", OK);
	say("noop with an argument\r\n", OK);
	say("VRFY root\r\n", "252 2.0.0 Cannot VRFY user\r\n");
	start_message();
	say("NOOP\r\n", ""); /* in a message: text */
	say(".\r\n", QUEUED("0101"));
	assert_memory_equal(msgs[0].data, "NOOP\r\n", 6);
}

static void test_quit(void **state)
{
	(void)state;
	say("EHLO client.example\r\n", EHLO_REPLY);
	assert_false(feed("QUIT\r\nNOOP\r\n"));
	expect("221 2.0.0 Bye\r\n"); /* nothing after QUIT is answered */
	assert_false(feed("NOOP\r\n"));
	expect("");
	assert_false(feed("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n"));
	expect("");
	assert_int_equal(n_msgs, 0);
}

static void test_auth_plain(void **state)
{
	(void)state;
	say("EHLO client.example\r\n", EHLO_REPLY);
	/* "\0alice\0s3cret" on the command line */
	say("AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n", AUTH_OK);
	say("MAIL FROM:<alice@example.com>\r\nRCPT TO:<b@c>\r\nDATA\r\nx\r\n.\r\n",
	    OK_MAIL OK_RCPT GO_AHEAD QUEUED("0101"));
	assert_string_equal(msgs[0].auth_user, "alice");
	assert_string_equal(msgs[0].auth_pass, "s3cret");

	/* On the next line, with an authorization identity ("admin") that is
	 * not the user; the mechanism's name in any case. */
	say("auth plain\r\n", "334 \r\n");
	say("YWRtaW4AYWxpY2UAcHc=\r\n", AUTH_OK);
	say("MAIL FROM:<a@b>\r\nRCPT TO:<b@c>\r\nDATA\r\nx\r\n.\r\n",
	    OK_MAIL OK_RCPT GO_AHEAD QUEUED("0202"));
	assert_string_equal(msgs[1].auth_user, "alice");
	assert_string_equal(msgs[1].auth_pass, "pw");
}

static void test_auth_login(void **state)
{
	(void)state;
	say("EHLO client.example\r\n", EHLO_REPLY);
	say("AUTH LOGIN\r\n", ASK_USER);
	say("YWxpY2U=\r\n", ASK_PASS);
	say("czNjcmV0\r\n", AUTH_OK);
	say("MAIL FROM:<a@b>\r\nRCPT TO:<b@c>\r\nDATA\r\nx\r\n.\r\n",
	    OK_MAIL OK_RCPT GO_AHEAD QUEUED("0101"));
	assert_string_equal(msgs[0].auth_user, "alice");
	assert_string_equal(msgs[0].auth_pass, "s3cret");

	/* The user name as an initial response (Python's smtplib); control
	 * characters kept as '?'. */
	say("auth login YQli\r\n", ASK_PASS);
	say("cAF3\r\n", AUTH_OK);
	say("MAIL FROM:<a@b>\r\nRCPT TO:<b@c>\r\nDATA\r\nx\r\n.\r\n",
	    OK_MAIL OK_RCPT GO_AHEAD QUEUED("0202"));
	assert_string_equal(msgs[1].auth_user, "a?b");
	assert_string_equal(msgs[1].auth_pass, "p?w");
}

static void test_auth_bad(void **state)
{
	(void)state;
	say("EHLO client.example\r\n", EHLO_REPLY);
	say("AUTH PLAIN !!!!\r\n", AUTH_BAD);
	say("AUTH PLAIN YWxpY2U=\r\n", AUTH_BAD); /* "alice": no NULs */
	say("AUTH PLAIN\r\n", "334 \r\n");
	say("abc\r\n", AUTH_BAD); /* not a multiple of 4 */
	say("NOOP\r\n", OK);      /* and back to commands */
	say("AUTH LOGIN\r\n", ASK_USER);
	say("@@@@\r\n", AUTH_BAD);
	say("NOOP\r\n", OK);
	say("AUTH LOGIN\r\n", ASK_USER);
	say("YWxpY2U=\r\n", ASK_PASS);
	say("*\r\n", "501 5.7.0 Authentication aborted\r\n"); /* the client gives up */
	say("NOOP\r\n", OK);
	/* A bad initial response: the user name is asked for. */
	say("AUTH LOGIN !!!!\r\n", ASK_USER);
	say("\r\n", AUTH_BAD);
	say("AUTH CRAM-MD5\r\n",
	    "535 5.7.8 Error: authentication failed: Invalid authentication mechanism\r\n");
	say("AUTH\r\n",
	    "535 5.7.8 Error: authentication failed: Invalid authentication mechanism\r\n");
	say("MAIL FROM:<a@b>\r\nRCPT TO:<b@c>\r\nDATA\r\nx\r\n.\r\n",
	    OK_MAIL OK_RCPT GO_AHEAD QUEUED("0101"));
	assert_string_equal(msgs[0].auth_pass, "");
}

static void test_out_of_order(void **state)
{
	(void)state;
	say("MAIL FROM:<a@b>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n");
	say("RCPT TO:<a@b>\r\n", NEED_MAIL);
	say("DATA\r\n", NEED_MAIL);
	say("HELO client.example\r\n", "250 " HOST "\r\n");
	say("RCPT TO:<a@b>\r\n", NEED_MAIL);
	say("DATA\r\n", NEED_MAIL);
	say("MAIL <a@b>\r\n", "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	say("DATA\r\n", NEED_MAIL);
	say("MAIL FROM:<a@b>\r\n", OK_MAIL);
	say("MAIL FROM:<x@y>\r\n", "503 5.5.1 Error: nested MAIL command\r\n");
	say("RCPT <c@d>\r\n", "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
	say("DATA\r\n", "554 5.5.1 Error: no valid recipients\r\n");
	say("BOGUS\r\n", UNKNOWN);
	say("MAILFROM:<a@b>\r\n", UNKNOWN); /* a verb ends at a space or colon */
	say("RSET\r\n", "250 2.0.0 Ok\r\n");
	say("MAIL FROM:<x@y>\r\n", OK_MAIL); /* after RSET, a new one */
	say("\r\n", UNKNOWN);
	assert_int_equal(n_msgs, 0);
}

static void test_too_many_rcpt(void **state)
{
	char line[64];

	(void)state;
	say("EHLO client.example\r\nMAIL FROM:<a@b>\r\n", EHLO_REPLY OK_MAIL);
	for (int i = 0; i < SMTP_RCPT_MAX; i++) {
		snprintf(line, sizeof(line), "RCPT TO:<u%d@example.com>\r\n", i);
		say(line, OK_RCPT);
	}
	/* More than MAX_ERRORS of them: the refusal is not an error that
	 * ends the session, and the message goes to the first ones. */
	for (int i = 0; i < MAX_ERRORS + 10; i++)
		say("RCPT TO:<late@example.com>\r\n", "452 4.5.3 Error: too many recipients\r\n");
	say("DATA\r\nx\r\n.\r\n", GO_AHEAD QUEUED("0101"));
	assert_int_equal(msgs[0].n_to, SMTP_RCPT_MAX);
	assert_string_equal(msgs[0].to[0], "u0@example.com");
	assert_string_equal(msgs[0].to[SMTP_RCPT_MAX - 1], "u99@example.com");
}

/* "NOOP " and padding to n bytes with its CRLF. */
static char *noop_line(size_t n)
{
	char *l = malloc(n + 1);

	assert_non_null(l);
	memset(l, 'x', n);
	memcpy(l, "NOOP ", 5);
	memcpy(l + n - 2, "\r\n", 3);
	return l;
}

static void test_line_too_long(void **state)
{
	char *l;

	(void)state;
	say("EHLO client.example\r\n", EHLO_REPLY);
	l = noop_line(SMTP_LINE_MAX); /* the longest there is */
	say(l, OK);
	free(l);
	l = noop_line(SMTP_LINE_MAX + 1);
	say(l, TOO_LONG);
	free(l);
	l = noop_line(10 * SMTP_LINE_MAX + 17); /* one error for the whole line */
	say(l, TOO_LONG);
	assert_true(feedn(l, 3 * SMTP_LINE_MAX));
	assert_true(feedn(l + 3 * SMTP_LINE_MAX, strlen(l) - 3 * SMTP_LINE_MAX));
	expect(TOO_LONG);
	free(l);
	/* The dialogue goes on, the line after answered. */
	l = noop_line(SMTP_LINE_MAX + 500);
	l[strlen(l) - 1] = '\0'; /* CR: not yet the end */
	say(l, "");
	say("\nMAIL FROM:<a@b>\r\n", TOO_LONG OK_MAIL);
	free(l);
	say("RCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n", OK_RCPT GO_AHEAD QUEUED("0101"));
	assert_string_equal(msgs[0].from, "a@b");
}

/* Appends a line of n 'a'..'z' and its end to b. */
static void put_line(struct buf *b, size_t n, const char *end)
{
	for (size_t i = 0; i < n; i++)
		buf_put_u8(b, (uint8_t)('a' + (n + i) % 26));
	buf_put(b, end, strlen(end));
}

/* body, sent as a message, is delivered whole. */
static void send_body(const struct buf *body, const char *queued)
{
	assert_true(body->len < SMTP_KEEP_MAX);
	forget_msgs();
	say("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
	    OK_MAIL OK_RCPT GO_AHEAD);
	assert_true(feedn(body->data, body->len));
	expect("");
	say(".\r\n", queued);
	assert_int_equal(n_msgs, 1);
	assert_int_equal(msgs[0].bytes, body->len);
	assert_int_equal(msgs[0].len, body->len);
	assert_memory_equal(msgs[0].data, body->data, body->len);
}

static void test_data_long_lines(void **state)
{
	struct buf body;

	(void)state;
	say("EHLO client.example\r\n", EHLO_REPLY);
	/* Lines of every length about one and two SMTP_LINE_MAX, ended by
	 * CRLF and by LF alone. */
	for (size_t k = 1; k <= 2; k++) {
		buf_init(&body);
		for (size_t n = k * SMTP_LINE_MAX - 4; n <= k * SMTP_LINE_MAX + 4; n++) {
			put_line(&body, n, "\r\n");
			put_line(&body, n, "\n");
		}
		send_body(&body, k == 1 ? QUEUED("0101") : QUEUED("0202"));
		buf_free(&body);
	}
	/* A long line whose last part is a dot: not the end. */
	buf_init(&body);
	put_line(&body, 5 * SMTP_LINE_MAX + 3, "\r\n");
	for (size_t k = 0; k < 4; k++) {
		put_line(&body, SMTP_LINE_MAX - k, ".\r\n");
		put_line(&body, 2 * SMTP_LINE_MAX - k, ".\n");
	}
	send_body(&body, QUEUED("0303"));
	buf_free(&body);
}

static void test_keep_max(void **state)
{
	struct buf body;

	(void)state;
	buf_init(&body);
	while (body.len < SMTP_KEEP_MAX + 40000)
		put_line(&body, 76, "\r\n");
	start_message();
	assert_true(feedn(body.data, body.len));
	say(".\r\n", QUEUED("0101"));
	assert_int_equal(msgs[0].len, SMTP_KEEP_MAX);
	assert_int_equal(msgs[0].bytes, body.len);
	assert_memory_equal(msgs[0].data, body.data, SMTP_KEEP_MAX);

	/* The next message starts afresh. */
	say("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nsmall\r\n.\r\n",
	    OK_MAIL OK_RCPT GO_AHEAD QUEUED("0202"));
	assert_int_equal(msgs[1].len, 7);
	assert_int_equal(msgs[1].bytes, 7);
	assert_memory_equal(msgs[1].data, "small\r\n", 7);
	buf_free(&body);
}

/* A session touching every state, with lines over SMTP_LINE_MAX. */
static void split_session(struct buf *b)
{
	static const char *const parts[] = {
	    "EHLO splitter\r\n",
	    "AUTH LOGIN\r\nYWxpY2U=\r\nczNjcmV0\r\n",
	    "AUTH PLAIN\r\nAGFsaWNlAHMzY3JldA==\r\n",
	    "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n",
	    "Subject: split\r\n\r\n..dot\r\n",
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		buf_put(b, parts[i], strlen(parts[i]));
	put_line(b, SMTP_LINE_MAX + 1, "\r\n");
	put_line(b, SMTP_LINE_MAX - 1, ".\r\n");
	buf_put(b, ".\r\nBOGUS\r\nNOOP\0\r\n", 17);
	put_line(b, SMTP_LINE_MAX + 20, "\r\n");
	static const char tail[] = "MAIL FROM:<g@h>\nRCPT TO:<i@j>\nDATA\nhi\n.\nRSET\r\n"
	                           "QUIT\r\nNOOP\r\n";
	buf_put(b, tail, strlen(tail));
}

static void test_split(void **state)
{
	struct buf in, want, want_msgs;

	(void)state;
	buf_init(&in);
	buf_init(&want);
	buf_init(&want_msgs);
	split_session(&in);

	assert_false(feedn(in.data, in.len));
	buf_put(&want, out.data, out.len);
	buf_put(&want_msgs, msg_log.data, msg_log.len);
	assert_int_equal(n_msgs, 2);
	assert_true(memmem(want.data, want.len, TOO_LONG, strlen(TOO_LONG)) != NULL);
	assert_true(memmem(want.data, want.len, BAD_SYNTAX, strlen(BAD_SYNTAX)) != NULL);

	/* In two pieces, cut at every byte; then byte by byte. */
	for (size_t cut = 0; cut <= in.len + 1; cut++) {
		teardown(NULL);
		assert_int_equal(setup(NULL), 0);
		if (cut <= in.len) {
			feedn(in.data, cut);
			assert_false(feedn(in.data + cut, in.len - cut));
		} else {
			for (size_t i = 0; i < in.len; i++)
				feedn(in.data + i, 1);
		}
		assert_int_equal(out.len, want.len);
		assert_memory_equal(out.data, want.data, want.len);
		assert_int_equal(msg_log.len, want_msgs.len);
		assert_memory_equal(msg_log.data, want_msgs.data, want_msgs.len);
	}
	buf_free(&in);
	buf_free(&want);
	buf_free(&want_msgs);
}

static void test_nul(void **state)
{
	(void)state;
	say("EHLO client.example\r\n", EHLO_REPLY);
	assert_true(feedn("NOOP\0\r\n", 7));
	expect(BAD_SYNTAX);
	assert_true(feedn("MAIL FROM:<a\0@b>\r\n", 18));
	expect(BAD_SYNTAX);
	say("DATA\r\n", NEED_MAIL); /* it did not start a message */
	/* In a message: kept. */
	say("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", OK_MAIL OK_RCPT GO_AHEAD);
	assert_true(feedn("a\0b\r\n.\r\n", 8));
	expect(QUEUED("0101"));
	assert_int_equal(msgs[0].len, 5);
	assert_memory_equal(msgs[0].data, "a\0b\r\n", 5);
}

static void test_max_errors(void **state)
{
	char *l = noop_line(SMTP_LINE_MAX + 1);

	(void)state;
	/* Errors of every kind count. */
	for (int i = 0; i < MAX_ERRORS - 1; i++) {
		switch (i % 5) {
		case 0:
			say("BOGUS\r\n", UNKNOWN);
			break;
		case 1:
			say("MAIL FROM:<a@b>\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n");
			break;
		case 2:
			say(l, TOO_LONG);
			break;
		case 3:
			assert_true(feedn("\0\r\n", 3));
			expect(BAD_SYNTAX);
			break;
		default:
			say("AUTH PLAIN !!!!\r\n", "503 5.5.1 Error: send HELO/EHLO first\r\n");
		}
	}
	free(l);
	say("NOOP\r\n", OK); /* not an error */
	assert_false(feed("BOGUS\r\nNOOP\r\n"));
	expect(UNKNOWN TOO_MANY);
	assert_false(feed("NOOP\r\n"));
	expect("");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_banner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ehlo_helo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_message, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_noop_vrfy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auth_plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auth_login, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auth_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_rcpt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_line_too_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_long_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keep_max, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_split, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nul, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
