/*
 * hermes-fetch: one live fetch for the sinkhole (docs/sinkhole.md, "Live
 * fetching"). The monitor execs it as the workers' user with
 * no_new_privs, in the host's network, for one URL a box asked for:
 *
 *   hermes-fetch [--connect-to NAME:ADDR:PORT]... [--port N]... --max-bytes N
 *                --timeout S --rate BYTES_PER_S [--user-agent UA] URL
 *
 * The body goes to standard output (a memfd of the monitor's); one JSON
 * line to fd 3 says how it went: {"status", "type", "bytes", "url" (the
 * last, after redirects), "address", "error"}.
 *
 * Bounds: GET only (HTTP, HTTPS, FTP; FTP passive), at most five
 * redirects, --max-bytes, --timeout for the whole, --rate. Every connection
 * (redirects and FTP's data connections too) is checked where it is made:
 * it goes to an operator's --connect-to address, or to a global unicast
 * address (fetch_addr.h) on a --port; anything else is refused before a
 * packet leaves. (An FTP URL's data connections go to its server's address
 * on the port it names.) Certificates are not checked: what a box downloads is
 * kept whoever serves it.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fetch_addr.h"
#include "landlock.h"
#include "sandbox_util.h"

#define MAX_TO    64
#define MAX_PORTS 32
#define RESULT_FD 3

static struct {
	struct curl_slist *connect_to;
	struct sockaddr_in to[MAX_TO]; /* the --connect-to addresses */
	size_t n_to;
	int ports[MAX_PORTS];
	size_t n_ports;
	long long max_bytes, got;
	long timeout;
	long long rate;
	const char *ua, *url;
	char refused[128];
	bool too_big;
	bool ftp; /* an FTP URL: its data connections go to the server's other ports */
} f;

static const char *const denied[] = {
#ifndef HERMES_SANITIZE
    /* (A sanitizer build's leak check stops the threads with ptrace.) */
    "ptrace",
#endif
    "execve",
    "execveat",
    "fork",
    "vfork",
    "process_vm_readv",
    "process_vm_writev",
    "kill",
    "tkill",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    "listen",
    "accept",
    "accept4",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "mount",
    "umount2",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fspick",
    "chroot",
    "pivot_root",
    "unshare",
    "setns",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "iopl",
    "ioperm",
    "swapon",
    "swapoff",
    "reboot",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "sethostname",
    "setdomainname",
    "acct",
    "quotactl",
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
    "personality",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "setfsuid",
    "setfsgid",
    "capset",
    "creat",
    "mkdir",
    "mkdirat",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "truncate",
    "chmod",
    "fchmodat",
    "chown",
    "fchownat",
    "lchown",
    "mknod",
    "mknodat",
};

/* Reads only what name resolution and TLS read; writes nothing. */
static const struct fs_rule reads[] = {
    {"/etc", FS_READ},
    {"/usr", FS_READ},
    {"/lib", FS_READ},
    {"/lib64", FS_READ},
    {"/run/systemd/resolve", FS_READ},
#ifdef HERMES_SANITIZE
    /* a sanitizer build's leak check reads it */
    {"/proc", FS_READ},
#endif
};

static void confine(void)
{
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sandbox_keep_caps(0) < 0) {
		fprintf(stderr, "hermes-fetch: no_new_privs: %s\n", strerror(errno));
		exit(2);
	}
	if ((r = landlock_confine(reads, sizeof(reads) / sizeof(reads[0]))) < 0) {
		fprintf(stderr, "hermes-fetch: landlock: %s\n", strerror(-r));
		exit(2);
	}
	if ((r = sandbox_deny_filter(denied, sizeof(denied) / sizeof(denied[0]))) < 0) {
		fprintf(stderr, "hermes-fetch: seccomp: %s\n", strerror(-r));
		exit(2);
	}
}

static bool port_allowed(int port)
{
	for (size_t i = 0; i < f.n_ports; i++)
		if (f.ports[i] == port)
			return true;
	return false;
}

static bool operator_target(const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

	if (sa->sa_family != AF_INET || len < (socklen_t)sizeof(*s4))
		return false;
	for (size_t i = 0; i < f.n_to; i++)
		if (f.to[i].sin_addr.s_addr == s4->sin_addr.s_addr &&
		    (f.to[i].sin_port == s4->sin_port || f.ftp))
			return true;
	return false;
}

static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	const struct sockaddr *sa = &a->addr;
	int port = 0;
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
	} else if (sa->sa_family == AF_INET6) {
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host,
		          sizeof(host));
	}
	if (!operator_target(sa, a->addrlen) &&
	    !(fetch_addr_public(sa, a->addrlen) && port_allowed(port))) {
		snprintf(f.refused, sizeof(f.refused), "refused to connect to %s port %d", host,
		         port);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	size_t len = size * n, done = 0;

	if (f.got + (long long)len > f.max_bytes) {
		f.too_big = true;
		return 0; /* curl stops: CURLE_WRITE_ERROR */
	}
	while (done < len) {
		ssize_t w = write(STDOUT_FILENO, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		done += (size_t)w;
	}
	f.got += (long long)len;
	return len;
}

/* NAME:ADDR:PORT */
static int add_connect_to(const char *arg)
{
	char name[300], addr[INET_ADDRSTRLEN], entry[400];
	int port;
	const char *c1 = strchr(arg, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	if (f.n_to == MAX_TO || c2 == NULL || (size_t)(c1 - arg) >= sizeof(name) ||
	    (size_t)(c2 - c1 - 1) >= sizeof(addr))
		return -1;
	memcpy(name, arg, (size_t)(c1 - arg));
	name[c1 - arg] = '\0';
	memcpy(addr, c1 + 1, (size_t)(c2 - c1 - 1));
	addr[c2 - c1 - 1] = '\0';
	port = atoi(c2 + 1);
	struct sockaddr_in *to = &f.to[f.n_to];
	to->sin_family = AF_INET;
	to->sin_port = htons((uint16_t)port);
	if (port < 1 || port > 65535 || inet_pton(AF_INET, addr, &to->sin_addr) != 1)
		return -1;
	f.n_to++;
	/* Any port of the name: "NAME::ADDR:PORT". */
	snprintf(entry, sizeof(entry), "%s::%s:%d", name, addr, port);
	struct curl_slist *l = curl_slist_append(f.connect_to, entry);
	if (l == NULL)
		return -1;
	f.connect_to = l;
	return 0;
}

static void result(long status, const char *type, const char *url, const char *address,
                   const char *err)
{
	json_t *j =
	    json_pack("{s:i, s:s?, s:I, s:s?, s:s?, s:s?}", "status", (int)status, "type", type,
	              "bytes", (json_int_t)f.got, "url", url, "address", address, "error", err);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (s != NULL) {
		size_t n = strlen(s);
		if (write(RESULT_FD, s, n) < 0 || write(RESULT_FD, "\n", 1) < 0)
			fprintf(stderr, "hermes-fetch: result: %s\n", strerror(errno));
	}
	free(s);
	json_decref(j);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"connect-to", required_argument, NULL, 'c'},
	                                     {"port", required_argument, NULL, 'p'},
	                                     {"max-bytes", required_argument, NULL, 'm'},
	                                     {"timeout", required_argument, NULL, 't'},
	                                     {"rate", required_argument, NULL, 'r'},
	                                     {"user-agent", required_argument, NULL, 'u'},
	                                     {NULL, 0, NULL, 0}};
	int o;

	f.max_bytes = 10 << 20;
	f.timeout = 30;
	f.rate = 1 << 20;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			if (add_connect_to(optarg) < 0) {
				fprintf(stderr,
				        "hermes-fetch: --connect-to %s: want NAME:ADDR:PORT\n",
				        optarg);
				return 2;
			}
			break;
		case 'p':
			if (f.n_ports < MAX_PORTS)
				f.ports[f.n_ports++] = atoi(optarg);
			break;
		case 'm':
			f.max_bytes = atoll(optarg);
			break;
		case 't':
			f.timeout = atol(optarg);
			break;
		case 'r':
			f.rate = atoll(optarg);
			break;
		case 'u':
			f.ua = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || f.max_bytes <= 0 || f.timeout <= 0 || f.rate <= 0) {
		fprintf(stderr, "usage: hermes-fetch [options] URL (run by the monitor)\n");
		return 2;
	}
	f.url = argv[optind];
	f.ftp = strncasecmp(f.url, "ftp://", 6) == 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 2;
	confine();

	CURL *h = curl_easy_init();
	char errbuf[CURL_ERROR_SIZE] = "";
	if (h == NULL)
		return 2;
	curl_easy_setopt(h, CURLOPT_URL, f.url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,ftp,tftp");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, f.timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, f.timeout < 10 ? f.timeout : 10L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f.max_bytes);
	curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)f.rate);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_CONNECT_TO, f.connect_to);
	curl_easy_setopt(h, CURLOPT_USERAGENT, f.ua ? f.ua : "Wget/1.21.2");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
	/* A passive reply's address is the server's word: the control
	 * connection's address is used instead (and checked as above). */
	curl_easy_setopt(h, CURLOPT_FTP_SKIP_PASV_IP, 1L);

	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	char *type = NULL, *last = NULL, *ip = NULL;
	long port = 0;
	char address[80] = "";
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type);
	curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &last);
	if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL && *ip &&
	    curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK)
		snprintf(address, sizeof(address), "%s:%ld", ip, port);
	/* FTP answers with its own codes and TFTP with none: a whole file is
	 * what HTTP calls 200. */
	if (rc == CURLE_OK && !f.too_big && last != NULL && strncasecmp(last, "http", 4) != 0)
		status = 200;
	const char *err = NULL;
	if (f.too_big)
		err = "larger than egress.max_fetch_size";
	else if (f.refused[0] != '\0' && rc != CURLE_OK)
		err = f.refused;
	else if (rc != CURLE_OK)
		err = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	result(status, type, last, address[0] ? address : NULL, err);
	curl_easy_cleanup(h);
	curl_slist_free_all(f.connect_to);
	curl_global_cleanup();
	return rc == CURLE_OK && !f.too_big ? 0 : 1;
}
