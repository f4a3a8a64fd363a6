/* artifacts: see artifacts.h. One job per ended session, one Docker call in
 * flight per job: the changes list, then one archive per changed path, then
 * one exec of tar for the tmpfs mounts. */
#include "artifacts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "changes.h"
#include "digest.h"
#include "demux.h"
#include "log.h"
#include "sandbox_spec.h"
#include "store.h"
#include "tar_read.h"
#include "util.h"

#define MAX_CHANGES  5000 /* paths looked at per session */
#define CALL_MS      60000
#define MANIFEST_DIR "sessions" /* under artifacts_dir */
/* tmpfs mounts: in neither the changes list nor the archive endpoint's view
 * (Docker 20.10), and gone when the container stops, so tar reads them from
 * inside. Missing ones only make tar complain on stderr, which is not read. */
static const char *const tmpfs_cmd[] = {"tar", "-C", "/", "-cf", "-", "tmp", "dev/shm", NULL};

struct job {
	struct artifacts *a;
	struct job *next;
	char session[SESSION_ID_LEN + 1];
	char ip[64];
	int port;
	char cid[65];
	char cname[80];
	char **uploads;
	struct change_list changes;
	size_t next_change;
	bool tmpfs_done;
	int tar_fd; /* the tar exec's stream, or -1 */
	uint64_t tar_timer;
	struct demux demux;
	struct buf tar; /* tar's stdout so far */
	bool tar_too_large;
	struct tar_entry entry; /* the archive entry being read (large: not on the stack) */
	uint64_t call;
	uint64_t bytes; /* stored for this session */
	unsigned files, skipped, unchanged;
	json_t *manifest; /* array of file records */
	json_t *known;    /* an earlier session's seen, or NULL */
	json_t *seen;     /* path -> what it is now */
	artifacts_done_cb done;
	void *arg;
};

struct artifacts {
	const struct config *cfg;
	struct loop *loop;
	struct docker *docker;
	struct events *events;
	struct job *jobs;
	unsigned running;
};

static void step(struct job *j);

static json_t *job_event(struct job *j, const char *type)
{
	return event_new(type, j->session, j->ip, j->port);
}

static bool uploaded(const struct job *j, const char *path)
{
	for (size_t i = 0; j->uploads != NULL && j->uploads[i] != NULL; i++)
		if (strcmp(j->uploads[i], path) == 0)
			return true;
	return false;
}

/* Stores the bytes once as DIR/<sha256>, read-only; 0 or -errno. */
static int store(struct artifacts *a, const char *hash, const uint8_t *p, size_t n)
{
	bool replaced;
	int r = store_put(a->cfg->forensics.artifacts_dir, hash, p, n, &replaced);

	/* Nothing of ours writes anything else there: someone did. */
	if (replaced)
		warn("artifacts: %s/%s was not the file its name says; replaced",
		     a->cfg->forensics.artifacts_dir, hash);
	return r;
}

static void skipped(struct job *j, const char *path, const char *reason, json_int_t size)
{
	json_t *e = job_event(j, "artifact.skipped");
	json_t *rec = json_pack("{s:s, s:s}", "path", path, "skipped", reason);

	j->skipped++;
	json_object_set_new(e, "path", json_string(path));
	json_object_set_new(e, "reason", json_string(reason));
	if (size >= 0) {
		json_object_set_new(e, "size", json_integer(size));
		json_object_set_new(rec, "size", json_integer(size));
	}
	events_emit(j->a->events, e);
	json_array_append_new(j->manifest, rec);
}

/* Notes what path is now; true when an earlier session of the container
 * left it just so (then it is listed, not reported again). */
static bool as_before(struct job *j, const char *path, const char *now, json_t *rec)
{
	const char *was = json_string_value(json_object_get(j->known, path));

	json_object_set_new(j->seen, path, json_string(now));
	if (was == NULL || strcmp(was, now) != 0)
		return false;
	json_object_set_new(rec, "unchanged", json_true());
	json_array_append_new(j->manifest, rec);
	j->unchanged++;
	return true;
}

/* One entry of an archive: a file is hashed and stored, a link noted,
 * anything else (directories, devices) ignored. */
static void take(struct job *j, const char *path, enum change_kind kind, const struct tar_entry *t)
{
	const char *type = kind == CHANGE_ADDED ? "file.created" : "file.changed";
	char hash[DIGEST_HEX_MAX], mode[8];
	json_t *e, *rec;
	int r;

	if (t->type != '0' && t->type != '2' && t->type != '1')
		return;
	snprintf(mode, sizeof(mode), "%04o", (unsigned)t->mode);
	rec = json_pack("{s:s, s:s, s:s}", "path", path, "kind",
	                kind == CHANGE_ADDED ? "created" : "changed", "mode", mode);
	if (t->type == '0') {
		if (digest_hex(EVP_sha256(), t->data, t->size, hash) < 0) {
			json_decref(rec);
			skipped(j, path, "hash failed", (json_int_t)t->size);
			return;
		}
		json_object_set_new(rec, "type", json_string("file"));
		json_object_set_new(rec, "size", json_integer((json_int_t)t->size));
		json_object_set_new(rec, "sha256", json_string(hash));
		if (as_before(j, path, hash, rec))
			return;
		if (j->bytes + t->size > (uint64_t)j->a->cfg->forensics.max_session_size) {
			json_decref(rec);
			skipped(j, path, "max_session_size", (json_int_t)t->size);
			return;
		}
		r = store(j->a, hash, t->data, t->size);
		if (r < 0) {
			error("artifact %s of session %.8s: %s", path, j->session, strerror(-r));
			json_decref(rec);
			skipped(j, path, "cannot store", (json_int_t)t->size);
			return;
		}
		j->bytes += t->size;
	} else {
		char now[sizeof(t->link) + 8];
		json_object_set_new(rec, "type",
		                    json_string(t->type == '2' ? "symlink" : "hardlink"));
		json_object_set_new(rec, "link", json_string(t->link));
		snprintf(now, sizeof(now), "link:%s", t->link);
		if (as_before(j, path, now, rec))
			return;
	}
	if (uploaded(j, path))
		json_object_set_new(rec, "transfer", json_true());
	j->files++;
	e = job_event(j, type);
	json_object_update(e, rec);
	json_object_del(e, "kind");
	events_emit(j->a->events, e);
	json_array_append_new(j->manifest, rec);
}

static void deleted(struct job *j, const char *path)
{
	json_t *rec = json_pack("{s:s, s:s}", "path", path, "kind", "deleted");

	if (as_before(j, path, "deleted", rec))
		return;
	json_t *e = job_event(j, "file.deleted");

	json_object_set_new(e, "path", json_string(path));
	events_emit(j->a->events, e);
	json_array_append_new(j->manifest, rec);
}

static void on_path_archive(void *arg, const struct docker_reply *r)
{
	struct job *j = arg;
	const struct change *c = &j->changes.items[j->next_change++];
	size_t off = 0;

	j->call = 0;
	if (r->too_large) {
		skipped(j, c->path, "max_file_size", -1);
	} else if (r->error != NULL) {
		/* Gone since the list was made, or a name Docker cannot take. */
		if (r->status != 404)
			skipped(j, c->path, r->error, -1);
	} else if (tar_next(r->body, r->body_len, &off, &j->entry) == 1) {
		take(j, c->path, c->kind, &j->entry);
	} else {
		skipped(j, c->path, "unreadable archive", -1);
	}
	step(j);
}

static void write_manifest(struct job *j, char *out, size_t cap)
{
	char dir[4096], tmp[4300], when[32];
	json_t *m;
	int fd, r = -1;

	out[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/%s", j->a->cfg->forensics.artifacts_dir, MANIFEST_DIR);
	snprintf(out, cap, "%s/%s.json", dir, j->session);
	util_rfc3339(util_wall(), when);
	m = json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:i, s:O}", "session", j->session,
	              "container_id", j->cid, "container_name", j->cname, "collected", when,
	              "bytes", (json_int_t)j->bytes, "files", j->files, "skipped", j->skipped,
	              "unchanged", j->unchanged, "entries", j->manifest);
	fd = util_open_tmp(out, 0640, tmp, sizeof(tmp));
	if (fd >= 0 && m != NULL)
		r = json_dumpfd(m, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (fd >= 0 && close(fd) < 0)
		r = -1;
	if (r < 0 || rename(tmp, out) < 0) {
		error("artifacts: cannot write %s: %s", out, strerror(errno));
		unlink(tmp);
		out[0] = '\0';
	}
	json_decref(m);
}

static void job_free(struct job *j)
{
	struct artifacts *a = j->a;

	for (struct job **pp = &a->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	a->running--;
	if (j->tar_fd >= 0) {
		loop_del_fd(a->loop, j->tar_fd);
		close(j->tar_fd);
	}
	loop_del_timer(a->loop, j->tar_timer);
	buf_free(&j->tar);
	for (size_t i = 0; j->uploads != NULL && j->uploads[i] != NULL; i++)
		free(j->uploads[i]);
	free(j->uploads);
	changes_free(&j->changes);
	json_decref(j->manifest);
	json_decref(j->known);
	json_decref(j->seen);
	free(j);
}

static void finish(struct job *j)
{
	char manifest[4200];
	json_t *e;

	write_manifest(j, manifest, sizeof(manifest));
	e = job_event(j, "artifacts.collected");
	json_object_set_new(e, "files", json_integer(j->files));
	json_object_set_new(e, "bytes", json_integer((json_int_t)j->bytes));
	json_object_set_new(e, "skipped", json_integer(j->skipped));
	if (j->known != NULL)
		json_object_set_new(e, "unchanged", json_integer(j->unchanged));
	json_object_set_new(e, "manifest", manifest[0] ? json_string(manifest) : json_null());
	json_object_set_new(e, "container_id", json_string(j->cid));
	events_emit(j->a->events, e);
	artifacts_done_cb done = j->done;
	void *arg = j->arg;
	char cid[65], cname[80];
	snprintf(cid, sizeof(cid), "%s", j->cid);
	snprintf(cname, sizeof(cname), "%s", j->cname);
	json_t *seen = json_incref(j->seen);
	job_free(j);
	done(arg, cid, cname, seen);
}

static void scan_tmpfs(struct job *j);

/* Starts the next archive call, or finishes. */
static void step(struct job *j)
{
	struct artifacts *a = j->a;
	char path[8192], q[6144];

	while (j->next_change < j->changes.n) {
		const struct change *c = &j->changes.items[j->next_change];
		if (c->kind == CHANGE_DELETED) {
			deleted(j, c->path);
			j->next_change++;
			continue;
		}
		if (util_url_encode(c->path, q, sizeof(q)) < 0) {
			skipped(j, c->path, "path too long", -1);
			j->next_change++;
			continue;
		}
		snprintf(path, sizeof(path), "/containers/%s/archive?path=%s", j->cid, q);
		size_t max = (size_t)a->cfg->forensics.max_file_size;
		j->call = docker_request_max(a->docker, "GET", path, NULL, max, CALL_MS,
		                             on_path_archive, j);
		if (j->call != 0)
			return;
		j->next_change = j->changes.n; /* out of memory: stop here */
	}
	if (!j->tmpfs_done) {
		j->tmpfs_done = true;
		scan_tmpfs(j);
		return;
	}
	finish(j);
}

/* The whole of tar's output is there: every file in it is an artifact. */
static void tar_done(struct job *j, const char *error)
{
	struct tar_entry *t = &j->entry;
	char path[TAR_NAME_MAX + 2];
	size_t off = 0;
	int n = 0;

	if (j->tar_fd >= 0) {
		loop_del_fd(j->a->loop, j->tar_fd);
		close(j->tar_fd);
		j->tar_fd = -1;
	}
	loop_del_timer(j->a->loop, j->tar_timer);
	j->tar_timer = 0;
	if (error != NULL)
		skipped(j, "/tmp", error, -1);
	else if (j->tar_too_large)
		skipped(j, "/tmp", "max_session_size", (json_int_t)j->tar.len);
	else {
		while ((n = tar_next(j->tar.data, j->tar.len, &off, t)) == 1) {
			snprintf(path, sizeof(path), "/%s", t->name);
			take(j, path, CHANGE_ADDED, t);
		}
		if (n < 0)
			skipped(j, "/tmp", "unreadable archive", -1);
	}
	buf_free(&j->tar);
	step(j);
}

static void on_tar_stdout(void *arg, int stream, const uint8_t *p, size_t n)
{
	struct job *j = arg;
	uint64_t left = (uint64_t)j->a->cfg->forensics.max_session_size - j->bytes;

	if (stream != 1 || j->tar_too_large)
		return;
	if (j->tar.len + n > left || buf_put(&j->tar, p, n) < 0)
		j->tar_too_large = true;
}

static void on_tar_readable(struct loop *l, int fd, int events, void *arg)
{
	struct job *j = arg;
	uint8_t tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tar_done(j, n < 0 ? strerror(errno) : NULL);
		return;
	}
	if (demux_feed(&j->demux, tmp, (size_t)n, on_tar_stdout, j) < 0)
		tar_done(j, "malformed exec stream");
	else if (j->tar_too_large)
		tar_done(j, NULL);
}

static void on_tar_timeout(struct loop *l, void *arg)
{
	struct job *j = arg;

	j->tar_timer = 0;
	tar_done(j, "timed out");
}

static void on_tar_hijacked(void *arg, int fd, const char *error)
{
	struct job *j = arg;

	j->call = 0;
	if (fd < 0) {
		tar_done(j, error ? error : "exec start failed");
		return;
	}
	j->tar_fd = fd;
	demux_init(&j->demux);
	if (loop_add_fd(j->a->loop, fd, LOOP_READ, on_tar_readable, j) < 0) {
		tar_done(j, "out of memory");
		return;
	}
	j->tar_timer = loop_add_timer(j->a->loop, CALL_MS, on_tar_timeout, j);
}

static void on_tar_created(void *arg, const struct docker_reply *r)
{
	struct job *j = arg;
	const char *id = json_string_value(json_object_get(r->json, "Id"));

	j->call = 0;
	if (r->error != NULL || !docker_id_valid(id)) {
		tar_done(j, r->error ? r->error : "exec create: no valid id");
		return;
	}
	j->call = docker_exec_start(j->a->docker, id, false, CALL_MS, on_tar_hijacked, j);
	if (j->call == 0)
		tar_done(j, "out of memory");
}

static void scan_tmpfs(struct job *j)
{
	json_t *body = sandbox_tool_exec_spec(tmpfs_cmd);
	char path[128];

	buf_init(&j->tar);
	j->tar_too_large = false;
	snprintf(path, sizeof(path), "/containers/%s/exec", j->cid);
	j->call =
	    body ? docker_request(j->a->docker, "POST", path, body, CALL_MS, on_tar_created, j) : 0;
	json_decref(body);
	if (j->call == 0)
		tar_done(j, "out of memory");
}

static void on_changes(void *arg, const struct docker_reply *r)
{
	struct job *j = arg;

	j->call = 0;
	/* Nothing changed is "null"; a list that cannot be had is said in
	 * the events, so the manifest's silence is not taken for "nothing". */
	if (r->error != NULL)
		skipped(j, "/", r->error, -1);
	else if (r->json != NULL
	             ? !json_is_array(r->json)
	             : r->body_len > 0 && (r->body_len < 4 || memcmp(r->body, "null", 4)))
		skipped(j, "/", "the changes list is not a list", -1);
	else if (r->json != NULL && changes_plan(r->json, MAX_CHANGES, &j->changes) < 0)
		skipped(j, "/", "out of memory", -1);
	if (j->changes.dropped > 0)
		skipped(j, "/", "too many changes", (json_int_t)j->changes.dropped);
	step(j);
}

struct artifacts *artifacts_new(const struct config *cfg, struct loop *l, struct docker *d,
                                struct events *ev)
{
	struct artifacts *a;
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/%s", cfg->forensics.artifacts_dir, MANIFEST_DIR);
	if (util_mkdirs(dir, 0750) < 0) {
		error("cannot create %s: %s", dir, strerror(errno));
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->cfg = cfg;
	a->loop = l;
	a->docker = d;
	a->events = ev;
	return a;
}

void artifacts_free(struct artifacts *a)
{
	if (a == NULL)
		return;
	while (a->jobs != NULL) {
		docker_cancel(a->docker, a->jobs->call);
		job_free(a->jobs);
	}
	free(a);
}

unsigned artifacts_running(const struct artifacts *a)
{
	return a ? a->running : 0;
}

static char **copy_list(const char *const *l)
{
	size_t n = 0;
	char **out;

	while (l != NULL && l[n] != NULL)
		n++;
	out = calloc(n + 1, sizeof(*out));
	for (size_t i = 0; out != NULL && i < n; i++)
		out[i] = strdup(l[i]);
	return out;
}

static void on_start(struct loop *l, void *arg)
{
	struct job *j = arg;
	char path[128];

	snprintf(path, sizeof(path), "/containers/%s/changes", j->cid);
	j->call = docker_request(j->a->docker, "GET", path, NULL, CALL_MS, on_changes, j);
	if (j->call == 0)
		finish(j);
}

void artifacts_collect(struct artifacts *a, const struct artifact_session *s,
                       artifacts_done_cb done, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->manifest = json_array()) == NULL ||
	    (j->seen = json_object()) == NULL || (j->uploads = copy_list(s->uploads)) == NULL) {
		error("artifacts of session %.8s: out of memory", s->session_id);
		if (j != NULL) {
			json_decref(j->manifest);
			json_decref(j->seen);
			for (size_t i = 0; j->uploads != NULL && j->uploads[i] != NULL; i++)
				free(j->uploads[i]);
			free(j->uploads);
			free(j);
		}
		done(arg, s->container_id, s->container_name, NULL);
		return;
	}
	j->a = a;
	j->known = s->known != NULL ? json_deep_copy(s->known) : NULL;
	j->tar_fd = -1;
	buf_init(&j->tar);
	snprintf(j->session, sizeof(j->session), "%s", s->session_id);
	snprintf(j->ip, sizeof(j->ip), "%s", s->src_ip ? s->src_ip : "");
	j->port = s->src_port;
	snprintf(j->cid, sizeof(j->cid), "%s", s->container_id);
	snprintf(j->cname, sizeof(j->cname), "%s", s->container_name ? s->container_name : "");
	j->done = done;
	j->arg = arg;
	j->next = a->jobs;
	a->jobs = j;
	a->running++;
	/* From the loop, so done() never runs inside the caller. */
	if (loop_add_timer(a->loop, 0, on_start, j) == 0)
		finish(j);
}
