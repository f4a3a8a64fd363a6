/*
 * libFuzzer harness for dns_msg.c: any bytes as a datagram a box sent to
 * port 53, parsed and answered into a buffer of exactly the size the
 * answer may need (so writing past it is caught). Beyond "no crash, no
 * over-read" it checks what the sinkhole relies on: the parsed name fits
 * and is lower case printable ASCII; an answer is sent only for a query
 * with a header, carries the query's ID, QR set, is within its bounds
 * (the header alone when refused; header, the question as it came and at
 * most one A record when answered), and is itself never answered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_msg.h"

#include "fuzz_check.h"

#define ANSWER_MAX (12 + 255 + 4 + 16)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *q = malloc(size ? size : 1), *a = malloc(ANSWER_MAX);
	struct dns_query dq;
	char tbuf[16];
	int rcode = -1;
	uint32_t addr = 1;

	CHECK(q != NULL && a != NULL);
	if (size)
		memcpy(q, data, size);

	int p = dns_msg_parse(q, size, &dq);
	CHECK(p == 0 || p == -1);
	if (p == 0) {
		size_t len = strnlen(dq.name, DNS_NAME_MAX);
		CHECK(len < DNS_NAME_MAX);
		for (size_t i = 0; i < len; i++)
			CHECK(dq.name[i] > 0x20 && dq.name[i] < 0x7f &&
			      !(dq.name[i] >= 'A' && dq.name[i] <= 'Z'));
		CHECK(dq.id == get16(q));
		const char *t = dns_msg_type_name(dq.qtype, tbuf);
		CHECK(t != NULL && strlen(t) < sizeof(tbuf));
	}

	size_t n = dns_msg_answer(q, size, a, ANSWER_MAX, &rcode, &addr);
	CHECK(n <= ANSWER_MAX);
	if (size < 12 || (q[2] & 0x80)) {
		/* no header, or an answer itself: nothing sent */
		CHECK(n == 0 && rcode == 0 && addr == 0);
	} else if (p < 0) {
		/* refused: the header alone, FORMERR or NOTIMP */
		CHECK(n == 12);
		CHECK(rcode == 1 || rcode == 4);
		CHECK(addr == 0);
		CHECK((a[3] & 0x0f) == rcode);
		CHECK(get16(a + 4) == 0 && get16(a + 6) == 0);
	} else {
		/* answered: the question as it came, then an A record or none */
		CHECK(rcode == 0 && (a[3] & 0x0f) == 0);
		CHECK(get16(a + 4) == 1);
		size_t an = get16(a + 6);
		CHECK(an <= 1);
		CHECK(n > 12 + 4 && n - 16 * an <= size);
		size_t qlen = n - 16 * an - 12;
		CHECK(memcmp(a + 12, q + 12, qlen) == 0);
		if (an == 1) {
			CHECK(dq.qtype == 1 || dq.qtype == 255);
			CHECK(addr == dns_msg_addr(dq.name) && addr != 0);
			CHECK(memcmp(a + n - 4, &addr, 4) == 0);
		} else {
			CHECK(addr == 0);
		}
	}
	if (n > 0) {
		CHECK(n >= 12);
		CHECK(memcmp(a, q, 2) == 0); /* the query's ID */
		CHECK(a[2] & 0x80);          /* QR */
		struct dns_query again;
		CHECK(dns_msg_parse(a, n, &again) == -1);
		int r2;
		uint32_t a2;
		uint8_t *b = malloc(ANSWER_MAX);
		CHECK(b != NULL);
		CHECK(dns_msg_answer(a, n, b, ANSWER_MAX, &r2, &a2) == 0);
		free(b);
	}
	/* A buffer short of the largest answer: nothing, whatever came. */
	CHECK(dns_msg_answer(q, size, a, ANSWER_MAX - 1, &rcode, &addr) == 0);
	free(q);
	free(a);
	return 0;
}
