/* Unit tests for log_history: the files read back the way `last`, `lastb`,
 * `lastlog`, `who` and a reader of auth.log would, and checked against each
 * other and against the host's boot time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utmp.h>
#include <utmpx.h>

#include <cmocka.h>
#include <zlib.h>

#include "log_history.h"

/* 2026-03-18 13:00:00 UTC, a Wednesday. */
#define NOW ((time_t)1773838800)
#define DAY (24 * 3600)

/* A test of check(seed) for seeds 1 to 12: the history is drawn, so each
 * rule is checked on more than one. */
#define EACH_SEED(check)                                                                           \
	static void test_##check(void **state)                                                     \
	{                                                                                          \
		(void)state;                                                                       \
		for (unsigned seed = 1; seed <= 12; seed++)                                        \
			check((uint8_t)seed);                                                      \
	}

static void input(struct history_in *in, time_t boot, const char *user, uint8_t seed)
{
	memset(in, 0, sizeof(*in));
	memset(in->seed, seed, sizeof(in->seed));
	in->now = NOW;
	in->boot = boot;
	snprintf(in->kernel, sizeof(in->kernel), "6.1.0-28-amd64");
	snprintf(in->host, sizeof(in->host), "prod-web-01");
	snprintf(in->user, sizeof(in->user), "%s", user);
	in->uid = 1000;
}

static const struct utmpx *records(const struct history_file *f, size_t *n)
{
	assert_int_equal(f->len % sizeof(struct utmpx), 0);
	*n = f->len / sizeof(struct utmpx);
	return (const struct utmpx *)(const void *)f->data;
}

/* The text of an auth log, inflated when it is gzip's. */
static char *text_of(const struct history_file *f)
{
	size_t cap = 1 << 22;
	char *t = calloc(1, cap);
	assert_non_null(t);
	if (strstr(f->path, ".gz") == NULL) {
		assert_true(f->len < cap);
		memcpy(t, f->data, f->len);
		return t;
	}
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = f->data;
	z.avail_in = (uInt)f->len;
	z.next_out = (Bytef *)t;
	z.avail_out = (uInt)cap - 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	inflateEnd(&z);
	return t;
}

/* A syslog time stamp "Mmm dd HH:MM:SS" of 2026 as seconds. */
static time_t stamp_time(const char *line)
{
	struct tm tm;
	char buf[32];

	memset(&tm, 0, sizeof(tm));
	snprintf(buf, sizeof(buf), "2026 %.15s", line);
	const char *end = strptime(buf, "%Y %b %e %H:%M:%S", &tm);
	assert_non_null(end);
	assert_int_equal(*end, '\0');
	return timegm(&tm);
}

/* Every line: "Mmm dd HH:MM:SS prod-web-01 prog[pid]: text" (sudo's with
 * no pid), in time order, within [from, to). Returns the number of lines
 * containing what. */
static int check_log(const char *text, time_t from, time_t to, const char *what)
{
	int hits = 0;
	time_t prev = 0;

	for (const char *l = text; *l != '\0';) {
		const char *nl = strchr(l, '\n');
		assert_non_null(nl);
		time_t t = stamp_time(l);
		assert_true(t >= prev);
		assert_true(t >= from - 60 && t < to);
		prev = t;
		assert_memory_equal(l + 15, " prod-web-01 ", 13);
		const char *prog = l + 28;
		assert_true(strncmp(prog, "sshd[", 5) == 0 || strncmp(prog, "CRON[", 5) == 0 ||
		            strncmp(prog, "sudo: ", 6) == 0);
		char *copy = strndup(l, (size_t)(nl - l));
		if (what != NULL && strstr(copy, what) != NULL)
			hits++;
		free(copy);
		l = nl + 1;
	}
	return hits;
}

/* A host up for a year: no reboot in wtmp (it would contradict uptime),
 * utmp's boot is the host's; sessions pair up; lastlog is the last one. */
static void long_uptime(uint8_t seed)
{
	struct history_in in;
	struct history h;
	size_t n, users = 0, i;
	time_t last_login = 0, prev = 0;

	input(&in, NOW - 365 * DAY, "admin", seed);
	assert_int_equal(history_make(&in, &h), 0);

	const struct utmpx *w = records(&h.file[HISTORY_WTMP], &n);
	assert_true(n > 20);
	for (i = 0; i < n; i++) {
		time_t t = w[i].ut_tv.tv_sec;
		assert_true(t >= prev && t < NOW);
		prev = t;
		assert_int_not_equal(w[i].ut_type, BOOT_TIME);
		if (w[i].ut_type == USER_PROCESS) {
			users++;
			assert_string_equal(w[i].ut_user, "admin");
			assert_string_equal(w[i].ut_line, "pts/0");
			assert_memory_equal(w[i].ut_host, "10.", 3);
			/* its logout comes next, on the same line and pid */
			assert_true(i + 1 < n);
			assert_int_equal(w[i + 1].ut_type, DEAD_PROCESS);
			assert_int_equal(w[i + 1].ut_pid, w[i].ut_pid);
			assert_string_equal(w[i + 1].ut_line, "pts/0");
			last_login = t;
		}
	}
	assert_true(users > 10);
	/* 120 days at most */
	assert_true(w[0].ut_tv.tv_sec >= NOW - 121 * DAY);

	const struct utmpx *u = records(&h.file[HISTORY_UTMP], &n);
	assert_int_equal(n, 2);
	assert_int_equal(u[0].ut_type, BOOT_TIME);
	assert_int_equal(u[0].ut_tv.tv_sec, NOW - 365 * DAY);
	assert_string_equal(u[0].ut_host, "6.1.0-28-amd64");
	assert_int_equal(u[1].ut_type, RUN_LVL);
	assert_int_equal(u[1].ut_pid, '5');

	const struct history_file *ll = &h.file[HISTORY_LASTLOG];
	struct lastlog rec;
	assert_int_equal(ll->len, sizeof(rec));
	assert_int_equal(ll->at, 1000 * sizeof(rec));
	memcpy(&rec, ll->data, sizeof(rec));
	assert_int_equal(rec.ll_time, last_login);
	assert_int_equal(ll->mtime, last_login);
	assert_memory_equal(rec.ll_line, "pts/0", 6);
	/* What the box only appends to, and what it rewrites or never touches. */
	for (int f = 0; f < HISTORY_FILES; f++)
		assert_int_equal(h.file[f].appends,
		                 f == HISTORY_WTMP || f == HISTORY_BTMP || f == HISTORY_AUTH);
	history_free(&h);
}

/* A host booted an hour ago: the last reboot is the host's, a shutdown
 * before it, nothing in between, and no session after it. */
static void recent_boot(uint8_t seed)
{
	struct history_in in;
	struct history h;
	size_t n, boots = 0, i;
	time_t boot = NOW - 3600, down = 0;
	int open = 0;

	input(&in, boot, "admin", seed);
	assert_int_equal(history_make(&in, &h), 0);
	const struct utmpx *w = records(&h.file[HISTORY_WTMP], &n);
	assert_int_equal(w[0].ut_type, BOOT_TIME); /* wtmp begins at the install */
	for (i = 0; i < n; i++) {
		time_t t = w[i].ut_tv.tv_sec;
		if (w[i].ut_type == BOOT_TIME) {
			boots++;
			assert_int_equal(open, 0);
			assert_true(t <= boot);
			if (boots > 1)
				assert_true(down != 0 && down < t);
			down = 0;
		}
		if (w[i].ut_type == RUN_LVL && strcmp(w[i].ut_user, "shutdown") == 0) {
			assert_int_equal(open, 0);
			down = t;
		}
		if (w[i].ut_type == USER_PROCESS) {
			assert_int_equal(down, 0);
			open = 1;
		}
		if (w[i].ut_type == DEAD_PROCESS)
			open = 0;
	}
	assert_true(boots >= 2);
	/* the last boot is the host's */
	for (i = n; i-- > 0;)
		if (w[i].ut_type == BOOT_TIME)
			break;
	assert_int_equal(w[i].ut_tv.tv_sec, boot);
	const struct utmpx *u = records(&h.file[HISTORY_UTMP], &n);
	assert_int_equal(u[0].ut_tv.tv_sec, boot);
	history_free(&h);
}

/* A box whose init records its boot (systemd-update-utmp): wtmp ends with
 * the shutdown before that boot and holds no record of it, so that the
 * init's own is the only one; the rest is the same past. */
static void init_boots(uint8_t seed)
{
	struct history_in in;
	struct history h, plain;
	size_t n, m;
	time_t boot = NOW - 2; /* a box prepared as it is made */

	input(&in, boot, "admin", seed);
	assert_int_equal(history_make(&in, &plain), 0);
	in.init_boots = true;
	assert_int_equal(history_make(&in, &h), 0);
	const struct utmpx *w = records(&h.file[HISTORY_WTMP], &n);
	const struct utmpx *p = records(&plain.file[HISTORY_WTMP], &m);
	/* the reboot record (the runlevel's comes seconds after it: not yet) */
	assert_int_equal(n + 1, m);
	assert_memory_equal(w, p, n * sizeof(*w));
	assert_int_equal(p[n].ut_type, BOOT_TIME);
	assert_int_equal(p[n].ut_tv.tv_sec, boot);
	assert_int_equal(w[n - 1].ut_type, RUN_LVL);
	assert_string_equal(w[n - 1].ut_user, "shutdown");
	for (size_t i = 0; i < n; i++)
		assert_true(w[i].ut_tv.tv_sec < boot);
	history_free(&h);
	history_free(&plain);
}

EACH_SEED(init_boots)

EACH_SEED(long_uptime)

EACH_SEED(recent_boot)

/* The auth logs: well formed, each in its week, older ones gzip'd; every
 * wtmp login in their span has its Accepted line, every btmp guess its
 * Failed line; sudo only for a login user. */
static void auth_logs(uint8_t seed)
{
	struct history_in in;
	struct history h;
	size_t n;
	time_t from[5], to = NOW;

	input(&in, NOW - 200 * DAY, "admin", seed);
	assert_int_equal(history_make(&in, &h), 0);
	char *text[5];
	for (int k = 0; k < 5; k++)
		text[k] = text_of(&h.file[HISTORY_AUTH + k]);
	/* each file's span: from its first line to the next file's first */
	for (int k = 0; k < 5; k++) {
		assert_true(strlen(text[k]) > 1000);
		from[k] = stamp_time(text[k]);
		assert_true(from[k] < to);
		assert_true(check_log(text[k], from[k], to, NULL) > -1);
		/* a week, give or take the rotations' hour and cron's */
		assert_true(to - from[k] <= 7 * DAY + 2 * 3600);
		to = from[k] + 60;
	}
	/* each week has its cron hours: 24 a day at least */
	assert_true(check_log(text[2], from[2], NOW, "CRON[") >= 2 * 24 * 6);
	assert_true(check_log(text[1], from[1], NOW, "sudo:    admin : TTY=pts/0 ; ") +
	                check_log(text[2], from[2], NOW, "sudo:    admin : TTY=pts/0 ; ") >
	            0);

	const struct utmpx *w = records(&h.file[HISTORY_WTMP], &n);
	for (size_t i = 0; i < n; i++) {
		time_t t = w[i].ut_tv.tv_sec;
		if (w[i].ut_type != USER_PROCESS || t < from[4])
			continue;
		char want[128];
		snprintf(want, sizeof(want), "Accepted publickey for admin from %s port ",
		         w[i].ut_host);
		int k = 0;
		while (k < 4 && t < from[k])
			k++;
		assert_true(check_log(text[k], from[k], NOW, want) > 0);
	}
	for (int f = HISTORY_BTMP; f <= HISTORY_BTMP1; f++) {
		const struct utmpx *b = records(&h.file[f], &n);
		for (size_t i = 0; i < n; i++) {
			time_t t = b[i].ut_tv.tv_sec;
			assert_int_equal(b[i].ut_type, LOGIN_PROCESS);
			assert_string_equal(b[i].ut_line, "ssh:notty");
			assert_int_not_equal(memcmp(b[i].ut_host, "10.", 3), 0);
			if (t < from[4])
				continue;
			char want[160];
			snprintf(want, sizeof(want),
			         "sshd[%d]: Failed password for %s%s from %s port", b[i].ut_pid,
			         strcmp(b[i].ut_user, "root") && strcmp(b[i].ut_user, "admin")
			             ? "invalid user "
			             : "",
			         b[i].ut_user, b[i].ut_host);
			int k = 0;
			while (k < 4 && t < from[k])
				k++;
			assert_true(check_log(text[k], from[k], NOW, want) == 1);
		}
	}
	/* the month's and the last month's guesses */
	records(&h.file[HISTORY_BTMP1], &n);
	assert_true(n > 10);
	/* logrotate's gzip: the log's mtime in the header, OS unix; compressed
	 * at the rotation after its own (delaycompress): .3.gz when auth.log.1
	 * began */
	const struct history_file *gz = &h.file[HISTORY_AUTH3];
	assert_int_equal(gz->data[0], 0x1f);
	assert_int_equal(gz->data[1], 0x8b);
	assert_int_equal(gz->data[9], 3);
	assert_true(gz->mtime <= from[1] && gz->mtime > from[1] - 3600);
	time_t inner = (time_t)(gz->data[4] | gz->data[5] << 8 | gz->data[6] << 16 |
	                        (uint32_t)gz->data[7] << 24);
	assert_true(inner < gz->mtime && inner > from[3]);
	for (int k = 0; k < 5; k++)
		free(text[k]);
	history_free(&h);
}

/* Debian 12's rsyslog stamps (history_in.rfc3339): the same lines as the
 * traditional ones, each stamp "YYYY-MM-DDTHH:MM:SS.uuuuuu+00:00" of the
 * same second, the microseconds never going back within a file. */
static void rfc3339_logs(uint8_t seed)
{
	struct history_in in;
	struct history a, b;

	input(&in, NOW - 40 * DAY, "admin", seed);
	assert_int_equal(history_make(&in, &a), 0);
	in.rfc3339 = true;
	assert_int_equal(history_make(&in, &b), 0);
	for (int f = HISTORY_AUTH; f <= HISTORY_AUTH4; f++) {
		char *old = text_of(&a.file[f]), *new = text_of(&b.file[f]);
		const char *o = old, *l = new;
		long long prev = 0;
		int lines = 0;

		assert_int_equal(a.file[f].mtime, b.file[f].mtime);
		for (; *o != '\0' && *l != '\0'; lines++) {
			const char *onl = strchr(o, '\n'), *nl = strchr(l, '\n');
			struct tm tm;
			char date[20];
			unsigned us;
			int used = 0;

			assert_non_null(onl);
			assert_non_null(nl);
			/* the rest of the line as the traditional one has it */
			assert_int_equal(nl - (l + 32), onl - (o + 15));
			assert_memory_equal(l + 32, o + 15, (size_t)(onl - (o + 15)));
			memcpy(date, l, 19);
			date[19] = '\0';
			memset(&tm, 0, sizeof(tm));
			const char *end = strptime(date, "%Y-%m-%dT%H:%M:%S", &tm);
			assert_non_null(end);
			assert_int_equal(*end, '\0');
			assert_int_equal(sscanf(l + 19, ".%6u+00:00%n", &us, &used), 1);
			assert_int_equal(used, 13);
			/* the same second, of the year the traditional stamp leaves out */
			assert_int_equal(timegm(&tm), stamp_time(o));
			long long at = (long long)timegm(&tm) * 1000000 + us;
			assert_true(at >= prev);
			prev = at;
			o = onl + 1;
			l = nl + 1;
		}
		assert_int_equal(*o, '\0');
		assert_int_equal(*l, '\0');
		assert_true(lines > 100);
		free(old);
		free(new);
	}
	/* wtmp and the rest do not change */
	for (int f = 0; f < HISTORY_AUTH; f++) {
		assert_int_equal(a.file[f].len, b.file[f].len);
		assert_memory_equal(a.file[f].data, b.file[f].data, a.file[f].len);
	}
	history_free(&a);
	history_free(&b);
}

EACH_SEED(rfc3339_logs)

/* A later start shows the same past, and more: the days drawn each on its
 * own, the install where the first start put it. */
static void test_later_start_same_past(void **state)
{
	struct history_in in;
	struct history a, b;
	size_t na, nb, i, j = 0, compared = 0;

	(void)state;
	input(&in, NOW - 70 * DAY, "admin", 5);
	in.installed = NOW - 10 * DAY;
	assert_int_equal(history_make(&in, &a), 0);
	in.now = NOW + 3 * DAY + 4321;
	assert_int_equal(history_make(&in, &b), 0);
	const struct utmpx *wa = records(&a.file[HISTORY_WTMP], &na);
	const struct utmpx *wb = records(&b.file[HISTORY_WTMP], &nb);
	/* wtmp begins at the same install */
	assert_int_equal(wa[0].ut_tv.tv_sec, wb[0].ut_tv.tv_sec);
	assert_true(nb > na);
	/* up to a session's length before the first start, record for record */
	for (i = 0; i < na && wa[i].ut_tv.tv_sec < NOW - 3 * 3600; i++, j++) {
		assert_true(j < nb);
		assert_memory_equal(&wa[i], &wb[j], sizeof(wa[i]));
		compared++;
	}
	assert_true(compared > 20);
	history_free(&a);
	history_free(&b);
}

EACH_SEED(auth_logs)

/* The image's own install date, when it has one, is where wtmp begins,
 * whatever the host key says; the days after it are the same as with the
 * drawn install. */
static void test_install_from_the_image(void **state)
{
	struct history_in in;
	struct history a, b;
	size_t na, nb;

	(void)state;
	input(&in, NOW - 2 * DAY, "admin", 9); /* booted after either install */
	in.installed = NOW - 3 * DAY;
	assert_int_equal(history_make(&in, &a), 0);
	in.install = NOW - 55 * DAY + 3600;
	assert_int_equal(history_make(&in, &b), 0);
	const struct utmpx *wa = records(&a.file[HISTORY_WTMP], &na);
	const struct utmpx *wb = records(&b.file[HISTORY_WTMP], &nb);
	assert_true(wa[0].ut_tv.tv_sec > in.install + DAY); /* drawn: 6-7 weeks back */
	assert_int_equal(wb[0].ut_tv.tv_sec, in.install);
	assert_true(nb > na);
	/* the host's boot ends both */
	assert_int_equal(wa[na - 1].ut_tv.tv_sec, wb[nb - 1].ut_tv.tv_sec);
	assert_int_equal(wa[na - 1].ut_type, wb[nb - 1].ut_type);
	/* in the future or unknown: drawn as before */
	in.install = NOW + DAY;
	history_free(&b);
	assert_int_equal(history_make(&in, &b), 0);
	wb = records(&b.file[HISTORY_WTMP], &nb);
	assert_int_equal(wb[0].ut_tv.tv_sec, wa[0].ut_tv.tv_sec);
	history_free(&a);
	history_free(&b);
}

static void test_root_only_and_seed(void **state)
{
	struct history_in in;
	struct history a, b, c;

	(void)state;
	input(&in, NOW - 30 * DAY, "", 4);
	assert_int_equal(history_make(&in, &a), 0);
	assert_int_equal(history_make(&in, &b), 0);
	char *t = text_of(&a.file[HISTORY_AUTH1]);
	assert_int_equal(check_log(t, 0, NOW, "sudo:"), 0);
	assert_true(check_log(t, 0, NOW, "Accepted publickey for root from 10.") > 0);
	free(t);
	assert_int_equal(a.file[HISTORY_LASTLOG].at, 0);
	/* the same seed, the same past; another seed, another */
	in.seed[0] ^= 1;
	assert_int_equal(history_make(&in, &c), 0);
	for (int f = 0; f < HISTORY_FILES; f++) {
		assert_int_equal(a.file[f].len, b.file[f].len);
		assert_memory_equal(a.file[f].data, b.file[f].data, a.file[f].len);
		assert_int_equal(a.file[f].mtime, b.file[f].mtime);
	}
	assert_true(a.file[HISTORY_WTMP].len != c.file[HISTORY_WTMP].len ||
	            memcmp(a.file[HISTORY_WTMP].data, c.file[HISTORY_WTMP].data,
	                   a.file[HISTORY_WTMP].len) != 0);
	history_free(&a);
	history_free(&b);
	history_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_long_uptime),
	    cmocka_unit_test(test_recent_boot),
	    cmocka_unit_test(test_init_boots),
	    cmocka_unit_test(test_auth_logs),
	    cmocka_unit_test(test_rfc3339_logs),
	    cmocka_unit_test(test_root_only_and_seed),
	    cmocka_unit_test(test_later_start_same_past),
	    cmocka_unit_test(test_install_from_the_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
