/*
 * hermes-sinkhole: the program; see sinkhole.h.
 *
 * Started by the monitor (sinkhole_proc.c) in the sinkhole's network
 * namespace, as root, with the descriptors of sinkhole.h. Its first
 * message from the monitor says how to confine itself and its limits;
 * then it chroots to the empty directory, takes the workers' user, drops
 * every capability, sets no_new_privs and a filter that kills it at any
 * attempt to make a socket, connect, exec, fork or the like. It serves
 * the boxes until the monitor's socket closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox_util.h"
#include "sink_tls.h"
#include "sinkhole.h"

static void confine(const json_t *init)
{
	const char *what = sandbox_enter_program("hermes-sinkhol",
	                                         json_string_value(json_object_get(init, "root")),
	                                         json_integer_value(json_object_get(init, "uid")),
	                                         json_integer_value(json_object_get(init, "gid")));
	int r;

	if (what == NULL &&
	    (r = sandbox_deny_filter(sandbox_program_denied, sandbox_program_denied_n)) < 0) {
		errno = -r;
		what = "seccomp";
	}
	if (what != NULL) {
		error("sinkhole sandbox: %s: %s", what, strerror(errno));
		exit(1);
	}
}

static int setting(const json_t *init, const char *name, int dflt)
{
	json_int_t v = json_integer_value(json_object_get(init, name));
	return v >= 1 && v <= 1000000 ? (int)v : dflt;
}

static void on_ctl(struct loop *l, int fd, int events, void *arg)
{
	struct sink *s = arg;

	for (;;) {
		json_t *m;
		int body, r = jmsg_recv(fd, &m, &body);
		if (r == -EAGAIN)
			return;
		if (r == 0 || (r < 0 && r != -EBADMSG)) {
			loop_stop(l); /* the monitor is gone */
			return;
		}
		if (r < 0)
			continue;
		const char *t = json_string_value(json_object_get(m, "t"));
		if (t != NULL && strcmp(t, "fetched") == 0) {
			json_int_t id = json_integer_value(json_object_get(m, "id"));
			json_int_t status = json_integer_value(json_object_get(m, "status"));
			const char *type = json_string_value(json_object_get(m, "type"));
			if (status < 100 || status > 599)
				status = 502;
			if (!sink_tftp_fetched(s, (uint64_t)id, (int)status, body) &&
			    !sink_ftp_fetched(s, (uint64_t)id, (int)status, body))
				sink_tcp_fetched(s, (uint64_t)id, (int)status, type, body);
		} else if (body >= 0) {
			close(body);
		}
		json_decref(m);
	}
}

int main(int argc, char **argv)
{
	struct sink s = {.ctl = SINK_FD_CTL};
	json_t *init = NULL;
	int fd, r;

	(void)argc;
	(void)argv;
	log_setup(LOG_INFO, 0, "sinkhole");
	/* The monitor's first message; the socket is blocking until then. */
	do
		r = jmsg_recv(SINK_FD_CTL, &init, &fd);
	while (r == -EBADMSG);
	if (r <= 0) {
		error("sinkhole: no start message: %s", r == 0 ? "end of stream" : strerror(-r));
		return 1;
	}
	if (fd >= 0)
		close(fd);
	json_t *lvl = json_object_get(init, "log_level");
	log_setup(json_is_integer(lvl) ? (int)json_integer_value(lvl) : LOG_INFO,
	          json_is_true(json_object_get(init, "log_json")), "sinkhole");
	s.set.connect_rate = setting(init, "connect_rate", 20);
	s.set.max_connections = setting(init, "max_connections", 64);
	s.set.event_rate = setting(init, "event_rate", 50);
	s.set.fetch_timeout = setting(init, "fetch_timeout", 30);
	const char *ca = json_string_value(json_object_get(init, "ca_cert"));
	const char *ca_key = json_string_value(json_object_get(init, "ca_key"));
	char err[200];
	if (ca != NULL && ca_key != NULL && sink_tls_init(ca, ca_key, err, sizeof(err)) < 0)
		warn("sinkhole: no HTTPS: %s", err);
	else if (ca == NULL)
		warn("sinkhole: no CA: TLS connections are only logged");
	/* The key's copy in the message goes with it. */
	json_t *k = json_object_get(init, "ca_key");
	if (json_is_string(k))
		explicit_bzero((char *)json_string_value(k), json_string_length(k));
	signal(SIGPIPE, SIG_IGN);
	/* Times in UTC, without the zone file it could not read once confined. */
	setenv("TZ", "UTC0", 1);
	tzset();
	confine(init);
	json_decref(init);

	if ((s.loop = loop_new()) == NULL)
		return 1;
	int fl = fcntl(SINK_FD_CTL, F_GETFL);
	fcntl(SINK_FD_CTL, F_SETFL, fl | O_NONBLOCK);
	loop_add_fd(s.loop, SINK_FD_CTL, LOOP_READ, on_ctl, &s);
	sink_tcp_start(&s, SINK_FD_TCP);
	sink_udp_start(&s, SINK_FD_DNS, SINK_FD_UDP, SINK_FD_TFTP, SINK_FD_ICMP);
	debug("sinkhole serving");
	loop_run(s.loop);
	loop_free(s.loop);
	return 0;
}
