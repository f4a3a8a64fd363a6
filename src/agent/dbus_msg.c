/* The D-Bus messages of a logind session (see dbus_msg.h). */
#include "dbus_msg.h"

#include <string.h>

#define FIELD_PATH         1
#define FIELD_INTERFACE    2
#define FIELD_MEMBER       3
#define FIELD_ERROR_NAME   4
#define FIELD_REPLY_SERIAL 5
#define FIELD_DESTINATION  6
#define FIELD_SIGNATURE    8
#define FIELD_UNIX_FDS     9

#define STR_MAX 1024 /* longest string of ours in a message */

/* ---- writing ---- */

struct wr {
	uint8_t *p;
	size_t n, cap;
	int bad;
};

static void pad(struct wr *w, size_t align)
{
	while (w->n % align != 0) {
		if (w->n >= w->cap) {
			w->bad = 1;
			return;
		}
		w->p[w->n++] = 0;
	}
}

static void put(struct wr *w, const void *src, size_t len)
{
	if (w->bad || len > w->cap - w->n) {
		w->bad = 1;
		return;
	}
	memcpy(w->p + w->n, src, len);
	w->n += len;
}

static void put_u8(struct wr *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_u32_at(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4];

	pad(w, 4);
	put_u32_at(b, v);
	put(w, b, 4);
}

/* A string or object path: length, bytes, NUL. */
static void put_str(struct wr *w, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len > STR_MAX) {
		w->bad = 1;
		return;
	}
	put_u32(w, (uint32_t)len);
	put(w, s != NULL ? s : "", len);
	put_u8(w, 0);
}

/* A signature: one-byte length, bytes, NUL. */
static void put_sig(struct wr *w, const char *s)
{
	put_u8(w, (uint8_t)strlen(s));
	put(w, s, strlen(s));
	put_u8(w, 0);
}

/* A header field (code, variant of type t holding s). */
static void field_str(struct wr *w, uint8_t code, const char *t, const char *s)
{
	pad(w, 8);
	put_u8(w, code);
	put_sig(w, t);
	if (strcmp(t, "g") == 0)
		put_sig(w, s);
	else
		put_str(w, s);
}

/* A method call with the header's fields; the body follows from body_at
 * (returned), and the caller sets the body's length with end(). */
static size_t begin_call(struct wr *w, uint32_t serial, const char *dest, const char *path,
                         const char *iface, const char *member, const char *sig)
{
	size_t fields_at;

	put_u8(w, 'l');
	put_u8(w, DBUS_METHOD_CALL);
	put_u8(w, 0);
	put_u8(w, 1);
	put_u32(w, 0); /* the body's length, set by end() */
	put_u32(w, serial);
	put_u32(w, 0); /* the fields' length, set below */
	fields_at = w->n;
	field_str(w, FIELD_PATH, "o", path);
	field_str(w, FIELD_INTERFACE, "s", iface);
	field_str(w, FIELD_MEMBER, "s", member);
	field_str(w, FIELD_DESTINATION, "s", dest);
	if (sig[0] != '\0')
		field_str(w, FIELD_SIGNATURE, "g", sig);
	if (!w->bad)
		put_u32_at(w->p + 12, (uint32_t)(w->n - fields_at));
	pad(w, 8);
	return w->n;
}

static size_t end(struct wr *w, size_t body_at)
{
	if (w->bad)
		return 0;
	put_u32_at(w->p + 4, (uint32_t)(w->n - body_at));
	return w->n;
}

size_t dbus_hello(uint8_t *out, size_t cap, uint32_t serial)
{
	struct wr w = {out, 0, cap, 0};
	size_t body = begin_call(&w, serial, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	                         "org.freedesktop.DBus", "Hello", "");

	return end(&w, body);
}

void dbus_sshd_session(struct dbus_session_req *q, uint32_t uid, uint32_t leader,
                       const char *remote_host)
{
	memset(q, 0, sizeof(*q));
	q->uid = uid;
	q->leader = leader;
	q->service = "sshd";
	q->type = "tty";
	q->class_ = "user";
	q->desktop = q->seat = q->tty = q->display = q->remote_user = "";
	q->remote = 1;
	q->remote_host = remote_host;
}

size_t dbus_create_session(uint8_t *out, size_t cap, uint32_t serial,
                           const struct dbus_session_req *q)
{
	struct wr w = {out, 0, cap, 0};
	size_t body =
	    begin_call(&w, serial, "org.freedesktop.login1", "/org/freedesktop/login1",
	               "org.freedesktop.login1.Manager", "CreateSession", "uusssssussbssa(sv)");

	put_u32(&w, q->uid);
	put_u32(&w, q->leader);
	put_str(&w, q->service);
	put_str(&w, q->type);
	put_str(&w, q->class_);
	put_str(&w, q->desktop);
	put_str(&w, q->seat);
	put_u32(&w, q->vtnr);
	put_str(&w, q->tty);
	put_str(&w, q->display);
	put_u32(&w, q->remote ? 1 : 0);
	put_str(&w, q->remote_user);
	put_str(&w, q->remote_host);
	put_u32(&w, 0); /* no properties: the array's length, */
	pad(&w, 8);     /* and its elements' alignment */
	return end(&w, body);
}

/* ---- reading ---- */

struct rd {
	const uint8_t *p;
	size_t n, at;
	int bad;
};

static void skip_pad(struct rd *r, size_t align)
{
	while (!r->bad && r->at % align != 0) {
		if (r->at >= r->n || r->p[r->at] != 0)
			r->bad = 1; /* padding is zeros, as the specification says */
		else
			r->at++;
	}
}

static uint8_t get_u8(struct rd *r)
{
	if (r->bad || r->at >= r->n) {
		r->bad = 1;
		return 0;
	}
	return r->p[r->at++];
}

static uint32_t get_u32(struct rd *r)
{
	uint32_t v;

	skip_pad(r, 4);
	if (r->bad || r->n - r->at < 4) {
		r->bad = 1;
		return 0;
	}
	v = (uint32_t)r->p[r->at] | (uint32_t)r->p[r->at + 1] << 8 |
	    (uint32_t)r->p[r->at + 2] << 16 | (uint32_t)r->p[r->at + 3] << 24;
	r->at += 4;
	return v;
}

/* A string's bytes, NUL-terminated in the message and holding no other
 * NUL; NULL when not. */
static const char *get_bytes(struct rd *r, size_t len)
{
	const char *s;

	if (r->bad || len > r->n - r->at || r->n - r->at - len < 1 || r->p[r->at + len] != 0 ||
	    memchr(r->p + r->at, 0, len) != NULL) {
		r->bad = 1;
		return NULL;
	}
	s = (const char *)r->p + r->at;
	r->at += len + 1;
	return s;
}

static const char *get_str(struct rd *r)
{
	uint32_t len = get_u32(r);

	return r->bad ? NULL : get_bytes(r, len);
}

static const char *get_sig(struct rd *r)
{
	uint8_t len = get_u8(r);

	return r->bad ? NULL : get_bytes(r, len);
}

long dbus_header_read(const uint8_t *p, size_t n, struct dbus_header *h)
{
	struct rd r = {p, n, 0, 0};
	uint32_t fields_len;
	size_t fields_end, total;

	memset(h, 0, sizeof(*h));
	h->signature = "";
	if (n < 16)
		return 0;
	if (p[0] != 'l' || p[3] != 1 || p[1] < DBUS_METHOD_CALL || p[1] > DBUS_SIGNAL)
		return -1;
	h->type = p[1];
	r.at = 4;
	h->body_len = get_u32(&r);
	h->serial = get_u32(&r);
	fields_len = get_u32(&r);
	if (h->body_len > DBUS_MSG_MAX || fields_len > DBUS_MSG_MAX || h->serial == 0)
		return -1;
	fields_end = 16 + (size_t)fields_len;
	h->body_at = (fields_end + 7) & ~(size_t)7;
	total = h->body_at + h->body_len;
	if (total > DBUS_MSG_MAX)
		return -1;
	if (n < total)
		return 0;
	r.n = fields_end; /* the fields, and nothing past them */
	while (!r.bad && r.at < fields_end) {
		skip_pad(&r, 8);
		uint8_t code = get_u8(&r);
		const char *t = get_sig(&r);
		if (r.bad || strlen(t) != 1)
			return -1;
		switch (t[0]) {
		case 's':
		case 'o': {
			const char *s = get_str(&r);
			if (code == FIELD_ERROR_NAME && t[0] == 's')
				h->error_name = s;
			break;
		}
		case 'g': {
			const char *s = get_sig(&r);
			if (code == FIELD_SIGNATURE && s != NULL)
				h->signature = s;
			break;
		}
		case 'u': {
			uint32_t v = get_u32(&r);
			if (code == FIELD_REPLY_SERIAL)
				h->reply_serial = v;
			else if (code == FIELD_UNIX_FDS)
				h->unix_fds = v;
			break;
		}
		default: /* no other type is a header field's */
			return -1;
		}
	}
	if (r.bad || r.at != fields_end)
		return -1;
	/* The padding before the body is zeros too. */
	for (size_t i = fields_end; i < h->body_at; i++)
		if (p[i] != 0)
			return -1;
	h->total = total;
	return (long)total;
}

int dbus_session_reply_read(const uint8_t *msg, const struct dbus_header *h,
                            struct dbus_session_reply *out)
{
	struct rd r = {msg + h->body_at, h->body_len, 0, 0};

	memset(out, 0, sizeof(*out));
	if (h->type != DBUS_METHOD_RETURN || strcmp(h->signature, "soshusub") != 0)
		return -1;
	/* Offsets in the body are the message's too: the body is 8-aligned. */
	out->id = get_str(&r);
	(void)get_str(&r); /* the session's object path */
	out->runtime_path = get_str(&r);
	out->fifo_index = get_u32(&r);
	out->uid = get_u32(&r);
	(void)get_str(&r); /* the seat */
	(void)get_u32(&r); /* the virtual terminal */
	uint32_t existing = get_u32(&r);
	if (r.bad || existing > 1 || out->id == NULL || out->id[0] == '\0' ||
	    out->fifo_index >= h->unix_fds)
		return -1;
	out->existing = (int)existing;
	return 0;
}
