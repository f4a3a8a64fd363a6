/*
 * box_nic: network_mode none's eth0 that goes nowhere; see box_nic.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/rtnetlink.h>

#include "box_nic.h"
#include "log.h"
#include "rtnl.h"
#include "util.h"

struct box_nic {
	uint32_t net; /* host order */
	int prefix;
	int own; /* the monitor's network namespace */
	bool warned;
};

struct box_nic *box_nic_new(const char *subnet)
{
	struct box_nic *bn = calloc(1, sizeof(*bn));

	if (bn == NULL)
		return NULL;
	if (util_parse_cidr4(subnet, 8, 30, &bn->net, &bn->prefix) < 0) {
		free(bn);
		errno = EINVAL;
		return NULL;
	}
	bn->net = ntohl(bn->net);
	bn->own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (bn->own < 0) {
		int e = errno;
		free(bn);
		errno = e;
		return NULL;
	}
	return bn;
}

void box_nic_free(struct box_nic *bn)
{
	if (bn == NULL)
		return;
	close(bn->own);
	free(bn);
}

uint32_t box_nic_address(const struct box_nic *bn, const char *id)
{
	uint32_t hosts = (1u << (32 - bn->prefix)) - 3; /* not .0, .1 or the broadcast */
	uint32_t h = 2166136261u;

	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return htonl(bn->net + 2 + h % hosts);
}

/* In the box's namespace: the link, its address, up, the route; ping. */
static int wire(const struct box_nic *bn, const char *id, const char **what)
{
	int nl = rtnl_open(), idx, r;

	if (nl < 0) {
		*what = "route netlink";
		return nl;
	}
	/* A dummy link; where the kernel has none, an ifb one, which drops
	 * what is sent on it just as well (only packets tc redirected to it
	 * go anywhere, and nothing is). */
	if ((r = rtnl_link_add(nl, "eth0", "dummy")) == -EOPNOTSUPP)
		r = rtnl_link_add(nl, "eth0", "ifb");
	if (r < 0)
		*what = "the link";
	else if ((idx = rtnl_link_index(nl, "eth0")) < 0)
		*what = "the link's index", r = idx;
	else if ((r = rtnl_addr_add(nl, idx, box_nic_address(bn, id), bn->prefix)) < 0)
		*what = "the address";
	else if ((r = rtnl_link_up(nl, idx)) < 0)
		*what = "the link up";
	else if ((r = rtnl_route_add(nl, RT_TABLE_MAIN, RTN_UNICAST, 0, 0, htonl(bn->net + 1),
	                             idx)) < 0)
		*what = "the default route";
	else if ((r = util_write_text("/proc/sys/net/ipv4/ping_group_range", "0 2147483647")) < 0)
		*what = "ping_group_range";
	close(nl);
	return r;
}

int box_nic_attach(void *arg, const char *id, int pid, char *err, size_t len)
{
	struct box_nic *bn = arg;
	const char *what = "the box's namespace";
	char path[64];
	struct stat st, own;
	int r;

	(void)err;
	(void)len;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		r = -errno;
	} else if (fstat(ns, &st) < 0 || fstat(bn->own, &own) < 0) {
		r = -errno;
	} else if (st.st_ino == own.st_ino && st.st_dev == own.st_dev) {
		r = -EXDEV; /* never the monitor's own */
	} else if (setns(ns, CLONE_NEWNET) < 0) {
		r = -errno;
		what = "entering the box's namespace";
	} else {
		r = wire(bn, id, &what);
		if (setns(bn->own, CLONE_NEWNET) < 0)
			fatal("cannot return to the monitor's network namespace: %s",
			      strerror(errno));
	}
	if (ns >= 0)
		close(ns);
	if (r < 0 && !bn->warned) {
		warn("box %.12s: no eth0 for network_mode none (%s: %s); boxes show only lo", id,
		     what, strerror(-r));
		bn->warned = true;
	} else if (r < 0) {
		debug("box %.12s: no eth0: %s: %s", id, what, strerror(-r));
	}
	return 0;
}
