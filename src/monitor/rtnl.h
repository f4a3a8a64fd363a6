/*
 * rtnl: the few route-netlink requests the sinkhole's network needs
 * (sink_net.h): links up, a veth pair with one end in another namespace,
 * an IPv4 address, a route, a rule, a token-bucket queue. Each request is sent on a netlink
 * socket of the namespace it acts on and waits for the kernel's answer
 * (an ack or an error), so a failure is known at once.
 *
 * Not for: reading the kernel's tables, or anything but IPv4.
 */
#ifndef HERMES_RTNL_H
#define HERMES_RTNL_H

#include <stdbool.h>
#include <stdint.h>

/* A route-netlink socket of the calling thread's network namespace now.
 * Returns the fd or a negative errno. */
int rtnl_open(void);

/* Each returns 0 or a negative errno (the kernel's answer). Addresses are
 * in network byte order. */
int rtnl_link_index(int nl, const char *name);
int rtnl_link_up(int nl, int ifindex);
/* A veth pair: `name` here, its peer `peer_name` in the namespace peer_ns
 * (an fd of /proc/PID/ns/net). */
int rtnl_veth_add(int nl, const char *name, const char *peer_name, int peer_ns);
/* A link `name` of a kind that needs nothing else ("dummy", "ifb") in this
 * namespace. */
int rtnl_link_add(int nl, const char *name, const char *kind);
int rtnl_addr_add(int nl, int ifindex, uint32_t addr, int prefix);
/* type: RTN_UNICAST (gw 0: on the link) or RTN_LOCAL; table: RT_TABLE_*. */
int rtnl_route_add(int nl, int table, int type, uint32_t dst, int dst_len, uint32_t gw,
                   int ifindex);
/* A rule `pref PRIO [iif IIF] lookup TABLE`; add or (del true) delete. */
int rtnl_rule(int nl, bool del, int prio, const char *iif, int table);

/* A token bucket as the link's root queue: rate and burst in bytes (a
 * second's worth, a bucket), limit the bytes it may queue. */
int rtnl_tbf(int nl, int ifindex, uint32_t rate, uint32_t burst, uint32_t limit);

#endif
