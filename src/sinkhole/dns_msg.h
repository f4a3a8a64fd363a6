/*
 * dns_msg: the sinkhole's DNS: reads a query a box sent and writes the
 * answer: every name has an IPv4 address (dns_msg_addr: the same name,
 * the same address, always), and nothing else (AAAA, MX, TXT... are
 * answered "no such data", so clients fall back to IPv4).
 *
 * Input is hostile: any bytes, any length. Only a standard query (opcode
 * 0) with one question of class IN and an uncompressed name is answered;
 * anything else gets a FORMERR or NOTIMP answer when it has a header to
 * answer, and nothing otherwise.
 */
#ifndef HERMES_DNS_MSG_H
#define HERMES_DNS_MSG_H

#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 256 /* a presentation name, with its NUL */

struct dns_query {
	uint16_t id;
	uint16_t qtype;
	char name[DNS_NAME_MAX]; /* lower case, dots between labels, "" for the root;
	                          * bytes outside printable ASCII as \DDD */
};

/* Parses q[0..n). 0 and *out, or -1 when the packet is not a query we
 * answer (a name whose \DDD escapes would not fit in name included). */
int dns_msg_parse(const uint8_t *q, size_t n, struct dns_query *out);

/* Writes the answer to query q[0..n) into a[0..cap): its length, or 0
 * when nothing should be sent. *rcode and *addr (network order, 0 when
 * none was given) say what it answered. */
size_t dns_msg_answer(const uint8_t *q, size_t n, uint8_t *a, size_t cap, int *rcode,
                      uint32_t *addr);

/* The address a name resolves to (network order): a public-looking
 * unicast address chosen by a hash of the name. */
uint32_t dns_msg_addr(const char *name);

/* "A", "AAAA", "MX"... or "TYPE<n>". */
const char *dns_msg_type_name(uint16_t t, char buf[16]);

#endif
