/*
 * Unit tests for dns_msg: queries built byte by byte (and one as dig sends
 * it, with an EDNS record after the question) parsed and answered; the
 * answer's header, question and record checked field by field; every kind
 * of query that is refused (an answer, another opcode, two questions, a
 * compressed or over-long name, another class, cut short) and what, if
 * anything, is sent back for it; the names' presentation form; the
 * addresses names resolve to.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns_msg.h"

#define ANSWER_CAP 600

/* A query packet under construction. */
struct pkt {
	uint8_t b[1024];
	size_t n;
};

static void put8(struct pkt *p, uint8_t v)
{
	assert_true(p->n < sizeof(p->b));
	p->b[p->n++] = v;
}

static void put16(struct pkt *p, uint16_t v)
{
	put8(p, (uint8_t)(v >> 8));
	put8(p, (uint8_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void header(struct pkt *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
                   uint16_t ns, uint16_t ar)
{
	p->n = 0;
	put16(p, id);
	put16(p, flags);
	put16(p, qd);
	put16(p, an);
	put16(p, ns);
	put16(p, ar);
}

/* A dotted name in wire form (no escapes: the labels as given). */
static void name(struct pkt *p, const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);
		put8(p, (uint8_t)len);
		for (size_t i = 0; i < len; i++)
			put8(p, (uint8_t)dotted[i]);
		dotted += len + (dot ? 1 : 0);
	}
	put8(p, 0);
}

/* A standard query with one question, recursion desired. */
static void query(struct pkt *p, uint16_t id, const char *dotted, uint16_t qtype)
{
	header(p, id, 0x0100, 1, 0, 0, 0);
	name(p, dotted);
	put16(p, qtype);
	put16(p, 1);
}

static size_t answer(const struct pkt *p, uint8_t *a, int *rcode, uint32_t *addr)
{
	return dns_msg_answer(p->b, p->n, a, ANSWER_CAP, rcode, addr);
}

static void test_parse_a(void **state)
{
	struct pkt p;
	struct dns_query q;

	(void)state;
	query(&p, 0xbeef, "WWW.Example.COM", 1);
	assert_int_equal(dns_msg_parse(p.b, p.n, &q), 0);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.qtype, 1);
	assert_string_equal(q.name, "www.example.com");

	query(&p, 7, "", 2); /* the root, NS */
	assert_int_equal(dns_msg_parse(p.b, p.n, &q), 0);
	assert_int_equal(q.id, 7);
	assert_int_equal(q.qtype, 2);
	assert_string_equal(q.name, "");
}

/* The answer's header and question: the query's ID and question, QR, RD
 * echoed, RA, the rcode; qdcount 1 and ancount an, no other records. */
static void check_head(const uint8_t *a, const struct pkt *q, int an, int rcode)
{
	assert_memory_equal(a, q->b, 2);
	assert_int_equal(get16(a + 2), 0x8000 | 0x0100 | 0x0080 | rcode);
	assert_int_equal(get16(a + 4), 1);
	assert_int_equal(get16(a + 6), an);
	assert_int_equal(get16(a + 8), 0);
	assert_int_equal(get16(a + 10), 0);
}

static void test_answer_a(void **state)
{
	struct pkt p;
	uint8_t a[ANSWER_CAP];
	int rcode = -1;
	uint32_t addr = 0;

	(void)state;
	query(&p, 0x1234, "Example.com", 1);
	size_t qlen = p.n - 12;
	size_t n = answer(&p, a, &rcode, &addr);
	assert_int_equal(n, 12 + qlen + 16);
	assert_int_equal(rcode, 0);
	assert_int_equal(addr, dns_msg_addr("example.com"));
	assert_int_not_equal(addr, 0);
	check_head(a, &p, 1, 0);
	/* The question as it came, case included (0x20 randomisation). */
	assert_memory_equal(a + 12, p.b + 12, qlen);
	const uint8_t *rr = a + 12 + qlen;
	assert_int_equal(get16(rr), 0xc00c); /* a pointer to the question's name */
	assert_int_equal(get16(rr + 2), 1);  /* A */
	assert_int_equal(get16(rr + 4), 1);  /* IN */
	assert_int_equal(get16(rr + 6), 0);  /* TTL, high half */
	assert_int_equal(get16(rr + 8), 300);
	assert_int_equal(get16(rr + 10), 4);
	assert_memory_equal(rr + 12, &addr, 4);

	/* ANY is answered the same way. */
	query(&p, 0x1235, "example.com", 255);
	assert_int_equal(answer(&p, a, &rcode, &addr), 12 + qlen + 16);
	assert_int_equal(addr, dns_msg_addr("example.com"));
	assert_int_equal(get16(a + 6), 1);

	/* Without RD, RD is not set in the answer. */
	query(&p, 9, "example.com", 1);
	p.b[2] = 0;
	assert_int_equal(answer(&p, a, &rcode, &addr), 12 + qlen + 16);
	assert_int_equal(get16(a + 2), 0x8000 | 0x0080);
}

/* AAAA, MX, TXT...: "no such data": NOERROR with no answer record. */
static void test_answer_nodata(void **state)
{
	static const uint16_t types[] = {28, 15, 16, 5, 65, 33};
	struct pkt p;
	uint8_t a[ANSWER_CAP];
	int rcode = -1;
	uint32_t addr = 1;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		query(&p, (uint16_t)(100 + i), "ipv6.example.net", types[i]);
		size_t n = answer(&p, a, &rcode, &addr);
		assert_int_equal(n, p.n);
		assert_int_equal(rcode, 0);
		assert_int_equal(addr, 0);
		check_head(a, &p, 0, 0);
		assert_memory_equal(a + 12, p.b + 12, p.n - 12);
	}
}

/* `dig example.com` as sent: AD set, an EDNS OPT record (with a cookie)
 * after the question. Answered; the OPT record is not echoed. */
static void test_answer_dig(void **state)
{
	static const uint8_t dig[] = {
	    0x5a, 0x3c, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07,
	    'e',  'x',  'a',  'm',  'p',  'l',  'e',  0x03, 'c',  'o',  'm',  0x00, 0x00,
	    0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x0c, 0x00, 0x0a, 0x00, 0x08, 0x1d, 0x4c, 0x53, 0x84, 0x63, 0x2b, 0x8a, 0x1e};
	struct dns_query q;
	uint8_t a[ANSWER_CAP];
	int rcode;
	uint32_t addr;

	(void)state;
	assert_int_equal(dns_msg_parse(dig, sizeof(dig), &q), 0);
	assert_int_equal(q.id, 0x5a3c);
	assert_string_equal(q.name, "example.com");
	size_t n = dns_msg_answer(dig, sizeof(dig), a, sizeof(a), &rcode, &addr);
	assert_int_equal(n, 12 + 17 + 16);
	assert_int_equal(rcode, 0);
	assert_int_equal(get16(a), 0x5a3c);
	assert_int_equal(get16(a + 2), 0x8180);
	assert_int_equal(get16(a + 6), 1);
	assert_int_equal(get16(a + 10), 0);
	assert_memory_equal(a + 12, dig + 12, 17);
}

/* A query refused with a header-only answer: the ID, the opcode and RD
 * echoed, QR and RA set, the rcode, no question. */
static void expect_refused(const struct pkt *p, int want_rcode)
{
	struct dns_query q;
	uint8_t a[ANSWER_CAP];
	int rcode = -1;
	uint32_t addr = 1;

	assert_int_equal(dns_msg_parse(p->b, p->n, &q), -1);
	assert_int_equal(answer(p, a, &rcode, &addr), 12);
	assert_int_equal(rcode, want_rcode);
	assert_int_equal(addr, 0);
	assert_memory_equal(a, p->b, 2);
	uint16_t qflags = get16(p->b + 2);
	assert_int_equal(get16(a + 2),
	                 0x8000 | (qflags & 0x7800) | (qflags & 0x0100) | 0x0080 | want_rcode);
	for (int i = 4; i < 12; i++)
		assert_int_equal(a[i], 0);
}

static void test_refused(void **state)
{
	struct pkt p;

	(void)state;
	/* A compressed name: a pointer where the question's name starts. */
	header(&p, 0x0101, 0x0100, 1, 0, 0, 0);
	put16(&p, 0xc00c);
	put16(&p, 1);
	put16(&p, 1);
	expect_refused(&p, 1);
	/* ... or after its first label. */
	header(&p, 0x0102, 0x0100, 1, 0, 0, 0);
	put8(&p, 3);
	put8(&p, 'w');
	put8(&p, 'w');
	put8(&p, 'w');
	put16(&p, 0xc00c);
	put16(&p, 1);
	put16(&p, 1);
	expect_refused(&p, 1);
	/* The reserved label kinds (0x40, 0x80). */
	header(&p, 0x0103, 0x0100, 1, 0, 0, 0);
	put8(&p, 0x41);
	put8(&p, 'x');
	put8(&p, 0);
	put16(&p, 1);
	put16(&p, 1);
	expect_refused(&p, 1);

	/* Two questions, none. */
	query(&p, 0x0201, "example.com", 1);
	p.b[5] = 2;
	expect_refused(&p, 1);
	p.b[5] = 0;
	expect_refused(&p, 1);

	/* Class CH (version.bind), class ANY. */
	query(&p, 0x0301, "version.bind", 16);
	p.b[p.n - 1] = 3;
	expect_refused(&p, 1);
	p.b[p.n - 1] = 255;
	expect_refused(&p, 1);

	/* Another opcode (IQUERY, STATUS, NOTIFY, UPDATE): NOTIMP. */
	for (uint16_t op = 1; op < 16; op++) {
		query(&p, (uint16_t)(0x0400 + op), "example.com", 1);
		p.b[2] |= (uint8_t)(op << 3);
		expect_refused(&p, 4);
	}

	/* Cut short: every prefix of a good query that has a header. */
	struct pkt whole;
	query(&whole, 0x0501, "example.com", 1);
	for (size_t k = 12; k < whole.n; k++) {
		p = whole;
		p.n = k;
		expect_refused(&p, 1);
	}
}

/* No header, an answer, no room: nothing is sent. */
static void test_not_answered(void **state)
{
	struct pkt p;
	uint8_t a[ANSWER_CAP];
	int rcode = -1;
	uint32_t addr = 1;
	struct dns_query q;

	(void)state;
	query(&p, 1, "example.com", 1);
	for (size_t k = 0; k < 12; k++) {
		assert_int_equal(dns_msg_answer(p.b, k, a, sizeof(a), &rcode, &addr), 0);
		assert_int_equal(rcode, 0);
		assert_int_equal(addr, 0);
		assert_int_equal(dns_msg_parse(p.b, k, &q), -1);
	}
	/* QR set: an answer is never answered (no loops between resolvers). */
	p.b[2] |= 0x80;
	assert_int_equal(dns_msg_answer(p.b, p.n, a, sizeof(a), &rcode, &addr), 0);
	assert_int_equal(dns_msg_parse(p.b, p.n, &q), -1);
	/* A buffer too small for the largest answer. */
	query(&p, 1, "example.com", 1);
	assert_int_equal(dns_msg_answer(p.b, p.n, a, 12 + 4 + 255 + 16 - 1, &rcode, &addr), 0);
	assert_int_equal(dns_msg_answer(p.b, p.n, a, 12 + 4 + 255 + 16, &rcode, &addr), p.n + 16);
}

static void label(struct pkt *p, const uint8_t *bytes, size_t len)
{
	put8(p, (uint8_t)len);
	for (size_t i = 0; i < len; i++)
		put8(p, bytes[i]);
}

static void finish(struct pkt *p, uint16_t qtype)
{
	put8(p, 0);
	put16(p, qtype);
	put16(p, 1);
}

/* Bytes that are not printable, the dot and the backslash, as \DDD. */
static void test_name_escapes(void **state)
{
	static const uint8_t odd[] = {'a', '.', 'b', '\\', ' ', 0x00, 0x7f, 0xff, 'Z'};
	struct pkt p;
	struct dns_query q;
	uint8_t a[ANSWER_CAP];
	int rcode;
	uint32_t addr;

	(void)state;
	header(&p, 1, 0, 1, 0, 0, 0);
	label(&p, odd, sizeof(odd));
	label(&p, (const uint8_t *)"Com", 3);
	finish(&p, 1);
	assert_int_equal(dns_msg_parse(p.b, p.n, &q), 0);
	assert_string_equal(q.name, "a\\046b\\092\\032\\000\\127\\255z.com");
	assert_int_equal(answer(&p, a, &rcode, &addr), p.n + 16);
	assert_int_equal(addr, dns_msg_addr(q.name));
}

/* A label of 63 bytes, a name of 255 wire bytes: the most there can be. */
static void test_name_limits(void **state)
{
	uint8_t l63[63], l64[64], l61[61], bin[63];
	struct pkt p;
	struct dns_query q;
	uint8_t a[ANSWER_CAP];
	int rcode;
	uint32_t addr;

	(void)state;
	memset(l63, 'a', sizeof(l63));
	memset(l64, 'b', sizeof(l64));
	memset(l61, 'c', sizeof(l61));
	memset(bin, 0x01, sizeof(bin));

	header(&p, 1, 0, 1, 0, 0, 0);
	label(&p, l63, 63);
	finish(&p, 1);
	assert_int_equal(dns_msg_parse(p.b, p.n, &q), 0);
	assert_int_equal(strlen(q.name), 63);

	header(&p, 1, 0, 1, 0, 0, 0);
	label(&p, l64, 64);
	finish(&p, 1);
	expect_refused(&p, 1);

	/* 63+1 three times, 61+1, the root's 0: 255 bytes, 253 characters. */
	header(&p, 2, 0, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		label(&p, l63, 63);
	label(&p, l61, 61);
	finish(&p, 1);
	assert_int_equal(p.n - 12 - 4, 255);
	assert_int_equal(dns_msg_parse(p.b, p.n, &q), 0);
	assert_int_equal(strlen(q.name), 253);
	size_t n = answer(&p, a, &rcode, &addr);
	assert_int_equal(n, 12 + 255 + 4 + 16);
	assert_int_equal(get16(a + 6), 1);
	assert_int_equal(addr, dns_msg_addr(q.name));

	/* One byte more is over DNS's bound. */
	header(&p, 3, 0, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		label(&p, l63, 63);
	label(&p, l61, 61);
	p.b[p.n - 62] = 62;
	put8(&p, 'c');
	finish(&p, 1);
	expect_refused(&p, 1);

	/* A name within the wire bound whose presentation form does not fit
	 * in DNS_NAME_MAX (every byte a \DDD) is refused, never cut. */
	header(&p, 4, 0, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		label(&p, bin, 63);
	finish(&p, 1);
	expect_refused(&p, 1);
	/* 63 of them fit: 252 characters. */
	header(&p, 5, 0, 1, 0, 0, 0);
	label(&p, bin, 63);
	finish(&p, 1);
	assert_int_equal(dns_msg_parse(p.b, p.n, &q), 0);
	assert_int_equal(strlen(q.name), 252);
	assert_string_equal(q.name + 248, "\\001");
}

static void test_addr(void **state)
{
	char name[32];
	uint32_t first = dns_msg_addr("example.com");

	(void)state;
	assert_int_equal(dns_msg_addr("example.com"), first); /* the same, always */
	assert_int_not_equal(dns_msg_addr("example.org"), first);
	assert_int_not_equal(dns_msg_addr(""), 0);
	/* Public-looking unicast: never 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
	 * 172.16/12, 192.0.0/24, 192.0.2/24, 192.168/16, 198.18/15, 198.51.100/24,
	 * 203.0.113/24, multicast or reserved; never .0 or .255 last. */
	size_t distinct_first = 0;
	uint8_t seen[256] = {0};
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "host%d.example", i);
		uint32_t v = dns_msg_addr(name);
		uint8_t b[4];
		memcpy(b, &v, 4);
		assert_true(b[0] != 0 && b[0] != 10 && b[0] != 127 && b[0] < 224);
		assert_false(b[0] == 100 && (b[1] & 0xc0) == 64);
		assert_false(b[0] == 169 && b[1] == 254);
		assert_false(b[0] == 172 && (b[1] & 0xf0) == 16);
		assert_false(b[0] == 192 && (b[1] == 168 || (b[1] == 0 && b[2] <= 2)));
		assert_false(b[0] == 198 && ((b[1] & 0xfe) == 18 || (b[1] == 51 && b[2] == 100)));
		assert_false(b[0] == 203 && b[1] == 0 && b[2] == 113);
		assert_true(b[3] != 0 && b[3] != 255);
		if (!seen[b[0]]++)
			distinct_first++;
	}
	/* Spread over many networks, not one. */
	assert_true(distinct_first > 30);
}

static void test_type_name(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(dns_msg_type_name(1, buf), "A");
	assert_string_equal(dns_msg_type_name(28, buf), "AAAA");
	assert_string_equal(dns_msg_type_name(15, buf), "MX");
	assert_string_equal(dns_msg_type_name(65, buf), "HTTPS");
	assert_string_equal(dns_msg_type_name(255, buf), "ANY");
	assert_string_equal(dns_msg_type_name(0, buf), "TYPE0");
	assert_string_equal(dns_msg_type_name(99, buf), "TYPE99");
	assert_string_equal(dns_msg_type_name(65535, buf), "TYPE65535");
	assert_ptr_equal(dns_msg_type_name(65535, buf), buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_a),       cmocka_unit_test(test_answer_a),
	    cmocka_unit_test(test_answer_nodata), cmocka_unit_test(test_answer_dig),
	    cmocka_unit_test(test_refused),       cmocka_unit_test(test_not_answered),
	    cmocka_unit_test(test_name_escapes),  cmocka_unit_test(test_name_limits),
	    cmocka_unit_test(test_addr),          cmocka_unit_test(test_type_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
