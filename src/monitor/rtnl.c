/*
 * rtnl: route-netlink requests; see rtnl.h.
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/fib_rules.h>
#include <linux/pkt_sched.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "rtnl.h"

#define REQ_MAX 1024

struct req {
	struct nlmsghdr *h;
	char buf[REQ_MAX] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool overflow;
};

static void *req_init(struct req *r, uint16_t type, uint16_t flags, size_t hdr_len)
{
	memset(r, 0, sizeof(*r));
	r->h = (struct nlmsghdr *)r->buf;
	r->h->nlmsg_type = type;
	r->h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->h->nlmsg_len = NLMSG_LENGTH(hdr_len);
	return NLMSG_DATA(r->h);
}

static struct rtattr *put(struct req *r, uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(r->h->nlmsg_len);
	struct rtattr *a = (struct rtattr *)(r->buf + at);

	if (at + RTA_SPACE(len) > sizeof(r->buf)) {
		r->overflow = true;
		return NULL;
	}
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len > 0)
		memcpy(RTA_DATA(a), data, len);
	r->h->nlmsg_len = (uint32_t)(at + RTA_SPACE(len));
	return a;
}

static void put_str(struct req *r, uint16_t type, const char *s)
{
	put(r, type, s, strlen(s) + 1);
}

static void put_u32(struct req *r, uint16_t type, uint32_t v)
{
	put(r, type, &v, sizeof(v));
}

/* A nested attribute: open it, put its members, close it. */
static struct rtattr *nest(struct req *r, uint16_t type)
{
	return put(r, type, NULL, 0);
}

static void nest_end(struct req *r, struct rtattr *a)
{
	if (a != NULL)
		a->rta_len = (unsigned short)((r->buf + r->h->nlmsg_len) - (char *)a);
}

/* Sends the request and reads the answer: 0, a negative errno, or for
 * RTM_GETLINK the index it names. */
static int transact(int nl, struct req *r)
{
	static uint32_t seq;
	char ans[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int found = -ENODEV;

	if (r->overflow)
		return -EMSGSIZE;
	r->h->nlmsg_seq = ++seq;
	if (sendto(nl, r->buf, r->h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl, ans, sizeof(ans), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)ans; NLMSG_OK(h, (unsigned)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				if (e->error != 0)
					return e->error;
				return found == -ENODEV ? 0 : found;
			}
			if (h->nlmsg_type == RTM_NEWLINK &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
				const struct ifinfomsg *ifi = NLMSG_DATA(h);
				found = ifi->ifi_index;
				if (!(r->h->nlmsg_flags & NLM_F_ACK))
					return found;
			}
		}
	}
}

int rtnl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl me = {.nl_family = AF_NETLINK};
	struct timeval tv = {.tv_sec = 2};

	if (fd < 0)
		return -errno;
	/* The kernel answers at once; a bound on the wait all the same. */
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int rtnl_link_index(int nl, const char *name)
{
	struct req r;
	struct ifinfomsg *ifi = req_init(&r, RTM_GETLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	r.h->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	put_str(&r, IFLA_IFNAME, name);
	return transact(nl, &r);
}

int rtnl_link_up(int nl, int ifindex)
{
	struct req r;
	struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return transact(nl, &r);
}

int rtnl_veth_add(int nl, const char *name, const char *peer_name, int peer_ns)
{
	struct req r;
	struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	put_str(&r, IFLA_IFNAME, name);
	struct rtattr *info = nest(&r, IFLA_LINKINFO);
	put_str(&r, IFLA_INFO_KIND, "veth");
	struct rtattr *data = nest(&r, IFLA_INFO_DATA);
	struct rtattr *peer = nest(&r, VETH_INFO_PEER);
	struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
	/* The peer's own ifinfomsg comes first, then its attributes. */
	size_t at = NLMSG_ALIGN(r.h->nlmsg_len);
	if (at + NLMSG_ALIGN(sizeof(pifi)) <= sizeof(r.buf)) {
		memcpy(r.buf + at, &pifi, sizeof(pifi));
		r.h->nlmsg_len = (uint32_t)(at + NLMSG_ALIGN(sizeof(pifi)));
	} else {
		r.overflow = true;
	}
	put_str(&r, IFLA_IFNAME, peer_name);
	put_u32(&r, IFLA_NET_NS_FD, (uint32_t)peer_ns);
	nest_end(&r, peer);
	nest_end(&r, data);
	nest_end(&r, info);
	return transact(nl, &r);
}

int rtnl_link_add(int nl, const char *name, const char *kind)
{
	struct req r;
	struct ifinfomsg *ifi = req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	put_str(&r, IFLA_IFNAME, name);
	struct rtattr *info = nest(&r, IFLA_LINKINFO);
	put_str(&r, IFLA_INFO_KIND, kind);
	nest_end(&r, info);
	return transact(nl, &r);
}

int rtnl_addr_add(int nl, int ifindex, uint32_t addr, int prefix)
{
	struct req r;
	struct ifaddrmsg *ifa = req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	put(&r, IFA_LOCAL, &addr, sizeof(addr));
	put(&r, IFA_ADDRESS, &addr, sizeof(addr));
	return transact(nl, &r);
}

int rtnl_route_add(int nl, int table, int type, uint32_t dst, int dst_len, uint32_t gw, int ifindex)
{
	struct req r;
	struct rtmsg *rt = req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rt));

	rt->rtm_family = AF_INET;
	rt->rtm_dst_len = (unsigned char)dst_len;
	rt->rtm_table = (unsigned char)table;
	/* What `ip route add` gives (and so ifupdown's static config): a box's
	 * `ip route` then shows no "proto static" that no server's has. */
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_type = (unsigned char)type;
	rt->rtm_scope = type == RTN_LOCAL ? RT_SCOPE_HOST
	                : gw != 0         ? RT_SCOPE_UNIVERSE
	                                  : RT_SCOPE_LINK;
	if (dst_len > 0)
		put(&r, RTA_DST, &dst, sizeof(dst));
	if (gw != 0)
		put(&r, RTA_GATEWAY, &gw, sizeof(gw));
	put_u32(&r, RTA_OIF, (uint32_t)ifindex);
	return transact(nl, &r);
}

int rtnl_rule(int nl, bool del, int prio, const char *iif, int table)
{
	struct req r;
	struct fib_rule_hdr *fr = req_init(&r, del ? RTM_DELRULE : RTM_NEWRULE,
	                                   del ? 0 : NLM_F_CREATE | NLM_F_EXCL, sizeof(*fr));

	fr->family = AF_INET;
	fr->action = FR_ACT_TO_TBL;
	fr->table = (unsigned char)table;
	put_u32(&r, FRA_PRIORITY, (uint32_t)prio);
	if (iif != NULL)
		put_str(&r, FRA_IIFNAME, iif);
	return transact(nl, &r);
}

int rtnl_tbf(int nl, int ifindex, uint32_t rate, uint32_t burst, uint32_t limit)
{
	struct req r;
	struct tcmsg *tc = req_init(&r, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, sizeof(*tc));
	struct tc_tbf_qopt q;

	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = ifindex;
	tc->tcm_handle = 0x10000; /* 1: */
	tc->tcm_parent = TC_H_ROOT;
	put_str(&r, TCA_KIND, "tbf");
	memset(&q, 0, sizeof(q));
	/* Ethernet's link layer: the kernel needs no rate table then. The
	 * burst is given in bytes (TCA_TBF_BURST), so buffer is not used. */
	q.rate.linklayer = TC_LINKLAYER_ETHERNET;
	q.rate.rate = rate;
	q.limit = limit;
	struct rtattr *opts = nest(&r, TCA_OPTIONS);
	put(&r, TCA_TBF_PARMS, &q, sizeof(q));
	put_u32(&r, TCA_TBF_BURST, burst);
	nest_end(&r, opts);
	return transact(nl, &r);
}
