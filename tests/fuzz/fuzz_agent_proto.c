/* libFuzzer harness: the agent protocol's decoder (run by the worker on what
 * the attacker's box sends, and by the agent on what Hermes sends) must refuse
 * or accept any bytes without reading outside them; whatever it accepts must
 * encode again to a frame that decodes to the same message. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *lo, *hi;

static void inside(struct agent_bytes b)
{
	if (b.n > 0 && (b.p == NULL || b.p < lo || b.p + b.n > hi))
		__builtin_trap();
}

static void same(struct agent_bytes a, struct agent_bytes b)
{
	if (a.n != b.n || (a.n > 0 && memcmp(a.p, b.p, a.n) != 0))
		__builtin_trap();
}

/* Every field of a and b (of the same type) is equal; bytes by content. */
static void same_msg(const struct agent_msg *a, const struct agent_msg *b)
{
	if (a->type != b->type || a->channel != b->channel)
		__builtin_trap();
	switch (a->type) {
	case AGENT_HELLO: {
		const struct agent_hello *x = &a->u.hello, *y = &b->u.hello;

		if (x->version != y->version || x->client_port != y->client_port ||
		    x->server_port != y->server_port || x->nfailures != y->nfailures)
			__builtin_trap();
		same(x->user, y->user);
		same(x->method, y->method);
		same(x->client_addr, y->client_addr);
		same(x->server_addr, y->server_addr);
		same(x->session_id, y->session_id);
		for (uint32_t i = 0; i < x->nfailures; i++) {
			if (x->failures[i].time != y->failures[i].time)
				__builtin_trap();
			same(x->failures[i].user, y->failures[i].user);
			same(x->failures[i].method, y->failures[i].method);
		}
		break;
	}
	case AGENT_OPEN: {
		const struct agent_open *x = &a->u.open, *y = &b->u.open;

		if (x->kind != y->kind || x->pty != y->pty || x->cols != y->cols ||
		    x->rows != y->rows || x->window != y->window)
			__builtin_trap();
		same(x->term, y->term);
		same(x->command, y->command);
		same(x->env, y->env);
		break;
	}
	case AGENT_RESIZE:
		if (a->u.resize.cols != b->u.resize.cols || a->u.resize.rows != b->u.resize.rows)
			__builtin_trap();
		break;
	case AGENT_SIGNAL:
	case AGENT_OPEN_FAIL:
		same(a->u.text, b->u.text);
		break;
	case AGENT_DATA:
	case AGENT_STDERR:
		same(a->u.data, b->u.data);
		break;
	case AGENT_HELLO_OK:
		if (a->u.version != b->u.version)
			__builtin_trap();
		break;
	case AGENT_OPEN_OK:
	case AGENT_WINDOW:
		if (a->u.window != b->u.window)
			__builtin_trap();
		break;
	case AGENT_EXIT:
		if (a->u.exit.kind != b->u.exit.kind || a->u.exit.core != b->u.exit.core ||
		    a->u.exit.value != b->u.exit.value)
			__builtin_trap();
		break;
	default:
		break;
	}
}

static void check_inside(const struct agent_msg *m)
{
	switch (m->type) {
	case AGENT_HELLO:
		inside(m->u.hello.user);
		inside(m->u.hello.method);
		inside(m->u.hello.client_addr);
		inside(m->u.hello.server_addr);
		inside(m->u.hello.session_id);
		for (uint32_t i = 0; i < m->u.hello.nfailures; i++) {
			inside(m->u.hello.failures[i].user);
			inside(m->u.hello.failures[i].method);
		}
		break;
	case AGENT_OPEN:
		inside(m->u.open.term);
		inside(m->u.open.command);
		inside(m->u.open.env);
		break;
	case AGENT_SIGNAL:
	case AGENT_OPEN_FAIL:
		inside(m->u.text);
		break;
	case AGENT_DATA:
	case AGENT_STDERR:
		inside(m->u.data);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[AGENT_HDR_LEN + AGENT_MAX_PAYLOAD];
	struct agent_msg m, again;
	size_t used = 0, n, used2 = 0;
	int rc;

	lo = data;
	hi = data + size;
	memset(&m, 0, sizeof(m));
	rc = agent_decode(data, size, &m, &used);
	if (rc != 1)
		return 0;
	if (used < AGENT_HDR_LEN || used > size)
		__builtin_trap();
	check_inside(&m);
	/* A decoded frame re-encodes to the very same bytes. */
	n = agent_encode(out, sizeof(out), &m);
	if (n != used || memcmp(out, data, used) != 0)
		__builtin_trap();
	lo = out;
	hi = out + n;
	if (agent_decode(out, n, &again, &used2) != 1 || used2 != n)
		__builtin_trap();
	check_inside(&again);
	same_msg(&m, &again);
	return 0;
}
