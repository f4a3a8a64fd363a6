/*
 * dns_msg: DNS queries read and answered; see dns_msg.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dns_msg.h"

#define HDR       12
#define T_A       1
#define T_ANY     255
#define C_IN      1
#define F_QR      0x8000
#define F_RD      0x0100
#define F_RA      0x0080
#define R_FORMERR 1
#define R_NOTIMP  4
#define TTL       300

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The question's name: its presentation form in out and the offset just
 * past it, or 0. */
static size_t read_name(const uint8_t *q, size_t n, char *out)
{
	size_t at = HDR, o = 0, wire = 0;

	out[0] = '\0';
	for (;;) {
		if (at >= n)
			return 0;
		uint8_t len = q[at++];
		if (len == 0)
			break;
		if (len > 63 || (wire += len + 1u) > 254 || at + len > n)
			return 0; /* a pointer, a reserved kind, too long, cut short */
		if (o > 0) {
			if (o + 1 >= DNS_NAME_MAX)
				return 0;
			out[o++] = '.';
		}
		for (uint8_t i = 0; i < len; i++) {
			uint8_t c = q[at + i];
			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			bool plain = c > 0x20 && c < 0x7f && c != '.' && c != '\\';
			/* The character (1 byte, or 4 as \DDD) and a NUL after it must
			 * fit: any name of printable characters does (253 at most);
			 * one of many \DDD may not, and is refused, never cut. */
			if (o + (plain ? 1u : 4u) >= DNS_NAME_MAX)
				return 0;
			if (plain)
				out[o++] = (char)c;
			else
				o += (size_t)snprintf(out + o, 5, "\\%03u", c);
		}
		at += len;
	}
	out[o] = '\0';
	return at;
}

int dns_msg_parse(const uint8_t *q, size_t n, struct dns_query *out)
{
	size_t at;

	if (n < HDR)
		return -1;
	uint16_t flags = get16(q + 2);
	if ((flags & F_QR) || ((flags >> 11) & 0xf) != 0 || get16(q + 4) != 1)
		return -1;
	if ((at = read_name(q, n, out->name)) == 0 || at + 4 > n)
		return -1;
	if (get16(q + at + 2) != C_IN)
		return -1;
	out->id = get16(q);
	out->qtype = get16(q + at);
	return 0;
}

size_t dns_msg_answer(const uint8_t *q, size_t n, uint8_t *a, size_t cap, int *rcode,
                      uint32_t *addr)
{
	struct dns_query dq;
	size_t at;

	*rcode = 0;
	*addr = 0;
	if (n < HDR || cap < HDR + 4 + 255 + 16 || (get16(q + 2) & F_QR))
		return 0; /* no header, or an answer: never answered */
	uint16_t flags = get16(q + 2);
	memset(a, 0, HDR);
	memcpy(a, q, 2);
	if (dns_msg_parse(q, n, &dq) < 0) {
		*rcode = ((flags >> 11) & 0xf) != 0 ? R_NOTIMP : R_FORMERR;
		put16(a + 2, (uint16_t)(F_QR | (flags & 0x7800) | (flags & F_RD) | F_RA | *rcode));
		return HDR;
	}
	at = read_name(q, n, dq.name) + 4; /* the question, copied as it came */
	memcpy(a + HDR, q + HDR, at - HDR);
	put16(a + 2, (uint16_t)(F_QR | (flags & F_RD) | F_RA));
	put16(a + 4, 1);
	if (dq.qtype == T_A || dq.qtype == T_ANY) {
		uint8_t *rr = a + at;
		*addr = dns_msg_addr(dq.name);
		put16(rr, 0xc000 | HDR); /* the question's name */
		put16(rr + 2, T_A);
		put16(rr + 4, C_IN);
		put16(rr + 6, 0);
		put16(rr + 8, TTL);
		put16(rr + 10, 4);
		memcpy(rr + 12, addr, 4);
		put16(a + 6, 1);
		at += 16;
	}
	return at;
}

uint32_t dns_msg_addr(const char *name)
{
	/* First octets of ordinary public unicast space: no private, shared,
	 * loopback, link-local, documentation, benchmark or multicast range. */
	static const uint8_t first[] = {23,  31,  34,  37,  45,  46,  51,  52,  62,  64,  66,  69,
	                                74,  78,  80,  81,  82,  85,  87,  88,  91,  93,  94,  95,
	                                104, 107, 108, 128, 130, 138, 139, 141, 142, 143, 144, 149,
	                                151, 152, 157, 159, 162, 164, 165, 167, 176, 178, 185, 188,
	                                193, 194, 195, 199, 206, 207, 208, 209, 212, 213, 216, 217};
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	uint8_t b[4] = {first[h % sizeof(first)], (uint8_t)(h >> 16), (uint8_t)(h >> 24),
	                (uint8_t)(1 + (h >> 32) % 254)};
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}

const char *dns_msg_type_name(uint16_t t, char buf[16])
{
	static const struct {
		uint16_t t;
		const char *name;
	} names[] = {{1, "A"},    {2, "NS"},    {5, "CNAME"},  {6, "SOA"},
	             {12, "PTR"}, {15, "MX"},   {16, "TXT"},   {28, "AAAA"},
	             {33, "SRV"}, {64, "SVCB"}, {65, "HTTPS"}, {255, "ANY"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].name;
	snprintf(buf, 16, "TYPE%u", t);
	return buf;
}
