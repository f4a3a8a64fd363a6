/*
 * worker_init: what a worker is told before it serves a connection.
 *
 * The worker is a program of its own (hermes-worker), exec'd by the monitor
 * for a connection or as a template that forks the workers of many
 * (worker_spawn.h): a fresh address space that holds nothing of the
 * monitor's. Its first message (IPC_WORKER_INIT) carries all it needs: the
 * connection (placeholders for a template, whose workers get theirs in
 * IPC_TEMPLATE_SPAWN), the few settings it enforces, the host keys, and the
 * sandbox it enters before the first byte from the network (the seccomp
 * program the monitor compiled once, where the worker's pid goes, the user
 * and the empty root). The settings travel as JSON in the first string,
 * the filter as raw BPF instructions in the second, a template's own
 * filter in the third.
 */
#ifndef HERMES_WORKER_INIT_H
#define HERMES_WORKER_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "ssh_profile.h"
#include "util.h"

#define WORKER_INIT_KEYS    4 /* host keys, PEM */
#define WORKER_INIT_PATCHES 4
#define WORKER_INIT_ROOT    4096

struct worker_init {
	char session_id[SESSION_ID_LEN + 1];
	char src_ip[64];
	int src_port;
	int log_level;
	int login_grace_time;     /* seconds */
	int session_timeout;      /* seconds of inactivity */
	int max_session_duration; /* seconds */
	int64_t rec_max_session_size;
	bool keyboard_interactive;
	struct ssh_offer offer;       /* banner and KEXINIT lists (ssh_profile.h) */
	char *keys[WORKER_INIT_KEYS]; /* PEM text, NUL-terminated */
	size_t nkeys;
	/* The sandbox (worker_sandbox.h). */
	bool drop; /* chroot to root and become uid/gid */
	uid_t uid;
	gid_t gid;
	char root[WORKER_INIT_ROOT];
	size_t npatch, patch[WORKER_INIT_PATCHES];
	uint8_t *prog; /* struct sock_filter[], prog_len bytes; NULL: none */
	size_t prog_len;
	/* A template's own filter (worker_spawn.h), no pid in it; NULL: none
	 * (a worker's settings), or the template compiles its own. */
	uint8_t *tprog;
	size_t tprog_len;
};

/* The settings as JSON into *out (appended). 0 or -ENOMEM/-EINVAL. */
int worker_init_encode(const struct worker_init *w, struct buf *out);

/* Fills *w from the message's two strings; every field is checked. 0, or
 * -EINVAL with *why set. On success w owns copies (worker_init_clear). */
int worker_init_decode(const uint8_t *json, size_t json_len, const uint8_t *prog, size_t prog_len,
                       struct worker_init *w, const char **why);

/* A template's own filter, from the message's third string: 0, or
 * -EINVAL with *why set (not whole instructions, or too many). */
int worker_init_set_template_filter(struct worker_init *w, const uint8_t *prog, size_t len,
                                    const char **why);

/* The connection's fields of a template's worker, as the monitor sent them
 * (IPC_TEMPLATE_SPAWN): 0, or -EINVAL with *why set. */
int worker_init_set_connection(struct worker_init *w, const uint8_t *session_id, size_t id_len,
                               const uint8_t *src_ip, size_t ip_len, uint32_t src_port,
                               const char **why);

/* Frees and wipes what decode allocated (the keys first). */
void worker_init_clear(struct worker_init *w);
/* Only the keys: once loaded, the worker keeps no copy of its own. */
void worker_init_clear_keys(struct worker_init *w);

#endif
