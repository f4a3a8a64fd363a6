/*
 * fetch_addr: global unicast or not; see fetch_addr.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "fetch_addr.h"

static const struct {
	uint32_t net;
	int bits;
} not_public4[] = {
    {0x00000000, 8},  {0x0a000000, 8},  {0x64400000, 10}, {0x7f000000, 8},  {0xa9fe0000, 16},
    {0xac100000, 12}, {0xc0000000, 24}, {0xc0000200, 24}, {0xc0586300, 24}, {0xc0a80000, 16},
    {0xc6120000, 15}, {0xc6336400, 24}, {0xcb007100, 24}, {0xe0000000, 4},  {0xf0000000, 4},
};

bool fetch_addr_public4(uint32_t addr)
{
	uint32_t a = ntohl(addr);

	for (size_t i = 0; i < sizeof(not_public4) / sizeof(not_public4[0]); i++) {
		uint32_t mask = 0xffffffffu << (32 - not_public4[i].bits);
		if ((a & mask) == not_public4[i].net)
			return false;
	}
	return true;
}

bool fetch_addr_public(const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		return fetch_addr_public4(s4->sin_addr.s_addr);
	}
	if (sa->sa_family != AF_INET6 || len < (socklen_t)sizeof(struct sockaddr_in6))
		return false;
	const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	uint32_t v4;
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0) {
		memcpy(&v4, b + 12, 4);
		return fetch_addr_public4(v4);
	}
	/* Global unicast is 2000::/3; within it, documentation 2001:db8::/32
	 * and 3fff::/20, benchmarking 2001:2::/48, and the 6to4 relay and
	 * Teredo forms that may carry anything. */
	if ((b[0] & 0xe0) != 0x20)
		return false;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return false;
	if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0)
		return false;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0x02 && b[4] == 0 && b[5] == 0)
		return false;
	if (b[0] == 0x20 && b[1] == 0x02) /* 6to4 */
		return false;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) /* Teredo */
		return false;
	return true;
}
