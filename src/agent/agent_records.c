/*
 * agent_records: the login accounting files, as sshd writes them: utmp and
 * wtmp for a pty session (who, w, last), btmp for failed attempts (lastb),
 * lastlog for the "Last login" line.
 */
#include "agent.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <paths.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <utmp.h>
#include <utmpx.h>

#define BTMP    "/var/log/btmp"
#define LASTLOG "/var/log/lastlog"

/* A missing accounting file is made as Debian has it: root:utmp. */
static void ensure_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	long gid;

	if (fd < 0)
		return;
	if ((gid = group_gid("utmp")) >= 0)
		(void)!fchown(fd, 0, (gid_t)gid);
	close(fd);
}

static void stamp(struct utmpx *ut, time_t when)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	if (when != 0) {
		tv.tv_sec = when;
		tv.tv_usec = 0;
	}
	ut->ut_tv.tv_sec = (int32_t)tv.tv_sec;
	ut->ut_tv.tv_usec = (int32_t)tv.tv_usec;
}

static void set_host(struct utmpx *ut, const char *addr)
{
	strncpy(ut->ut_host, addr, sizeof(ut->ut_host));
	if (inet_pton(AF_INET, addr, ut->ut_addr_v6) != 1)
		(void)inet_pton(AF_INET6, addr, ut->ut_addr_v6);
}

void records_failed(const struct agent_login *l, pid_t pid, const char *user, time_t when)
{
	struct utmpx ut;

	memset(&ut, 0, sizeof(ut));
	ut.ut_type = LOGIN_PROCESS;
	ut.ut_pid = pid;
	strncpy(ut.ut_line, "ssh:notty", sizeof(ut.ut_line));
	strncpy(ut.ut_user, user, sizeof(ut.ut_user));
	set_host(&ut, l->client_addr);
	stamp(&ut, when);
	ensure_file(BTMP, 0660);
	updwtmpx(BTMP, &ut);
}

void records_login(const struct agent_login *l, struct agent_utmp_rec *r, const char *line,
                   pid_t pid)
{
	struct utmpx ut;
	size_t n = strlen(line);

	memset(r, 0, sizeof(*r));
	snprintf(r->line, sizeof(r->line), "%s", line);
	r->pid = pid;
	r->active = 1;
	memset(&ut, 0, sizeof(ut));
	ut.ut_type = USER_PROCESS;
	ut.ut_pid = pid;
	strncpy(ut.ut_line, line, sizeof(ut.ut_line));
	/* The id is the line's last four characters: "ts/0" for pts/0. */
	strncpy(ut.ut_id, n > sizeof(ut.ut_id) ? line + n - sizeof(ut.ut_id) : line,
	        sizeof(ut.ut_id));
	strncpy(ut.ut_user, l->user.name, sizeof(ut.ut_user));
	set_host(&ut, l->client_addr);
	ut.ut_session = pid; /* the shell leads its own session */
	stamp(&ut, 0);
	ensure_file(_PATH_UTMP, 0664);
	ensure_file(_PATH_WTMP, 0664);
	setutxent();
	pututxline(&ut);
	endutxent();
	updwtmpx(_PATH_WTMP, &ut);
}

void records_logout(struct agent_utmp_rec *r)
{
	struct utmpx ut;
	size_t n = strlen(r->line);

	if (!r->active)
		return;
	r->active = 0;
	memset(&ut, 0, sizeof(ut));
	ut.ut_type = DEAD_PROCESS;
	ut.ut_pid = r->pid;
	strncpy(ut.ut_line, r->line, sizeof(ut.ut_line));
	strncpy(ut.ut_id, n > sizeof(ut.ut_id) ? r->line + n - sizeof(ut.ut_id) : r->line,
	        sizeof(ut.ut_id));
	stamp(&ut, 0);
	setutxent();
	pututxline(&ut);
	endutxent();
	updwtmpx(_PATH_WTMP, &ut);
}

int lastlog_swap(const struct agent_login *l, const char *line, struct agent_lastlog *prev)
{
	struct lastlog ll;
	off_t at = (off_t)l->user.uid * (off_t)sizeof(ll);
	int fd, had = 0;

	memset(prev, 0, sizeof(*prev));
	ensure_file(LASTLOG, 0664);
	fd = open(LASTLOG, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	memset(&ll, 0, sizeof(ll));
	if (pread(fd, &ll, sizeof(ll), at) == (ssize_t)sizeof(ll) && ll.ll_time != 0) {
		prev->time = (time_t)ll.ll_time;
		snprintf(prev->host, sizeof(prev->host), "%.*s", (int)sizeof(ll.ll_host),
		         ll.ll_host);
		had = 1;
	}
	memset(&ll, 0, sizeof(ll));
	ll.ll_time = (int32_t)time(NULL);
	/* Fixed-size fields, NUL-padded, not necessarily NUL-ended. */
	memcpy(ll.ll_line, line, strnlen(line, sizeof(ll.ll_line)));
	memcpy(ll.ll_host, l->client_addr, strlen(l->client_addr)); /* < 64 */
	(void)!pwrite(fd, &ll, sizeof(ll), at);
	close(fd);
	return had;
}
