/* Unit tests for image_facts: os-release and dpkg status files as images
 * carry them (Debian 12, Ubuntu 22.04), and the odd or hostile ones an
 * image may carry instead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "image_facts.h"

static const char debian_os[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                                "NAME=\"Debian GNU/Linux\"\n"
                                "VERSION_ID=\"12\"\n"
                                "VERSION=\"12 (bookworm)\"\n"
                                "VERSION_CODENAME=bookworm\n"
                                "ID=debian\n"
                                "HOME_URL=\"https://www.debian.org/\"\n";

static const char ubuntu_os[] = "PRETTY_NAME=\"Ubuntu 22.04.5 LTS\"\n"
                                "NAME=\"Ubuntu\"\n"
                                "VERSION_ID=\"22.04\"\n"
                                "ID=ubuntu\n"
                                "ID_LIKE=debian\n";

static int os(struct image_facts *f, const char *text, const char **why)
{
	*why = NULL;
	return image_facts_os_release(f, text, strlen(text), why);
}

static void test_os_release(void **state)
{
	struct image_facts f;
	const char *why;

	(void)state;
	assert_int_equal(os(&f, debian_os, &why), 0);
	assert_string_equal(f.os_id, "debian");
	assert_string_equal(f.version_id, "12");
	assert_string_equal(f.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	assert_int_equal(os(&f, ubuntu_os, &why), 0);
	assert_string_equal(f.os_id, "ubuntu");
	assert_string_equal(f.version_id, "22.04");
	/* Quotes of either kind, escapes in double ones, comments, CRLF, no
	 * final newline. */
	assert_int_equal(os(&f,
	                    "# x\r\nID='alpine'\r\nVERSION_ID=\"3.19\"\r\n"
	                    "PRETTY_NAME=\"A \\\"b\\\" \\\\ \\x\"",
	                    &why),
	                 0);
	assert_string_equal(f.os_id, "alpine");
	assert_string_equal(f.version_id, "3.19");
	assert_string_equal(f.pretty_name, "A \"b\" \\ \\x");
}

static void test_os_release_refused(void **state)
{
	struct image_facts f;
	const char *why;

	(void)state;
	assert_int_equal(os(&f, "VERSION_ID=12\n", &why), -1);
	assert_non_null(why);
	assert_int_equal(os(&f, "ID=debian\n", &why), -1);
	assert_non_null(why);
	assert_string_equal(f.os_id, "debian");
	/* What cannot go into a banner or a log line as it is. */
	assert_int_equal(os(&f, "ID=Debian\nVERSION_ID=12\n", &why), -1);
	assert_int_equal(os(&f, "ID=\"deb ian\"\nVERSION_ID=12\n", &why), -1);
	assert_int_equal(os(&f, "ID=debian\nVERSION_ID=\"12\n", &why), -1);
	assert_int_equal(os(&f, "ID=debian\nVERSION_ID=1\x1b[2J\n", &why), -1);
	assert_int_equal(os(&f, "", &why), -1);
	char longid[200];
	memset(longid, 'a', sizeof(longid));
	memcpy(longid, "ID=", 3);
	memcpy(longid + sizeof(longid) - 15, "\nVERSION_ID=1\n", 15);
	assert_int_equal(os(&f, longid, &why), -1);
	/* A control character in the pretty name is replaced, not kept. */
	assert_int_equal(os(&f, "ID=x\nVERSION_ID=1\nPRETTY_NAME=\"a\x1b]0;b\"\n", &why), 0);
	assert_string_equal(f.pretty_name, "a?]0;b");
}

static const char status[] = "Package: openssh-client\n"
                             "Status: install ok installed\n"
                             "Version: 1:9.2p1-2+deb12u10\n"
                             "\n"
                             "Package: openssh-server\n"
                             "Status: install ok installed\n"
                             "Priority: optional\n"
                             "Depends: libc6 (>= 2.36),\n"
                             " libpam0g (>= 0.99.7.1)\n"
                             "Version: 1:9.2p1-2+deb12u10\n"
                             "Description: secure shell (SSH) server\n"
                             " Version: 2:0-0\n"
                             "\n"
                             "Package: zlib1g\n"
                             "Status: install ok installed\n"
                             "Version: 1:1.2.13.dfsg-1\n";

static int st(struct image_facts *f, const char *text)
{
	return image_facts_dpkg_status(f, text, strlen(text));
}

static void test_dpkg_status(void **state)
{
	struct image_facts f;

	(void)state;
	assert_int_equal(st(&f, status), 1);
	assert_string_equal(f.openssh_version, "1:9.2p1-2+deb12u10");
	assert_int_equal(st(&f, "package: openssh-server\r\nversion: 1:8.9p1-3ubuntu0.13\r\n"
	                        "status: install ok installed\r\n"),
	                 1);
	assert_string_equal(f.openssh_version, "1:8.9p1-3ubuntu0.13");
}

static void test_dpkg_status_not_installed(void **state)
{
	struct image_facts f;

	(void)state;
	/* Removed but its config kept; absent; another package's fields. */
	assert_int_equal(st(&f, "Package: openssh-server\nStatus: deinstall ok config-files\n"
	                        "Version: 1:9.2p1-2\n"),
	                 0);
	assert_string_equal(f.openssh_version, "");
	assert_int_equal(st(&f, "Package: bash\nStatus: install ok installed\nVersion: 5.2\n"), 0);
	assert_int_equal(st(&f, "Package: openssh-server\n\nStatus: install ok installed\n"
	                        "Version: 1:9.2p1-2\n"),
	                 0);
	/* A version that cannot go into a banner. */
	assert_int_equal(st(&f, "Package: openssh-server\nStatus: install ok installed\n"
	                        "Version: 1:9.2p1 x-2\n"),
	                 0);
	assert_int_equal(st(&f, ""), 0);
	assert_int_equal(image_facts_dpkg_status(&f, "Package: a\0b", 12), -1);
}

static void split(const char *v, int rc, const char *up, const char *rev)
{
	char u[FACT_MAX], r[FACT_MAX];

	assert_int_equal(image_facts_split_version(v, u, sizeof(u), r, sizeof(r)), rc);
	if (rc == 0) {
		assert_string_equal(u, up);
		assert_string_equal(r, rev);
	}
}

static void test_passwd(void **state)
{
	struct image_facts f;
	const char *pw = "root:x:0:0:root:/root:/bin/bash\n"
	                 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	                 "svc:x:1001:1001::/home/svc:/usr/sbin/nologin\n"
	                 "ftp:x:1002:1002::/srv/ftp:/bin/false\n"
	                 "Bad:x:1003:1003::/home/Bad:/bin/bash\n"
	                 "short:x:1004\n"
	                 "big:x:60001:60001::/home/big:/bin/bash\n"
	                 "admin:x:1000:1000::/home/admin:/bin/bash\n"
	                 "later:x:1005:1005::/home/later:/bin/sh\n";

	(void)state;
	memset(&f, 0x55, sizeof(f));
	assert_int_equal(image_facts_passwd(&f, pw, strlen(pw)), 1);
	assert_string_equal(f.login_user, "admin");
	assert_int_equal(f.login_uid, 1000);
	/* none: only system users; a uid with a sign or too long */
	const char *none = "root:x:0:0:root:/root:/bin/bash\nx:x:+1000:1:::/bin/sh\n"
	                   "y:x:001000:1:::/bin/sh\nz:x:1000:1:::bin/sh";
	assert_int_equal(image_facts_passwd(&f, none, strlen(none)), 0);
	assert_string_equal(f.login_user, "");
}

static void test_owners(void **state)
{
	struct image_facts f;
	/* Ubuntu's: a syslog user; adm and utmp groups */
	const char *pw = "root:x:0:0:root:/root:/bin/bash\n"
	                 "syslog:x:104:111::/home/syslog:/usr/sbin/nologin\n";
	const char *gr = "root:x:0:\nadm:x:4:syslog\nutmp:x:43:\nsyslog:x:111:\n";

	(void)state;
	memset(&f, 0x55, sizeof(f));
	assert_int_equal(image_facts_owners(&f, pw, strlen(pw), gr, strlen(gr)), 3);
	assert_int_equal(f.log_uid, 104);
	assert_int_equal(f.log_gid, 4);
	assert_int_equal(f.utmp_gid, 43);
	/* Debian's: no syslog user, so root; groups elsewhere */
	const char *pw2 = "root:x:0:0:root:/root:/bin/bash\nsyslogd:x:7:7::/:/bin/false\n";
	const char *gr2 = "utmp:x:22:\nadmin:x:5:\nadm:x:14:\n";
	assert_int_equal(image_facts_owners(&f, pw2, strlen(pw2), gr2, strlen(gr2)), 2);
	assert_int_equal(f.log_uid, 0);
	assert_int_equal(f.log_gid, 14);
	assert_int_equal(f.utmp_gid, 22);
	/* nothing to read, or ids that are not plain numbers: Debian's */
	assert_int_equal(image_facts_owners(&f, NULL, 0, NULL, 0), 0);
	assert_int_equal(f.log_uid, 0);
	assert_int_equal(f.log_gid, 4);
	assert_int_equal(f.utmp_gid, 43);
	const char *bad = "adm:x:-4:\nutmp:x:999999:\nsyslog:x:1e3:\n";
	assert_int_equal(image_facts_owners(&f, bad, strlen(bad), bad, strlen(bad)), 0);
	assert_int_equal(f.log_gid, 4);
	/* the first line of a name counts, and the length bound holds */
	const char *cut = "adm:x:9";
	assert_int_equal(image_facts_owners(&f, NULL, 0, cut, 3), 0);
	assert_int_equal(image_facts_owners(&f, NULL, 0, cut, strlen(cut)), 1);
	assert_int_equal(f.log_gid, 9);
}

static void test_dpkg_log(void **state)
{
	struct image_facts f;
	const char *log = "2026-10-21 09:14:02 startup archives unpack\n"
	                  "2026-12-06 00:20:13 status installed bash:amd64 5.2.15-2+b2\n";

	(void)state;
	memset(&f, 0x55, sizeof(f));
	assert_int_equal(image_facts_dpkg_log(&f, log, strlen(log)), 1);
	assert_int_equal(f.installed, 1792574042); /* date -u -d '2026-10-21 09:14:02' +%s */
	/* leap day, the epoch's own era, the end of a year */
	assert_int_equal(image_facts_dpkg_log(&f, "2024-02-29 23:59:59 x", 21), 1);
	assert_int_equal(f.installed, 1709251199);
	assert_int_equal(image_facts_dpkg_log(&f, "1999-12-31 00:00:00 x", 21), 1);
	assert_int_equal(f.installed, 946598400);
	/* only the first line counts, and only its exact shape and ranges */
	static const char *const bad[] = {
	    "",
	    "\n2026-10-21 09:14:02 x",
	    "2026-10-21 09:14:02",
	    "2026-10-21T09:14:02 x",
	    "2026-13-21 09:14:02 x",
	    "2026-00-21 09:14:02 x",
	    "2026-10-32 09:14:02 x",
	    "2026-10-21 24:14:02 x",
	    "1989-10-21 09:14:02 x",
	    "2026-1a-21 09:14:02 x",
	    "+026-10-21 09:14:02 x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.installed = 5;
		assert_int_equal(image_facts_dpkg_log(&f, bad[i], strlen(bad[i])), 0);
		assert_int_equal(f.installed, 0);
	}
}

static void test_split_version(void **state)
{
	(void)state;
	split("1:9.2p1-2+deb12u10", 0, "9.2p1", "2+deb12u10");
	split("1:8.9p1-3ubuntu0.13", 0, "8.9p1", "3ubuntu0.13");
	split("9.6p1-3", 0, "9.6p1", "3");
	split("9.6p1", -1, NULL, NULL); /* a native package: no revision */
	split("1:9.6p1-", -1, NULL, NULL);
	split(":9.6p1-1", -1, NULL, NULL);
	split("x:9.6p1-1", -1, NULL, NULL);
	split("1:9.6-p1-1", -1, NULL, NULL); /* '-' in a banner's upstream part */
	split("1:9.6p1-1 x", -1, NULL, NULL);
	split("-1", -1, NULL, NULL);
	split("", -1, NULL, NULL);
}

/* rsyslog's stamp: Ubuntu 22.04's rsyslog.conf keeps the traditional one,
 * Debian 12's leaves rsyslog's RFC 3339 default. */
static void test_rsyslog(void **state)
{
	static const char ubuntu[] =
	    "module(load=\"imuxsock\") # provides support for local system logging\n"
	    "#\n# Use traditional timestamp format.\n"
	    "# To enable high precision timestamps, comment out the following line.\n#\n"
	    "$ActionFileDefaultTemplate RSYSLOG_TraditionalFileFormat\n"
	    "$RepeatedMsgReduction on\n";
	static const char debian[] =
	    "module(load=\"imuxsock\") # provides support for local system logging\n"
	    "$FileOwner root\n$FileGroup adm\n$IncludeConfig /etc/rsyslog.d/*.conf\n"
	    "auth,authpriv.*\t\t\t/var/log/auth.log\n";
	static const char commented[] =
	    "#$ActionFileDefaultTemplate RSYSLOG_TraditionalFileFormat\n"
	    "  # module(load=\"builtin:omfile\" "
	    "Template=\"RSYSLOG_TraditionalFileFormat\")\n";
	static const char modern[] =
	    "  module(load=\"builtin:omfile\" Template=\"RSYSLOG_TraditionalFileFormat\")\n";
	static const char action_only[] = "auth.* action(type=\"omfile\" file=\"/var/log/a\" "
	                                  "template=\"RSYSLOG_TraditionalFileFormat\")\n";

	(void)state;
	assert_int_equal(image_facts_rsyslog_traditional(ubuntu, strlen(ubuntu)), 1);
	assert_int_equal(image_facts_rsyslog_traditional(debian, strlen(debian)), 0);
	assert_int_equal(image_facts_rsyslog_traditional(commented, strlen(commented)), 0);
	assert_int_equal(image_facts_rsyslog_traditional(modern, strlen(modern)), 1);
	/* one action's template is not the files' default */
	assert_int_equal(image_facts_rsyslog_traditional(action_only, strlen(action_only)), 0);
	assert_int_equal(image_facts_rsyslog_traditional("", 0), 0);
	/* no newline at the end, and not NUL-terminated within len */
	assert_int_equal(image_facts_rsyslog_traditional(ubuntu + 179, strlen(ubuntu) - 179 - 26),
	                 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_os_release),    cmocka_unit_test(test_os_release_refused),
	    cmocka_unit_test(test_dpkg_status),   cmocka_unit_test(test_dpkg_status_not_installed),
	    cmocka_unit_test(test_split_version), cmocka_unit_test(test_passwd),
	    cmocka_unit_test(test_dpkg_log),      cmocka_unit_test(test_owners),
	    cmocka_unit_test(test_rsyslog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
