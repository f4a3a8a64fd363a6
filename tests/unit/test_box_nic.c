/* Unit tests for box_nic's addresses: a host of egress.subnet, never its
 * network, gateway or broadcast address, the same for the same box, spread
 * over the subnet for others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "box_nic.h"

static void test_addresses_are_hosts_of_the_subnet(void **state)
{
	static const struct {
		const char *subnet;
		uint32_t net, size;
	} cases[] = {{"10.77.0.0/16", 0x0a4d0000, 1u << 16},
	             {"192.168.0.0/30", 0xc0a80000, 4},
	             {"172.16.8.0/24", 0xac100800, 256}};
	char id[80];

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct box_nic *bn = box_nic_new(cases[c].subnet);
		assert_non_null(bn);
		uint32_t seen_low = UINT32_MAX, seen_high = 0;
		for (int i = 0; i < 2000; i++) {
			snprintf(id, sizeof(id), "%064x", i * 7919);
			uint32_t a = ntohl(box_nic_address(bn, id));
			assert_true(a >= cases[c].net + 2);
			assert_true(a <= cases[c].net + cases[c].size - 2);
			assert_int_equal(a, ntohl(box_nic_address(bn, id)));
			seen_low = a < seen_low ? a : seen_low;
			seen_high = a > seen_high ? a : seen_high;
		}
		if (cases[c].size > 4) /* spread: both ends of the range reached */
			assert_true(seen_high - seen_low > cases[c].size / 2);
		else
			assert_int_equal(seen_low, cases[c].net + 2);
		box_nic_free(bn);
	}
}

static void test_a_bad_subnet_is_refused(void **state)
{
	assert_null(box_nic_new("10.77.0.1/16"));
	assert_null(box_nic_new("10.77.0.0/31"));
	assert_null(box_nic_new("fd00::/64"));
	box_nic_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addresses_are_hosts_of_the_subnet),
	    cmocka_unit_test(test_a_bad_subnet_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
