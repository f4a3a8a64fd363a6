/*
 * agent_authlog: sshd's and PAM's lines about a login, where a server's
 * land. With a syslog socket in the box (/dev/log: journald's, which hands
 * them to rsyslog) they are sent there as sshd and libpam send them, so
 * that the journal has them (`journalctl -u ssh`) and rsyslog writes them to
 * auth.log in its own format, beside the lines of cron and logind. A box
 * without one (Hermes's own small init) has no daemon that could write
 * them: they are appended to /var/log/auth.log directly, in the format the
 * file already holds (the log history's: rsyslog's of the image).
 */
#include "agent.h"
#include "authlog_order.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define AUTH_LOG   "/var/log/auth.log"
#define SYSLOG_DEV "/dev/log"

/* A datagram to the syslog socket, as glibc's syslog(3) sends one:
 * "<PRI>Mmm dd HH:MM:SS sshd[PID]: MESSAGE". The receivers stamp it with
 * the time they get it. Returns -1 when there is no socket to take it. */
static int send_syslog(int prio, pid_t pid, const char *msg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dgram[2200], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, n, rc = -1;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(dgram, sizeof(dgram), "<%d>%s sshd[%d]: %s", prio, stamp, (int)pid, msg);
	if (n < 0)
		return -1;
	if (n >= (int)sizeof(dgram))
		n = (int)sizeof(dgram) - 1;
	memcpy(sa.sun_path, SYSLOG_DEV, sizeof(SYSLOG_DEV));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		ssize_t w;
		while ((w = send(fd, dgram, (size_t)n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
			;
		rc = w == n ? 0 : -1;
	}
	close(fd);
	return rc;
}

static int open_authlog(void)
{
	int fd = open(AUTH_LOG, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	long adm;

	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* As rsyslog creates it on Debian: 0640 root:adm. */
	fd = open(AUTH_LOG, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return open(AUTH_LOG, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if ((adm = group_gid("adm")) >= 0)
		(void)!fchown(fd, 0, (gid_t)adm);
	return fd;
}

/* Whether the file's last line has rsyslog's RFC 3339 stamp
 * ("2023-06-10T06:25:01.123456+00:00 ..."), Debian 12's, rather than the
 * traditional "Jun 10 06:25:01" (Ubuntu's, and the default here). */
static int file_says_rfc3339(int fd)
{
	char tail[512];
	off_t end = lseek(fd, 0, SEEK_END), from;
	ssize_t n;
	size_t at;

	if (end <= 0)
		return 0;
	from = end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1 : 0;
	n = pread(fd, tail, sizeof(tail) - 1, from);
	if (n <= 0)
		return 0;
	tail[n] = '\0';
	while (n > 0 && tail[n - 1] == '\n')
		tail[--n] = '\0';
	const char *nl = strrchr(tail, '\n');
	at = nl != NULL ? (size_t)(nl - tail) + 1 : 0;
	if (nl == NULL && from > 0) /* a line longer than the tail: no start */
		return 0;
	const char *l = tail + at;
	return strlen(l) > 20 && l[4] == '-' && l[7] == '-' && l[10] == 'T' && l[13] == ':' &&
	       l[0] >= '0' && l[0] <= '9';
}

/* "STAMP HOST sshd[PID]: MSG\n" in line, stamped as the file's last
 * line is (rsyslog's RFC 3339 with usec, or the traditional one); its
 * length. */
static int format_line(char *line, size_t cap, int rfc3339, time_t when, long usec,
                       const char *hostname, pid_t pid, const char *msg)
{
	char stamp[48], host[64];
	struct tm tm;
	int n;

	localtime_r(&when, &tm);
	if (rfc3339) {
		long off = tm.tm_gmtoff / 60;
		n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + n, sizeof(stamp) - (size_t)n, ".%06ld%c%02ld:%02ld", usec,
		         off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
		         (off < 0 ? -off : off) % 60);
	} else {
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	}
	/* rsyslog writes the short host name. */
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(hostname, "."), hostname);
	n = snprintf(line, cap, "%s %s sshd[%d]: %s\n", stamp, host, (int)pid, msg);
	if (n >= (int)cap)
		n = (int)cap - 1, line[n - 1] = '\n';
	return n;
}

static void append_line(const struct agent_login *l, pid_t pid, time_t when, const char *msg)
{
	char line[2300];
	struct timespec ts;
	int n, fd;

	if ((fd = open_authlog()) < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = format_line(line, sizeof(line), file_says_rfc3339(fd), when, ts.tv_nsec / 1000,
	                l->hostname, pid, msg);
	if (n > 0)
		(void)write_all(fd, line, (size_t)n);
	close(fd);
}

void authlog(const struct agent_login *l, int prio, time_t when, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (send_syslog(prio, l->pid, msg) < 0)
		append_line(l, l->pid, when, msg);
}

/* Lines of earlier connections, kept until authlog_past_flush(). */
#define PAST_MAX      (AGENT_MAX_FAILURES * 6)
#define PAST_MSG      640
#define PAST_WINDOW   ((size_t)256 << 10) /* how far back in the file they may go */
#define PAST_LINE_MAX (PAST_MSG + 400)

static struct past {
	time_t when;
	pid_t pid;
	char msg[PAST_MSG];
} past[PAST_MAX];
static size_t npast;

void authlog_past(pid_t pid, time_t when, const char *fmt, ...)
{
	va_list ap;

	if (npast == PAST_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(past[npast].msg, sizeof(past[npast].msg), fmt, ap);
	va_end(ap);
	past[npast].when = when;
	past[npast].pid = pid;
	npast++;
}

static int read_at(int fd, char *buf, size_t n, off_t from)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, from + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* One try at writing the kept lines into the file at their place: 0, 1 to
 * try again (the file grew meanwhile), -1 when it cannot be done. */
static int insert_past(const struct agent_login *l, int fd, time_t now)
{
	struct authlog_new_line lines[PAST_MAX];
	char *text = NULL, *fresh = NULL, *formatted = NULL;
	struct stat st;
	size_t window, whole, at, tail_len, used = 0;
	off_t from;
	long merged;
	int rfc, r = -1;
	long usec = -1;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	rfc = file_says_rfc3339(fd);
	window = (size_t)st.st_size < PAST_WINDOW ? (size_t)st.st_size : PAST_WINDOW;
	from = st.st_size - (off_t)window;
	if ((text = malloc(window + 1)) == NULL ||
	    (formatted = malloc((size_t)PAST_MAX * PAST_LINE_MAX)) == NULL ||
	    read_at(fd, text, window, from) < 0)
		goto out;
	/* Whole lines only: from the first line start in the window to the
	 * last '\n'; a line still being written stays after them. */
	at = 0;
	if (from > 0) {
		char *nl = memchr(text, '\n', window);
		if (nl == NULL)
			goto out;
		at = (size_t)(nl - text) + 1;
	}
	whole = window;
	while (whole > at && text[whole - 1] != '\n')
		whole--;
	for (size_t i = 0; i < npast; i++) {
		/* Microseconds drawn, climbing within a second. */
		if (i > 0 && past[i].when == past[i - 1].when && usec >= 0)
			usec += 1 + (long)draw(40000);
		else
			usec = (long)draw(600000);
		if (usec > 999999)
			usec = 999999;
		int n = format_line(formatted + used, PAST_LINE_MAX, rfc, past[i].when, usec,
		                    l->hostname, past[i].pid, past[i].msg);
		if (n <= 0)
			goto out;
		lines[i] = (struct authlog_new_line){past[i].when, formatted + used, (size_t)n};
		used += (size_t)n;
	}
	at += authlog_insert_at(text + at, whole - at, past[0].when, now);
	/* Never into what Hermes's collection holds as the box had it at
	 * ready (HELLO): from the first line that starts after it, so that
	 * the log only grows. */
	if (l->auth_log_kept > from + (off_t)at) {
		size_t k = l->auth_log_kept < from + (off_t)whole
		               ? (size_t)(l->auth_log_kept - from)
		               : whole;
		if (k < whole && k > 0 && text[k - 1] != '\n') {
			char *nl = memchr(text + k, '\n', whole - k);
			k = nl != NULL ? (size_t)(nl - text) + 1 : whole;
		}
		at = k;
	}
	tail_len = window - at;
	if ((fresh = malloc(tail_len + used)) == NULL)
		goto out;
	merged = authlog_merge(text + at, whole - at, lines, npast, now, fresh, tail_len + used);
	if (merged < 0)
		goto out;
	memcpy(fresh + merged, text + whole, window - whole);
	/* Nothing written since it was read (rsyslog appends): else again. */
	if (fstat(fd, &st) < 0 || st.st_size != from + (off_t)window) {
		r = 1;
		goto out;
	}
	if (pwrite(fd, fresh, (size_t)merged + (window - whole), from + (off_t)at) ==
	    (ssize_t)((size_t)merged + (window - whole)))
		r = 0;
out:
	free(fresh);
	free(formatted);
	free(text);
	return r;
}

void authlog_past_flush(const struct agent_login *l)
{
	time_t now = time(NULL);
	int fd, flags, r = -1;

	if (npast == 0)
		return;
	if ((fd = open_authlog()) >= 0 && (flags = fcntl(fd, F_GETFL)) >= 0 &&
	    fcntl(fd, F_SETFL, flags & ~O_APPEND) == 0)
		for (int tries = 0; tries < 3 && (r = insert_past(l, fd, now)) == 1; tries++)
			;
	if (fd >= 0)
		close(fd);
	if (r != 0) /* as this connection's lines, then: at the file's end */
		for (size_t i = 0; i < npast; i++)
			append_line(l, past[i].pid, past[i].when, past[i].msg);
	npast = 0;
}
