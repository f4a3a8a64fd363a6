/* Unit tests for worker_init: the worker's first message survives the trip whole, and a
 * message that is not what the monitor sends is refused field by field. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "worker_init.h"

static char key1[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
static char key2[] = "-----BEGIN RSA PRIVATE KEY-----\nBBBB\n-----END RSA PRIVATE KEY-----\n";
static uint8_t prog[3 * 8] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static struct worker_init sample(void)
{
	struct worker_init w = {0};

	memset(w.session_id, 'a', 32);
	snprintf(w.src_ip, sizeof(w.src_ip), "2001:db8::7");
	w.src_port = 65535;
	w.log_level = 20;
	w.login_grace_time = 120;
	w.session_timeout = 3600;
	w.max_session_duration = 7200;
	w.rec_max_session_size = 256LL << 20;
	w.keyboard_interactive = true;
	snprintf(w.offer.banner, sizeof(w.offer.banner), "OpenSSH_9.2p1 Debian-2+deb12u10");
	snprintf(w.offer.kex, sizeof(w.offer.kex), "curve25519-sha256,ecdh-sha2-nistp256");
	snprintf(w.offer.hostkeys, sizeof(w.offer.hostkeys), "rsa-sha2-512,ssh-ed25519");
	snprintf(w.offer.ciphers, sizeof(w.offer.ciphers), "aes128-ctr");
	snprintf(w.offer.macs, sizeof(w.offer.macs), "hmac-sha2-256-etm@openssh.com,hmac-sha1");
	snprintf(w.offer.sigalgs, sizeof(w.offer.sigalgs), "ssh-ed25519,rsa-sha2-256");
	w.keys[0] = key1;
	w.keys[1] = key2;
	w.nkeys = 2;
	w.drop = true;
	w.uid = 65534;
	w.gid = 65534;
	snprintf(w.root, sizeof(w.root), "/var/empty");
	w.npatch = 2;
	w.patch[0] = 0;
	w.patch[1] = 2;
	w.prog = prog;
	w.prog_len = sizeof(prog);
	return w;
}

static int decode_text(const char *json, const uint8_t *p, size_t plen, struct worker_init *out,
                       const char **why)
{
	return worker_init_decode((const uint8_t *)json, strlen(json), p, plen, out, why);
}

static void test_round_trip(void **state)
{
	struct worker_init in = sample(), out;
	struct buf b;
	const char *why = "unset";

	(void)state;
	buf_init(&b);
	assert_int_equal(worker_init_encode(&in, &b), 0);
	assert_int_equal(
	    worker_init_decode(buf_peek(&b), buf_avail(&b), prog, sizeof(prog), &out, &why), 0);
	assert_null(why);
	assert_string_equal(out.session_id, in.session_id);
	assert_string_equal(out.src_ip, "2001:db8::7");
	assert_int_equal(out.src_port, 65535);
	assert_int_equal(out.login_grace_time, 120);
	assert_int_equal(out.session_timeout, 3600);
	assert_int_equal(out.max_session_duration, 7200);
	assert_true(out.rec_max_session_size == 256LL << 20);
	assert_true(out.keyboard_interactive);
	assert_string_equal(out.offer.banner, in.offer.banner);
	assert_string_equal(out.offer.kex, in.offer.kex);
	assert_string_equal(out.offer.hostkeys, in.offer.hostkeys);
	assert_string_equal(out.offer.ciphers, in.offer.ciphers);
	assert_string_equal(out.offer.macs, in.offer.macs);
	assert_string_equal(out.offer.sigalgs, in.offer.sigalgs);
	assert_int_equal(out.nkeys, 2);
	assert_string_equal(out.keys[0], key1);
	assert_string_equal(out.keys[1], key2);
	assert_true(out.drop);
	assert_int_equal(out.uid, 65534);
	assert_string_equal(out.root, "/var/empty");
	assert_int_equal(out.npatch, 2);
	assert_int_equal(out.patch[1], 2);
	assert_int_equal(out.prog_len, sizeof(prog));
	assert_memory_equal(out.prog, prog, sizeof(prog));
	worker_init_clear_keys(&out);
	assert_int_equal(out.nkeys, 0);
	assert_null(out.keys[0]);
	assert_non_null(out.prog);
	worker_init_clear(&out);
	assert_null(out.prog);
	buf_free(&b);
}

/* Each broken variant of a good message is refused with a reason. */
static void test_refusals(void **state)
{
	struct worker_init in = sample(), out;
	struct buf b;
	const char *why;
	char text[8192];

	(void)state;
	buf_init(&b);
	assert_int_equal(worker_init_encode(&in, &b), 0);
	assert_true(buf_avail(&b) < sizeof(text));
	memcpy(text, buf_peek(&b), buf_avail(&b));
	text[buf_avail(&b)] = '\0';
	buf_free(&b);
	static const struct {
		const char *from, *to;
	} breaks[] = {
	    {"\"src_port\":65535", "\"src_port\":65536"},
	    {"\"src_port\":65535", "\"src_port\":\"1\""},
	    {"\"login_grace_time\":120", "\"login_grace_time\":0"},
	    {"\"session_id\":\"aaaa", "\"session_id\":\"aaa"},
	    {"\"keys\":[", "\"keys\":[7,"},
	    {"\"uid\":65534", "\"uid\":-1"},
	    {"\"root\":\"/var/empty\"", "\"root\":\"var/empty\""},
	    {"\"patch\":[0,2]", "\"patch\":[0,3]"},
	    {"\"banner\":\"OpenSSH", "\"banner\":\"\",\"x\":\"OpenSSH"},
	    {"\"kex\":\"curve", "\"kex\":\",curve"},
	    {"\"hostkeys\":\"rsa-sha2-512,", "\"hostkeys\":\"rsa-sha2-512,,"},
	    {"\"ciphers\":\"aes128-ctr", "\"ciphers\":\"aes128 ctr"},
	    {"\"macs\":\"hmac", "\"macs\":\"\",\"y\":\"hmac"},
	    {"\"sigalgs\":\"ssh-ed25519", "\"sigalgs\":\"ssh-ed25519,"},
	    {"{", "["},
	};
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		char bad[8192];
		const char *at = strstr(text, breaks[i].from);
		assert_non_null(at);
		snprintf(bad, sizeof(bad), "%.*s%s%s", (int)(at - text), text, breaks[i].to,
		         at + strlen(breaks[i].from));
		why = NULL;
		if (decode_text(bad, prog, sizeof(prog), &out, &why) == 0)
			fail_msg("accepted: %s", bad);
		assert_non_null(why);
	}
	/* The program: whole instructions only, and the patch places inside it. */
	assert_int_equal(decode_text(text, prog, sizeof(prog) - 1, &out, &why), -22);
	assert_int_equal(decode_text(text, prog, 8, &out, &why), -22);
	assert_int_equal(decode_text(text, NULL, 0, &out, &why), -22);
}

/* A template's own filter: whole instructions or nothing; kept until cleared. */
static void test_template_filter(void **state)
{
	struct worker_init w = {0};
	const char *why = NULL;

	(void)state;
	assert_int_equal(worker_init_set_template_filter(&w, prog, sizeof(prog), &why), 0);
	assert_null(why);
	assert_int_equal(w.tprog_len, sizeof(prog));
	assert_memory_equal(w.tprog, prog, sizeof(prog));
	assert_int_equal(worker_init_set_template_filter(&w, prog, 7, &why), -EINVAL);
	assert_string_equal(why, "bad template filter");
	assert_int_equal(worker_init_set_template_filter(&w, prog, 0, &why), 0);
	assert_null(w.tprog);
	static uint8_t big[4097 * 8];
	assert_int_equal(worker_init_set_template_filter(&w, big, sizeof(big), &why), -EINVAL);
	assert_int_equal(worker_init_set_template_filter(&w, prog, 8, &why), 0);
	worker_init_clear(&w);
	assert_null(w.tprog);
	assert_int_equal(w.tprog_len, 0);
}

/* The fields IPC_TEMPLATE_SPAWN gives a template's worker. */
static void test_connection(void **state)
{
	struct worker_init w = {0};
	const char *why = NULL;
	const uint8_t *id = (const uint8_t *)"0123456789abcdef0123456789abcdef";
	const uint8_t *ip = (const uint8_t *)"203.0.113.9";

	(void)state;
	assert_int_equal(worker_init_set_connection(&w, id, 32, ip, 11, 2222, &why), 0);
	assert_string_equal(w.session_id, (const char *)id);
	assert_string_equal(w.src_ip, "203.0.113.9");
	assert_int_equal(w.src_port, 2222);
	/* Each field as the monitor makes it, or refused, the old values kept. */
	const struct {
		const char *id, *ip;
		size_t id_len, ip_len;
		uint32_t port;
	} bad[] = {
	    {"0123456789abcdef0123456789abcde", "1.2.3.4", 31, 7, 1},
	    {"0123456789ABCDEF0123456789abcdef", "1.2.3.4", 32, 7, 1},
	    {"0123456789abcdef0123456789abcdef", "", 32, 0, 1},
	    {"0123456789abcdef0123456789abcdef", "1.2\0.4", 32, 7, 1},
	    {"0123456789abcdef0123456789abcdef", "1.2.3.4", 32, 7, 65536},
	    {"0123456789abcdef0123456789abcdef",
	     "0000000000000000000000000000000000000000000000000000000000000000", 32, 64, 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(worker_init_set_connection(
		                     &w, (const uint8_t *)bad[i].id, bad[i].id_len,
		                     (const uint8_t *)bad[i].ip, bad[i].ip_len, bad[i].port, &why),
		                 -EINVAL);
		assert_string_equal(why, "bad connection fields");
		assert_string_equal(w.src_ip, "203.0.113.9");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_template_filter),
	    cmocka_unit_test(test_connection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
