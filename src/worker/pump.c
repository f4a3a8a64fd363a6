/*
 * pump: byte pump with flow control between an SSH channel and a container
 * stream; see pump.h.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_link.h"
#include "log.h"
#include "pump.h"
#include "util.h"

#define PUMP_CHUNK 32768
/* Client bytes queued for the container beyond this are refused for now;
 * libssh offers them again with the next packet. */
#define PUMP_QUEUE_MAX (1 << 20)

void pump_init(struct pump *p, ssh_channel chan, ssh_event event, int fd, bool tty,
               struct recorder *rec, int64_t *activity)
{
	memset(p, 0, sizeof(*p));
	p->chan = chan;
	p->event = event;
	p->fd = fd;
	p->tty = tty;
	p->rec = rec;
	p->activity = activity;
	buf_init(&p->to_stream);
	buf_init(&p->to_client[0]);
	buf_init(&p->to_client[1]);
	demux_init(&p->demux);
}

int pump_init_agent(struct pump *p, ssh_channel chan, ssh_event event, struct agent_link *link,
                    uint32_t id, struct agent_open *open, bool tty, struct recorder *rec,
                    int64_t *activity)
{
	pump_init(p, chan, event, -1, tty, rec, activity);
	p->link = link;
	p->link_id = id;
	open->window = PUMP_AGENT_WINDOW;
	int r = agent_link_open(link, id, open, p);
	if (r < 0) {
		p->link = NULL;
		p->failed = true;
		p->stream_eof = true;
	}
	return r;
}

static void touch(struct pump *p)
{
	if (p->activity != NULL)
		*p->activity = util_mono_ms();
}

/* Client bytes to the agent as far as its credit goes; the client's EOF
 * once they are all out. */
static void flush_to_agent(struct pump *p)
{
	if (p->link == NULL)
		return; /* closed meanwhile (from inside a libssh call) */
	size_t room = agent_link_room(p->link, p->link_id);
	size_t n = buf_avail(&p->to_stream) < room ? buf_avail(&p->to_stream) : room;

	if (n > 0 && agent_link_data(p->link, p->link_id, buf_peek(&p->to_stream), n) == 0) {
		buf_skip(&p->to_stream, n);
		buf_compact(&p->to_stream);
	}
	if (p->client_eof && !p->held && !p->eof_sent && buf_avail(&p->to_stream) == 0 &&
	    !p->stream_eof) {
		struct agent_msg m = {.type = AGENT_EOF, .channel = p->link_id};
		agent_link_send(p->link, &m);
		p->eof_sent = true;
	}
}

static void flush_to_stream(struct pump *p)
{
	if (p->link != NULL) {
		flush_to_agent(p);
		return;
	}
	while (p->fd >= 0 && buf_avail(&p->to_stream) > 0) {
		ssize_t n = send(p->fd, buf_peek(&p->to_stream), buf_avail(&p->to_stream),
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			debug("stream write: %s", strerror(errno));
			p->failed = true;
			p->stream_eof = true;
			buf_reset(&p->to_stream);
			return;
		}
		buf_skip(&p->to_stream, (size_t)n);
	}
	buf_compact(&p->to_stream);
	/* With a TTY, Docker ends the output on a half-close while the shell
	 * runs on, so a client's EOF is not passed on there. */
	if (p->client_eof && !p->held && !p->tty && !p->shut_wr && buf_avail(&p->to_stream) == 0 &&
	    p->fd >= 0) {
		shutdown(p->fd, SHUT_WR);
		p->shut_wr = true;
	}
}

/* Queues as much of the client's bytes as the bound allows (all of them
 * when force: they are out of libssh already) and records them; returns
 * how many it took. Flushing is the caller's. */
static uint32_t take(struct pump *p, const void *data, uint32_t len, bool force)
{
	size_t queued = buf_avail(&p->to_stream);
	size_t room = queued < PUMP_QUEUE_MAX ? PUMP_QUEUE_MAX - queued : 0;

	if (len > room && !force) {
		p->held = true; /* libssh keeps the rest */
		len = (uint32_t)room;
	}
	if (len == 0)
		return 0;
	if (buf_put(&p->to_stream, data, len) < 0) {
		p->held = true;
		return 0;
	}
	p->bytes_in += len;
	if (p->rec != NULL)
		recorder_input(p->rec, data, len);
	if (p->tap != NULL)
		p->tap(p->tap_arg, true, data, len);
	touch(p);
	return len;
}

uint32_t pump_client_data(struct pump *p, const void *data, uint32_t len)
{
	if (p->stream_eof || (p->fd < 0 && p->link == NULL))
		return len; /* nobody to give it to: drop, as a closed pipe would */
	len = take(p, data, len, false);
	flush_to_stream(p);
	return len;
}

void pump_client_eof(struct pump *p)
{
	p->client_eof = true;
	flush_to_stream(p);
}

/* Writes to the channel what libssh takes now; the rest waits in
 * to_client. libssh may take less than the window promised, and nothing at
 * all while a key re-exchange is under way (it returns 0, not an error):
 * those bytes must wait, never be dropped. Returns -EIO on a real error. */
static int write_channel(struct pump *p, int stream, const uint8_t *data, size_t len)
{
	struct buf *pend = &p->to_client[stream == 2 ? 1 : 0];

	if (buf_avail(pend) > 0)
		return buf_put(pend, data, len) < 0 ? -EIO : 0; /* keep the order */
	while (len > 0) {
		int n = stream == 2 ? ssh_channel_write_stderr(p->chan, data, (uint32_t)len)
		                    : ssh_channel_write(p->chan, data, (uint32_t)len);
		if (n == SSH_ERROR)
			return -EIO;
		if (n == 0)
			return buf_put(pend, data, len) < 0 ? -EIO : 0;
		p->to_return += (uint64_t)n;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool pending_to_client(const struct pump *p)
{
	return buf_avail(&p->to_client[0]) > 0 || buf_avail(&p->to_client[1]) > 0;
}

/* Retries what waits for the channel; the stream is read again only once
 * all of it is out, which bounds to_client by one read. */
static void flush_to_client(struct pump *p)
{
	for (int i = 0; i < 2; i++) {
		struct buf *pend = &p->to_client[i];
		while (buf_avail(pend) > 0) {
			int n = i == 1 ? ssh_channel_write_stderr(p->chan, buf_peek(pend),
			                                          (uint32_t)buf_avail(pend))
			               : ssh_channel_write(p->chan, buf_peek(pend),
			                                   (uint32_t)buf_avail(pend));
			if (n == SSH_ERROR) {
				p->failed = true;
				p->stream_eof = true;
				buf_reset(pend);
				break;
			}
			if (n == 0)
				break;
			p->to_return += (uint64_t)n;
			buf_skip(pend, (size_t)n);
		}
		buf_compact(pend);
	}
}

/* Output of the process, stdout (1) or stderr (2), to the recording, the
 * tap and the channel. */
static void deliver(struct pump *p, int stream, const uint8_t *data, size_t len)
{
	if (p->rec != NULL)
		recorder_output(p->rec, data, len);
	if (stream == 1 && p->tap != NULL)
		p->tap(p->tap_arg, false, data, len);
	if (write_channel(p, stream, data, len) < 0)
		p->failed = true;
}

static void on_demuxed(void *arg, int stream, const uint8_t *data, size_t len)
{
	struct pump *p = arg;

	if (stream == 0)
		return; /* stdin echo: never sent by Docker to us */
	/* What the terminal would show: stdout and stderr, without Docker's
	 * framing. */
	deliver(p, stream, data, len);
}

void pump_agent_ready(struct pump *p)
{
	flush_to_agent(p);
}

void pump_agent_output(struct pump *p, int stream, const uint8_t *data, size_t len)
{
	p->bytes_out += len;
	touch(p);
	if (p->tty)
		stream = 1; /* a pty has one stream */
	deliver(p, stream, data, len);
}

void pump_agent_exit(struct pump *p, const struct agent_exit *e)
{
	p->exited = true;
	p->exit_kind = e->kind;
	p->exit_value = e->value;
	p->exit_core = e->core;
	p->stream_eof = true;
}

void pump_agent_failed(struct pump *p)
{
	p->failed = true;
	p->stream_eof = true;
}

/* Gives the agent back the credit for output libssh has taken: in batches,
 * or at once when nothing waits (an interactive echo must not stall). */
static void return_credit(struct pump *p)
{
	if (p->link == NULL || p->to_return == 0 || p->stream_eof ||
	    (p->to_return < PUMP_AGENT_WINDOW / 4 && pending_to_client(p)))
		return;
	struct agent_msg m = {.type = AGENT_WINDOW, .channel = p->link_id};
	m.u.window = (uint32_t)p->to_return;
	agent_link_send(p->link, &m);
	p->to_return = 0;
}

static void read_stream(struct pump *p)
{
	uint8_t tmp[PUMP_CHUNK];
	uint32_t window = ssh_channel_window_size(p->chan);
	size_t want = window < sizeof(tmp) ? window : sizeof(tmp);

	if (want == 0 || pending_to_client(p))
		return; /* pump_service() stops polling the stream for now */
	ssize_t n = recv(p->fd, tmp, want, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		if (n < 0) {
			debug("stream read: %s", strerror(errno));
			p->failed = true;
		}
		p->stream_eof = true;
		return;
	}
	p->bytes_out += (uint64_t)n;
	touch(p);
	if (p->tty) {
		if (p->rec != NULL)
			recorder_output(p->rec, tmp, (size_t)n);
		if (write_channel(p, 1, tmp, (size_t)n) < 0)
			p->failed = true;
	} else if (demux_feed(&p->demux, tmp, (size_t)n, on_demuxed, p) < 0) {
		warn("malformed exec stream from Docker; ending the channel");
		p->failed = true;
		p->stream_eof = true;
	}
}

static int on_stream(socket_t fd, int revents, void *userdata)
{
	struct pump *p = userdata;

	/* ssh_channel_write() may handle packets, polling the whole event
	 * context, this fd included: a nested call would interleave two reads
	 * through one demuxer. The outer call is still going; poll reports the
	 * fd again afterwards. */
	if (p->fd < 0 || p->busy)
		return 0;
	p->busy = true;
	if (revents & POLLOUT)
		flush_to_stream(p);
	if (revents & (POLLIN | POLLHUP | POLLERR))
		read_stream(p);
	p->busy = false;
	if (p->close_pending)
		pump_close(p);
	return 0;
}

/* Takes client bytes libssh still holds, as far as the queue has room.
 * Once libssh's buffer is empty, the read handles the packets that came
 * meanwhile, and so calls on_chan_data() from inside: that call queues what
 * fits and sets held again for what it leaves. So held is cleared before
 * each read (the nested call says whether anything is still held), and
 * what a read returns is queued whole, even past the bound that a nested
 * call may just have filled: it is out of libssh, and dropping it would
 * lose the client's bytes. */
static void pull_held(struct pump *p)
{
	uint8_t tmp[PUMP_CHUNK];

	while (p->held && !p->stream_eof && buf_avail(&p->to_stream) < PUMP_QUEUE_MAX) {
		size_t room = PUMP_QUEUE_MAX - buf_avail(&p->to_stream);
		uint32_t want = (uint32_t)(room < sizeof(tmp) ? room : sizeof(tmp));
		p->held = false;
		int n = ssh_channel_read_nonblocking(p->chan, tmp, want, 0);
		if (n <= 0)
			break; /* empty (0), or only the EOF is left, unless a nested call held more
			        */
		take(p, tmp, (uint32_t)n, true);
		p->held = true; /* there may be more */
	}
	/* Only now may a client EOF be passed on: nothing is held any more. */
	flush_to_stream(p);
}

bool pump_service(struct pump *p)
{
	short want = 0;

	if (p->link != NULL) {
		/* libssh may poll from inside its reads and writes: the link's
		 * frames wait, or its output would be appended to the very
		 * queue flush_to_client() is writing from. */
		struct agent_link *l = p->link;
		agent_link_hold(l, true);
		if (p->held)
			pull_held(p);
		if (pending_to_client(p))
			flush_to_client(p);
		agent_link_hold(l, false);
		flush_to_agent(p);
		return_credit(p);
		return p->stream_eof && (p->failed || !pending_to_client(p));
	}
	if (p->held)
		pull_held(p);
	if (pending_to_client(p))
		flush_to_client(p);

	if (p->fd >= 0 && !p->stream_eof) {
		if (ssh_channel_window_size(p->chan) > 0 && !pending_to_client(p))
			want |= POLLIN;
		if (buf_avail(&p->to_stream) > 0)
			want |= POLLOUT;
	}
	if (want != p->registered) {
		if (p->registered != 0)
			ssh_event_remove_fd(p->event, p->fd);
		if (want != 0 && ssh_event_add_fd(p->event, p->fd, want, on_stream, p) != SSH_OK)
			want = 0;
		p->registered = want;
	}
	/* Ended only once everything read from the stream reached libssh. */
	return p->stream_eof && (p->failed || !pending_to_client(p));
}

void pump_close(struct pump *p)
{
	if (p->busy) {
		p->close_pending = true;
		p->stream_eof = true;
		return;
	}
	p->close_pending = false;
	if (p->link != NULL) {
		agent_link_detach(p->link, p->link_id);
		p->link = NULL;
	}
	if (p->fd >= 0) {
		if (p->registered != 0)
			ssh_event_remove_fd(p->event, p->fd);
		p->registered = 0;
		close(p->fd);
		p->fd = -1;
	}
	buf_free(&p->to_stream);
	buf_free(&p->to_client[0]);
	buf_free(&p->to_client[1]);
	recorder_free(p->rec);
	p->rec = NULL;
}
