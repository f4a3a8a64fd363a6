/*
 * Unit tests for fetch_addr: both edges of every IPv4 range that is not
 * global unicast, and IPv6 (loopback, link-local, unique local, multicast,
 * documentation, benchmarking, 6to4, Teredo, and the mapped and NAT64
 * forms carrying IPv4 of either kind) through the sockaddr a resolver
 * gives, with its length checked.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "fetch_addr.h"

static uint32_t v4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static bool public6(const char *s)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(80)};

	assert_int_equal(inet_pton(AF_INET6, s, &sa.sin6_addr), 1);
	return fetch_addr_public((const struct sockaddr *)&sa, sizeof(sa));
}

static bool public4(const char *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(80)};

	sa.sin_addr.s_addr = v4(s);
	return fetch_addr_public((const struct sockaddr *)&sa, sizeof(sa));
}

static const struct {
	const char *addr;
	bool public;
} cases4[] = {
    {"8.8.8.8", true},          {"1.1.1.1", true},          {"93.184.216.34", true},
    {"223.255.255.254", true},  {"0.0.0.0", false},         {"0.255.255.255", false},
    {"1.0.0.0", true},          {"9.255.255.255", true},    {"10.0.0.0", false},
    {"10.77.0.2", false},       {"10.255.255.255", false},  {"11.0.0.0", true},
    {"100.63.255.255", true},   {"100.64.0.0", false},      {"100.127.255.255", false},
    {"100.128.0.0", true},      {"126.255.255.255", true},  {"127.0.0.1", false},
    {"127.255.255.255", false}, {"128.0.0.0", true},        {"169.253.255.255", true},
    {"169.254.169.254", false}, /* the clouds' metadata service */
    {"169.255.0.0", true},      {"172.15.255.255", true},   {"172.16.0.0", false},
    {"172.17.0.1", false},      {"172.31.255.255", false},  {"172.32.0.0", true},
    {"191.255.255.255", true},  {"192.0.0.0", false},       {"192.0.0.255", false},
    {"192.0.1.0", true},        {"192.0.2.0", false},       {"192.0.2.255", false},
    {"192.0.3.0", true},        {"192.88.98.255", true},    {"192.88.99.1", false},
    {"192.88.100.0", true},     {"192.167.255.255", true},  {"192.168.0.0", false},
    {"192.168.255.255", false}, {"192.169.0.0", true},      {"198.17.255.255", true},
    {"198.18.0.0", false},      {"198.19.255.255", false},  {"198.20.0.0", true},
    {"198.51.99.255", true},    {"198.51.100.7", false},    {"198.51.101.0", true},
    {"203.0.112.255", true},    {"203.0.113.9", false},     {"203.0.114.0", true},
    {"224.0.0.1", false},       {"239.255.255.250", false}, {"240.0.0.1", false},
    {"255.255.255.255", false},
};

static void test_public4(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases4) / sizeof(cases4[0]); i++) {
		bool got = fetch_addr_public4(v4(cases4[i].addr));
		if (got != cases4[i].public) {
			print_error("%s: public %d, want %d\n", cases4[i].addr, got,
			            cases4[i].public);
			fail();
		}
		/* The same through a sockaddr_in. */
		assert_int_equal(public4(cases4[i].addr), cases4[i].public);
	}
}

static const struct {
	const char *addr;
	bool public;
} cases6[] = {
    {"2606:4700:4700::1111", true},
    {"2001:4860:4860::8888", true},
    {"2a00:1450:4001:80b::200e", true},
    {"3ffe::1", true},
    {"::", false},
    {"::1", false},
    {"fe80::1", false},
    {"fc00::1", false},
    {"fd12:3456::1", false},
    {"ff02::1", false},
    {"ff0e::1", false},
    {"1fff:ffff::1", false}, /* below 2000::/3 */
    {"4000::1", false},      /* above it */
    {"2001:db8::1", false},  /* documentation */
    {"2001:db8:ffff::1", false},
    {"2001:db9::1", true},
    {"3fff::1", false}, /* documentation (RFC 9637) */
    {"3fff:fff:ffff::1", false},
    {"3fff:1000::1", true},
    {"2001:2::1", false}, /* benchmarking (RFC 5180) */
    {"2001:2:0:ffff::1", false},
    {"2001:2:1::1", true},
    {"2002:c000:0204::1", false},   /* 6to4 */
    {"2001:0:4136:e378::1", false}, /* Teredo */
    {"2001:1::1", true},
    {"::ffff:8.8.8.8", true},
    {"::ffff:10.0.0.1", false},
    {"::ffff:127.0.0.1", false},
    {"::ffff:169.254.169.254", false},
    {"64:ff9b::808:808", true},    /* NAT64 of 8.8.8.8 */
    {"64:ff9b::a00:1", false},     /* of 10.0.0.1 */
    {"64:ff9b::7f00:1", false},    /* of 127.0.0.1 */
    {"64:ff9b:1::808:808", false}, /* local-use NAT64: outside 2000::/3 */
    {"::8.8.8.8", false},          /* IPv4-compatible, deprecated */
};

static void test_public6(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases6) / sizeof(cases6[0]); i++) {
		bool got = public6(cases6[i].addr);
		if (got != cases6[i].public) {
			print_error("%s: public %d, want %d\n", cases6[i].addr, got,
			            cases6[i].public);
			fail();
		}
	}
}

/* A sockaddr shorter than its family's, or of another family: never. */
static void test_sockaddr(void **state)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	struct sockaddr_un su = {.sun_family = AF_UNIX};

	(void)state;
	s4.sin_addr.s_addr = v4("8.8.8.8");
	assert_true(fetch_addr_public((const struct sockaddr *)&s4, sizeof(s4)));
	assert_false(fetch_addr_public((const struct sockaddr *)&s4, sizeof(s4) - 1));
	assert_int_equal(inet_pton(AF_INET6, "2606:4700:4700::1111", &s6.sin6_addr), 1);
	assert_true(fetch_addr_public((const struct sockaddr *)&s6, sizeof(s6)));
	assert_false(fetch_addr_public((const struct sockaddr *)&s6, sizeof(s6) - 1));
	assert_false(fetch_addr_public((const struct sockaddr *)&su, sizeof(su)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_public4),
	    cmocka_unit_test(test_public6),
	    cmocka_unit_test(test_sockaddr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
