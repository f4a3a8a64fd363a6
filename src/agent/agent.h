/*
 * agent.h: what the session agent's files share. The agent is the box's
 * /usr/sbin/sshd (docs/agent-protocol.md): a listener on port 22 forks one
 * process per Hermes connection, which records the login and runs the
 * channels' processes. The old one-shot mode (-R TOKEN, session_parent.c)
 * stays for Hermes's docker-exec fallback.
 *
 * Built two ways: statically by the image (gcc src/agent/ *.c) and by meson
 * with the project's warnings; it includes no other project header.
 */
#ifndef HERMES_AGENT_H
#define HERMES_AGENT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>

#include "agent_proto.h"

#define AGENT_PORT        22
#define AGENT_HELLO_SECS  10
#define AGENT_SHELL       "/bin/bash" /* when the passwd entry names none */
#define AGENT_SFTP_SERVER "/usr/lib/openssh/sftp-server"

/* --- modes (agent_main.c dispatches) --- */
int session_parent_main(int argc, char **argv);
int listener_main(int argc, char **argv, int foreground);
/* Any other command line (agent_cli.c): what the distribution's sshd
 * answers to it. Returns the exit status. */
int cli_main(int argc, char **argv);
/* The per-connection process: never returns. */
void conn_main(int sock, unsigned session_id) __attribute__((noreturn));

/* --- agent_title.c: the process title (what ps shows) --- */
/* with_environ: the title may also use the environment's strings (moved
 * away first), as sshd's setproctitle does; else only argv's area. */
void title_init(int argc, char **argv, int with_environ);
void title_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- agent_util.c --- */
/* Writes all of p (retrying on EINTR/short writes) to a blocking fd. */
int write_all(int fd, const void *p, size_t n);
/* Monotonic milliseconds. */
int64_t now_ms(void);
/* A number in [0, n) (n > 0) for what the agent makes up (an earlier
 * connection's PID, a line's microseconds): not for secrets. */
uint32_t draw(uint32_t n);
int set_nonblock(int fd);
/* A C string of b cut at its first NUL and at cap-1 bytes. */
void bytes_cstr(char *out, size_t cap, struct agent_bytes b);
/* b made printable for a log line: bytes outside 0x21..0x7e as \ooo. */
void bytes_visible(char *out, size_t cap, struct agent_bytes b);
/* Closes every fd >= from. */
void close_from(int from);

/* --- agent_user.c: /etc/passwd and /etc/group, read directly --- */
struct agent_user {
	char name[64];
	uid_t uid;
	gid_t gid;
	char home[256];
	char shell[256];
};
/* 1 and *u filled when NAME has an entry, 0 when not. */
int user_lookup(const char *name, struct agent_user *u);
/* The groups NAME belongs to (gid first), at most max; returns the count. */
int user_groups(const char *name, gid_t gid, gid_t *out, int max);
/* The gid of group NAME, or -1. */
long group_gid(const char *name);

/* --- the login (agent_login.c, agent_records.c, agent_motd.c) --- */
struct agent_login {
	struct agent_user user; /* the account the session runs as */
	char client_addr[64], server_addr[64];
	unsigned client_port, server_port;
	unsigned session_id; /* XDG_SESSION_ID */
	char method[32];     /* as HELLO said it */
	char hostname[256];
	pid_t pid;           /* the connection process, sshd[PID] in auth.log */
	off_t auth_log_kept; /* HELLO's: auth.log's bytes left as they are */
	char logind_id[32];  /* the logind session's id, "" when there is none */
	int logind_fifo;     /* held for the session's life; -1: none */
};

/* A line of sshd's (AUTHLOG_SSHD) or of its PAM stack's, as sshd[PID]:
 * to the box's syslog socket, else appended to /var/log/auth.log stamped
 * `when` (agent_authlog.c). */
#define AUTHLOG_SSHD       (LOG_AUTH | LOG_INFO)
#define AUTHLOG_PAM_NOTICE (LOG_AUTHPRIV | LOG_NOTICE)
#define AUTHLOG_PAM_INFO   (LOG_AUTHPRIV | LOG_INFO)
void authlog(const struct agent_login *l, int prio, time_t when, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A line of an earlier connection's sshd (pid) at `when`: kept, then
 * written by authlog_past_flush() into auth.log itself, at its place in
 * time and in the file's format (syslog's receivers would stamp it with the
 * time they get it); where that cannot be done, appended as authlog's. */
void authlog_past(pid_t pid, time_t when, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void authlog_past_flush(const struct agent_login *l);
/* HELLO's side effects: failures logged (auth.log, btmp), the acceptance and
 * session opening logged, loginuid, RLIMIT_NOFILE. */
void login_begin(const struct agent_login *l, const struct agent_hello *h);
/* The connection's end in auth.log. */
void login_end(const struct agent_login *l);

/* --- agent_logind.c --- */
/* The login made a logind session with this process as its leader, as
 * pam_systemd does (sets logind_id and logind_fifo): 0, or -1 when the box
 * has no logind or it refused (logind_fifo is then -1). */
int logind_session_open(struct agent_login *l);

/* utmp/wtmp/btmp/lastlog (agent_records.c). */
struct agent_utmp_rec {
	int active;
	char line[32]; /* "pts/N" */
	pid_t pid;
};
void records_failed(const struct agent_login *l, pid_t pid, const char *user, time_t when);
void records_login(const struct agent_login *l, struct agent_utmp_rec *r, const char *line,
                   pid_t pid);
void records_logout(struct agent_utmp_rec *r);
/* Reads the user's lastlog entry (0 when none) then writes the new one. */
struct agent_lastlog {
	time_t time;
	char host[257];
};
int lastlog_swap(const struct agent_login *l, const char *line, struct agent_lastlog *prev);

/* In a pty shell's child before exec: MOTD and "Last login" to fd 1. */
void motd_print(const struct agent_lastlog *prev);

/* --- agent_spawn.c: a channel's process --- */
struct agent_spawn {
	int kind; /* enum agent_kind */
	int pty;
	const char *command; /* exec command, or the subsystem's */
	const char *term;
	const char *env; /* the client's NAME=VALUE list, NUL-ended each */
	size_t env_len;
	const char *tty;                     /* "/dev/pts/N" for a pty */
	int slave;                           /* the pty's slave (pty), else -1 */
	int in, out, err;                    /* pipe ends for the child (no pty) */
	const struct agent_lastlog *lastlog; /* pty shell only; NULL for none */
};
/* In the forked child: never returns. */
void spawn_child(const struct agent_login *l, const struct agent_spawn *s)
    __attribute__((noreturn));

/* --- agent_env.c --- */
#define AGENT_ENV_MAX 64
struct agent_env {
	char *v[AGENT_ENV_MAX + 1];
	int n;
};
/* The environment of a channel's process, built fresh. */
void env_build(struct agent_env *e, const struct agent_login *l, const struct agent_spawn *s);
void env_free(struct agent_env *e);

/* --- the distribution's sshd run as a command (agent_cli.c) ---
 * Its answers, captured from the real binary when the image was built:
 * images/ubuntu/sshd-capture.sh writes them as sshd_text.c, compiled in by the
 * Dockerfile; without it (meson's build) a weak default in agent_cli.c says
 * none were, and every such command line gets "no hostkeys". A text
 * that names what it was given holds a placeholder: '?' in its first line
 * for an option letter, '@' for an argument. */
struct sshd_run {
	const char *out; /* stdout */
	size_t out_len;
	const char *err; /* stderr */
	size_t err_len;
	int status; /* the exit status */
};
struct sshd_exit {
	char opt; /* an option that answers at once (-V); 0 ends the list */
	const struct sshd_run *run;
};
struct sshd_texts {
	int captured;             /* 0: nothing captured, the fields below unset */
	const char *flags, *args; /* option letters, without and with an argument */
	const struct sshd_exit *exits;
	const struct sshd_run *unknown;        /* "sshd -?" */
	const struct sshd_run *needs_arg;      /* an option's argument missing */
	const struct sshd_run *extra;          /* an argument after the options */
	const struct sshd_run *bad_spec;       /* "-C @" */
	const struct sshd_run *bad_port;       /* "-C lport=@" */
	const struct sshd_run *rexec;          /* a daemon run by a relative path */
	const struct sshd_run *spec_no_t;      /* -C without -T */
	const struct sshd_run *no_hostkeys;    /* no host key readable */
	const struct sshd_run *no_privsep_dir; /* no /run/sshd */
	const struct sshd_run *dump;           /* "sshd -T", stock config and keys */
	const struct sshd_run *dump_quiet;     /* "sshd -T -q" */
};
extern const struct sshd_texts sshd_texts;

/* --- agent_signals.c --- */
/* "INT" -> SIGINT; 0 when the name is unknown. */
int signal_by_name(const char *name);

#endif
