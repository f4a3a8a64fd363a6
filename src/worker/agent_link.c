/*
 * agent_link: the worker's connection to the box's session agent; see
 * agent_link.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_link.h"
#include "buf.h"
#include "log.h"
#include "pump.h"

#define LINK_READ   65536
#define LINK_TX_MAX (4 << 20)

struct lchan {
	uint32_t id; /* 0: free */
	struct pump *p;
	int64_t credit_out; /* bytes the agent will still take */
	int64_t credit_in;  /* bytes it may still send us */
	bool opened;        /* OPEN_OK came */
	bool ended;         /* EXIT or OPEN_FAIL came */
};

struct agent_link {
	int fd;
	ssh_event event;
	short registered;
	bool dead, busy;
	struct buf rx, tx;
	struct lchan ch[AGENT_MAX_CHANNELS];
};

struct agent_link *agent_link_new(int fd, ssh_event event)
{
	struct agent_link *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		close(fd);
		return NULL;
	}
	l->fd = fd;
	l->event = event;
	buf_init(&l->rx);
	buf_init(&l->tx);
	return l;
}

static struct lchan *find(const struct agent_link *l, uint32_t id)
{
	for (size_t i = 0; id != 0 && i < AGENT_MAX_CHANNELS; i++)
		if (l->ch[i].id == id)
			return (struct lchan *)&l->ch[i];
	return NULL;
}

/* The agent is gone or broke the protocol: every channel ends, unknown
 * how. */
static void fail(struct agent_link *l, const char *why)
{
	if (!l->dead)
		warn("session agent: %s; its channels end", why);
	l->dead = true;
	for (size_t i = 0; i < AGENT_MAX_CHANNELS; i++)
		if (l->ch[i].id != 0 && !l->ch[i].ended) {
			l->ch[i].ended = true;
			pump_agent_failed(l->ch[i].p);
		}
	buf_reset(&l->tx);
}

static void flush(struct agent_link *l)
{
	while (!l->dead && buf_avail(&l->tx) > 0) {
		ssize_t n =
		    send(l->fd, buf_peek(&l->tx), buf_avail(&l->tx), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			fail(l, strerror(errno));
			return;
		}
		buf_skip(&l->tx, (size_t)n);
	}
	buf_compact(&l->tx);
}

int agent_link_send(struct agent_link *l, const struct agent_msg *m)
{
	uint8_t frame[AGENT_HDR_LEN + AGENT_MAX_STR * 2 + 64];
	struct lchan *c = find(l, m->channel);

	if (l->dead)
		return -EPIPE;
	if (buf_avail(&l->tx) > LINK_TX_MAX) {
		/* Control frames only grow it past the credits: an agent that
		 * reads nothing while the client sends window changes. */
		fail(l, "the agent reads nothing");
		return -EPIPE;
	}
	if (c != NULL && m->type == AGENT_WINDOW)
		c->credit_in += m->u.window;
	size_t n = agent_encode(frame, sizeof(frame), m);
	if (n == 0 || buf_put(&l->tx, frame, n) < 0)
		return -ENOMEM;
	flush(l);
	return 0;
}

int agent_link_open(struct agent_link *l, uint32_t id, const struct agent_open *open,
                    struct pump *p)
{
	struct agent_msg m = {.type = AGENT_OPEN, .channel = id};
	struct lchan *c = NULL;
	uint8_t *frame;
	size_t cap = AGENT_HDR_LEN + AGENT_MAX_PAYLOAD, n;

	if (l->dead || id == 0 || find(l, id) != NULL)
		return -EINVAL;
	for (size_t i = 0; i < AGENT_MAX_CHANNELS && c == NULL; i++)
		if (l->ch[i].id == 0)
			c = &l->ch[i];
	if (c == NULL)
		return -EMFILE;
	m.u.open = *open;
	if ((frame = malloc(cap)) == NULL)
		return -ENOMEM;
	n = agent_encode(frame, cap, &m);
	int r = n == 0 ? -EINVAL : buf_put(&l->tx, frame, n);
	free(frame);
	if (r < 0)
		return r;
	*c = (struct lchan){.id = id, .p = p, .credit_in = open->window};
	flush(l);
	return 0;
}

void agent_link_detach(struct agent_link *l, uint32_t id)
{
	struct lchan *c = find(l, id);

	if (c == NULL)
		return;
	if (!c->ended) {
		struct agent_msg m = {.type = AGENT_CLOSE, .channel = id};
		agent_link_send(l, &m);
	}
	memset(c, 0, sizeof(*c));
}

size_t agent_link_room(const struct agent_link *l, uint32_t id)
{
	const struct lchan *c = find(l, id);

	if (l->dead || c == NULL || !c->opened || c->ended || c->credit_out <= 0)
		return 0;
	return (size_t)c->credit_out;
}

int agent_link_data(struct agent_link *l, uint32_t id, const uint8_t *p, size_t n)
{
	struct lchan *c = find(l, id);
	uint8_t hdr[AGENT_HDR_LEN];

	if (n > agent_link_room(l, id))
		return -ENOSPC;
	while (n > 0) {
		size_t k = n < AGENT_MAX_DATA ? n : AGENT_MAX_DATA;
		agent_encode_header(hdr, AGENT_DATA, id, (uint32_t)k);
		if (buf_put(&l->tx, hdr, sizeof(hdr)) < 0 || buf_put(&l->tx, p, k) < 0)
			return -ENOMEM;
		c->credit_out -= (int64_t)k;
		p += k;
		n -= k;
	}
	flush(l);
	return 0;
}

/* One frame from the agent; false ends the link. */
static bool dispatch(struct agent_link *l, const struct agent_msg *m)
{
	struct lchan *c = find(l, m->channel);

	if (m->type == AGENT_HELLO_OK)
		return m->u.version == AGENT_PROTO_VERSION;
	if (m->type == AGENT_HELLO || m->type == AGENT_OPEN || m->type == AGENT_RESIZE ||
	    m->type == AGENT_SIGNAL || m->type == AGENT_CLOSE)
		return false; /* only Hermes sends these */
	if (c == NULL || c->ended)
		return true; /* a channel already gone: closes may cross */
	switch (m->type) {
	case AGENT_OPEN_OK:
		if (c->opened)
			return false;
		c->opened = true;
		c->credit_out = m->u.window;
		pump_agent_ready(c->p);
		return true;
	case AGENT_OPEN_FAIL:
		c->ended = true;
		debug("agent refused channel %u", m->channel);
		pump_agent_failed(c->p);
		return true;
	case AGENT_WINDOW:
		if (!c->opened || c->credit_out + m->u.window > (int64_t)1 << 40)
			return false;
		c->credit_out += m->u.window;
		pump_agent_ready(c->p);
		return true;
	case AGENT_DATA:
	case AGENT_STDERR:
		if (!c->opened || (int64_t)m->u.data.n > c->credit_in)
			return false; /* more than it was given */
		c->credit_in -= m->u.data.n;
		pump_agent_output(c->p, m->type == AGENT_STDERR ? 2 : 1, m->u.data.p, m->u.data.n);
		return true;
	case AGENT_EOF:
		return c->opened;
	case AGENT_EXIT:
		if (!c->opened)
			return false;
		c->ended = true;
		pump_agent_exit(c->p, &m->u.exit);
		return true;
	default:
		return false;
	}
}

static void read_frames(struct agent_link *l)
{
	struct agent_msg m;
	size_t used;
	int r;

	if (buf_reserve(&l->rx, LINK_READ) < 0) {
		fail(l, "out of memory");
		return;
	}
	ssize_t n = recv(l->fd, l->rx.data + l->rx.len, LINK_READ, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		fail(l, n == 0 ? "connection closed" : strerror(errno));
		return;
	}
	l->rx.len += (size_t)n;
	while (!l->dead &&
	       (r = agent_decode(buf_peek(&l->rx), buf_avail(&l->rx), &m, &used)) == 1) {
		if (!dispatch(l, &m)) {
			fail(l, "protocol violation");
			return;
		}
		buf_skip(&l->rx, used);
	}
	if (r < 0)
		fail(l, "malformed frame");
	buf_compact(&l->rx);
}

static int on_fd(socket_t fd, int revents, void *ud)
{
	struct agent_link *l = ud;

	/* Writing to a channel may poll the whole event, this fd included. */
	if (l->busy || l->dead)
		return 0;
	l->busy = true;
	if (revents & POLLOUT)
		flush(l);
	if (revents & (POLLIN | POLLHUP | POLLERR))
		read_frames(l);
	l->busy = false;
	return 0;
}

void agent_link_hold(struct agent_link *l, bool hold)
{
	if (l != NULL)
		l->busy = hold;
}

void agent_link_service(struct agent_link *l)
{
	short want = 0;

	if (l == NULL)
		return;
	flush(l);
	if (!l->dead) {
		want = POLLIN;
		if (buf_avail(&l->tx) > 0)
			want |= POLLOUT;
	}
	if (want != l->registered) {
		if (l->registered != 0)
			ssh_event_remove_fd(l->event, l->fd);
		if (want != 0 && ssh_event_add_fd(l->event, l->fd, want, on_fd, l) != SSH_OK)
			want = 0;
		l->registered = want;
	}
}

bool agent_link_dead(const struct agent_link *l)
{
	return l == NULL || l->dead;
}

void agent_link_free(struct agent_link *l)
{
	if (l == NULL)
		return;
	l->dead = true; /* its pumps are gone already */
	if (l->registered != 0)
		ssh_event_remove_fd(l->event, l->fd);
	close(l->fd);
	buf_free(&l->rx);
	buf_free(&l->tx);
	free(l);
}
