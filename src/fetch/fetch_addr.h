/*
 * fetch_addr: which addresses a live fetch may connect to on its own: only
 * global unicast. Never loopback, private (RFC 1918, unique local), shared
 * (100.64/10), link-local, multicast, broadcast, documentation, benchmark
 * or reserved space, nor IPv6 forms that carry such an IPv4 address
 * (::ffff:a.b.c.d, 64:ff9b::/96). An operator's egress.hosts address is
 * allowed by the caller, not here.
 */
#ifndef HERMES_FETCH_ADDR_H
#define HERMES_FETCH_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

bool fetch_addr_public4(uint32_t addr); /* network order */
bool fetch_addr_public(const struct sockaddr *sa, socklen_t len);

#endif
