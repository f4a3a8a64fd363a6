/*
 * agent_spawn: the forked child of a channel, from fork to exec. It becomes
 * what sshd's session child becomes: a session of its own (with the pty as
 * its controlling terminal), default signals, umask 022, the user's ids and
 * groups, the home directory as cwd, a fresh environment; then the MOTD and
 * "Last login" for a pty shell, and the user's shell: "-bash" for a login,
 * "bash -c COMMAND" for a command or the sftp subsystem.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_GROUPS 64

static void __attribute__((noreturn)) fail(const char *what)
{
	dprintf(2, "%s: %s\n", what, strerror(errno));
	_exit(1);
}

/* The pty's slave, or the three pipe ends, as fds 0, 1 and 2. Each is first
 * copied above 2 so that no dup2 overwrites one still to be moved. */
static void std_fds(const struct agent_spawn *s)
{
	int fds[3] = {s->slave, s->slave, s->slave};

	if (!s->pty) {
		fds[0] = s->in;
		fds[1] = s->out;
		fds[2] = s->err;
	}
	for (int i = 0; i < 3; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			_exit(1);
	/* A terminal without job control would still work: no check. */
	if (s->pty)
		(void)ioctl(fds[0], TIOCSCTTY, 0);
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(1);
}

static void become_user(const struct agent_user *u)
{
	gid_t groups[MAX_GROUPS];
	int n = user_groups(u->name, u->gid, groups, MAX_GROUPS);

	if (setgroups((size_t)n, groups) < 0 && getuid() == 0)
		fail("setgroups");
	if (setgid(u->gid) < 0)
		fail("setgid");
	if (setuid(u->uid) < 0)
		fail("setuid");
}

void spawn_child(const struct agent_login *l, const struct agent_spawn *s)
{
	const char *shell = l->user.shell;
	const char *base = strrchr(shell, '/') ? strrchr(shell, '/') + 1 : shell;
	char login_name[sizeof(l->user.shell) + 1];
	struct agent_env env;
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	std_fds(s);
	close_from(3);
	umask(022);
	env_build(&env, l, s);
	become_user(&l->user);
	if (chdir(l->user.home) < 0) {
		dprintf(2, "Could not chdir to home directory %s: %s\n", l->user.home,
		        strerror(errno));
		if (chdir("/") < 0)
			_exit(1);
	}
	if (s->pty && s->kind == AGENT_KIND_SHELL)
		motd_print(s->lastlog);
	if (s->command == NULL) {
		snprintf(login_name, sizeof(login_name), "-%s", base);
		execve(shell, (char *[]){login_name, NULL}, env.v);
	} else {
		execve(shell, (char *[]){(char *)base, (char *)"-c", (char *)s->command, NULL},
		       env.v);
	}
	fail(shell);
}
