/*
 * agent_login: what sshd with PAM does to the box when a login succeeds and
 * when the connection ends, besides the utmp family (agent_records.c):
 * sshd's and PAM's log lines (agent_authlog.c), btmp for failed attempts,
 * the audit login uid, the open-files limit (pam_limits) and /run/user/UID
 * (pam_systemd).
 */
#include "agent.h"
#include "past_pid.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Who logs a failure: this connection's sshd, through syslog as it
 * happens, or an earlier connection's (its own PID), into auth.log at the
 * failure's time. */
struct teller {
	const struct agent_login *l;
	pid_t pid;
	int past;
};

static void tell(const struct teller *t, int prio, time_t when, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void tell(const struct teller *t, int prio, time_t when, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (t->past)
		authlog_past(t->pid, when, "%s", msg);
	else
		authlog(t->l, prio, when, "%s", msg);
}

static int user_known(const struct agent_failure *f)
{
	char user[AGENT_MAX_STR + 1];
	struct agent_user u;

	bytes_cstr(user, sizeof(user), f->user);
	return f->user.n == strlen(user) && user_lookup(user, &u);
}

static void log_failure(const struct teller *t, const struct agent_failure *f,
                        const struct agent_failure *prev)
{
	const struct agent_login *l = t->l;
	char shown[4 * 64 + 1], method[32];
	const char *how;

	bytes_cstr(method, sizeof(method), f->method);
	if ((how = method_name(method, 1)) == NULL)
		return;
	bytes_visible(shown, sizeof(shown), f->user);
	if (user_known(f)) {
		tell(t, AUTHLOG_PAM_NOTICE, f->time,
		     "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
		     "tty=ssh ruser= rhost=%s  user=%s",
		     l->client_addr, shown);
		tell(t, AUTHLOG_SSHD, f->time, "Failed %s for %s from %s port %u ssh2", how, shown,
		     l->client_addr, f->port);
	} else {
		/* sshd says "Invalid user" once, when a new name is tried. */
		if (prev == NULL || prev->user.n != f->user.n ||
		    memcmp(prev->user.p, f->user.p, f->user.n) != 0)
			tell(t, AUTHLOG_SSHD, f->time, "Invalid user %s from %s port %u", shown,
			     l->client_addr, f->port);
		tell(t, AUTHLOG_PAM_NOTICE, f->time,
		     "pam_unix(sshd:auth): check pass; user unknown");
		tell(t, AUTHLOG_PAM_NOTICE, f->time,
		     "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
		     "tty=ssh ruser= rhost=%s",
		     l->client_addr);
		tell(t, AUTHLOG_SSHD, f->time, "Failed %s for invalid user %s from %s port %u ssh2",
		     how, shown, l->client_addr, f->port);
	}
	records_failed(l, t->pid, shown, (time_t)f->time);
}

/* An earlier connection's end, as sshd logs a client that closes after a
 * failure (the usual bot's). */
static void log_closed(const struct teller *t, const struct agent_failure *f)
{
	char shown[4 * 64 + 1];

	bytes_visible(shown, sizeof(shown), f->user);
	tell(t, AUTHLOG_SSHD, f->time, "Connection closed by %s user %s %s port %u [preauth]",
	     user_known(f) ? "authenticating" : "invalid", shown, t->l->client_addr, f->port);
}

#define LIVE_MAX 4096

/* The box's boot (wall clock), from /proc/stat: its own, as every program
 * in it reads it (`uptime -s`, `who -b`); -1 when unreadable. */
static long long boot_time(void)
{
	long long btime = -1;
	char line[512];
	FILE *f = fopen("/proc/stat", "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	fclose(f);
	return btime;
}

/* The box's processes and when each started (wall clock: the boot time
 * plus its start in ticks since the boot). */
static size_t live_procs(long long btime, struct live_proc *out, size_t cap)
{
	long tck = sysconf(_SC_CLK_TCK);
	char line[512];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	if (btime < 0 || tck <= 0 || (d = opendir("/proc")) == NULL)
		return 0;
	while (n < cap && (e = readdir(d)) != NULL) {
		char *end, path[64];
		long pid = strtol(e->d_name, &end, 10);
		unsigned long long ticks;
		ssize_t len;
		int fd;

		if (*end != '\0' || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		len = read(fd, line, sizeof(line) - 1);
		close(fd);
		if (len <= 0)
			continue;
		line[len] = '\0';
		/* After the name's ')': field 3 on; the start is field 22. */
		char *p = strrchr(line, ')');
		for (int field = 2; p != NULL && field < 21; field++)
			p = strchr(p + 1, ' ');
		if (p == NULL || sscanf(p + 1, "%llu", &ticks) != 1)
			continue;
		out[n++] = (struct live_proc){
		    (pid_t)pid, (time_t)(btime + (long long)(ticks / (unsigned long long)tck))};
	}
	closedir(d);
	return n;
}

/* The first of HELLO's earlier failures that goes into the box's logs: a
 * connection that began before the box's boot would have its lines in the
 * log before the boot's, in the part Hermes keeps as the box had it at
 * ready (agent_authlog.c), and its btmp records before the history's last
 * ones. Written after them, the file's times would run backwards (a tell
 * anyone can read off the file); left out, the box is a server whose
 * attacker came before its reboot. */
static uint32_t first_after_boot(const struct agent_hello *h, uint32_t own, long long btime)
{
	if (btime < 0)
		return 0;
	for (uint32_t i = 0; i < own; i++)
		if ((i == 0 || h->failures[i].port != h->failures[i - 1].port) &&
		    (long long)h->failures[i].time >= btime)
			return i; /* the first run begun after the boot */
	return own;
}

/* HELLO's failures, oldest first: earlier connections' (a run of one port
 * each), then this one's (its port, at the end). An earlier connection's
 * sshd had a PID of its own, lower the earlier it came (past_pid.h). */
static void log_failures(const struct agent_login *l, const struct agent_hello *h)
{
	static struct live_proc procs[LIVE_MAX];
	uint32_t n = h->nfailures, own = n, runs = 0, start[AGENT_MAX_FAILURES], skip;
	pid_t pids[AGENT_MAX_FAILURES], below = l->pid;
	long long btime = -1;
	size_t nprocs = 0;

	while (own > 0 && h->failures[own - 1].port == l->client_port)
		own--;
	if (own > 0) /* earlier connections' failures: the boot is needed */
		btime = boot_time();
	skip = first_after_boot(h, own, btime);
	for (uint32_t i = skip; i < own; i++)
		if (i == skip || h->failures[i].port != h->failures[i - 1].port)
			start[runs++] = h->failures[i].time;
	if (runs > 0)
		nprocs = live_procs(btime, procs, LIVE_MAX);
	/* From the newest run back. */
	for (uint32_t r = runs; r > 0; r--) {
		uint32_t r6 = draw(6);
		pid_t p = past_pid_choose(procs, nprocs, (time_t)start[r - 1], below, r6);
		if (p == 0) /* no room among the live ones: a guess */
			p = below - 3 - (pid_t)r6;
		below = pids[r - 1] = p > 1 ? p : 2;
	}
	for (uint32_t i = skip, run = 0; i < own; i++) {
		int first = i == skip || h->failures[i].port != h->failures[i - 1].port;
		if (i > skip && first)
			run++;
		struct teller t = {l, pids[run], 1};
		log_failure(&t, &h->failures[i], first ? NULL : &h->failures[i - 1]);
		if (i + 1 == own || h->failures[i + 1].port != h->failures[i].port)
			log_closed(&t, &h->failures[i]);
	}
	/* Into the file before this connection's lines reach it. */
	authlog_past_flush(l);
	for (uint32_t i = own; i < n; i++) {
		struct teller t = {l, l->pid, 0};
		log_failure(&t, &h->failures[i], i == own ? NULL : &h->failures[i - 1]);
	}
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

	log_failures(l, h);
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
