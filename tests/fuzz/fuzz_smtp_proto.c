/*
 * libFuzzer harness for smtp_proto.c: any bytes as what a box's mailer
 * sent to the sinkhole's Postfix. The first byte's low three bits say how
 * many of the next bytes are chunk sizes (cycled; 0 there is 256); with
 * none the rest is fed a byte at a time. What follows is the session,
 * fed once in one piece and once in those chunks.
 *
 * Beyond "no crash, no over-read" it checks what sink_smtp.c relies on:
 * the replies are lines of a 3-digit code, then a space or a dash, and
 * CRLF, with no CR or LF inside and no continuation left open; a message
 * keeps at most SMTP_KEEP_MAX bytes, its first ones (len is bytes up to
 * that bound), and they are bytes the box sent, in one run; at most
 * SMTP_RCPT_MAX recipients; its strings end within their fields and the
 * credentials hold no control characters; once the session is over it
 * stays over, answering nothing. The chunks change nothing: the same
 * replies, the same messages, the same end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtp_proto.h"

#include "fuzz_check.h"

struct run {
	const uint8_t *in;
	size_t in_len;
	struct buf msgs; /* every message, written out */
	size_t n_msgs;
};

static void field(const char *f, bool text)
{
	size_t n = strnlen(f, SMTP_FIELD);

	CHECK(n < SMTP_FIELD);
	for (size_t i = 0; text && i < n; i++)
		CHECK((unsigned char)f[i] >= 0x20);
}

static void on_msg(void *arg, const struct smtp_msg *m)
{
	struct run *r = arg;

	CHECK(m->len <= SMTP_KEEP_MAX && m->len <= m->bytes && m->bytes <= r->in_len);
	CHECK(m->len == (m->bytes < SMTP_KEEP_MAX ? m->bytes : SMTP_KEEP_MAX));
	CHECK(m->len == 0 || memmem(r->in, r->in_len, m->data, m->len) != NULL);
	CHECK(m->n_to >= 1 && m->n_to <= SMTP_RCPT_MAX);
	field(m->helo, false);
	field(m->from, false);
	field(m->auth_user, true);
	field(m->auth_pass, true);
	for (size_t i = 0; i < m->n_to; i++)
		field(m->to[i], false);
	buf_putf(&r->msgs, "%s|%s|%s|%s|%zu|%llu|%zu|", m->helo, m->from, m->auth_user,
	         m->auth_pass, m->n_to, (unsigned long long)m->bytes, m->len);
	for (size_t i = 0; i < m->n_to; i++)
		buf_putf(&r->msgs, "%s|", m->to[i]);
	buf_put(&r->msgs, m->data, m->len);
	r->n_msgs++;
}

/* Replies are whole lines "DDD " or "DDD-" and text, CRLF-ended, and the
 * last one is not a continuation; how many of them say "queued". */
static size_t check_replies(const struct buf *out)
{
	const uint8_t *p = out->data, *end = out->data + out->len;
	size_t queued = 0;
	bool more = false;

	while (p < end) {
		const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
		CHECK(lf != NULL && lf - p >= 5 && lf[-1] == '\r');
		CHECK(p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
		      p[2] <= '9');
		CHECK(p[3] == ' ' || p[3] == '-');
		CHECK(memchr(p, '\r', (size_t)(lf - p - 1)) == NULL);
		CHECK(memchr(p, '\0', (size_t)(lf - p)) == NULL);
		more = p[3] == '-';
		if (lf - p > 20 && memcmp(p, "250 2.0.0 Ok: queued", 20) == 0)
			queued++;
		p = lf + 1;
	}
	CHECK(!more);
	return queued;
}

/* Feeds the session in chunks of the sizes given (NULL: in one piece):
 * whether it is still on. */
static bool run(struct run *r, const uint8_t *sizes, size_t n_sizes, struct buf *out)
{
	struct smtp *s = smtp_new("mx.example.net");
	size_t off = 0, k = 0;
	bool on = true;

	CHECK(s != NULL);
	buf_init(&r->msgs);
	r->n_msgs = 0;
	smtp_banner(s, out);
	do {
		size_t n = r->in_len - off;
		if (sizes != NULL) {
			size_t want = 1;
			if (n_sizes > 0 && (want = sizes[k++ % n_sizes]) == 0)
				want = 256;
			if (want < n)
				n = want;
		}
		size_t before = out->len;
		bool now = smtp_input(s, r->in + off, n, out, on_msg, r);
		if (!on)
			CHECK(!now && out->len == before); /* over: nothing more */
		on = now;
		off += n;
	} while (off < r->in_len);
	size_t queued = check_replies(out);
	CHECK(queued == r->n_msgs);
	smtp_free(s);
	return on;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, parts;
	struct buf out_whole, out_parts;

	if (size < 1)
		return 0;
	size_t n_sizes = data[0] & 7;
	if (size < 1 + n_sizes)
		return 0;
	whole.in = parts.in = data + 1 + n_sizes;
	whole.in_len = parts.in_len = size - 1 - n_sizes;
	buf_init(&out_whole);
	buf_init(&out_parts);

	bool on_whole = run(&whole, NULL, 0, &out_whole);
	bool on_parts = run(&parts, data + 1, n_sizes, &out_parts);
	CHECK(on_whole == on_parts);
	CHECK(out_whole.len == out_parts.len &&
	      memcmp(out_whole.data, out_parts.data, out_whole.len) == 0);
	CHECK(whole.n_msgs == parts.n_msgs && whole.msgs.len == parts.msgs.len);
	CHECK(whole.msgs.len == 0 || memcmp(whole.msgs.data, parts.msgs.data, whole.msgs.len) == 0);

	buf_free(&out_whole);
	buf_free(&out_parts);
	buf_free(&whole.msgs);
	buf_free(&parts.msgs);
	return 0;
}
