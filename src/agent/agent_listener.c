/*
 * agent_listener: the box's sshd listener. Listens on port 22 (IPv4, and
 * IPv6 when the box has it), forks one process per accepted connection
 * (conn_main) and reaps them. Whatever a connection's process does, the
 * listener only sees it exit.
 */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

static int listen_on(int family)
{
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_storage ss;
	socklen_t len;

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(AGENT_PORT);
		a->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(AGENT_PORT);
		a->sin6_addr = in6addr_any;
		len = sizeof(*a);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
		int e = errno;

		if (family == AF_INET || e != EAFNOSUPPORT)
			fprintf(stderr, "Bind to port %d on %s failed: %s.\n", AGENT_PORT,
			        family == AF_INET ? "0.0.0.0" : "::", strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

/* As sshd without -D: the parent returns at once, the child goes on alone. */
static int detach(void)
{
	pid_t pid = fork();
	int null;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	setsid();
	if (chdir("/") < 0)
		return -1;
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	return 0;
}

/* Under systemd (Debian's ssh.service is Type=notify, as its sshd is
 * patched to be): says the listener is ready, as sd_notify(3) would, then
 * drops NOTIFY_SOCKET so that nothing started from here inherits it. */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	char msg[64];
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (n = strlen(path)) >= sizeof(sun.sun_path))
		goto out;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0'; /* an abstract socket */
	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld", (long)getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun,
		       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
		close(fd);
	}
out:
	unsetenv("NOTIFY_SOCKET");
}

static void serve(int lfd, int other, unsigned *next_session)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;
		unsigned id;
		pid_t pid;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				usleep(100 * 1000); /* let connections end */
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		id = (*next_session)++;
		pid = fork();
		if (pid == 0) {
			close(lfd);
			if (other >= 0)
				close(other);
			conn_main(fd, id);
		}
		close(fd);
	}
}

int listener_main(int argc, char **argv, int foreground)
{
	char cmd[256] = "";
	struct sigaction sa;
	struct pollfd p[2];
	unsigned next_session = 1;
	int n = 0;

	if (argv[0][0] != '/') {
		fputs("sshd re-exec requires execution with an absolute path\n", stderr);
		return 1;
	}
	for (int i = 0; i < argc; i++) {
		size_t used = strlen(cmd);

		snprintf(cmd + used, sizeof(cmd) - used, "%s%s", i ? " " : "", argv[i]);
	}
	title_init(argc, argv, 1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reap;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	p[0].fd = listen_on(AF_INET);
	p[1].fd = listen_on(AF_INET6);
	if (p[0].fd < 0 && p[1].fd < 0) {
		fputs("Cannot bind any address.\n", stderr);
		return 255;
	}
	if (!foreground && detach() < 0)
		return 255;
	notify_ready();
	title_set("sshd: %s [listener] 0 of 10-100 startups", cmd);
	for (int i = 0; i < 2; i++)
		p[i].events = POLLIN;
	for (;;) {
		n = poll(p, 2, -1);
		if (n < 0) {
			if (errno != EINTR)
				usleep(100 * 1000);
			continue;
		}
		for (int i = 0; i < 2; i++)
			if (p[i].fd >= 0 && (p[i].revents & POLLIN))
				serve(p[i].fd, p[1 - i].fd, &next_session);
	}
}
