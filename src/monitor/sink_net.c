/*
 * sink_net: the sinkhole's namespace and the boxes' eth0; see sink_net.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/rtnetlink.h>

#include "log.h"
#include "rtnl.h"
#include "sink_net.h"
#include "sk_steer.h"
#include "util.h"

#define LO_INDEX 1 /* lo is always the first link of a namespace */

struct slot {
	char id[65];
	uint32_t host; /* host part, 0 = free */
	int pid;       /* the box's init, in the host's namespace */
};

struct sink_net {
	int own;   /* the monitor's namespace */
	int ns;    /* the sinkhole's */
	int nl;    /* route netlink, in the sinkhole's namespace */
	int steer; /* the BPF link */
	struct sink_fds fds;
	uint32_t net; /* host order */
	int prefix;
	uint32_t hosts; /* usable host numbers: 2 .. hosts */
	uint32_t rate;  /* bytes/s a box may send, 0: no cap */
	uint32_t next;
	struct slot *slots;
	size_t n_slots;
};

static int fail(char *err, size_t len, const char *what, int e)
{
	snprintf(err, len, "%s: %s", what, strerror(e > 0 ? e : -e));
	return e > 0 ? -e : e;
}

static void back_home(const struct sink_net *n)
{
	if (setns(n->own, CLONE_NEWNET) < 0)
		fatal("cannot return to the monitor's network namespace: %s", strerror(errno));
}

static int udp_socket(uint32_t addr, int port, int opt)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = addr};

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IP, opt, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int tcp_listener(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Inside the new namespace: the routing, the sysctls, the sockets. */
static int build(struct sink_net *n, char *err, size_t len)
{
	int r;

	if ((n->nl = rtnl_open()) < 0)
		return fail(err, len, "route netlink", n->nl);
	if ((r = rtnl_link_up(n->nl, LO_INDEX)) < 0)
		return fail(err, len, "lo up", r);
	/* The local table after our rule, then every address local. */
	if ((r = rtnl_rule(n->nl, false, 100, NULL, RT_TABLE_LOCAL)) < 0 ||
	    (r = rtnl_rule(n->nl, true, 0, NULL, RT_TABLE_LOCAL)) < 0 ||
	    (r = rtnl_rule(n->nl, false, 50, "lo", RT_TABLE_MAIN)) < 0)
		return fail(err, len, "routing rules", r);
	if ((r = rtnl_route_add(n->nl, RT_TABLE_LOCAL, RTN_LOCAL, 0, 0, 0, LO_INDEX)) < 0)
		return fail(err, len, "route local 0.0.0.0/0", r);
	if ((r = util_write_text("/proc/sys/net/ipv4/conf/all/rp_filter", "1")) < 0 ||
	    (r = util_write_text("/proc/sys/net/ipv4/conf/default/rp_filter", "1")) < 0 ||
	    (r = util_write_text("/proc/sys/net/ipv4/ip_forward", "0")) < 0)
		return fail(err, len, "sysctl", r);
	/* Without IPv6 in the kernel there is none to turn off. */
	util_write_text("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	util_write_text("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");

	if ((n->fds.tcp = tcp_listener()) < 0)
		return fail(err, len, "TCP listener", n->fds.tcp);
	if ((n->fds.udp = udp_socket(htonl(INADDR_LOOPBACK), 0, IP_RECVORIGDSTADDR)) < 0)
		return fail(err, len, "UDP socket", n->fds.udp);
	if ((n->fds.dns = udp_socket(INADDR_ANY, 53, IP_PKTINFO)) < 0)
		return fail(err, len, "UDP :53", n->fds.dns);
	if ((n->fds.tftp = udp_socket(INADDR_ANY, 69, IP_PKTINFO)) < 0)
		return fail(err, len, "UDP :69", n->fds.tftp);
	n->fds.icmp = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (n->fds.icmp < 0)
		return fail(err, len, "raw ICMP socket", errno);
	n->steer = sk_steer_attach(n->ns, n->fds.tcp, n->fds.udp, 53, 69, err, len);
	if (n->steer < 0)
		return n->steer;
	return 0;
}

struct sink_net *sink_net_new(const char *subnet, uint32_t rate, char *err, size_t len)
{
	struct sink_net *n = calloc(1, sizeof(*n));
	uint32_t net;
	int r;

	if (n == NULL) {
		fail(err, len, "sinkhole network", ENOMEM);
		return NULL;
	}
	n->own = n->ns = n->nl = n->steer = -1;
	n->fds = (struct sink_fds){-1, -1, -1, -1, -1};
	if (util_parse_cidr4(subnet, 8, 28, &net, &n->prefix) < 0) {
		snprintf(err, len, "egress.subnet %s: not an IPv4 network A.B.C.D/8..28", subnet);
		free(n);
		return NULL;
	}
	n->net = ntohl(net);
	n->rate = rate;
	n->hosts = (1u << (32 - n->prefix)) - 2; /* .1 is the gateway, the last broadcast */
	n->next = 2;
	n->own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->own < 0) {
		fail(err, len, "/proc/self/ns/net", errno);
		sink_net_free(n);
		return NULL;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fail(err, len, "a network namespace for the sinkhole", errno);
		sink_net_free(n);
		return NULL;
	}
	n->ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->ns < 0)
		r = fail(err, len, "the sinkhole's namespace", errno);
	else
		r = build(n, err, len);
	back_home(n);
	if (r < 0) {
		sink_net_free(n);
		return NULL;
	}
	return n;
}

void sink_net_close_fds(struct sink_net *n)
{
	int *f[] = {&n->fds.tcp, &n->fds.udp, &n->fds.dns, &n->fds.tftp, &n->fds.icmp};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i] >= 0) {
			close(*f[i]);
			*f[i] = -1;
		}
}

void sink_net_free(struct sink_net *n)
{
	if (n == NULL)
		return;
	sink_net_close_fds(n);
	int fds[] = {n->steer, n->nl, n->ns, n->own};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(n->slots);
	free(n);
}

int sink_net_ns(const struct sink_net *n)
{
	return n->ns;
}

const struct sink_fds *sink_net_fds(const struct sink_net *n)
{
	return &n->fds;
}

static struct slot *slot_of(const struct sink_net *n, const char *id)
{
	for (size_t i = 0; i < n->n_slots; i++)
		if (n->slots[i].host != 0 && strcmp(n->slots[i].id, id) == 0)
			return &n->slots[i];
	return NULL;
}

static bool host_used(const struct sink_net *n, uint32_t host)
{
	for (size_t i = 0; i < n->n_slots; i++)
		if (n->slots[i].host == host)
			return true;
	return false;
}

/* A free host number and a slot for it, or NULL. */
static struct slot *take_slot(struct sink_net *n, const char *id)
{
	struct slot *s = NULL;
	uint32_t host = 0;

	for (uint32_t tries = 0; tries < n->hosts && host == 0; tries++) {
		uint32_t h = n->next;
		n->next = n->next >= n->hosts ? 2 : n->next + 1;
		if (!host_used(n, h))
			host = h;
	}
	if (host == 0)
		return NULL;
	for (size_t i = 0; i < n->n_slots && s == NULL; i++)
		if (n->slots[i].host == 0)
			s = &n->slots[i];
	if (s == NULL) {
		struct slot *m = realloc(n->slots, (n->n_slots + 16) * sizeof(*m));
		if (m == NULL)
			return NULL;
		memset(m + n->n_slots, 0, 16 * sizeof(*m));
		n->slots = m;
		s = &m[n->n_slots];
		n->n_slots += 16;
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->host = host;
	return s;
}

/* eth0 of the box: address, up, default route. */
static int wire_box(const struct sink_net *n, int boxns, uint32_t addr, char *err, size_t len)
{
	int nl, idx, r;

	if (setns(boxns, CLONE_NEWNET) < 0)
		return fail(err, len, "entering the box's namespace", errno);
	nl = rtnl_open();
	/* ping works for anyone, as on a stock Ubuntu or Debian server
	 * (systemd's default: ICMP echo sockets for every group); root in
	 * the box has no CAP_NET_RAW for a raw one. */
	int pr = util_write_text("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
	back_home(n);
	if (pr < 0)
		warn("the box's ping_group_range: %s", strerror(-pr));
	if (nl < 0)
		return fail(err, len, "route netlink in the box", nl);
	uint32_t gw = htonl(n->net + 1);
	if ((idx = rtnl_link_index(nl, "eth0")) < 0)
		r = fail(err, len, "the box's eth0", idx);
	else if ((r = rtnl_addr_add(nl, idx, addr, n->prefix)) < 0)
		fail(err, len, "the box's address", r);
	else if ((r = rtnl_link_up(nl, idx)) < 0)
		fail(err, len, "the box's eth0 up", r);
	else if ((r = rtnl_route_add(nl, RT_TABLE_MAIN, RTN_UNICAST, 0, 0, gw, idx)) < 0)
		fail(err, len, "the box's default route", r);
	else if (n->rate > 0 &&
	         (r = rtnl_tbf(nl, idx, n->rate, n->rate / 8 > 16384 ? n->rate / 8 : 16384,
	                       n->rate / 2 > 65536 ? n->rate / 2 : 65536)) < 0)
		fail(err, len, "the box's rate", r);
	close(nl);
	return r;
}

int sink_net_attach(struct sink_net *n, const char *id, int pid, uint32_t *addr, char *err,
                    size_t len)
{
	char path[64], name[16];
	struct stat st, own, sink;
	int boxns, idx, r;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	boxns = open(path, O_RDONLY | O_CLOEXEC);
	if (boxns < 0)
		return fail(err, len, "the box's namespace", errno);
	/* A box has a namespace of its own: never ours or the sinkhole's. */
	if (fstat(boxns, &st) < 0 || fstat(n->own, &own) < 0 || fstat(n->ns, &sink) < 0 ||
	    (st.st_ino == own.st_ino && st.st_dev == own.st_dev) ||
	    (st.st_ino == sink.st_ino && st.st_dev == sink.st_dev)) {
		close(boxns);
		return fail(err, len, "the box's namespace", EXDEV);
	}
	sink_net_detach(n, id);
	struct slot *s = take_slot(n, id);
	if (s == NULL) {
		close(boxns);
		return fail(err, len, "an address in egress.subnet", ENOSPC);
	}
	*addr = htonl(n->net + s->host);
	s->pid = pid;
	snprintf(name, sizeof(name), "hb%x", s->host);
	r = rtnl_veth_add(n->nl, name, "eth0", boxns);
	if (r < 0) {
		fail(err, len, "the box's veth pair", r);
	} else if ((idx = rtnl_link_index(n->nl, name)) < 0) {
		r = fail(err, len, "the sinkhole's end of the veth", idx);
	} else if ((r = rtnl_link_up(n->nl, idx)) < 0) {
		fail(err, len, "the sinkhole's end up", r);
	} else if ((r = rtnl_route_add(n->nl, RT_TABLE_MAIN, RTN_UNICAST, *addr, 32, 0, idx)) < 0) {
		fail(err, len, "the route to the box", r);
	} else {
		r = wire_box(n, boxns, *addr, err, len);
	}
	close(boxns);
	if (r < 0)
		s->host = 0; /* a veth made is gone with the box */
	return r;
}

void sink_net_detach(struct sink_net *n, const char *id)
{
	struct slot *s = slot_of(n, id);
	if (s != NULL)
		s->host = 0;
}

const char *sink_net_box(const struct sink_net *n, uint32_t addr, int *pid)
{
	uint32_t h = ntohl(addr) - n->net;

	if (ntohl(addr) < n->net || h < 2 || h > n->hosts)
		return NULL;
	for (size_t i = 0; i < n->n_slots; i++)
		if (n->slots[i].host == h) {
			*pid = n->slots[i].pid;
			return n->slots[i].id;
		}
	return NULL;
}
