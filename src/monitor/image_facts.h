/*
 * image_facts: what a box image says it is - its distribution (os-release)
 * and the version of its openssh-server package (dpkg's status file) - read
 * from those files' bytes. Pure and fuzzed: the bytes come from the image,
 * which an operator may have taken from anywhere. Only values made of a
 * plain character set are kept; anything else is refused, so that what is
 * kept may go into a banner on the wire and into a log line.
 */
#ifndef HERMES_IMAGE_FACTS_H
#define HERMES_IMAGE_FACTS_H

#include <stddef.h>
#include <stdint.h>

#define FACT_MAX 64

struct image_facts {
	char os_id[FACT_MAX];           /* os-release ID: "debian", "ubuntu" */
	char version_id[FACT_MAX];      /* VERSION_ID: "12", "22.04" */
	char pretty_name[128];          /* PRETTY_NAME, for messages; printable ASCII */
	char openssh_version[FACT_MAX]; /* openssh-server's Version when it is
	                                 * installed ("1:9.2p1-2+deb12u10"), else "" */
	char login_user[33];            /* the first login user, "" when none */
	unsigned login_uid;
	int64_t installed; /* the first line of dpkg's log: when the system was
	                    * installed (s since the epoch, UTC), 0 unknown */
	/* Who owns the logs the box's log history is written to, as the
	 * image's users and groups say (image_facts_owners): rsyslog's files
	 * (syslog:adm where a syslog user exists, as on Ubuntu, else root:adm)
	 * and root:utmp's. */
	unsigned log_uid, log_gid, utmp_gid;
	/* The persistent timers' stamps the image has (/var/lib/systemd/timers,
	 * "stamp-NAME.timer"): each box gets them dated a moment before its
	 * boot, as a server that ran until its reboot has them. */
#define FACT_STAMPS 16
	char stamps[FACT_STAMPS][FACT_MAX];
	unsigned n_stamps;
	int64_t keys_mtime; /* openssh-server's file list's modification time
	                     * (else /etc/ssh's): the host keys', 0 unknown */
	/* The image's rsyslog stamps its files' lines as RFC 3339 with
	 * microseconds (Debian 12's), not "Mmm dd HH:MM:SS" (Ubuntu's, which
	 * sets RSYSLOG_TraditionalFileFormat; and any image without rsyslog). */
	int syslog_rfc3339;
};

/* Reads an os-release file (KEY=value lines, values optionally quoted).
 * Returns 0 with ID and VERSION_ID set, or -1 with *why set (static text)
 * when the file has no usable ID or VERSION_ID. */
int image_facts_os_release(struct image_facts *f, const char *text, size_t len, const char **why);

/* Reads dpkg's status file and sets openssh_version when openssh-server is
 * installed ("Status: install ok installed"). Returns 1 when it is, 0 when
 * it is not (or its version is not a plain Debian version), -1 when the
 * text is not a status file at all (a NUL byte). */
int image_facts_dpkg_status(struct image_facts *f, const char *text, size_t len);

/* Reads /etc/passwd and sets login_user and login_uid: the first user with
 * a uid from 1000 to 59999 (Debian's range for people), a shell that is
 * neither nologin nor false, and a name of [a-z_][a-z0-9_-]* of at most 32
 * characters. Returns 1 when there is one, else 0 (login_user ""). */
int image_facts_passwd(struct image_facts *f, const char *text, size_t len);

/* Reads /etc/passwd and /etc/group (either may be NULL) for the owners of
 * the logs: log_uid the syslog user's uid (0 when none), log_gid adm's gid
 * (4, Debian's, when none), utmp_gid utmp's (43 when none). Returns how
 * many of the three were found. */
int image_facts_owners(struct image_facts *f, const char *passwd, size_t plen, const char *group,
                       size_t glen);

/* Takes name (a file of /var/lib/systemd/timers) as a timer's stamp when it
 * is "stamp-" then [A-Za-z0-9@._-] and ".timer", shorter than FACT_MAX,
 * and there is room. Returns 1 when taken. */
int image_facts_stamp(struct image_facts *f, const char *name);

/* Reads dpkg's log (/var/log/dpkg.log) and sets installed from its first
 * line's "YYYY-MM-DD HH:MM:SS" (UTC, the images' zone). Returns 1 when it
 * has one, else 0 (installed 0). */
int image_facts_dpkg_log(struct image_facts *f, const char *text, size_t len);

/* Reads an rsyslog configuration file (rsyslog.conf, or one of
 * rsyslog.d) and returns 1 when it makes the traditional time stamp the
 * files' default (the legacy "$ActionFileDefaultTemplate
 * RSYSLOG_TraditionalFileFormat", or omfile's module parameter), else 0. */
int image_facts_rsyslog_traditional(const char *text, size_t len);

/* Splits a Debian version "[epoch:]upstream[-revision]" into upstream and
 * revision (without the epoch). Returns 0, or -1 when either part is empty,
 * too long or has a character Debian does not allow there. */
int image_facts_split_version(const char *version, char *upstream, size_t upstream_size,
                              char *revision, size_t revision_size);

#endif
