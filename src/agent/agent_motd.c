/*
 * agent_motd: what a pty login shows before the shell's prompt, as pam_motd
 * and sshd show it: the output of /etc/update-motd.d's scripts (in name
 * order, 2 s for all of them), /etc/motd, then "Last login: ... from ...".
 * Runs in the channel's child with the pty as fds 0..2, before exec.
 */
#include "agent.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MOTD_DIR     "/etc/update-motd.d"
#define MOTD_FILE    "/etc/motd"
#define MOTD_MS      2000
#define MOTD_SCRIPTS 64

/* run-parts' rule for names: letters, digits, '_' and '-' only. */
static int name_ok(const char *n)
{
	return n[0] != '\0' && strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                 "0123456789_-") == strlen(n);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one script with its output on the pty; kills it at the deadline. */
static void run_script(const char *path, int64_t deadline)
{
	static char *const env[] = {
	    (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	pid_t pid = fork();

	if (pid < 0)
		return;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 2);
		}
		setpgid(0, 0);
		execve(path, (char *[]){(char *)path, NULL}, env);
		_exit(127);
	}
	for (;;) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		if (now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
		usleep(5000);
	}
}

static void update_motd(void)
{
	int64_t deadline = now_ms() + MOTD_MS;
	char *names[MOTD_SCRIPTS];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(MOTD_DIR);

	if (d == NULL)
		return;
	while (n < MOTD_SCRIPTS && (de = readdir(d)) != NULL)
		if (name_ok(de->d_name) && (names[n] = strdup(de->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), by_name);
	for (int i = 0; i < n; i++) {
		char path[512];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", MOTD_DIR, names[i]);
		if (now_ms() < deadline && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(path, X_OK) == 0)
			run_script(path, deadline);
		free(names[i]);
	}
}

static void cat_file(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t total = 0;

	if (fd < 0)
		return;
	while (total < 64 * 1024 && (n = read(fd, buf, sizeof(buf))) > 0) {
		if (write_all(1, buf, (size_t)n) < 0)
			break;
		total += (size_t)n;
	}
	close(fd);
}

void motd_print(const struct agent_lastlog *prev)
{
	update_motd();
	cat_file(MOTD_FILE);
	if (prev != NULL) {
		char when[64];
		struct tm tm;

		localtime_r(&prev->time, &tm);
		strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);
		if (prev->host[0] != '\0')
			dprintf(1, "Last login: %s from %s\n", when, prev->host);
		else
			dprintf(1, "Last login: %s\n", when);
	}
}
