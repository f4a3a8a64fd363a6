/* Unit tests for dbus_msg: the bus's Hello byte for byte, logind's
 * CreateSession call read back field by field, and the reply read from
 * bytes laid out here by the specification, whole and broken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dbus_msg.h"

/* ---- a reply laid out by hand ---- */

struct out {
	uint8_t b[1024];
	size_t n;
};

static void zeros_to(struct out *o, size_t align)
{
	while (o->n % align)
		o->b[o->n++] = 0;
}

static void u32(struct out *o, uint32_t v)
{
	zeros_to(o, 4);
	for (int i = 0; i < 4; i++)
		o->b[o->n++] = (uint8_t)(v >> (8 * i));
}

static void str(struct out *o, const char *s)
{
	u32(o, (uint32_t)strlen(s));
	memcpy(o->b + o->n, s, strlen(s) + 1);
	o->n += strlen(s) + 1;
}

static void sig(struct out *o, const char *s)
{
	o->b[o->n++] = (uint8_t)strlen(s);
	memcpy(o->b + o->n, s, strlen(s) + 1);
	o->n += strlen(s) + 1;
}

/* A header field's code and its variant's type; the value follows. */
static void field(struct out *o, uint8_t code, const char *type)
{
	zeros_to(o, 8);
	o->b[o->n++] = code;
	sig(o, type);
}

/* CreateSession's answer as logind sends it: sender, reply serial 2, the
 * body's signature, one descriptor. */
static size_t reply(uint8_t *dst, uint32_t fds, uint32_t fifo, uint32_t existing)
{
	struct out o = {.n = 0};
	struct out body = {.n = 0};
	size_t len_at;

	str(&body, "3830");
	str(&body, "/org/freedesktop/login1/session/_33830");
	str(&body, "/run/user/0");
	u32(&body, fifo);
	u32(&body, 0);
	str(&body, "");
	u32(&body, 0);
	u32(&body, existing);

	memcpy(o.b, "l\2\1\1", 4);
	o.n = 4;
	u32(&o, (uint32_t)body.n);
	u32(&o, 7);
	len_at = o.n;
	u32(&o, 0);
	field(&o, 7, "s"); /* SENDER */
	str(&o, ":1.3");
	field(&o, 5, "u"); /* REPLY_SERIAL */
	u32(&o, 2);
	field(&o, 8, "g"); /* SIGNATURE */
	sig(&o, "soshusub");
	field(&o, 9, "u"); /* UNIX_FDS */
	u32(&o, fds);
	uint32_t fl = (uint32_t)(o.n - 16);
	memcpy(o.b + len_at, &fl, 4); /* little-endian host */
	zeros_to(&o, 8);
	memcpy(o.b + o.n, body.b, body.n);
	o.n += body.n;
	memcpy(dst, o.b, o.n);
	return o.n;
}

/* ---- tests ---- */

static void test_hello_bytes(void **state)
{
	/* The specification's layout: 16 bytes of header, four fields each
	 * on an 8-byte boundary (109 bytes of them), padded to 128. */
	static const char want[] = "l\1\0\1\0\0\0\0\1\0\0\0m\0\0\0"
	                           "\1\1o\0\25\0\0\0/org/freedesktop/DBus\0\0\0"
	                           "\2\1s\0\24\0\0\0org.freedesktop.DBus\0\0\0\0"
	                           "\3\1s\0\5\0\0\0Hello\0\0\0"
	                           "\6\1s\0\24\0\0\0org.freedesktop.DBus\0\0\0\0";
	uint8_t out[256];
	struct dbus_header h;

	(void)state;
	assert_int_equal(dbus_hello(out, sizeof(out), 1), 128);
	assert_memory_equal(out, want, 128);
	assert_int_equal(dbus_hello(out, 127, 1), 0);
	assert_int_equal(dbus_header_read(out, 128, &h), 128);
	assert_int_equal(h.type, DBUS_METHOD_CALL);
	assert_int_equal(h.serial, 1);
	assert_int_equal(h.body_len, 0);
	assert_string_equal(h.signature, "");
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_create_session_reads_back(void **state)
{
	struct dbus_session_req q;
	uint8_t out[2048];
	struct dbus_header h;
	size_t n;

	(void)state;
	dbus_sshd_session(&q, 1000, 4321, "198.51.100.23");
	n = dbus_create_session(out, sizeof(out), 2, &q);
	assert_true(n > 0 && n % 8 == 0);
	assert_int_equal(dbus_header_read(out, n, &h), (long)n);
	assert_int_equal(h.type, DBUS_METHOD_CALL);
	assert_int_equal(h.serial, 2);
	assert_string_equal(h.signature, "uusssssussbssa(sv)");
	assert_int_equal(h.body_at % 8, 0);
	const uint8_t *b = out + h.body_at;
	size_t at = 0;
	assert_int_equal(le32(b + at), 1000);
	assert_int_equal(le32(b + at + 4), 4321);
	at = 8;
	/* The strings in order, each at a 4-byte boundary; vtnr between. */
	const char *strs[] = {"sshd", "tty", "user", "", "", NULL, "", ""};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		at = (at + 3) & ~(size_t)3;
		if (strs[i] == NULL) { /* vtnr */
			assert_int_equal(le32(b + at), 0);
			at += 4;
			continue;
		}
		assert_int_equal(le32(b + at), strlen(strs[i]));
		assert_string_equal((const char *)b + at + 4, strs[i]);
		at += 4 + strlen(strs[i]) + 1;
	}
	at = (at + 3) & ~(size_t)3;
	assert_int_equal(le32(b + at), 1); /* remote */
	at += 4;
	assert_int_equal(le32(b + at), 0); /* remote_user "" */
	at += 5;
	at = (at + 3) & ~(size_t)3;
	assert_int_equal(le32(b + at), 13);
	assert_string_equal((const char *)b + at + 4, "198.51.100.23");
	at += 4 + 14;
	at = (at + 3) & ~(size_t)3;
	assert_int_equal(le32(b + at), 0); /* no properties */
	at = (at + 4 + 7) & ~(size_t)7;
	assert_int_equal(at, h.body_len);

	/* Too small a buffer, a name too long for a message of ours. */
	assert_int_equal(dbus_create_session(out, 100, 2, &q), 0);
	char big[1100];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct dbus_session_req q2 = q;
	q2.remote_host = big;
	assert_int_equal(dbus_create_session(out, sizeof(out), 2, &q2), 0);
}

static void test_reply_read(void **state)
{
	uint8_t m[1024];
	struct dbus_header h;
	struct dbus_session_reply r;
	size_t n = reply(m, 1, 0, 0);

	(void)state;
	assert_int_equal(dbus_header_read(m, n, &h), (long)n);
	assert_int_equal(h.type, DBUS_METHOD_RETURN);
	assert_int_equal(h.reply_serial, 2);
	assert_int_equal(h.unix_fds, 1);
	assert_int_equal(dbus_session_reply_read(m, &h, &r), 0);
	assert_string_equal(r.id, "3830");
	assert_string_equal(r.runtime_path, "/run/user/0");
	assert_int_equal(r.fifo_index, 0);
	assert_int_equal(r.existing, 0);
	/* Every shorter prefix asks for more, never reads past it. */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(dbus_header_read(m, k, &h), 0);
}

static void test_broken_replies(void **state)
{
	uint8_t m[1024];
	struct dbus_header h;
	struct dbus_session_reply r;
	size_t n;

	(void)state;
	n = reply(m, 1, 0, 0);
	m[0] = 'B'; /* big-endian: not ours */
	assert_int_equal(dbus_header_read(m, n, &h), -1);
	n = reply(m, 1, 0, 0);
	m[3] = 2; /* another protocol version */
	assert_int_equal(dbus_header_read(m, n, &h), -1);
	n = reply(m, 1, 0, 0);
	m[4] = 0xff, m[5] = 0xff, m[6] = 0xff, m[7] = 0x7f; /* a body of 2 GiB */
	assert_int_equal(dbus_header_read(m, n, &h), -1);
	n = reply(m, 1, 0, 0);
	m[30] = 1; /* the padding after SENDER's ":1.3" (28 is its NUL) is not zero */
	assert_int_equal(dbus_header_read(m, n, &h), -1);
	/* The descriptor it names is not among the message's. */
	n = reply(m, 1, 1, 0);
	assert_int_equal(dbus_header_read(m, n, &h), (long)n);
	assert_int_equal(dbus_session_reply_read(m, &h, &r), -1);
	n = reply(m, 0, 0, 0);
	assert_int_equal(dbus_header_read(m, n, &h), (long)n);
	assert_int_equal(dbus_session_reply_read(m, &h, &r), -1);
	/* A boolean is 0 or 1. */
	n = reply(m, 1, 0, 2);
	assert_int_equal(dbus_header_read(m, n, &h), (long)n);
	assert_int_equal(dbus_session_reply_read(m, &h, &r), -1);
	/* A string that runs past the body. */
	n = reply(m, 1, 0, 0);
	assert_int_equal(dbus_header_read(m, n, &h), (long)n);
	m[h.body_at] = 200;
	assert_int_equal(dbus_session_reply_read(m, &h, &r), -1);
	/* An error is no session. */
	n = reply(m, 1, 0, 0);
	m[1] = DBUS_ERROR;
	assert_int_equal(dbus_header_read(m, n, &h), (long)n);
	assert_int_equal(dbus_session_reply_read(m, &h, &r), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_bytes),
	    cmocka_unit_test(test_create_session_reads_back),
	    cmocka_unit_test(test_reply_read),
	    cmocka_unit_test(test_broken_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
