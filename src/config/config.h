/*
 * config: the YAML config file -> a validated struct config.
 *
 * Keeps the prototype's schema and defaults (docs/configuration.md lists
 * every key). Unknown keys, wrong types and bad values are all reported,
 * one line each, as "FILE:LINE: section.key: what is wrong". Nothing here
 * touches the network or Docker; it is a pure parser plus validation.
 */
#ifndef HERMES_CONFIG_H
#define HERMES_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct credential {
	char *username; /* NULL only in honeytokens.credentials: any user */
	char *password;
};

struct strlist {
	char **items;
	size_t n;
};

/* A mapping of names to values, in the file's order. */
struct strpairs {
	char **names, **values;
	size_t n;
};

struct config {
	char *path; /* the file it was read from */

	struct {
		char *host;                  /* "0.0.0.0" */
		int port;                    /* 2222, 1..65535 */
		char *host_key_path;         /* "/data/keys/ssh_host_rsa_key"; its
		                              * directory holds the ecdsa and ed25519
		                              * keys too */
		int max_concurrent_sessions; /* 10, >= 1 */
		int session_timeout;         /* 3600 s idle, >= 60 */
		int login_grace_time;        /* new: 120 s, >= 1 */
		int max_auth_tries;          /* new: 6 (OpenSSH's MaxAuthTries), >= 1 */
		int max_sessions_per_ip;     /* new: 4 connections at once from one address */
		char *worker_user;           /* new: "nobody"; workers run as it */
		char *worker_chroot;         /* new: "/var/empty"; workers chroot there */
		int worker_template_uses;    /* new: 100 connections served by one worker
		                              * template (worker_spawn.h); 0: a worker
		                              * exec'd for each */
		int max_startups[3];         /* new: OpenSSH's MaxStartups start:rate:full,
		                              * 10:30:100 */
		char *banner;                /* new: NULL = the stealth profile's, made
		                              * from the image's openssh-server version;
		                              * else what follows "SSH-2.0-" */
	} server;

	struct {
		struct credential *static_credentials; /* [] */
		size_t n_static_credentials;
		int accept_all_after_failures;            /* 3, >= 0, 0 disables */
		struct strlist accepted_key_fingerprints; /* new: [] "SHA256:..." */
		bool keyboard_interactive;                /* new: false; true offers it where
		                                           * the stealth profile does not */
		int accept_keys_after;                    /* new: 0 = off; accept a key
		                                           * after N were refused */
	} authentication;

	struct {
		int size;                       /* 3, >= 1 */
		int spawn_timeout;              /* 30 s, >= 5 */
		char *image;                    /* "hermes-target-ubuntu:latest" */
		int max_session_duration;       /* 3600 s, >= 60 */
		int cleanup_stopped_after_days; /* 7, >= 0, 0 keeps forever */
		char *hostname;                 /* new: "prod-web-01" */
		int sticky_ttl;                 /* new: 3600 s; a returning source address
		                                 * gets its box back; 0 = not kept */
		int max_boxes;                  /* new: 64; boxes held at once (in use,
		                                 * kept); the one unused longest yields */
		bool agent;                     /* new: true; channels through the box's
		                                 * own sshd (docs/agent-protocol.md) */
		char *runtime;                  /* new: "auto"; the engine's OCI runtime
		                                 * for boxes: auto (hermes if the engine
		                                 * has it), default, or a name */
		struct {
			char *network_mode;      /* "none"; new: "sinkhole" (egress) */
			int64_t memory_limit;    /* bytes; "256m" */
			double cpu_quota;        /* 0.5 cores, 0.1..8.0 */
			int pids_limit;          /* 100, >= 10 */
			int64_t tmpfs_size;      /* bytes; "50m" */
			int64_t disk_quota;      /* new: bytes of writable layer; "1g", 0 = off */
			struct strlist cap_drop; /* [ALL] */
			struct strlist cap_add;  /* [CHOWN, SETUID, SETGID] */
			struct strlist security_opt; /* [no-new-privileges:true] */
		} security;
	} container_pool;

	struct {
		bool enabled;             /* true */
		char *output_dir;         /* "/data/recordings" */
		char *format;             /* "asciinema" (the only value accepted) */
		int retention_days;       /* new: 0 = keep forever */
		int64_t max_session_size; /* new: bytes all of a session's recordings may take */
	} recording;

	struct {
		bool enabled;             /* new: true; collect artifacts at session end */
		char *artifacts_dir;      /* new: "/data/artifacts" */
		char *database;           /* new: "/data/hermes.db"; the SQLite index */
		int64_t max_file_size;    /* new: bytes; "10m", at most 48m */
		int64_t max_session_size; /* new: bytes; "100m" */
		int retention_days;       /* new: 0 = keep stored files forever */
		int64_t disk_budget;      /* new: bytes for recordings + artifacts; 0 = none */
	} forensics;

	/* new: bait that raises an alert when an attacker touches it */
	struct {
		struct credential *credentials; /* [] ; username NULL = any user */
		size_t n_credentials;
		struct strlist files; /* [] absolute paths in the container */
	} honeytokens;

	struct {
		int level;               /* enum log_level from log.h; "INFO" */
		char *format;            /* "json" or "text" */
		char *output_dir;        /* "/data/logs" */
		int64_t max_session_log; /* new: bytes one session may add to the
		                          * event log; "4m", 0 = no limit */
		char *cowrie_json;       /* new: the Cowrie-compatible stream's
		                          * path; NULL = none (docs/events.md) */
		char *sensor;            /* new: its "sensor"; NULL = the host name */
		char *syslog;            /* new: "local", "udp://H:P", "tcp://H:P";
		                          * NULL = none (syslog_msg.h) */
		char *syslog_facility;   /* new: "local0" */
	} logging;

	/* new: what a box in network_mode sinkhole reaches (docs/sinkhole.md) */
	struct {
		char *fetch;               /* "off", "cache" or "live"; "off" */
		struct strpairs hosts;     /* name -> "address:port": where its fetches
		                            * go, whatever the address */
		struct strlist live_ports; /* ports a live fetch may connect to:
		                            * [80, 443, 21, 8080] */
		char *subnet;              /* the boxes' network: "10.77.0.0/16" */
		int64_t max_fetch_size;    /* bytes of one fetched body; "10m" */
		int fetch_timeout;         /* s one live fetch may take; 30 */
		int64_t fetch_rate;        /* bytes/s of one live fetch; "1m" */
		int max_fetches;           /* live fetches at once, in all; 4 */
		int connect_rate;          /* new connections per box a second; 20 */
		int max_connections;       /* open connections per box; 64 */
		int event_rate;            /* egress events per box a second; 50 */
		int64_t box_rate;          /* bytes a second a box may send; "1m", 0 = no cap */
	} egress;

	struct {
		char *profile;    /* new: "auto": the profile that fits the image
		                   * (docs/stealth.md); a built-in profile's name; or
		                   * the absolute path of a profile file */
		bool auth_delay;  /* new: true; a failed password is answered after the
		                   * profile's PAM delay */
		bool log_history; /* new: true; every box gets a past in its login
		                   * records and auth logs (log_history.h) */
		bool own_uptime;  /* new: true; every box's clocks start at its own
		                   * boot, where hermes-runtime and the kernel can
		                   * (box_boot.h) */
	} stealth;

	/* new: Prometheus metrics (docs/metrics.md) */
	struct {
		char *listen; /* "HOST:PORT"; NULL = none */
	} metrics;

	struct {
		char *socket_path; /* "/var/run/docker.sock" */
		char *base_url;    /* NULL, or "tcp://host:port" / "unix:///path" */
	} docker;
};

/* A config with every default filled in (path NULL). */
struct config *config_new_defaults(void);

/*
 * Read and validate FILE. On success returns 0 and *out. On failure returns
 * -1, *out is NULL and *errors is a heap string holding every problem found,
 * one per line, each "FILE:LINE: key.path: message" (caller frees).
 */
int config_load(const char *file, struct config **out, char **errors);

/* config_load() for a command line: the problems go to stderr, one per
 * line. Returns the config or NULL. */
struct config *config_load_or_report(const char *file);

/* The same over a buffer already in memory; NAME is used in messages. */
int config_parse(const char *name, const void *data, size_t len, struct config **out,
                 char **errors);

void config_free(struct config *c);

/* "256m" -> 268435456; digits then one optional k/m/g (any case); -1 if bad. */
int64_t config_parse_size(const char *s);

#endif
