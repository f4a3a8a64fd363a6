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

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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

static void append_line(const struct agent_login *l, time_t when, const char *msg)
{
	char line[2300], stamp[48], host[64];
	struct timespec ts;
	struct tm tm;
	int n, fd;

	if ((fd = open_authlog()) < 0)
		return;
	localtime_r(&when, &tm);
	if (file_says_rfc3339(fd)) {
		long off = tm.tm_gmtoff / 60;
		clock_gettime(CLOCK_REALTIME, &ts);
		n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + n, sizeof(stamp) - (size_t)n, ".%06ld%c%02ld:%02ld",
		         ts.tv_nsec / 1000, off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
		         (off < 0 ? -off : off) % 60);
	} else {
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	}
	/* rsyslog writes the short host name. */
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(l->hostname, "."), l->hostname);
	n = snprintf(line, sizeof(line), "%s %s sshd[%d]: %s\n", stamp, host, (int)l->pid, msg);
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1, line[n - 1] = '\n';
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
		append_line(l, when, msg);
}
