/*
 * log_history: a past for the box's logs, so that `last`, `lastb`,
 * `lastlog`, `who -b` and /var/log/auth.log* read as on a server that has
 * run for weeks (docs/stealth.md, "Log history"), not as a system made a
 * minute ago.
 *
 * What it writes, as Debian's rsyslog, logrotate, sshd, sudo, cron and
 * systemd-update-utmp leave them:
 *   - wtmp (logrotate's monthly rotation skips it below 1 MiB: it holds
 *     everything since the install): the reboot, runlevel and shutdown
 *     records, and the admin's ssh sessions (publickey, from a private
 *     address of the admins' network);
 *   - btmp and btmp.1: the internet's failed password guesses;
 *   - lastlog: the admin's last login;
 *   - utmp: the boot and runlevel records of the boot the box's uptime
 *     counts from;
 *   - auth.log, auth.log.1, auth.log.2.gz .. 4.gz (weekly rotation): those
 *     sessions and guesses, sudo, and cron's sessions, in the lines the
 *     session agent writes for its own logins (src/agent/agent_login.c).
 *
 * Pure: everything comes from its input. The same seed, the same past: one
 * Hermes's boxes share one history, as one server has one; another host's
 * secret gives another. Each day is drawn on its own, so a later start
 * (a larger `now`) shows the same days before it, and more. Reboot records never contradict the
 * uptime the box reads (its own, box_boot.h, or the host's): the last one is at that boot and
 * none is before it in the history's span but that one, unless it is before the span.
 */
#ifndef HERMES_LOG_HISTORY_H
#define HERMES_LOG_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct history_in {
	uint8_t seed[32];
	time_t now;       /* the history ends before this */
	time_t installed; /* when Hermes first started here (its host key's
	                   * mtime); 0: now. The install is weeks before. */
	time_t install;   /* the install itself, where the image says it was
	                   * (its dpkg log's first line); 0: drawn from
	                   * `installed` */
	time_t boot;      /* the boot the box's uptime counts from: its own
	                   * (box_boot.h) or the host's (/proc/stat btime) */
	char kernel[65];  /* uname -r */
	char host[64];    /* the host name rsyslog writes (the short one) */
	char user[33];    /* the image's login user; "" for none (root logs in) */
	unsigned uid;     /* its uid */
	bool rfc3339;     /* rsyslog's stamps are RFC 3339 with microseconds
	                   * (image_facts.syslog_rfc3339), else "Mmm dd HH:MM:SS" */
	bool init_boots;  /* the box's init (systemd-update-utmp) records the
	                   * last boot itself: wtmp ends before it, utmp has
	                   * it for the box's /run only where the init does not */
};

enum history_file_id {
	HISTORY_WTMP,
	HISTORY_BTMP,
	HISTORY_BTMP1,
	HISTORY_LASTLOG,
	HISTORY_UTMP,
	HISTORY_AUTH,
	HISTORY_AUTH1,
	HISTORY_AUTH2,
	HISTORY_AUTH3,
	HISTORY_AUTH4,
	HISTORY_FILES
};

/* The owner of a file: root:utmp, or rsyslog's (root:adm on Debian,
 * syslog:adm where a syslog user exists, as on Ubuntu). */
enum history_owner { HISTORY_OWNER_UTMP, HISTORY_OWNER_LOG };

struct history_file {
	const char *path;
	enum history_owner owner;
	unsigned mode;
	time_t mtime;
	uint8_t *data;
	size_t len;
	/* Written at this byte offset of an emptied file (lastlog's record is
	 * at uid * its size; what comes before is a hole of zeros). */
	size_t at;
	/* The live log of its kind, which the box only appends to (the box's
	 * sshd logging a login: auth.log, wtmp; a failed su: btmp). 0 for
	 * rotated ones, and for lastlog and utmp, whose records are rewritten
	 * in place. */
	bool appends;
};

struct history {
	struct history_file file[HISTORY_FILES];
};

/* Fills h; 0, or -1 when out of memory (h then holds nothing to free). */
int history_make(const struct history_in *in, struct history *h);
void history_free(struct history *h);

#endif
