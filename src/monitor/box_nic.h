/*
 * box_nic: the eth0 of a box in network_mode none. With no network at all a
 * box shows only `lo` and no route, where every server has an interface and
 * a default route (`ip route`, /proc/net/route: the checklist's
 * no_default_route). Each such box gets `eth0`, a dummy link (or, on a kernel
 * without the dummy driver, an ifb one): the kernel drops every packet sent
 * on it, so nothing leaves the box, as before; with
 * an address of egress.subnet (one per box, from its id) and a default route
 * via the subnet's first address, the nameserver hermes-runtime writes in the
 * box's resolv.conf; and ICMP echo sockets for every group, as on a stock
 * server, so that `ping` says what it says behind a firewall that drops
 * (100% packet loss), not "Operation not permitted".
 *
 * Cosmetic: a box it cannot give an eth0 (a monitor without CAP_NET_ADMIN) is
 * used as it is, and the first such failure is logged.
 */
#ifndef HERMES_BOX_NIC_H
#define HERMES_BOX_NIC_H

#include <stddef.h>
#include <stdint.h>

struct box_nic;

/* For egress.subnet ("A.B.C.D/N", checked by the config); NULL + errno. */
struct box_nic *box_nic_new(const char *subnet);
void box_nic_free(struct box_nic *bn);

/* The pool's hook (pool_net_attach_cb): container id, its init's pid.
 * Always 0; what failed is logged. */
int box_nic_attach(void *arg, const char *id, int pid, char *err, size_t len);

/* The box's address (network order): a host of the subnet, neither its
 * first (the gateway) nor its last, from the container id. Pure. */
uint32_t box_nic_address(const struct box_nic *bn, const char *id);

#endif
