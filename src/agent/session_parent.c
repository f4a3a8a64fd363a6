/*
 * session_parent: the agent's one-shot mode, `sshd -R TOKEN [-s COLSxROWS]
 * [-c COMMAND]`, for Hermes's docker-exec fallback (a monitor that cannot
 * enter the box's network namespace runs every channel as a docker exec of
 * this). It is the first process of the exec and stands where sshd's
 * per-session process stands on a real server:
 *   - its title is "sshd: USER@pts/N" (or "@notty"), the shell is its child
 *     (no "PPid 0" shell), the login shell is "-bash" in its own session with
 *     the terminal as its controlling tty, SSH_TTY is set, and a tty session
 *     appears in utmp/wtmp (who, w, last);
 *   - it tells Hermes how the child ended. Docker reports only an exit code,
 *     128+n for a process killed by signal n as for `exit 128+n`; so when the
 *     child is killed by a signal this writes "signal N [core]" to
 *     STATUS_DIR/TOKEN, which Hermes reads through the archive API.
 *
 * -s sizes the terminal before the shell starts, as sshd does from the
 * client's pty request (Docker can only resize an exec once it runs).
 * See docs/session-parent.md.
 */
#include "agent.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utmpx.h>

#define STATUS_DIR "/run/sshd"
#define STALE_SECS 60
#define TOKEN_MIN  8
#define TOKEN_MAX  64

static int token_ok(const char *t)
{
	size_t n = strlen(t);

	if (n < TOKEN_MIN || n > TOKEN_MAX)
		return 0;
	return strspn(t, "0123456789abcdef") == n;
}

/* Status files are read by Hermes right after the exec ends; ones left from
 * earlier sessions in this container are removed. */
static void remove_stale(void)
{
	DIR *d = opendir(STATUS_DIR);
	struct dirent *de;
	time_t now = time(NULL);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (!token_ok(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && now - st.st_mtime > STALE_SECS)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static void write_status(const char *token, int sig, int core)
{
	char path[sizeof(STATUS_DIR) + TOKEN_MAX + 8], tmp[sizeof(path) + 4], text[32];
	int fd, n;

	if (mkdir(STATUS_DIR, 0755) < 0 && errno != EEXIST)
		return;
	snprintf(path, sizeof(path), "%s/%s", STATUS_DIR, token);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	n = snprintf(text, sizeof(text), "signal %d%s\n", sig, core ? " core" : "");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, text, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}

static void ensure_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd >= 0)
		close(fd);
}

/* The utmp/wtmp record of a tty session, as login(3) and sshd write it. */
static void record_login(struct utmpx *ut, const char *line, const char *user, pid_t pid)
{
	const char *client = getenv("SSH_CLIENT");
	char host[sizeof(ut->ut_host)] = "";
	struct timeval tv;
	size_t n = strlen(line);

	memset(ut, 0, sizeof(*ut));
	if (client != NULL)
		snprintf(host, sizeof(host), "%.*s", (int)strcspn(client, " "), client);
	ut->ut_type = USER_PROCESS;
	ut->ut_pid = pid;
	strncpy(ut->ut_line, line, sizeof(ut->ut_line));
	/* The last four characters of the line: "ts/0" for pts/0. */
	strncpy(ut->ut_id, n > sizeof(ut->ut_id) ? line + n - sizeof(ut->ut_id) : line,
	        sizeof(ut->ut_id));
	strncpy(ut->ut_user, user, sizeof(ut->ut_user));
	strncpy(ut->ut_host, host, sizeof(ut->ut_host));
	if (inet_pton(AF_INET, host, ut->ut_addr_v6) != 1)
		(void)inet_pton(AF_INET6, host, ut->ut_addr_v6);
	ut->ut_session = getsid(0);
	gettimeofday(&tv, NULL);
	ut->ut_tv.tv_sec = (int32_t)tv.tv_sec;
	ut->ut_tv.tv_usec = (int32_t)tv.tv_usec;
	ensure_file(_PATH_UTMP, 0664);
	ensure_file(_PATH_WTMP, 0664);
	setutxent();
	pututxline(ut);
	endutxent();
	updwtmpx(_PATH_WTMP, ut);
}

static void record_logout(struct utmpx *ut)
{
	struct timeval tv;

	ut->ut_type = DEAD_PROCESS;
	memset(ut->ut_user, 0, sizeof(ut->ut_user));
	memset(ut->ut_host, 0, sizeof(ut->ut_host));
	gettimeofday(&tv, NULL);
	ut->ut_tv.tv_sec = (int32_t)tv.tv_sec;
	ut->ut_tv.tv_usec = (int32_t)tv.tv_usec;
	setutxent();
	pututxline(ut);
	endutxent();
	updwtmpx(_PATH_WTMP, ut);
}

/* In the child: a session of its own with the terminal (if any) as its
 * controlling tty, then the user's shell as sshd runs it. */
static void run_shell(const char *shell, const char *command, int tty)
{
	const char *base = strrchr(shell, '/') ? strrchr(shell, '/') + 1 : shell;
	char login_name[256];

	signal(SIGHUP, SIG_DFL);
	setsid();
	if (tty)
		(void)ioctl(0, TIOCSCTTY, 0);
	if (command != NULL) {
		execl(shell, base, "-c", command, (char *)NULL);
	} else {
		snprintf(login_name, sizeof(login_name), "-%s", base);
		execl(shell, login_name, (char *)NULL);
	}
	fprintf(stderr, "%s: %s\n", shell, strerror(errno));
	_exit(127);
}

/* "COLSxROWS", each 1..9999. */
static int size_ok(const char *s, struct winsize *ws)
{
	char *end;
	unsigned long cols = strtoul(s, &end, 10), rows;

	if (end == s || *end != 'x' || cols < 1 || cols > 9999)
		return 0;
	s = end + 1;
	rows = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || rows < 1 || rows > 9999)
		return 0;
	memset(ws, 0, sizeof(*ws));
	ws->ws_col = (unsigned short)cols;
	ws->ws_row = (unsigned short)rows;
	return 1;
}

int session_parent_main(int argc, char **argv)
{
	const char *shell = getenv("SHELL"), *user = getenv("USER");
	char token[TOKEN_MAX + 1], title[128], line[64] = "";
	char *command = NULL;
	struct winsize ws;
	int tty, status, sized = 0, i = 3;
	struct utmpx ut;
	pid_t pid;

	if (argc < 3 || strcmp(argv[1], "-R") != 0 || !token_ok(argv[2]))
		return cli_main(argc, argv);
	snprintf(token, sizeof(token), "%s", argv[2]);
	if (i + 1 < argc && strcmp(argv[i], "-s") == 0) {
		if (!size_ok(argv[i + 1], &ws))
			return cli_main(argc, argv);
		sized = 1;
		i += 2;
	}
	if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
		if ((command = strdup(argv[i + 1])) == NULL)
			return 1;
		i += 2;
	}
	if (i != argc)
		return cli_main(argc, argv);
	if (shell == NULL || shell[0] != '/')
		shell = "/bin/bash";
	if (user == NULL || user[0] == '\0')
		user = "root";

	tty = isatty(0);
	if (tty && sized)
		(void)ioctl(0, TIOCSWINSZ, &ws);
	if (tty) {
		const char *name = ttyname(0);

		if (name != NULL && strncmp(name, "/dev/", 5) == 0)
			snprintf(line, sizeof(line), "%s", name + 5);
		if (name != NULL)
			setenv("SSH_TTY", name, 1);
		/* Give up the terminal so the shell can take it as the leader
		 * of its own session; the hangup this sends is ours to ignore. */
		signal(SIGHUP, SIG_IGN);
		(void)ioctl(0, TIOCNOTTY);
	}
	snprintf(title, sizeof(title), "sshd: %s@%s", user, line[0] ? line : "notty");
	title_init(argc, argv, 0);
	title_set("%s", title);
	remove_stale();

	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 255;
	}
	if (pid == 0)
		run_shell(shell, command, tty);
	if (line[0])
		record_login(&ut, line, user, pid);

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 255;
	if (line[0])
		record_logout(&ut);
	if (WIFSIGNALED(status)) {
		write_status(token, WTERMSIG(status), WCOREDUMP(status));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}
