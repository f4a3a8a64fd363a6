/*
 * sandbox_spec: the config's security settings -> the JSON bodies Docker
 * takes to create a target container and an exec in it.
 *
 * Pure functions (config in, jansson object out), unit-tested field by
 * field, because these bodies are the sandbox: every constraint the config
 * names must appear here, and what `docker inspect` shows comes from them.
 */
#ifndef HERMES_SANDBOX_SPEC_H
#define HERMES_SANDBOX_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "engine_files.h"

/* The Docker detach-key sequence we set on every exec: long and unlikely,
 * because Docker's default (Ctrl-P Ctrl-Q) ends the stream with a message
 * no real server prints, and "" does not disable it. */
extern const char SANDBOX_DETACH_KEYS[];

/* The attacker's home: every exec's HOME and working directory, and where
 * sftp-server and scp resolve relative paths. */
#define SANDBOX_HOME "/root"

/* The target image's SFTP server, run for the "sftp" subsystem. */
#define SANDBOX_SFTP_SERVER "/usr/lib/openssh/sftp-server"

/*
 * Body of POST /containers/create. session_id is NULL for a pre-warmed
 * container (label hermes.session_id is then ""). created is the time put
 * in the hermes.created label (RFC 3339 UTC); instance, when not NULL, in
 * SANDBOX_INSTANCE_LABEL; runtime, when not NULL, is the engine's OCI
 * runtime to create it with (sandbox_runtime_pick), else the engine's
 * default.
 */
json_t *sandbox_container_spec(const struct config *c, const char *session_id, const char *created,
                               const char *instance, const char *runtime);

/* Adds the box's boot time (box_boot.h; ms since the epoch, > 0) to spec's
 * environment, for hermes-runtime only. 0, or -1 when it could not. */
int sandbox_spec_boot(json_t *spec, int64_t boot_ms);

/* A box's PID 1 (docs/stealth.md, "systemd as PID 1"): the image's own
 * (its CMD; an image not labelled hermes.init=systemd); systemd, for an
 * image so labelled where hermes-runtime can give it its cgroup; or, for
 * such an image where it cannot (another runtime, no name=systemd
 * hierarchy), a small init of Hermes's own passed as the command (no file
 * of it in the box): it starts the box's sshd, reaps orphans and ends on
 * SIGTERM. */
enum sandbox_init { SANDBOX_INIT_IMAGE, SANDBOX_INIT_SYSTEMD, SANDBOX_INIT_OWN };

/* Adds what that init needs to spec: systemd's BOX_INIT_ENV for
 * hermes-runtime and a server's tmpfs /run and /run/lock; Hermes's own as
 * Cmd, stopped by SIGTERM. 0, or -1 when it could not. */
int sandbox_spec_init(json_t *spec, enum sandbox_init init);

/* The command of Hermes's own init (SANDBOX_INIT_OWN). */
extern const char *const sandbox_own_init[];

/* A box's /dev/shm: half the host's memory, as on a server of that size. */
int64_t sandbox_shm_size(void);

/* The OCI runtime hermes-runtime is registered as (docs/stealth.md). */
#define SANDBOX_RUNTIME "hermes"

/*
 * The files Docker bind-mounts over a box's /etc, which hermes-runtime
 * writes into the box's own root instead (src/runtime/runtime_spec.h), with
 * the texts Hermes gives it here: the hostname, /etc/hosts as Debian's
 * installer writes it, and in network modes none and sinkhole a resolver at
 * egress.subnet's first address (the sinkhole answers any; the host's own
 * resolvers are none of the attacker's business). The monitor knows them,
 * so the artifact collection can tell them from the attacker's.
 */
extern const char *const sandbox_etc_path[ENGINE_FILES_N]; /* "/etc/hostname", ... */

/* The text of file `which` in every box, its length (0: Hermes leaves that
 * file to the engine, or it does not fit in cap). */
size_t sandbox_etc_text(const struct config *c, enum engine_file which, char *out, size_t cap);

/*
 * Which runtime boxes are created with, from container_pool.runtime and the
 * engine's GET /info answer (its "Runtimes" object, engine-controlled):
 * "default" is the engine's default (*runtime NULL); "auto" is
 * SANDBOX_RUNTIME when the engine has it and, if `local`, its program is
 * there to run, else the default with *why saying what is missing; a name
 * must be one the engine has. Returns 0, or -1 with *why.
 */
int sandbox_runtime_pick(const json_t *info, const char *want, bool local, const char **runtime,
                         char *why, size_t why_len);

/* Names the Hermes instance (its data, not its process) that made a
 * container, so that a restart finds what a killed one left: pool.h. */
#define SANDBOX_INSTANCE_LABEL "hermes.instance"
#define SANDBOX_INSTANCE_LEN   16

/* The instance's id (SANDBOX_INSTANCE_LEN hex digits and a NUL): from the
 * data (logging.output_dir's real path), not the process, so that a restart
 * on the same logs is the same instance and another Hermes on the same
 * engine is not. */
void sandbox_instance(const struct config *c, char out[SANDBOX_INSTANCE_LEN + 1]);

struct exec_params {
	const char *command; /* NULL: a login shell; else run via bash -c */
	bool tty;
	const char *term;       /* TERM for a tty exec; NULL: xterm */
	const char *const *env; /* extra "KEY=VALUE" strings, NULL-terminated, or NULL */
	/* The image's session parent, or NULL/"" to run bash directly; when
	 * set, Cmd is [parent, "-R", token], then ["-s", "COLSxROWS"] for a tty
	 * with a size, then ["-c", command] for a command. */
	const char *parent;
	const char *token;
	int width, height; /* the client's terminal; 0: unknown */
};

/* Body of POST /containers/{id}/exec: attach all three streams, root in
 * SANDBOX_HOME, Tty as asked, DetachKeys = SANDBOX_DETACH_KEYS. */
json_t *sandbox_exec_spec(const struct config *c, const struct exec_params *p);

/* Body of an exec Hermes runs for itself (argv, NULL-terminated): root,
 * no tty, no stdin, stdout only (stderr is not read). */
json_t *sandbox_tool_exec_spec(const char *const *argv);

/* "hermes-target-<first 8 chars of session id>-<YYYYMMDD-HHMMSS in UTC>" */
void sandbox_container_name(const char *session_id, time_t t, char out[64]);

#endif
