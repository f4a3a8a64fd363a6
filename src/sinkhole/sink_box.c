/*
 * sink_box: what each box may do a second, and the messages to the
 * monitor; see sinkhole.h.
 *
 * A box is its source address. A table of the boxes seen recently counts,
 * per second, new connections and events; what goes over is dropped and
 * counted, and the count is told once a second in an egress.limited
 * event (itself never dropped), so a flood costs a line a second: at the
 * box's first activity in a later second, or by a timer when the box has
 * gone quiet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sinkhole.h"
#include "util.h"

#define BOXES 1024

struct box {
	uint32_t addr; /* 0: free */
	int64_t second;
	int conns, events, open;
	unsigned refused, dropped; /* this second's, told at the next */
	int64_t last_ms;
};

static struct box boxes[BOXES];
static uint64_t tell_timer; /* armed while counts wait to be told */

const char *sink_ip(uint32_t addr, char buf[16])
{
	struct in_addr a = {.s_addr = addr};
	return inet_ntop(AF_INET, &a, buf, 16) ? buf : "?";
}

bool sink_send(struct sink *s, json_t *msg, int fd)
{
	int r = msg != NULL ? jmsg_send(s->ctl, msg, fd) : -ENOMEM;
	json_decref(msg);
	if (r < 0 && r != -EAGAIN)
		debug("to the monitor: %s", strerror(-r));
	return r == 0;
}

static void tell_limited(struct sink *s, struct box *b)
{
	char ip[16];

	if (b->refused == 0 && b->dropped == 0)
		return;
	json_t *m = json_pack("{s:s, s:s, s:s, s:I, s:I}", "t", "event", "event", "egress.limited",
	                      "box", sink_ip(b->addr, ip), "connections_refused",
	                      (json_int_t)b->refused, "events_dropped", (json_int_t)b->dropped);
	sink_send(s, m, -1);
	b->refused = b->dropped = 0;
}

static void on_tell(struct loop *l, void *arg);

/* Counts are waiting: look again just after this second ends. */
static void arm_tell(struct sink *s)
{
	if (tell_timer == 0)
		tell_timer = loop_add_timer(s->loop, 1000 - util_mono_ms() % 1000 + 10, on_tell, s);
}

/* Tells the counts of past seconds the boxes' own activity has not. */
static void on_tell(struct loop *l, void *arg)
{
	struct sink *s = arg;
	int64_t second = util_mono_ms() / 1000;
	bool pending = false;

	(void)l;
	tell_timer = 0;
	for (size_t i = 0; i < BOXES; i++) {
		struct box *b = &boxes[i];
		if (b->addr == 0 || (b->refused == 0 && b->dropped == 0))
			continue;
		if (b->second != second)
			tell_limited(s, b);
		else
			pending = true;
	}
	if (pending)
		arm_tell(s);
}

/* The box's entry, its counters for this second. */
static struct box *box_of(struct sink *s, uint32_t addr)
{
	struct box *b = NULL, *spare = NULL;
	int64_t now = util_mono_ms();

	for (size_t i = 0; i < BOXES && b == NULL; i++) {
		if (boxes[i].addr == addr)
			b = &boxes[i];
		else if (spare == NULL || (spare->addr != 0 && (boxes[i].addr == 0 ||
		                                                boxes[i].last_ms < spare->last_ms)))
			spare = &boxes[i]; /* a free entry, else the one idle longest */
	}
	if (b == NULL) {
		b = spare;
		if (b->addr != 0)
			tell_limited(s, b);
		memset(b, 0, sizeof(*b));
		b->addr = addr;
	}
	b->last_ms = now;
	if (b->second != now / 1000) {
		tell_limited(s, b);
		b->second = now / 1000;
		b->conns = b->events = 0;
	}
	return b;
}

bool sink_box_connect(struct sink *s, uint32_t addr)
{
	struct box *b = box_of(s, addr);

	if (b->conns >= s->set.connect_rate || b->open >= s->set.max_connections) {
		b->refused++;
		arm_tell(s);
		return false;
	}
	b->conns++;
	b->open++;
	return true;
}

void sink_box_disconnect(struct sink *s, uint32_t addr)
{
	struct box *b = box_of(s, addr);
	if (b->open > 0)
		b->open--;
}

void sink_box_event(struct sink *s, uint32_t addr, json_t *ev, int fd)
{
	struct box *b = box_of(s, addr);
	char ip[16];

	if (ev == NULL || b->events >= s->set.event_rate) {
		b->dropped++;
		arm_tell(s);
		json_decref(ev);
	} else {
		b->events++;
		json_object_set_new(ev, "t", json_string("event"));
		json_object_set_new(ev, "box", json_string(sink_ip(addr, ip)));
		sink_send(s, ev, fd);
	}
	if (fd >= 0)
		close(fd);
}

int sink_memfd(const char *name, const void *p, size_t n)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t done;

	if (fd < 0)
		return -1;
	if (util_write_all(fd, p, n, &done) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
