/*
 * agent_cli: /usr/sbin/sshd run as a command rather than as the box's
 * listener or session parent: `sshd -V`, `sshd -T`, `sshd -t`, a bad option,
 * an extra argument... It answers as the distribution's own sshd does, with
 * that binary's texts and exit statuses, captured when the image was built
 * (struct sshd_texts in agent.h): the option letters it takes, -V, its
 * usage, its errors and -T's dump of the stock configuration.
 *
 * The checks come in the real one's order: the options (-V answers at once;
 * an unknown option, a missing argument or a bad -C item ends there), the
 * re-exec check of a relative path, -C without -T, the config file (-R:
 * none to read), an argument left over, the host keys (readable by the caller: a user other
 * than root has none), the privilege separation directory, then -T's dump or
 * -t's silence. Its log messages (the texts ending in CR LF, as sshd's log
 * writes them to stderr) are silenced as its log is: by -q, and by -i or -R
 * without -d or -e.
 *
 * Not imitated: what the options that change the configuration do to the
 * dump (-p, -o, -4, -6, -g, -h, -c, -d's log level; -q's is), their own
 * errors, -E, -d's debug lines, a config file other than the stock one
 * (-f naming another, or an edited /etc/ssh/sshd_config), the privilege
 * separation user's check, and a key file's contents beyond its first line.
 * A daemon started another way is not started: with host keys the command
 * still says there are none.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_FILE "/etc/ssh/sshd_config"
#define PRIVSEP_DIR "/run/sshd"

/* The image's build links the captured texts (sshd_text.c), which take the
 * place of this default. */
__attribute__((weak)) const struct sshd_texts sshd_texts = {.captured = 0};

struct cli {
	int test; /* 0, 1 (-t) or 2 (-T): the last one given */
	int inetd, rexeced, no_rexec, debug, log_stderr, quiet;
	int spec; /* -C given */
	const char *config;
};

/* The log's messages reach stderr unless it is silenced. */
static int log_shown(const struct cli *c)
{
	return !c->quiet && ((!c->inetd && !c->rexeced) || c->debug || c->log_stderr);
}

static int is_log_text(const char *s, size_t n)
{
	return n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n';
}

/* A captured run replayed: its stdout, its stderr (unless it is a log
 * message and the log is silenced), its status. */
static int replay(const struct cli *c, const struct sshd_run *r)
{
	if (r->out_len > 0)
		write_all(STDOUT_FILENO, r->out, r->out_len);
	if (r->err_len > 0 && (c == NULL || log_shown(c) || !is_log_text(r->err, r->err_len)))
		write_all(STDERR_FILENO, r->err, r->err_len);
	return r->status;
}

/* An option error: the run's stderr with the last '?' of its first line
 * replaced by the option's letter. */
static int replay_opt(const struct sshd_run *r, char opt)
{
	const char *s = r->err, *eol = memchr(s, '\n', r->err_len), *q = NULL;

	if (eol == NULL)
		eol = s + r->err_len;
	for (const char *p = s; p < eol; p++)
		if (*p == '?')
			q = p;
	if (q == NULL)
		return replay(NULL, r);
	write_all(STDOUT_FILENO, r->out, r->out_len);
	write_all(STDERR_FILENO, s, (size_t)(q - s));
	write_all(STDERR_FILENO, &opt, 1);
	write_all(STDERR_FILENO, q + 1, r->err_len - (size_t)(q + 1 - s));
	return r->status;
}

/* A run whose stderr names an argument (never a log message): every '@'
 * replaced by it. */
static int replay_arg(const struct sshd_run *r, const char *arg, size_t len)
{
	const char *s = r->err, *end = s + r->err_len;

	write_all(STDOUT_FILENO, r->out, r->out_len);
	while (s < end) {
		const char *at = memchr(s, '@', (size_t)(end - s));

		if (at == NULL) {
			write_all(STDERR_FILENO, s, (size_t)(end - s));
			break;
		}
		write_all(STDERR_FILENO, s, (size_t)(at - s));
		write_all(STDERR_FILENO, arg, len);
		s = at + 1;
	}
	return r->status;
}

/* lport= of -C: sshd's a2port, a decimal number 0..65535 as strtonum reads
 * it (leading blanks and a sign allowed). */
static int port_ok(const char *s, size_t len)
{
	char buf[64], *end;
	long long v;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	return errno == 0 && *end == '\0' && v >= 0 && v <= 65535;
}

/* -C's connection spec: items separated by commas, up to the first empty
 * one. Returns -1 when it is good, else the status of its error. */
static int check_spec(const char *spec)
{
	static const char *const keys[] = {"addr=", "host=", "user=", "laddr=", "rdomain="};
	const char *p = spec;

	while (*p != '\0' && *p != ',') {
		size_t len = strcspn(p, ","), i;
		int known = 0;

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strncmp(p, keys[i], strlen(keys[i])) == 0)
				known = 1;
		if (!known && strncmp(p, "lport=", 6) == 0) {
			if (!port_ok(p + 6, len - 6))
				return replay_arg(sshd_texts.bad_port, p + 6, len - 6);
			known = 1;
		}
		if (!known)
			return replay_arg(sshd_texts.bad_spec, p, len);
		p += len;
		if (*p == ',')
			p++;
	}
	return -1;
}

static void flag(struct cli *c, char opt)
{
	switch (opt) {
	case 't':
		c->test = 1;
		break;
	case 'T':
		c->test = 2;
		break;
	case 'i':
		c->inetd = 1;
		break;
	case 'R':
		c->rexeced = 1;
		break;
	case 'r':
		c->no_rexec = 1;
		break;
	case 'd':
		c->debug = 1;
		c->quiet = 0;
		break;
	case 'e':
		c->log_stderr = 1;
		break;
	case 'q':
		c->quiet = 1;
		break;
	default:
		break;
	}
}

/* sshd's getopt (OpenBSD's): options up to the first word that is not one,
 * "-" or "--"; letters clustered; an argument attached or the next word,
 * whatever it is. A '-' ending a cluster ends the options there, that word
 * left over. Returns -1 and the first word left in *next, or an exit
 * status. */
static int parse(struct cli *c, int argc, char **argv, int *next)
{
	const struct sshd_texts *t = &sshd_texts;
	int i = 1;

	while (i < argc) {
		const char *w = argv[i];

		if (w[0] != '-' || w[1] == '\0')
			break;
		if (strcmp(w, "--") == 0) {
			i++;
			break;
		}
		for (const char *p = w + 1; *p != '\0'; p++) {
			const char *arg;
			int r;

			if (*p == '-' && p[1] == '\0' && p > w + 1) {
				*next = i;
				return -1;
			}
			for (const struct sshd_exit *x = t->exits; x->opt != 0; x++)
				if (x->opt == *p)
					return replay(NULL, x->run);
			if (strchr(t->flags, *p) != NULL) {
				flag(c, *p);
				continue;
			}
			if (strchr(t->args, *p) == NULL)
				return replay_opt(t->unknown, *p);
			if (p[1] != '\0')
				arg = p + 1;
			else if (i + 1 < argc)
				arg = argv[++i];
			else
				return replay_opt(t->needs_arg, *p);
			if (*p == 'C') {
				if ((r = check_spec(arg)) >= 0)
					return r;
				c->spec = 1;
			} else if (*p == 'f') {
				c->config = arg;
			}
			break;
		}
		i++;
	}
	*next = i;
	return -1;
}

/* A host key sshd could load: a regular file the caller may read that
 * starts as a private key does. */
static int key_usable(const char *path)
{
	static const char begin[] = "-----BEGIN ";
	char head[sizeof(begin) - 1];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), ok;

	if (fd < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     read(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
	     memcmp(head, begin, sizeof(head)) == 0;
	close(fd);
	return ok;
}

/* Whether one of the dump's "hostkey PATH" files is usable. */
static int have_hostkey(void)
{
	const struct sshd_run *d = sshd_texts.dump;
	const char *s = d->out, *end = s + d->out_len;

	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((eol != NULL ? eol : end) - s);
		char path[PATH_MAX];

		if (len > 8 && len - 8 < sizeof(path) && memcmp(s, "hostkey ", 8) == 0) {
			memcpy(path, s + 8, len - 8);
			path[len - 8] = '\0';
			if (key_usable(path))
				return 1;
		}
		s += len + 1;
	}
	return 0;
}

int cli_main(int argc, char **argv)
{
	const struct sshd_texts *t = &sshd_texts;
	struct cli c = {0};
	struct stat st;
	FILE *f;
	int next = 1, r;

	if (!t->captured) {
		fputs("sshd: no hostkeys available -- exiting.\n", stderr);
		return 1;
	}
	if ((r = parse(&c, argc, argv, &next)) >= 0)
		return r;
	if (c.test == 0 && !c.no_rexec && !c.inetd && !c.rexeced && argv[0][0] != '/')
		return replay(&c, t->rexec);
	if (c.spec && c.test != 2)
		return replay(&c, t->spec_no_t);
	/* A re-executed daemon reads its config from a descriptor it lacks. */
	if (c.rexeced)
		return 255;
	f = fopen(c.config != NULL ? c.config : CONFIG_FILE, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", c.config != NULL ? c.config : CONFIG_FILE,
		        strerror(errno));
		return 1;
	}
	fclose(f);
	if (next < argc)
		return replay_arg(t->extra, argv[next], strlen(argv[next]));
	if (!have_hostkey())
		return replay(&c, t->no_hostkeys);
	if (stat(PRIVSEP_DIR, &st) < 0 && errno == ENOENT)
		return replay(&c, t->no_privsep_dir);
	if (c.test == 2)
		return replay(&c, c.quiet ? t->dump_quiet : t->dump);
	if (c.test == 1)
		return 0;
	/* A daemon: not started (see the top). */
	return replay(&c, t->no_hostkeys);
}
