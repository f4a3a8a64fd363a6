/*
 * sink_net: the sinkhole's network (docs/sinkhole.md).
 *
 * At start the monitor makes a network namespace for the sinkhole: lo up,
 * every IPv4 address local to it (a `local 0.0.0.0/0` route), reverse-path
 * filtering strict, forwarding off, no IPv6, and the catch-all socket
 * lookup (sk_steer.h) on the sockets it makes there for the sinkhole
 * program. Each box in `sinkhole` mode then gets an eth0 — one end of a
 * veth pair whose other end is in the sinkhole's namespace — with an
 * address of its own in `egress.subnet` and a default route to the
 * subnet's first address. Whatever a box sends, to any address, lands in
 * the sinkhole's namespace and is answered by it: the host, the other
 * boxes and the internet are not on this network at all. A box's address
 * says which box a connection came from.
 *
 * Routing there: the `local` table is looked up after (pref 100) a rule
 * that sends what the namespace itself sends to the main table (pref 50,
 * iif lo), which holds a /32 route per box; so a box's packets to any
 * address (another box's too) are the sinkhole's, and the answers go out
 * of the asking box's veth. Strict rp_filter drops a packet whose source
 * is not the address of the veth it came in on (spoofing another box).
 *
 * Not for: what the sinkhole does with the traffic (src/sinkhole/).
 */
#ifndef HERMES_SINK_NET_H
#define HERMES_SINK_NET_H

#include <stdint.h>

struct sink_net;

/* The sockets made in the sinkhole's namespace for its program. */
struct sink_fds {
	int tcp;  /* listening: every TCP connection (any address and port) */
	int udp;  /* every UDP datagram but DNS's and TFTP's; IP_ORIGDSTADDR on */
	int dns;  /* UDP 0.0.0.0:53; IP_PKTINFO on */
	int tftp; /* UDP 0.0.0.0:69; IP_PKTINFO on */
	int icmp; /* raw ICMP: a copy of every ICMP packet */
};

/* subnet: "A.B.C.D/N", 8 <= N <= 28; rate: the bytes a second each box
 * may send (a token bucket on its eth0, out of its reach without
 * CAP_NET_ADMIN; 0: none). NULL with err on failure (no CAP_SYS_ADMIN or
 * CAP_NET_ADMIN, a kernel without sk_lookup...). */
struct sink_net *sink_net_new(const char *subnet, uint32_t rate, char *err, size_t len);
void sink_net_free(struct sink_net *n);

/* The namespace (an fd of it) and the sockets; the caller may close its
 * copies of the sockets once the sinkhole program has them. */
int sink_net_ns(const struct sink_net *n);
const struct sink_fds *sink_net_fds(const struct sink_net *n);
void sink_net_close_fds(struct sink_net *n);

/* Wires the box of container `id`, whose init is pid: eth0, address,
 * route. Returns 0 and *addr (network order), or a negative errno with
 * err. */
int sink_net_attach(struct sink_net *n, const char *id, int pid, uint32_t *addr, char *err,
                    size_t len);
/* The box is gone (its namespace took its eth0 and our end with it): its
 * address may be given again. */
void sink_net_detach(struct sink_net *n, const char *id);

/* The container whose box has addr, or NULL; *pid its init's pid. */
const char *sink_net_box(const struct sink_net *n, uint32_t addr, int *pid);

#endif
