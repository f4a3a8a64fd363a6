/*
 * agent_proto: the codec of the frames between Hermes and the session agent
 * (agent_proto.h says what a frame is; docs/agent-protocol.md lists the
 * payload of every type). libc only and no allocation: the image builds this
 * file alone into the agent, and meson into the worker.
 *
 * The decoder checks a whole frame before it fills anything the caller reads
 * as valid; the encoder refuses (returns 0) whatever the decoder would
 * refuse, so a frame this side encodes always decodes on the other.
 */
#include "agent_proto.h"

#include <errno.h>
#include <string.h>

/* A cursor over one frame's payload. err is sticky: once a read fails every
 * later read fails too, and the caller checks once at the end. */
struct rd {
	const uint8_t *p;
	uint32_t n, off;
	int err;
};

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint8_t rd_u8(struct rd *r)
{
	if (r->err || r->n - r->off < 1) {
		r->err = 1;
		return 0;
	}
	return r->p[r->off++];
}

static uint32_t rd_u32(struct rd *r)
{
	uint32_t v;

	if (r->err || r->n - r->off < 4) {
		r->err = 1;
		return 0;
	}
	v = get_be32(r->p + r->off);
	r->off += 4;
	return v;
}

static struct agent_bytes rd_str(struct rd *r, uint32_t max)
{
	struct agent_bytes b = {NULL, 0};
	uint32_t n = rd_u32(r);

	if (r->err || n > max || r->n - r->off < n) {
		r->err = 1;
		return b;
	}
	b.p = r->p + r->off;
	b.n = n;
	r->off += n;
	return b;
}

static int type_known(uint8_t type)
{
	return type >= AGENT_HELLO && type < AGENT_TYPE_MAX;
}

/* HELLO and HELLO_OK are about the connection (channel 0); everything else
 * about one channel (never 0). */
static int channel_ok(uint8_t type, uint32_t channel)
{
	if (type == AGENT_HELLO || type == AGENT_HELLO_OK)
		return channel == 0;
	return channel != 0;
}

static int exit_ok(const struct agent_exit *e)
{
	if (e->kind == AGENT_EXIT_STATUS)
		return e->core == 0 && e->value <= 255;
	if (e->kind == AGENT_EXIT_SIGNAL)
		return e->core <= 1 && e->value >= 1 && e->value <= 127;
	return 0;
}

static int decode_payload(struct rd *r, struct agent_msg *m)
{
	switch (m->type) {
	case AGENT_HELLO: {
		struct agent_hello *h = &m->u.hello;

		h->version = rd_u32(r);
		h->user = rd_str(r, AGENT_MAX_STR);
		h->method = rd_str(r, AGENT_MAX_STR);
		h->client_addr = rd_str(r, AGENT_MAX_STR);
		h->client_port = rd_u32(r);
		h->server_addr = rd_str(r, AGENT_MAX_STR);
		h->server_port = rd_u32(r);
		h->session_id = rd_str(r, AGENT_MAX_STR);
		h->auth_log_kept = rd_u32(r);
		h->nfailures = rd_u32(r);
		if (r->err || h->nfailures > AGENT_MAX_FAILURES)
			return -1;
		for (uint32_t i = 0; i < h->nfailures; i++) {
			h->failures[i].time = rd_u32(r);
			h->failures[i].port = rd_u32(r);
			h->failures[i].user = rd_str(r, AGENT_MAX_STR);
			h->failures[i].method = rd_str(r, AGENT_MAX_STR);
		}
		break;
	}
	case AGENT_OPEN: {
		struct agent_open *o = &m->u.open;

		o->kind = rd_u8(r);
		o->pty = rd_u8(r);
		o->cols = rd_u32(r);
		o->rows = rd_u32(r);
		o->window = rd_u32(r);
		o->term = rd_str(r, AGENT_MAX_STR);
		o->command = rd_str(r, AGENT_MAX_COMMAND);
		o->env = rd_str(r, AGENT_MAX_COMMAND);
		if (o->kind > AGENT_KIND_SUBSYSTEM || o->pty > 1)
			return -1;
		break;
	}
	case AGENT_RESIZE:
		m->u.resize.cols = rd_u32(r);
		m->u.resize.rows = rd_u32(r);
		break;
	case AGENT_SIGNAL:
	case AGENT_OPEN_FAIL:
		m->u.text = rd_str(r, AGENT_MAX_STR);
		break;
	case AGENT_CLOSE:
	case AGENT_EOF:
		break;
	case AGENT_HELLO_OK:
		m->u.version = rd_u32(r);
		break;
	case AGENT_OPEN_OK:
	case AGENT_WINDOW:
		m->u.window = rd_u32(r);
		break;
	case AGENT_DATA:
	case AGENT_STDERR:
		/* The payload is the bytes themselves. */
		if (r->n < 1 || r->n > AGENT_MAX_DATA)
			return -1;
		m->u.data.p = r->p;
		m->u.data.n = r->n;
		r->off = r->n;
		break;
	case AGENT_EXIT:
		m->u.exit.kind = rd_u8(r);
		m->u.exit.core = rd_u8(r);
		m->u.exit.value = rd_u32(r);
		if (!r->err && !exit_ok(&m->u.exit))
			return -1;
		break;
	default:
		return -1;
	}
	if (r->err || r->off != r->n)
		return -1;
	return 0;
}

int agent_decode(const uint8_t *buf, size_t len, struct agent_msg *m, size_t *used)
{
	uint32_t plen;
	struct rd r;

	/* Refuse as early as the header allows: a peer announcing a huge or
	 * unknown frame is not waited for. */
	if (len >= 4 && get_be32(buf) > AGENT_MAX_PAYLOAD)
		return -EBADMSG;
	if (len >= 5 && !type_known(buf[4]))
		return -EBADMSG;
	if (len >= AGENT_HDR_LEN && !channel_ok(buf[4], get_be32(buf + 5)))
		return -EBADMSG;
	if (len < AGENT_HDR_LEN)
		return 0;
	plen = get_be32(buf);
	if (len - AGENT_HDR_LEN < plen)
		return 0;

	memset(m, 0, sizeof(*m));
	m->type = buf[4];
	m->channel = get_be32(buf + 5);
	r.p = buf + AGENT_HDR_LEN;
	r.n = plen;
	r.off = 0;
	r.err = 0;
	if (decode_payload(&r, m) < 0) {
		memset(m, 0, sizeof(*m));
		return -EBADMSG;
	}
	*used = AGENT_HDR_LEN + (size_t)plen;
	return 1;
}

/* A writer: counts when out is NULL, so one pass sizes and the next writes. */
struct wr {
	uint8_t *out;
	size_t off;
};

static void wr_u8(struct wr *w, uint8_t v)
{
	if (w->out != NULL)
		w->out[w->off] = v;
	w->off += 1;
}

static void wr_u32(struct wr *w, uint32_t v)
{
	if (w->out != NULL)
		put_be32(w->out + w->off, v);
	w->off += 4;
}

static void wr_raw(struct wr *w, const uint8_t *p, uint32_t n)
{
	if (w->out != NULL && n > 0)
		memcpy(w->out + w->off, p, n);
	w->off += n;
}

static void wr_str(struct wr *w, struct agent_bytes b)
{
	wr_u32(w, b.n);
	wr_raw(w, b.p, b.n);
}

static int bytes_ok(struct agent_bytes b, uint32_t max)
{
	return b.n <= max && (b.n == 0 || b.p != NULL);
}

/* Whether m is within every bound agent_decode() checks. */
static int msg_ok(const struct agent_msg *m)
{
	if (!type_known(m->type) || !channel_ok(m->type, m->channel))
		return 0;
	switch (m->type) {
	case AGENT_HELLO: {
		const struct agent_hello *h = &m->u.hello;

		if (!bytes_ok(h->user, AGENT_MAX_STR) || !bytes_ok(h->method, AGENT_MAX_STR) ||
		    !bytes_ok(h->client_addr, AGENT_MAX_STR) ||
		    !bytes_ok(h->server_addr, AGENT_MAX_STR) ||
		    !bytes_ok(h->session_id, AGENT_MAX_STR) || h->nfailures > AGENT_MAX_FAILURES)
			return 0;
		for (uint32_t i = 0; i < h->nfailures; i++)
			if (!bytes_ok(h->failures[i].user, AGENT_MAX_STR) ||
			    !bytes_ok(h->failures[i].method, AGENT_MAX_STR))
				return 0;
		return 1;
	}
	case AGENT_OPEN: {
		const struct agent_open *o = &m->u.open;

		return o->kind <= AGENT_KIND_SUBSYSTEM && o->pty <= 1 &&
		       bytes_ok(o->term, AGENT_MAX_STR) &&
		       bytes_ok(o->command, AGENT_MAX_COMMAND) &&
		       bytes_ok(o->env, AGENT_MAX_COMMAND);
	}
	case AGENT_SIGNAL:
	case AGENT_OPEN_FAIL:
		return bytes_ok(m->u.text, AGENT_MAX_STR);
	case AGENT_DATA:
	case AGENT_STDERR:
		return m->u.data.n >= 1 && bytes_ok(m->u.data, AGENT_MAX_DATA);
	case AGENT_EXIT:
		return exit_ok(&m->u.exit);
	default:
		return 1;
	}
}

static void encode_payload(struct wr *w, const struct agent_msg *m)
{
	switch (m->type) {
	case AGENT_HELLO: {
		const struct agent_hello *h = &m->u.hello;

		wr_u32(w, h->version);
		wr_str(w, h->user);
		wr_str(w, h->method);
		wr_str(w, h->client_addr);
		wr_u32(w, h->client_port);
		wr_str(w, h->server_addr);
		wr_u32(w, h->server_port);
		wr_str(w, h->session_id);
		wr_u32(w, h->auth_log_kept);
		wr_u32(w, h->nfailures);
		for (uint32_t i = 0; i < h->nfailures; i++) {
			wr_u32(w, h->failures[i].time);
			wr_u32(w, h->failures[i].port);
			wr_str(w, h->failures[i].user);
			wr_str(w, h->failures[i].method);
		}
		break;
	}
	case AGENT_OPEN: {
		const struct agent_open *o = &m->u.open;

		wr_u8(w, o->kind);
		wr_u8(w, o->pty);
		wr_u32(w, o->cols);
		wr_u32(w, o->rows);
		wr_u32(w, o->window);
		wr_str(w, o->term);
		wr_str(w, o->command);
		wr_str(w, o->env);
		break;
	}
	case AGENT_RESIZE:
		wr_u32(w, m->u.resize.cols);
		wr_u32(w, m->u.resize.rows);
		break;
	case AGENT_SIGNAL:
	case AGENT_OPEN_FAIL:
		wr_str(w, m->u.text);
		break;
	case AGENT_HELLO_OK:
		wr_u32(w, m->u.version);
		break;
	case AGENT_OPEN_OK:
	case AGENT_WINDOW:
		wr_u32(w, m->u.window);
		break;
	case AGENT_DATA:
	case AGENT_STDERR:
		wr_raw(w, m->u.data.p, m->u.data.n);
		break;
	case AGENT_EXIT:
		wr_u8(w, m->u.exit.kind);
		wr_u8(w, m->u.exit.core);
		wr_u32(w, m->u.exit.value);
		break;
	default: /* CLOSE, EOF: no payload */
		break;
	}
}

size_t agent_encode(uint8_t *out, size_t cap, const struct agent_msg *m)
{
	struct wr w = {NULL, 0};
	size_t plen;

	if (!msg_ok(m))
		return 0;
	encode_payload(&w, m); /* sizing pass */
	plen = w.off;
	if (plen > AGENT_MAX_PAYLOAD || cap < AGENT_HDR_LEN || cap - AGENT_HDR_LEN < plen)
		return 0;
	agent_encode_header(out, m->type, m->channel, (uint32_t)plen);
	w.out = out + AGENT_HDR_LEN;
	w.off = 0;
	encode_payload(&w, m);
	return AGENT_HDR_LEN + plen;
}

void agent_encode_header(uint8_t out[AGENT_HDR_LEN], uint8_t type, uint32_t channel,
                         uint32_t payload_len)
{
	put_be32(out, payload_len);
	out[4] = type;
	put_be32(out + 5, channel);
}

const char *agent_type_name(uint8_t type)
{
	static const char *const names[AGENT_TYPE_MAX] = {
	    [AGENT_HELLO] = "HELLO",     [AGENT_OPEN] = "OPEN",
	    [AGENT_RESIZE] = "RESIZE",   [AGENT_SIGNAL] = "SIGNAL",
	    [AGENT_CLOSE] = "CLOSE",     [AGENT_HELLO_OK] = "HELLO_OK",
	    [AGENT_OPEN_OK] = "OPEN_OK", [AGENT_OPEN_FAIL] = "OPEN_FAIL",
	    [AGENT_STDERR] = "STDERR",   [AGENT_EXIT] = "EXIT",
	    [AGENT_DATA] = "DATA",       [AGENT_EOF] = "EOF",
	    [AGENT_WINDOW] = "WINDOW",
	};

	return type_known(type) ? names[type] : "UNKNOWN";
}
