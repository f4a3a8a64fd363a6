/*
 * agent_login: what sshd with PAM does to the box when a login succeeds and
 * when the connection ends, besides the utmp family (agent_records.c):
 * sshd's and PAM's log lines (agent_authlog.c), btmp for failed attempts,
 * the audit login uid, the open-files limit (pam_limits) and /run/user/UID
 * (pam_systemd).
 */
#include "agent.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* sshd's name of a method in "Accepted"/"Failed" lines; NULL: not logged. */
static const char *method_name(const char *m, int failed)
{
	if (strcmp(m, "password") == 0)
		return "password";
	if (strcmp(m, "keyboard-interactive") == 0)
		return "keyboard-interactive/pam";
	if (strcmp(m, "publickey") == 0)
		return failed ? NULL : "publickey"; /* a refused key is no failure */
	return failed ? NULL : m;
}

static void log_failure(const struct agent_login *l, const struct agent_failure *f,
                        const struct agent_failure *prev)
{
	char user[AGENT_MAX_STR + 1], shown[4 * 64 + 1], method[32];
	struct agent_user u;
	const char *how;
	int known;

	bytes_cstr(method, sizeof(method), f->method);
	if ((how = method_name(method, 1)) == NULL)
		return;
	bytes_cstr(user, sizeof(user), f->user);
	bytes_visible(shown, sizeof(shown), f->user);
	known = f->user.n == strlen(user) && user_lookup(user, &u);
	if (known) {
		authlog(l, AUTHLOG_PAM_NOTICE, f->time,
		        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
		        "tty=ssh ruser= rhost=%s  user=%s",
		        l->client_addr, shown);
		authlog(l, AUTHLOG_SSHD, f->time, "Failed %s for %s from %s port %u ssh2", how,
		        shown, l->client_addr, l->client_port);
	} else {
		/* sshd says "Invalid user" once, when a new name is tried. */
		if (prev == NULL || prev->user.n != f->user.n ||
		    memcmp(prev->user.p, f->user.p, f->user.n) != 0)
			authlog(l, AUTHLOG_SSHD, f->time, "Invalid user %s from %s port %u", shown,
			        l->client_addr, l->client_port);
		authlog(l, AUTHLOG_PAM_NOTICE, f->time,
		        "pam_unix(sshd:auth): check pass; user unknown");
		authlog(l, AUTHLOG_PAM_NOTICE, f->time,
		        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
		        "tty=ssh ruser= rhost=%s",
		        l->client_addr);
		authlog(l, AUTHLOG_SSHD, f->time,
		        "Failed %s for invalid user %s from %s port %u ssh2", how, shown,
		        l->client_addr, l->client_port);
	}
	records_failed(l, shown, (time_t)f->time);
}

static void write_loginuid(uid_t uid)
{
	char text[16];
	int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
	int n = snprintf(text, sizeof(text), "%u", (unsigned)uid);

	if (fd < 0)
		return;
	(void)!write(fd, text, (size_t)n); /* refused without the right: as it is */
	close(fd);
}

/* pam_systemd's runtime directory; the box has no logind to make it. */
static void runtime_dir(const struct agent_user *u)
{
	char path[64];

	snprintf(path, sizeof(path), "/run/user/%u", (unsigned)u->uid);
	(void)mkdir("/run/user", 0755);
	if (mkdir(path, 0700) == 0)
		(void)!chown(path, u->uid, u->gid);
}

void login_begin(const struct agent_login *l, const struct agent_hello *h)
{
	const char *how = method_name(l->method, 0);
	struct rlimit rl;

	for (uint32_t i = 0; i < h->nfailures; i++)
		log_failure(l, &h->failures[i], i ? &h->failures[i - 1] : NULL);
	authlog(l, AUTHLOG_SSHD, time(NULL), "Accepted %s for %s from %s port %u ssh2",
	        how ? how : "password", l->user.name, l->client_addr, l->client_port);
	authlog(l, AUTHLOG_PAM_INFO, time(NULL),
	        "pam_unix(sshd:session): session opened for user %s(uid=%u) by (uid=0)",
	        l->user.name, (unsigned)l->user.uid);
	write_loginuid(l->user.uid);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	runtime_dir(&l->user);
}

void login_end(const struct agent_login *l)
{
	time_t now = time(NULL);

	authlog(l, AUTHLOG_SSHD, now,
	        "Received disconnect from %s port %u:11: disconnected by user", l->client_addr,
	        l->client_port);
	authlog(l, AUTHLOG_SSHD, now, "Disconnected from user %s %s port %u", l->user.name,
	        l->client_addr, l->client_port);
	authlog(l, AUTHLOG_PAM_INFO, now, "pam_unix(sshd:session): session closed for user %s",
	        l->user.name);
}
