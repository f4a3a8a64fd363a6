/* Unit tests for tar_write: what it writes reads back through tar_read (and
 * through GNU tar, when the machine has it) with the names, modes, owners,
 * times and contents given; names and values ustar cannot hold are refused
 * and leave the archive as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "tar_read.h"
#include "tar_write.h"

static void round_trip(void **state)
{
	struct buf b;
	struct tar_entry e;
	size_t off = 0;
	char big[1500];
	(void)state;

	memset(big, 'k', sizeof(big));
	buf_init(&b);
	assert_int_equal(tar_write_file(&b, "etc/machine-id", 0444, 0, 0, 1700000000,
	                                "0123456789abcdef0123456789abcdef\n", 33),
	                 0);
	assert_int_equal(tar_write_file(&b, "etc/ssh/ssh_host_rsa_key", 0600, 0, 0, 1600000000, big,
	                                sizeof(big)),
	                 0);
	assert_int_equal(tar_write_file(&b, "var/log/empty", 0640, 104, 4, 0, NULL, 0), 0);
	assert_int_equal(tar_write_end(&b), 0);
	assert_int_equal(b.len % TAR_BLOCK, 0);
	/* three headers, 1 + 3 blocks of contents, the two end blocks */
	assert_int_equal(b.len, (size_t)(3 + 1 + 3 + 2) * TAR_BLOCK);

	assert_int_equal(tar_next(b.data, b.len, &off, &e), 1);
	assert_int_equal(e.type, '0');
	assert_string_equal(e.name, "etc/machine-id");
	assert_int_equal(e.mode, 0444);
	assert_int_equal(e.mtime, 1700000000);
	assert_int_equal(e.size, 33);
	assert_memory_equal(e.data, "0123456789abcdef0123456789abcdef\n", 33);
	assert_int_equal(tar_next(b.data, b.len, &off, &e), 1);
	assert_string_equal(e.name, "etc/ssh/ssh_host_rsa_key");
	assert_int_equal(e.mode, 0600);
	assert_int_equal(e.size, sizeof(big));
	assert_memory_equal(e.data, big, sizeof(big));
	assert_int_equal(tar_next(b.data, b.len, &off, &e), 1);
	assert_string_equal(e.name, "var/log/empty");
	assert_int_equal(e.size, 0);
	assert_int_equal(e.mtime, 0);
	assert_int_equal(tar_next(b.data, b.len, &off, &e), 0);
	buf_free(&b);
}

/* GNU tar, an implementation that is not ours, lists the same entries with
 * their owners (numeric), modes and times, and finds the archive whole. */
static void gnu_tar_agrees(void **state)
{
	char path[] = "/tmp/test_tar_write-XXXXXX", cmd[256], line[256], all[1024] = "";
	struct buf b;
	FILE *f;
	int fd;
	(void)state;

	if (access("/usr/bin/tar", X_OK) != 0)
		skip();
	buf_init(&b);
	assert_int_equal(tar_write_file(&b, "etc/ssh/ssh_host_ed25519_key.pub", 0644, 0, 0,
	                                86400 * 365, "ssh-ed25519 AAAA root@web\n", 26),
	                 0);
	assert_int_equal(tar_write_file(&b, "var/log/auth.log", 0640, 104, 4, 1700000000, "x", 1),
	                 0);
	assert_int_equal(tar_write_end(&b), 0);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "TZ=UTC /usr/bin/tar --numeric-owner -tvf %s 2>&1", path);
	assert_non_null(f = popen(cmd, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		strncat(all, line, sizeof(all) - strlen(all) - 1);
	assert_int_equal(pclose(f), 0);
	unlink(path);
	assert_non_null(strstr(all, "-rw-r--r-- 0/0              26 1971-01-01 00:00 "
	                            "etc/ssh/ssh_host_ed25519_key.pub\n"));
	assert_non_null(strstr(all, "-rw-r----- 104/4             1 2023-11-14 22:13 "
	                            "var/log/auth.log\n"));
	buf_free(&b);
}

static void refuses_what_ustar_cannot_hold(void **state)
{
	struct buf b;
	char long_name[102];
	(void)state;

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	buf_init(&b);
	assert_int_equal(tar_write_file(&b, "etc/hostname", 0644, 0, 0, 1, "web\n", 4), 0);
	size_t was = b.len;
	const char *bad[] = {"",        "/etc/passwd", "../etc/passwd", "etc/../../x",
	                     "etc/./x", "etc//x",      "etc/",          ".",
	                     "a/..",    "a\nb",        long_name};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tar_write_file(&b, bad[i], 0644, 0, 0, 1, "x", 1), -1);
	assert_int_equal(tar_write_file(&b, "etc/x", 0644, 2097152, 0, 1, "x", 1), -1); /* 8^7 */
	assert_int_equal(tar_write_file(&b, "etc/x", 0644, 0, 0, -1, "x", 1), -1);
	assert_int_equal(tar_write_file(&b, "etc/x", 0644, 0, 0, (int64_t)1 << 33, "x", 1), -1);
	assert_int_equal(b.len, was);
	/* The largest of each still fits. */
	assert_int_equal(
	    tar_write_file(&b, "etc/x", 07777, 2097151, 2097151, ((int64_t)1 << 33) - 1, "x", 1),
	    0);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(gnu_tar_agrees),
	    cmocka_unit_test(refuses_what_ustar_cannot_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
