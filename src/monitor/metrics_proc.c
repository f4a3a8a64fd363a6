/*
 * metrics_proc: the metrics' server program seen from the monitor; see
 * metrics_proc.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jmsg.h"
#include "log.h"
#include "metrics_proc.h"
#include "syslog_msg.h"
#include "util.h"

#define RESTART_MS 1000
#define TEXT_MAX   (128 * 1024) /* hermes-metrics takes no more */
#define ASK_MIN_MS 250          /* it asks once a second; a child that asks more gets less */

struct metrics_proc {
	struct loop *loop;
	struct metrics_proc_settings set;
	metrics_text_cb text;
	void *arg;
	char prog[PATH_MAX];
	char address[300];
	int listen_fd;
	int ctl;
	pid_t pid;
	uint64_t restart_timer;
	int64_t answered_ms; /* when the last text went */
	bool stopping;
};

static void start(struct metrics_proc *mp);

static int find_prog(char *out, size_t cap, const char *dir)
{
	snprintf(out, cap, "%s/hermes-metrics", dir);
	if (access(out, X_OK) == 0)
		return 0;
	snprintf(out, cap, "%s/hermes-metrics", HERMES_LIBEXECDIR);
	if (access(out, X_OK) == 0)
		return 0;
	error("hermes-metrics is neither in %s nor in %s", dir, HERMES_LIBEXECDIR);
	return -1;
}

int metrics_listen_split(const char *listen, char *host, size_t cap, char port[6], const char **why)
{
	char url[300];
	struct syslog_target t;

	/* The config checked it as syslog's tcp://HOST:PORT. */
	snprintf(url, sizeof(url), "tcp://%s", listen);
	if (syslog_target_parse(url, &t, why) < 0)
		return -1;
	size_t n = strlen(t.host);
	bool bracketed = n >= 2 && t.host[0] == '[' && t.host[n - 1] == ']';
	snprintf(host, cap, "%.*s", (int)(bracketed ? n - 2 : n), t.host + bracketed);
	memcpy(port, t.port, sizeof(t.port));
	return 0;
}

/* Binds metrics.listen. */
static int bind_listen(struct metrics_proc *mp)
{
	char host[256], service[6];
	const char *why = NULL;

	if (metrics_listen_split(mp->set.listen, host, sizeof(host), service, &why) < 0) {
		error("metrics.listen %s: %s", mp->set.listen, why);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(host, service, &hints, &res);
	if (r != 0) {
		error("metrics.listen %s: %s", mp->set.listen, gai_strerror(r));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		error("metrics.listen %s: %s", mp->set.listen, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in->sin6_addr, ip, sizeof(ip));
			port = ntohs(in->sin6_port);
		}
	}
	snprintf(mp->address, sizeof(mp->address), ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
	         ip, port);
	mp->listen_fd = fd;
	return 0;
}

static void on_restart(struct loop *l, void *arg)
{
	struct metrics_proc *mp = arg;
	mp->restart_timer = 0;
	start(mp);
}

static void stopped(struct metrics_proc *mp)
{
	if (mp->ctl >= 0) {
		loop_del_fd(mp->loop, mp->ctl);
		close(mp->ctl);
		mp->ctl = -1;
	}
}

/* The child asked (any datagram): it gets the whole text. */
static void on_ctl(struct loop *l, int fd, int events, void *arg)
{
	struct metrics_proc *mp = arg;
	char ask[16];
	ssize_t n = recv(fd, ask, sizeof(ask), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* it is gone; SIGCHLD says how */
		stopped(mp);
		return;
	}
	/* A child taken over could ask without end: the text costs the
	 * monitor's loop, so it is made four times a second at most. */
	int64_t now = util_mono_ms();
	if (mp->answered_ms != 0 && now - mp->answered_ms < ASK_MIN_MS) {
		debug("metrics: asked again within %d ms: not answered", ASK_MIN_MS);
		return;
	}
	mp->answered_ms = now;
	struct buf b;
	buf_init(&b);
	int r = mp->text(mp->arg, &b);
	if (r == 0 && b.len > TEXT_MAX)
		r = -EMSGSIZE;
	if (r < 0) {
		error("metrics: the text: %s", strerror(-r));
		buf_reset(&b);
		r = buf_putf(&b, "# no metrics: %s\n", strerror(-r));
	}
	if (r == 0 && send(fd, b.data, b.len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		debug("metrics: the text was not sent: %s", strerror(errno));
	buf_free(&b);
}

static void start(struct metrics_proc *mp)
{
	int sv[2];

	if (mp->stopping)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		error("metrics: socketpair: %s", strerror(errno));
		mp->restart_timer = loop_add_timer(mp->loop, RESTART_MS, on_restart, mp);
		return;
	}
	int size = TEXT_MAX + 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	pid_t pid = fork();
	if (pid == 0) {
		/* The listening socket on 3, its end of ours on 4; stdin and
		 * stdout /dev/null, stderr the daemon's (for its log). */
		int a = fcntl(mp->listen_fd, F_DUPFD, 100), b = fcntl(sv[1], F_DUPFD, 100);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (a < 0 || b < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(a, 3) < 0 || dup2(b, 4) < 0)
			_exit(127);
		closefrom(5);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char *argv[] = {"hermes-metrics", NULL};
		execv(mp->prog, argv);
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		error("metrics: fork: %s", strerror(errno));
		close(sv[0]);
		mp->restart_timer = loop_add_timer(mp->loop, RESTART_MS, on_restart, mp);
		return;
	}
	mp->pid = pid;
	mp->ctl = sv[0];
	json_t *m = json_pack("{s:s, s:I, s:I, s:i, s:b}", "root", mp->set.root, "uid",
	                      (json_int_t)mp->set.uid, "gid", (json_int_t)mp->set.gid, "log_level",
	                      mp->set.log_level, "log_json", mp->set.log_json);
	int r = m != NULL ? jmsg_send(mp->ctl, m, -1) : -ENOMEM;
	json_decref(m);
	if (r < 0)
		error("metrics: start message: %s", strerror(-r));
	fcntl(mp->ctl, F_SETFL, fcntl(mp->ctl, F_GETFL) | O_NONBLOCK);
	loop_add_fd(mp->loop, mp->ctl, LOOP_READ, on_ctl, mp);
	debug("hermes-metrics started (pid %d)", (int)pid);
}

struct metrics_proc *metrics_proc_new(struct loop *l, const struct metrics_proc_settings *set,
                                      metrics_text_cb text, void *arg)
{
	struct metrics_proc *mp = calloc(1, sizeof(*mp));

	if (mp == NULL)
		return NULL;
	mp->loop = l;
	mp->set = *set;
	mp->text = text;
	mp->arg = arg;
	mp->listen_fd = mp->ctl = -1;
	if (find_prog(mp->prog, sizeof(mp->prog), set->dir) < 0 || bind_listen(mp) < 0) {
		metrics_proc_free(mp);
		return NULL;
	}
	info("metrics on http://%s/metrics", mp->address);
	start(mp);
	return mp;
}

bool metrics_proc_reaped(struct metrics_proc *mp, pid_t pid, int status)
{
	if (mp == NULL || pid != mp->pid)
		return false;
	mp->pid = 0;
	stopped(mp);
	if (mp->stopping)
		return true;
	if (WIFSIGNALED(status))
		error("hermes-metrics killed by signal %d; starting it again", WTERMSIG(status));
	else
		error("hermes-metrics exited with status %d; starting it again",
		      WEXITSTATUS(status));
	mp->restart_timer = loop_add_timer(mp->loop, RESTART_MS, on_restart, mp);
	return true;
}

void metrics_proc_stop(struct metrics_proc *mp)
{
	if (mp == NULL)
		return;
	mp->stopping = true;
	loop_del_timer(mp->loop, mp->restart_timer);
	mp->restart_timer = 0;
	if (mp->pid > 0)
		kill(mp->pid, SIGTERM);
}

const char *metrics_proc_address(const struct metrics_proc *mp)
{
	return mp->address;
}

void metrics_proc_free(struct metrics_proc *mp)
{
	if (mp == NULL)
		return;
	metrics_proc_stop(mp);
	stopped(mp);
	if (mp->listen_fd >= 0)
		close(mp->listen_fd);
	free(mp);
}
