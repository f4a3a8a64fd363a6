/*
 * sink_udp: the boxes' datagrams: DNS answered (every name has an
 * address, dns_msg.h), any other UDP and every ICMP echo logged; see
 * sinkhole.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_msg.h"
#include "log.h"
#include "sinkhole.h"
#include "util.h"

#define DGRAM_MAX 65536
#define UDP_KEPT  512 /* bytes of a datagram shown in its event */
#define BATCH     64  /* datagrams read per wake-up */

struct dgram {
	uint8_t data[DGRAM_MAX];
	ssize_t len;
	struct sockaddr_in from;
	uint32_t dst;   /* the address it was sent to */
	uint16_t dport; /* and port, where known */
};

static struct dgram d; /* one at a time */

/* The names our DNS gave out, by address: the last NAMES of them. */
#define NAMES 4096
static struct {
	uint32_t addr;
	char name[DNS_NAME_MAX];
} names[NAMES];
static size_t next_name;

static void remember(uint32_t addr, const char *name)
{
	for (size_t i = 0; i < NAMES; i++)
		if (names[i].addr == addr) {
			snprintf(names[i].name, sizeof(names[i].name), "%s", name);
			return;
		}
	names[next_name].addr = addr;
	snprintf(names[next_name].name, sizeof(names[next_name].name), "%s", name);
	next_name = (next_name + 1) % NAMES;
}

const char *sink_dns_name(uint32_t addr)
{
	for (size_t i = 0; addr != 0 && i < NAMES; i++)
		if (names[i].addr == addr)
			return names[i].name;
	return NULL;
}

/* One datagram and where it was going (IP_PKTINFO or IP_ORIGDSTADDR). */
static bool receive(int fd)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct in_pktinfo)) +
		           CMSG_SPACE(sizeof(struct sockaddr_in))];
	} ctl;
	struct iovec iov = {.iov_base = d.data, .iov_len = sizeof(d.data)};
	struct msghdr mh = {.msg_name = &d.from,
	                    .msg_namelen = sizeof(d.from),
	                    .msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.space,
	                    .msg_controllen = sizeof(ctl.space)};

	d.len = recvmsg(fd, &mh, 0);
	if (d.len < 0 || mh.msg_namelen < sizeof(d.from) || d.from.sin_family != AF_INET)
		return false;
	d.dst = 0;
	d.dport = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != IPPROTO_IP)
			continue;
		if (c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			d.dst = pi.ipi_addr.s_addr;
		} else if (c->cmsg_type == IP_ORIGDSTADDR) {
			struct sockaddr_in o;
			memcpy(&o, CMSG_DATA(c), sizeof(o));
			d.dst = o.sin_addr.s_addr;
			d.dport = ntohs(o.sin_port);
		}
	}
	return true;
}

void sink_udp_send(int fd, const struct sockaddr_in *to, uint32_t from, const void *p, size_t n)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
	struct msghdr mh = {.msg_name = (void *)to,
	                    .msg_namelen = sizeof(*to),
	                    .msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.space,
	                    .msg_controllen = sizeof(ctl.space)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct in_pktinfo pi = {.ipi_spec_dst.s_addr = from};

	memset(&ctl, 0, sizeof(ctl));
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0)
		debug("UDP answer: %s", strerror(errno));
}

static void on_dns(struct loop *l, int fd, int events, void *arg)
{
	struct sink *s = arg;
	uint8_t ans[512 + 64];
	char ip[16], tbuf[16], abuf[16];

	for (int i = 0; i < BATCH && receive(fd); i++) {
		struct dns_query q;
		int rcode;
		uint32_t addr;
		size_t n = dns_msg_answer(d.data, (size_t)d.len, ans, sizeof(ans), &rcode, &addr);
		if (n > 0)
			sink_udp_send(fd, &d.from, d.dst, ans, n);
		json_t *ev;
		if (addr != 0 && dns_msg_parse(d.data, (size_t)d.len, &q) == 0)
			remember(addr, q.name);
		if (dns_msg_parse(d.data, (size_t)d.len, &q) == 0)
			ev = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:i}", "event", "egress.dns",
			               "server", sink_ip(d.dst, ip), "query", q.name, "qtype",
			               dns_msg_type_name(q.qtype, tbuf), "answer",
			               addr != 0 ? sink_ip(addr, abuf) : NULL, "rcode", rcode);
		else
			ev = json_pack("{s:s, s:s, s:i, s:I}", "event", "egress.dns", "server",
			               sink_ip(d.dst, ip), "rcode", rcode, "bytes",
			               (json_int_t)d.len);
		sink_box_event(s, d.from.sin_addr.s_addr, ev, -1);
	}
}

/* Any other datagram: logged with its first bytes. */
static void on_udp(struct loop *l, int fd, int events, void *arg)
{
	struct sink *s = arg;
	char ip[16];

	for (int i = 0; i < BATCH && receive(fd); i++) {
		size_t k = (size_t)d.len < UDP_KEPT ? (size_t)d.len : UDP_KEPT;
		char *b64 = util_base64(d.data, k);
		json_t *ev =
		    json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:s?, s:s?}", "event",
		              "egress.connect", "proto", "udp", "dst", sink_ip(d.dst, ip), "dport",
		              d.dport, "sport", ntohs(d.from.sin_port), "bytes", (json_int_t)d.len,
		              "data_b64", b64, "host", sink_dns_name(d.dst));
		free(b64);
		sink_box_event(s, d.from.sin_addr.s_addr, ev, -1);
	}
}

static void on_tftp(struct loop *l, int fd, int events, void *arg)
{
	for (int i = 0; i < BATCH && receive(fd); i++)
		sink_tftp_packet(arg, fd, d.data, (size_t)d.len, &d.from, d.dst);
}

/* A copy of every ICMP packet that came in: echo requests are logged (the
 * kernel answers them: every address is there). */
static void on_icmp(struct loop *l, int fd, int events, void *arg)
{
	struct sink *s = arg;
	char ip[16];

	for (int i = 0; i < BATCH; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, d.data, sizeof(d.data), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if ((size_t)n < sizeof(struct iphdr))
			continue;
		struct iphdr ih;
		memcpy(&ih, d.data, sizeof(ih));
		size_t hl = (size_t)ih.ihl * 4;
		if (hl < sizeof(ih) || (size_t)n < hl + 8 || d.data[hl] != ICMP_ECHO)
			continue;
		json_t *ev = json_pack("{s:s, s:s, s:s, s:i, s:I}", "event", "egress.connect",
		                       "proto", "icmp", "dst", sink_ip(ih.daddr, ip), "type",
		                       ICMP_ECHO, "bytes", (json_int_t)((size_t)n - hl));
		sink_box_event(s, ih.saddr, ev, -1);
	}
}

void sink_udp_start(struct sink *s, int dns, int udp, int tftp, int icmp)
{
	loop_add_fd(s->loop, dns, LOOP_READ, on_dns, s);
	loop_add_fd(s->loop, udp, LOOP_READ, on_udp, s);
	loop_add_fd(s->loop, tftp, LOOP_READ, on_tftp, s);
	loop_add_fd(s->loop, icmp, LOOP_READ, on_icmp, s);
}
