/*
 * Unit tests for sock_owner_inode over /proc/net/tcp texts as the kernel
 * writes them (a header, rows padded with spaces, the address as the
 * 32-bit value it holds, so byte-swapped on a little-endian host): the
 * row of the box's end found by its local address alone, never by the
 * remote one; a TIME_WAIT row (no socket, inode 0) passed over for the
 * live one; no match; malformed and cut rows that must not give an inode,
 * in particular not one read from the next row.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sock_owner.h"

/* 10.77.0.2 and 10.77.0.1 as /proc/net/tcp prints them on this host. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BOX  "02004D0A"
#define SINK "01004D0A"
#define LO   "0100007F"
#else
#define BOX  "0A4D0002"
#define SINK "0A4D0001"
#define LO   "7F000001"
#endif

#define HEAD                                                                                       \
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "      \
	"timeout inode                                                     \n"

/* 10.77.0.2:50420, 0xC4F4, the box's end of a connection to port 80. */
static const char table[] =
    HEAD "   0: " LO ":0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
         "       0 18230 1 0000000000000000 100 0 0 10 0                     \n"
         "   1: " SINK ":C4F4 " BOX ":0050 01 00000000:00000000 00:00000000 00000000     0 "
         "       0 777001 1 0000000000000000 20 4 30 10 -1                   \n"
         "   2: " BOX ":C4F4 " SINK ":0050 01 00000000:00000000 02:000AEC5B 00000000     0 "
         "       0 4242421 2 0000000000000000 20 4 30 10 -1                  \n"
         "   3: " BOX ":C4F5 " SINK ":01BB 01 00000000:00000000 02:000AEC5B 00000000  1000 "
         "       0 4242422 2 0000000000000000 20 4 30 10 -1                  \n";

static uint32_t addr(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void test_match(void **state)
{
	(void)state;
	assert_int_equal(sock_owner_inode(table, addr("10.77.0.2"), 50420), 4242421);
	assert_int_equal(sock_owner_inode(table, addr("10.77.0.2"), 50421), 4242422);
	assert_int_equal(sock_owner_inode(table, addr("127.0.0.1"), 22), 18230);
	/* Row 1 has 10.77.0.2:50420 as its remote end: not the box's socket. */
	assert_int_equal(sock_owner_inode(table, addr("10.77.0.1"), 50420), 777001);

	/* The last row without its newline, without padding. */
	const char *last = "   0: " BOX ":0035 00000000:0000 07 00000000:00000000 00:00000000 "
	                   "00000000     0        0 99 2 0000000000000000";
	assert_int_equal(sock_owner_inode(last, addr("10.77.0.2"), 53), 99);
}

/* An unconnected UDP socket (tftp's, say) is bound to 0.0.0.0: found by
 * its port, whatever address was asked. */
static void test_udp_any(void **state)
{
	static const char udp[] =
	    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	    "timeout inode ref pointer drops\n"
	    "  123: 00000000:9486 00000000:0000 07 00000000:00000000 00:00000000 00000000     0 "
	    "       0 515151 2 0000000000000000 0\n";

	(void)state;
	assert_int_equal(sock_owner_inode(udp, addr("10.77.0.2"), 0x9486), 515151);
	assert_int_equal(sock_owner_inode(udp, addr("10.77.0.2"), 0x9487), 0);
}

static void test_no_match(void **state)
{
	(void)state;
	assert_int_equal(sock_owner_inode(table, addr("10.77.0.2"), 50422), 0);
	assert_int_equal(sock_owner_inode(table, addr("10.77.0.3"), 50420), 0);
	assert_int_equal(sock_owner_inode(table, addr("2.0.77.10"), 50420), 0); /* swapped */
	assert_int_equal(sock_owner_inode(table, addr("10.77.0.2"), 0xF4C4), 0);
	assert_int_equal(sock_owner_inode(table, addr("10.77.0.2"), 80), 0);
	assert_int_equal(sock_owner_inode(HEAD, addr("10.77.0.2"), 50420), 0);
	assert_int_equal(sock_owner_inode("", addr("10.77.0.2"), 50420), 0);
}

/* A connection in TIME_WAIT with the same local end (the port reused for
 * another destination) has no socket: inode 0. The live one is found. */
static void test_time_wait(void **state)
{
	static const char tw[] =
	    HEAD "   0: " BOX ":C4F4 " SINK ":0050 06 00000000:00000000 03:00001735 00000000     0 "
	         "       0 0 3 0000000000000000                                      \n"
	         "   1: " BOX ":C4F4 " SINK ":01BB 01 00000000:00000000 02:000AEC5B 00000000     0 "
	         "       0 5150 2 0000000000000000 20 4 30 10 -1                     \n";

	(void)state;
	assert_int_equal(sock_owner_inode(tw, addr("10.77.0.2"), 50420), 5150);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    /* cut short: no inode on the row (what follows is the next row) */
	    "   0: " BOX ":C4F4 " SINK ":0050 01 00000000:00000000\n"
	    "   1: " LO ":0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
	    "       0 18230 1 0000000000000000 100 0 0 10 0\n",
	    "   0: " BOX ":C4F4 " SINK ":0050 01 00000000:00000000 02:000AEC5B 00000000     0 "
	    "       0\n"
	    "   1: 123 456\n",
	    "   0: " BOX ":C4F4 " SINK ":0050 01 00000000:00000000 02:000AEC5B 00000000     0 "
	    "       0",
	    /* an inode that is not a number */
	    "   0: " BOX ":C4F4 " SINK ":0050 01 00000000:00000000 02:000AEC5B 00000000     0 "
	    "       0 inode 2\n",
	    /* the address cut, or a digit short */
	    "   0: " BOX ":C4F\n",
	    "   0: " BOX ":C4F 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7 1\n",
	    /* no colon at all, colons only, the address before the row's first colon */
	    BOX "C4F4 " SINK "0050 01 00000000:00000000 02:000AEC5B 00000000 0 0 7 1\n",
	    "::::::::\n:\n",
	    BOX ":C4F4: " SINK ":0050 01 00000000:00000000 02:000AEC5B 00000000 0 0 7 1\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned long got = sock_owner_inode(bad[i], addr("10.77.0.2"), 50420);
		if (got != 0) {
			print_error("inode %lu from:\n%s\n", got, bad[i]);
			fail();
		}
	}
	/* A malformed row does not hide a good one after it. */
	static const char mixed[] = HEAD "   0: garbage\n"
	                                 "\n"
	                                 "   1: " BOX ":C4F4\n"
	                                 "   2: " BOX ":C4F4 " SINK ":0050 01 00000000:00000000 "
	                                 "02:000AEC5B 00000000     0        0 31337 2 0\n";
	assert_int_equal(sock_owner_inode(mixed, addr("10.77.0.2"), 50420), 31337);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),     cmocka_unit_test(test_no_match),
	    cmocka_unit_test(test_udp_any),   cmocka_unit_test(test_time_wait),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
