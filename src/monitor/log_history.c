/* A past for the box's logs (see log_history.h). */
#include "log_history.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utmp.h>
#include <utmpx.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "buf.h"
#include "util.h"

#define MINUTE 60
#define HOUR   (60 * MINUTE)
#define DAY    (24 * HOUR)
#define WEEK   (7 * DAY)

/* wtmp keeps everything since the install (Debian's logrotate rotates it
 * only past 1 MiB), but not beyond this: a host up for a year does not
 * make a year of sessions. */
#define LONGEST_PAST (120 * DAY)

/* ---- a deterministic generator, seeded from the input's seed ---- */

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r) /* splitmix64 */
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static long range(struct rng *r, long lo, long hi)
{
	return lo + (long)(next(r) % (uint64_t)(hi - lo + 1));
}

/* The streams: each part of the past draws from its own, named by what it
 * is and when (a day, an hour, a boot), so that a day's past is the same
 * whatever else was drawn: whenever Hermes starts, the days it has shown
 * before stay as they were. */
enum stream_id { S_BASE = 1, S_CRON, S_DAY, S_SESSION, S_GUESS, S_BOOT, S_ROTATE, S_PIDS, S_USEC };

static struct rng stream(uint64_t base, enum stream_id id, int64_t n)
{
	struct rng r = {base ^ ((uint64_t)id << 56) ^ ((uint64_t)n * 0xd1342543de82ef95ULL)};
	(void)next(&r);
	(void)next(&r);
	return r;
}

/* True with probability percent/100. */
static bool chance(struct rng *r, unsigned percent)
{
	return next(r) % 100 < percent;
}

/* ---- events: a log line or a login record, at a time ---- */

/* EV_BOOT: a boot the box's init records itself (history_in.init_boots):
 * it restarts the process ids as a reboot in wtmp does, and is not
 * written. */
enum ev_kind { EV_LINE, EV_WTMP, EV_BTMP, EV_BOOT };

struct ev {
	time_t t;
	size_t seq; /* the order of events of one second */
	enum ev_kind kind;
	/* The process that logged the line or made the record: an index,
	 * given its process id in time order (0: none, for sudo's lines; a
	 * boot record restarts the ids). */
	unsigned proc;
	long pid;
	const char *prog; /* EV_LINE: "sshd", "CRON", "sudo" */
	char *line;       /* EV_LINE: the text after "prog[pid]: " */
	struct utmpx ut;
};

struct gen {
	const struct history_in *in;
	uint64_t base;  /* from the seed: every stream's */
	struct rng rng; /* the stream drawn from now */
	struct ev *ev;
	size_t n, cap;
	bool oom;
	unsigned procs; /* process indexes handed out */
	char admin_ip[2][16];
	char fingerprint[48];
	const char *user; /* whose sessions: the login user, else root */
	unsigned uid;
	struct lastlog last;  /* the login user's last login */
	struct utmpx utmp[2]; /* the host's boot and runlevel records */
};

static struct ev *add(struct gen *g, time_t t, enum ev_kind kind)
{
	if (g->oom)
		return NULL;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 1024;
		struct ev *e = realloc(g->ev, cap * sizeof(*e));
		if (e == NULL) {
			g->oom = true;
			return NULL;
		}
		g->ev = e;
		g->cap = cap;
	}
	struct ev *e = &g->ev[g->n];
	memset(e, 0, sizeof(*e));
	e->t = t;
	e->seq = g->n++;
	e->kind = kind;
	return e;
}

__attribute__((format(printf, 5, 6))) static void line(struct gen *g, time_t t, const char *prog,
                                                       unsigned proc, const char *fmt, ...)
{
	struct ev *e = add(g, t, EV_LINE);
	va_list ap;

	if (e == NULL)
		return;
	e->prog = prog;
	e->proc = proc;
	va_start(ap, fmt);
	if (vasprintf(&e->line, fmt, ap) < 0) {
		e->line = NULL;
		g->n--;
		g->oom = true;
	}
	va_end(ap);
}

/* A new process; its id comes when the events are in time order. */
static unsigned new_proc(struct gen *g)
{
	return ++g->procs;
}

static void fill(char *dst, size_t size, const char *src)
{
	strncpy(dst, src, size); /* fixed-size fields, NUL-padded */
}

/* The record's event made by process proc. */
static void e_proc(struct utmpx *u, unsigned proc)
{
	struct ev *e = (struct ev *)(void *)((char *)u - offsetof(struct ev, ut));
	e->proc = proc;
}

static void make_ut(struct gen *g, struct utmpx *u, time_t t, short type, const char *user,
                    const char *ut_line, const char *host)
{
	memset(u, 0, sizeof(*u));
	u->ut_type = type;
	fill(u->ut_user, sizeof(u->ut_user), user);
	fill(u->ut_line, sizeof(u->ut_line), ut_line);
	fill(u->ut_host, sizeof(u->ut_host), host);
	if (inet_pton(AF_INET, host, u->ut_addr_v6) != 1)
		memset(u->ut_addr_v6, 0, sizeof(u->ut_addr_v6));
	u->ut_tv.tv_sec = (int32_t)t;
	u->ut_tv.tv_usec = (int32_t)range(&g->rng, 0, 999999);
}

static struct utmpx *record(struct gen *g, time_t t, enum ev_kind kind, short type,
                            const char *user, const char *ut_line, const char *host)
{
	struct ev *e = add(g, t, kind);

	if (e == NULL)
		return NULL;
	make_ut(g, &e->ut, t, type, user, ut_line, host);
	return &e->ut;
}

/* systemd-update-utmp's records of a boot, in utmp and wtmp: the boot and
 * the runlevel reached. */
static void boot_pair(struct gen *g, time_t boot, struct utmpx u[2])
{
	make_ut(g, &u[0], boot, BOOT_TIME, "reboot", "~", g->in->kernel);
	fill(u[0].ut_id, sizeof(u[0].ut_id), "~~");
	make_ut(g, &u[1], boot + range(&g->rng, 4, 9), RUN_LVL, "runlevel", "~", g->in->kernel);
	fill(u[1].ut_id, sizeof(u[1].ut_id), "~~");
	u[1].ut_pid = '5';
}

/* A boot in wtmp; the host's (the last) is utmp's too. */
static void boot_records(struct gen *g, time_t boot, bool host)
{
	struct utmpx u[2];

	g->rng = stream(g->base, S_BOOT, boot);
	boot_pair(g, boot, u);
	for (int i = 0; i < 2; i++) {
		struct ev *e =
		    add(g, u[i].ut_tv.tv_sec, host && g->in->init_boots ? EV_BOOT : EV_WTMP);
		if (e != NULL)
			e->ut = u[i];
	}
	if (host)
		memcpy(g->utmp, u, sizeof(u));
}

static void shutdown_record(struct gen *g, time_t t)
{
	g->rng = stream(g->base, S_BOOT, t);
	struct utmpx *u = record(g, t, EV_WTMP, RUN_LVL, "shutdown", "~", g->in->kernel);

	if (u != NULL) {
		fill(u->ut_id, sizeof(u->ut_id), "~~");
		u->ut_pid = '0' | ('5' << 8);
	}
}

/* cron's sessions, as pam_unix logs them. */
static void cron_session(struct gen *g, time_t t, long secs)
{
	unsigned pid = new_proc(g);

	line(g, t, "CRON", pid,
	     "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)");
	line(g, t + secs, "CRON", pid, "pam_unix(cron:session): session closed for user root");
}

/* /etc/crontab's jobs: hourly at :17, daily 06:25, weekly Sunday 06:47,
 * monthly on the 1st at 06:52. */
static void cron(struct gen *g, time_t from, time_t to)
{
	for (time_t h = from - from % HOUR; h < to; h += HOUR) {
		struct tm tm;
		gmtime_r(&h, &tm);
		g->rng = stream(g->base, S_CRON, h / HOUR);
		if (h + 17 * MINUTE + 1 >= from && h + 17 * MINUTE + 1 < to)
			cron_session(g, h + 17 * MINUTE + 1, 0);
		if (tm.tm_hour != 6)
			continue;
		if (h + 25 * MINUTE + 1 >= from && h + 25 * MINUTE + 1 < to)
			cron_session(g, h + 25 * MINUTE + 1, range(&g->rng, 0, 3));
		if (tm.tm_wday == 0 && h + 47 * MINUTE + 1 >= from && h + 47 * MINUTE + 1 < to)
			cron_session(g, h + 47 * MINUTE + 1, range(&g->rng, 0, 2));
		if (tm.tm_mday == 1 && h + 52 * MINUTE + 1 >= from && h + 52 * MINUTE + 1 < to)
			cron_session(g, h + 52 * MINUTE + 1, 0);
	}
}

static const char *const sudo_commands[] = {
    "/usr/bin/apt update",
    "/usr/bin/apt upgrade",
    "/usr/bin/systemctl status nginx",
    "/usr/bin/systemctl reload nginx",
    "/usr/bin/journalctl -u nginx --since today",
    "/usr/bin/tail -n 100 /var/log/syslog",
    "/usr/bin/df -h",
    "/bin/bash",
};

/* The login user's ssh session (root's when the image has none): publickey
 * from the admins' network, sudo now and then. */
static void admin_session(struct gen *g, time_t t, long secs)
{
	const struct history_in *in = g->in;
	const char *user = g->user;
	unsigned uid = g->uid;
	const char *ip = g->admin_ip[chance(&g->rng, 85) ? 0 : 1];
	unsigned pid = new_proc(g);
	long port = range(&g->rng, 32768, 60999);
	time_t end = t + secs;
	struct utmpx *u;

	line(g, t, "sshd", pid,
	     "Accepted publickey for %s from %s port %ld ssh2: ED25519 SHA256:%s", user, ip, port,
	     g->fingerprint);
	line(g, t, "sshd", pid,
	     "pam_unix(sshd:session): session opened for user %s(uid=%u) by (uid=0)", user, uid);
	if ((u = record(g, t, EV_WTMP, USER_PROCESS, user, "pts/0", ip)) != NULL) {
		fill(u->ut_id, sizeof(u->ut_id), "ts/0");
		e_proc(u, pid);
	}
	for (int k = 0; in->user[0] && k < 3 && chance(&g->rng, k == 0 ? 60 : 30); k++) {
		time_t s = t + range(&g->rng, 20, secs > 60 ? secs - 30 : 30);
		const char *cmd = sudo_commands[range(
		    &g->rng, 0, (long)(sizeof(sudo_commands) / sizeof(sudo_commands[0])) - 1)];
		line(g, s, "sudo", 0, "%8s : TTY=pts/0 ; PWD=/home/%s ; USER=root ; COMMAND=%s",
		     user, user, cmd);
		line(g, s, "sudo", 0,
		     "pam_unix(sudo:session): session opened for user root(uid=0) by %s(uid=%u)",
		     user, uid);
		line(g, s + range(&g->rng, 0, 25), "sudo", 0,
		     "pam_unix(sudo:session): session closed for user root");
	}
	line(g, end, "sshd", pid, "Received disconnect from %s port %ld:11: disconnected by user",
	     ip, port);
	line(g, end, "sshd", pid, "Disconnected from user %s %s port %ld", user, ip, port);
	line(g, end, "sshd", pid, "pam_unix(sshd:session): session closed for user %s", user);
	if ((u = record(g, end, EV_WTMP, DEAD_PROCESS, "", "pts/0", "")) != NULL) {
		fill(u->ut_id, sizeof(u->ut_id), "ts/0");
		e_proc(u, pid);
	}
	if (t < g->last.ll_time)
		return; /* the day's sessions come in no order */
	memset(&g->last, 0, sizeof(g->last));
	g->last.ll_time = (int32_t)t;
	memcpy(g->last.ll_line, "pts/0", 5);
	memcpy(g->last.ll_host, ip, strlen(ip));
}

/* An address on the internet: none of the reserved or private ranges. */
static void public_ip(struct gen *g, char out[16])
{
	for (;;) {
		uint32_t a = (uint32_t)next(&g->rng);
		unsigned o1 = a >> 24, o2 = (a >> 16) & 0xff, o3 = (a >> 8) & 0xff, o4 = a & 0xff;
		if (o1 == 0 || o1 == 10 || o1 == 127 || o1 >= 224 ||
		    (o1 == 100 && (o2 & 0xc0) == 64) || (o1 == 169 && o2 == 254) ||
		    (o1 == 172 && (o2 & 0xf0) == 16) || (o1 == 192 && o2 == 168) ||
		    (o1 == 192 && o2 == 0 && (o3 == 0 || o3 == 2)) ||
		    (o1 == 192 && o2 == 88 && o3 == 99) || (o1 == 198 && (o2 & 0xfe) == 18) ||
		    (o1 == 198 && o2 == 51 && o3 == 100) || (o1 == 203 && o2 == 0 && o3 == 113) ||
		    o4 == 0 || o4 == 255)
			continue;
		snprintf(out, 16, "%u.%u.%u.%u", o1, o2, o3, o4);
		return;
	}
}

static const char *const guessed[] = {
    "root",    "root",   "root",     "root",   "admin",   "test",    "user",
    "ubuntu",  "oracle", "postgres", "git",    "guest",   "ftpuser", "deploy",
    "support", "pi",     "mysql",    "hadoop", "jenkins", "dev",
};

/* One connection of a password guesser, as sshd and PAM log it (the
 * session agent writes the same lines for its own logins' failures). */
static void guess(struct gen *g, time_t t, const char *ip)
{
	const struct history_in *in = g->in;
	const char *user = guessed[range(&g->rng, 0, sizeof(guessed) / sizeof(guessed[0]) - 1)];
	bool known = strcmp(user, "root") == 0 || strcmp(user, in->user) == 0;
	unsigned pid = new_proc(g);
	long port = range(&g->rng, 1024, 65535);
	time_t failed = t + range(&g->rng, 2, 3);
	struct utmpx *u;

	if (known) {
		line(g, t, "sshd", pid,
		     "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
		     "tty=ssh ruser= rhost=%s  user=%s",
		     ip, user);
		line(g, failed, "sshd", pid, "Failed password for %s from %s port %ld ssh2", user,
		     ip, port);
		line(g, failed + 1, "sshd", pid,
		     "Connection closed by authenticating user %s %s port %ld [preauth]", user, ip,
		     port);
	} else {
		line(g, t, "sshd", pid, "Invalid user %s from %s port %ld", user, ip, port);
		line(g, t, "sshd", pid, "pam_unix(sshd:auth): check pass; user unknown");
		line(g, t, "sshd", pid,
		     "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
		     "tty=ssh ruser= rhost=%s",
		     ip);
		line(g, failed, "sshd", pid,
		     "Failed password for invalid user %s from %s port %ld ssh2", user, ip, port);
		line(g, failed + 1, "sshd", pid,
		     "Connection closed by invalid user %s %s port %ld [preauth]", user, ip, port);
	}
	if ((u = record(g, failed, EV_BTMP, LOGIN_PROCESS, user, "ssh:notty", ip)) != NULL)
		e_proc(u, pid);
}

/* A day of a running server, [from, to): cron, the admin's sessions on
 * working days, and the guessers. What falls outside is drawn all the
 * same, and left out. */
static void day(struct gen *g, time_t from, time_t to)
{
	time_t d = from - from % DAY;
	int64_t n = d / DAY;
	struct tm tm;
	struct rng r = stream(g->base, S_DAY, n);

	gmtime_r(&d, &tm);
	cron(g, from, to);
	bool workday = tm.tm_wday >= 1 && tm.tm_wday <= 5;
	/* One or two sessions, never at once (both would be on pts/0). */
	time_t busy_from = 0, busy_to = 0;
	for (int k = 0; k < 2 && chance(&r, workday ? (k ? 20 : 65) : 8); k++) {
		time_t t = d + range(&r, 7 * HOUR + 30 * MINUTE, 17 * HOUR + 30 * MINUTE);
		long secs =
		    chance(&r, 70) ? range(&r, 60, 25 * MINUTE) : range(&r, 25 * MINUTE, 2 * HOUR);
		if (t < from || t + secs >= to ||
		    (busy_to != 0 && t + secs + MINUTE > busy_from && t < busy_to + MINUTE))
			continue;
		g->rng = stream(g->base, S_SESSION, 2 * n + k);
		admin_session(g, t, secs);
		busy_from = t;
		busy_to = t + secs;
	}
	for (long b = range(&r, 1, 4); b > 0; b--) {
		char ip[16];
		time_t t = d + range(&r, 0, DAY - 1);
		g->rng = stream(g->base, S_GUESS, 8 * n + b);
		public_ip(g, ip);
		for (long c = range(&r, 1, 3); c > 0; c--, t += range(&r, 4, 40))
			if (t >= from && t + 4 < to) {
				g->rng = stream(g->base, S_GUESS, 64 * n + 8 * b + c);
				guess(g, t, ip);
			}
	}
}

/* [from, to) while up since boot: the days. */
static void uptime_span(struct gen *g, time_t from, time_t to)
{
	for (time_t d = from; d < to;) {
		time_t end = d - d % DAY + DAY;
		if (end > to)
			end = to;
		day(g, d, end);
		d = end;
	}
}

/* ---- the files ---- */

static int by_time(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Process ids, in time order: they climb between boots, from a few
 * hundred after the boot's own; every event of a process gets its id. */
static int number(struct gen *g)
{
	long *pid = calloc(g->procs + 1, sizeof(*pid)), cur;

	g->rng = stream(g->base, S_PIDS, 0);
	cur = range(&g->rng, 600, 900);

	if (pid == NULL)
		return -1;
	for (size_t i = 0; i < g->n; i++) {
		struct ev *e = &g->ev[i];
		if ((e->kind == EV_WTMP || e->kind == EV_BOOT) && e->ut.ut_type == BOOT_TIME)
			cur = range(&g->rng, 600, 900);
		if (e->proc == 0)
			continue;
		if (pid[e->proc] == 0) {
			cur += range(&g->rng, 3, 60);
			pid[e->proc] = cur;
		}
		e->pid = pid[e->proc];
		if (e->kind != EV_LINE) {
			e->ut.ut_pid = (pid_t)e->pid;
			if (e->ut.ut_type == USER_PROCESS)
				e->ut.ut_session = (int32_t)e->pid + 2; /* the shell's */
		}
	}
	free(pid);
	return 0;
}

/* The fraction of a second of the line at t in rsyslog's RFC 3339 stamp:
 * drawn for a second's first line, climbing by the lines after it in the
 * same second (a connection's lines come within milliseconds). */
struct usec_state {
	time_t t;
	long us;
};

static long line_usec(uint64_t base, struct usec_state *st, time_t t)
{
	if (st->t != t || st->us < 0) {
		struct rng r = stream(base, S_USEC, t);
		st->t = t;
		st->us = range(&r, 0, 899999);
	} else {
		struct rng r = stream(base, S_USEC, (int64_t)t * 1000 + st->us % 1000);
		st->us += range(&r, 40, 2500);
		if (st->us > 999999)
			st->us = 999999;
	}
	return st->us;
}

static int put_line(struct buf *b, const struct history_in *in, uint64_t base,
                    struct usec_state *st, const struct ev *e)
{
	struct tm tm;
	char stamp[48];

	gmtime_r(&e->t, &tm);
	if (in->rfc3339) {
		size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + n, sizeof(stamp) - n, ".%06ld+00:00", line_usec(base, st, e->t));
	} else {
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	}
	if (e->proc == 0)
		return buf_putf(b, "%s %s %s: %s\n", stamp, in->host, e->prog, e->line);
	return buf_putf(b, "%s %s %s[%ld]: %s\n", stamp, in->host, e->prog, e->pid, e->line);
}

/* gzip -6 of a file whose mtime is mtime, as logrotate's compression of a
 * rotated log gives it (gzip reads the log on its stdin: no name). */
static int gzip_buf(const struct buf *in, time_t mtime, struct buf *out)
{
	z_stream z;
	gz_header h;
	int r;

	memset(&z, 0, sizeof(z));
	memset(&h, 0, sizeof(h));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	h.time = (uLong)mtime;
	h.os = 3;
	if (deflateSetHeader(&z, &h) != Z_OK ||
	    buf_reserve(out, deflateBound(&z, (uLong)in->len) + 16) < 0) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = out->data;
	z.avail_out = (uInt)out->cap;
	r = deflate(&z, Z_FINISH);
	out->len = z.total_out;
	deflateEnd(&z);
	return r == Z_STREAM_END ? 0 : -1;
}

static const struct {
	const char *path;
	enum history_owner owner;
	unsigned mode;
	bool appends;
} files[HISTORY_FILES] = {
    [HISTORY_WTMP] = {"/var/log/wtmp", HISTORY_OWNER_UTMP, 0664, true},
    [HISTORY_BTMP] = {"/var/log/btmp", HISTORY_OWNER_UTMP, 0660, true},
    [HISTORY_BTMP1] = {"/var/log/btmp.1", HISTORY_OWNER_UTMP, 0660, false},
    [HISTORY_LASTLOG] = {"/var/log/lastlog", HISTORY_OWNER_UTMP, 0664, false},
    [HISTORY_UTMP] = {"/run/utmp", HISTORY_OWNER_UTMP, 0664, false},
    [HISTORY_AUTH] = {"/var/log/auth.log", HISTORY_OWNER_LOG, 0640, true},
    [HISTORY_AUTH1] = {"/var/log/auth.log.1", HISTORY_OWNER_LOG, 0640, false},
    [HISTORY_AUTH2] = {"/var/log/auth.log.2.gz", HISTORY_OWNER_LOG, 0640, false},
    [HISTORY_AUTH3] = {"/var/log/auth.log.3.gz", HISTORY_OWNER_LOG, 0640, false},
    [HISTORY_AUTH4] = {"/var/log/auth.log.4.gz", HISTORY_OWNER_LOG, 0640, false},
};

/* logrotate's daily run (Debian 12's logrotate.timer: midnight, within the
 * hour): the last one at or before t that fell on a day matching. */
static time_t rotation_before(uint64_t base, time_t t, bool monthly)
{
	time_t d = t - t % DAY;
	for (;;) {
		struct tm tm;
		struct rng r = stream(base, S_ROTATE, d / DAY);
		gmtime_r(&d, &tm);
		time_t at = d + (time_t)range(&r, 60, 50 * MINUTE);
		if ((monthly ? tm.tm_mday == 1 : tm.tm_wday == 0) && at <= t)
			return at;
		d -= DAY;
	}
}

/* Every stream's base: sha256("log history" seed), its first 8 bytes. */
static int seed_base(const struct history_in *in, uint64_t *base)
{
	uint8_t text[11 + sizeof(in->seed)], h[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	memcpy(text, "log history", 11);
	memcpy(text + 11, in->seed, sizeof(in->seed));
	if (EVP_Digest(text, sizeof(text), h, &len, EVP_sha256(), NULL) != 1)
		return -1;
	*base = 0;
	for (int i = 0; i < 8; i++)
		*base = *base << 8 | h[i];
	return 0;
}

/* The fingerprint sshd logs: SHA256: and base64 without its padding. */
static int fingerprint(const uint8_t *key, size_t n, char *out, size_t size)
{
	char *b64 = util_base64(key, n);

	if (b64 == NULL)
		return -1;
	snprintf(out, size, "%.*s", (int)strcspn(b64, "="), b64);
	free(b64);
	return 0;
}

void history_free(struct history *h)
{
	for (int f = 0; f < HISTORY_FILES; f++) {
		free(h->file[f].data);
		h->file[f].data = NULL;
		h->file[f].len = 0;
	}
}

int history_make(const struct history_in *in, struct history *h)
{
	struct gen g;
	struct buf b[HISTORY_FILES];
	time_t week[6], month[2], start, boot = in->boot < in->now ? in->boot : in->now;
	time_t anchor = in->installed > 0 && in->installed < in->now ? in->installed : in->now;
	uint8_t key[32];
	int rc = -1;

	memset(&g, 0, sizeof(g));
	memset(h, 0, sizeof(*h));
	g.in = in;
	for (int f = 0; f < HISTORY_FILES; f++)
		buf_init(&b[f]);
	if (seed_base(in, &g.base) < 0)
		goto out;
	g.rng = stream(g.base, S_BASE, 0);
	g.user = in->user[0] ? in->user : "root";
	g.uid = in->user[0] ? in->uid : 0;

	/* The rotations: auth.log weekly (auth.log.k holds [week[k+1],
	 * week[k]), week[0] = now), btmp monthly. */
	week[0] = in->now;
	week[1] = rotation_before(g.base, in->now, false);
	for (int k = 2; k < 6; k++)
		week[k] = rotation_before(g.base, week[k - 1] - DAY, false);
	month[0] = rotation_before(g.base, in->now, true);
	month[1] = rotation_before(g.base, month[0] - DAY, true);

	/* The install: where the image's own records put it (box_prep.c), or
	 * six to seven weeks before Hermes first started here (before the
	 * oldest log kept then), and where it stays as the past grows; no
	 * further back than LONGEST_PAST. The draw is made either way, so that
	 * what follows it is the same past. */
	start = anchor - 42 * DAY - (time_t)range(&g.rng, 0, 7 * DAY);
	if (in->install > 0 && in->install < in->now)
		start = in->install;
	if (start < in->now - LONGEST_PAST)
		start = in->now - LONGEST_PAST;

	for (int i = 0; i < 2; i++) {
		/* drawn one by one: an argument list has no order of evaluation */
		long a = range(&g.rng, 1, 250), b2 = range(&g.rng, 0, 254),
		     c = range(&g.rng, 2, 254);
		snprintf(g.admin_ip[i], sizeof(g.admin_ip[i]), "10.%ld.%ld.%ld", a, b2, c);
	}
	for (size_t i = 0; i < sizeof(key); i += 8) {
		uint64_t x = next(&g.rng);
		memcpy(key + i, &x, 8);
	}
	if (fingerprint(key, sizeof(key), g.fingerprint, sizeof(g.fingerprint)) < 0)
		goto out;

	/* Up from the install to now, with one reboot for a kernel update
	 * on the way when the host's own boot leaves room for it, and the
	 * host's boot as the last; or up all along since the host's boot
	 * when that came before the install. */
	if (boot <= start) {
		time_t up = boot < in->now - LONGEST_PAST ? in->now - LONGEST_PAST : boot;
		if (up == boot)
			boot_records(&g, boot, true);
		else
			boot_pair(&g, boot, g.utmp);
		uptime_span(&g, up + (up == boot ? 2 * MINUTE : 0), in->now);
	} else {
		time_t from = start + 2 * MINUTE;
		time_t mid = start + (time_t)range(&g.rng, 5, 12) * DAY + 6 * HOUR;
		boot_records(&g, start, false);
		if (mid + DAY < boot) {
			uptime_span(&g, from, mid);
			shutdown_record(&g, mid);
			boot_records(&g, mid + range(&g.rng, 40, 90), false);
			from = mid + 3 * MINUTE;
		}
		uptime_span(&g, from, boot - 2 * MINUTE);
		g.rng = stream(g.base, S_BOOT, boot - 1);
		shutdown_record(&g, boot - range(&g.rng, 30, 90));
		boot_records(&g, boot, true);
		uptime_span(&g, boot + 2 * MINUTE, in->now);
	}
	if (g.oom)
		goto out;
	qsort(g.ev, g.n, sizeof(*g.ev), by_time);
	if (number(&g) < 0)
		goto out;

	struct usec_state usec = {0, -1};
	for (size_t i = 0; i < g.n; i++) {
		const struct ev *e = &g.ev[i];
		int f = -1, r = 0;

		if (e->t >= in->now || e->kind == EV_BOOT)
			continue;
		if (e->kind == EV_WTMP) {
			f = HISTORY_WTMP;
			r = buf_put(&b[f], &e->ut, sizeof(e->ut));
		} else if (e->kind == EV_BTMP) {
			f = e->t >= month[0] ? HISTORY_BTMP : e->t >= month[1] ? HISTORY_BTMP1 : -1;
			if (f >= 0)
				r = buf_put(&b[f], &e->ut, sizeof(e->ut));
		} else {
			for (int k = 0; k < 5 && f < 0; k++)
				if (e->t >= week[k + 1])
					f = HISTORY_AUTH + k;
			if (f >= 0)
				r = put_line(&b[f], in, g.base, &usec, e);
		}
		if (r < 0)
			goto out;
		if (f >= 0)
			h->file[f].mtime = e->t;
	}

	/* Who is logged in now: nobody, since the host's boot. */
	if (buf_put(&b[HISTORY_UTMP], g.utmp, sizeof(g.utmp)) < 0)
		goto out;
	h->file[HISTORY_UTMP].mtime = g.utmp[1].ut_tv.tv_sec;
	if (g.last.ll_time != 0) {
		if (buf_put(&b[HISTORY_LASTLOG], &g.last, sizeof(g.last)) < 0)
			goto out;
		h->file[HISTORY_LASTLOG].mtime = g.last.ll_time;
		h->file[HISTORY_LASTLOG].at = (size_t)g.uid * sizeof(g.last);
	}
	/* A log compressed at the rotation after the one that made it. */
	for (int f = HISTORY_AUTH2; f <= HISTORY_AUTH4; f++) {
		struct buf z;
		int k = f - HISTORY_AUTH;
		buf_init(&z);
		if (gzip_buf(&b[f], h->file[f].mtime, &z) < 0) {
			buf_free(&z);
			goto out;
		}
		buf_free(&b[f]);
		b[f] = z;
		g.rng = stream(g.base, S_ROTATE, week[k - 1]);
		h->file[f].mtime = week[k - 1] + range(&g.rng, 0, 2);
	}
	for (int f = 0; f < HISTORY_FILES; f++) {
		h->file[f].path = files[f].path;
		h->file[f].owner = files[f].owner;
		h->file[f].mode = files[f].mode;
		h->file[f].appends = files[f].appends;
		if (h->file[f].mtime == 0)
			h->file[f].mtime = f == HISTORY_BTMP   ? month[0]
			                   : f == HISTORY_AUTH ? week[1]
			                                       : boot;
		h->file[f].len = b[f].len;
		h->file[f].data = b[f].data;
		buf_init(&b[f]);
	}
	rc = 0;
out:
	for (size_t i = 0; i < g.n; i++)
		free(g.ev[i].line);
	free(g.ev);
	for (int f = 0; f < HISTORY_FILES; f++)
		buf_free(&b[f]);
	if (rc < 0)
		history_free(h);
	return rc;
}
