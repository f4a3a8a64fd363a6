/* artifacts: see artifacts.h. One job per ended session, one Docker call in
 * flight per job: the changes list, then the plan's groups in turn (one
 * archive of the directory for a batched group, else one archive per
 * path), then one exec of tar for the tmpfs mounts.
 *
 * Names are bytes: a path from an archive is kept raw (char *, NUL-ended:
 * a name cannot hold NUL) and becomes text only where it is written
 * (event_set_name: \xNN escapes, and the raw bytes in base64). A path the
 * changes list gave with U+FFFD whose bytes could not be read is written as
 * Docker gave it, with "path_lossy": true. */
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

#define MAX_CHANGES        5000 /* paths looked at per session */
#define CALL_MS            60000
#define CHANGES_ANSWER_MAX ((size_t)32 << 20) /* the changes list */
/* A directory's archive (a batched group) is read up to this, or
 * max_file_size if larger: thousands of small files fit. */
#define DIR_MAX ((size_t)16 << 20)
/* Archive entries taken (hashed, stored, logged) per turn of the loop, so
 * that a directory of 5000 files does not hold the monitor for seconds. */
#define SLICE        128
#define MANIFEST_DIR "sessions" /* under artifacts_dir */
#define BIG_DIRS     32         /* directories remembered as too large to batch */
/* tmpfs mounts: in neither the changes list nor the archive endpoint's view
 * (Docker 20.10), and gone when the container stops, so tar reads them from
 * inside. Missing ones only make tar complain on stderr, which is not read. */
/* Read by a tar in the box: its tmpfs mounts, which are in no layer, and
 * (artifacts_read_etc) the files the engine's archive cannot show as the
 * box has them. A name that is missing is no failure. */
#define TAR_ARGS_MAX 16
/* A tar of names under "/" to stdout: every command below, its names after. */
#define TAR_TO_STDOUT "tar", "--ignore-failed-read", "-C", "/", "-cf", "-"
static const char *const tar_to_stdout[] = {TAR_TO_STDOUT};
#define TAR_TO_STDOUT_N (sizeof(tar_to_stdout) / sizeof(tar_to_stdout[0]))

/* A box that boots with systemd has a tmpfs /run too: read, but for
 * journald's own files (its volatile journal, megabytes that every session
 * rewrites: the session is Hermes's own recording; docs/artifacts.md).
 * tar's exclusions apply to the names after them. */
#define JOURNAL_EXCLUDES                                                                           \
	"--exclude=run/log/journal/*/*.journal", "--exclude=run/log/journal/*/*.journal~"
const char *const artifacts_baseline_cmd[] = {TAR_TO_STDOUT, JOURNAL_EXCLUDES, "run", "var/log",
                                              NULL};

/* Taking the entries of one archive (a group's directory, or the tmpfs
 * tar) a slice at a time: which of them, best first, and how far it got. */
struct sweep {
	struct buf body; /* the archive, ours */
	struct change_candidate *cand;
	size_t nc, cap;
	size_t next;  /* the next candidate */
	size_t quota; /* how many to take; the rest are counted as cut */
	size_t taken;
	const struct change_group *g; /* NULL: the tmpfs tar */
	bool *found;                  /* per entry of g */
	size_t next_missing;          /* entries of g not in the archive, reported after */
	bool broken;                  /* the archive ended malformed */
	uint64_t timer;
};

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
	bool deletions_done;
	size_t next_group; /* the group being collected */
	size_t next_item;  /* its next entry, when read one archive each */
	bool per_path;     /* the group is read one archive each (after its
	                    * directory's archive could not be had: why) */
	char why[160];
	bool tmpfs_done;
	struct sweep sweep;
	int tar_fd; /* the tar exec's stream, or -1 */
	uint64_t tar_timer;
	struct demux demux;
	struct buf tar; /* tar's stdout so far */
	bool tar_too_large;
	struct tar_entry entry; /* the archive entry being read (large: not on the stack) */
	uint64_t call;
	uint64_t bytes; /* stored for this session */
	unsigned files, skipped, unchanged, prepared_n;
	json_t *manifest; /* array of file records */
	json_t *known;    /* an earlier session's seen, or NULL */
	json_t *prepared; /* what Hermes put there, or NULL */
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
	const char *tar_cmd[TAR_ARGS_MAX]; /* tar_command() */
	bool read_etc, read_run;
	/* Directories whose archive was over the bound (the image's /usr/bin
	 * is): later groups of them are read one archive per path at once. */
	char *big_dirs[BIG_DIRS];
	size_t next_big;
};

static void step(struct job *j);
static void finish(struct job *j);
static void scan_tmpfs(struct job *j);

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

/* A record naming raw path bytes: "path" (and "path_b64"). */
static json_t *raw_rec(const char *raw)
{
	json_t *rec = json_object();

	if (rec != NULL && event_set_name(rec, "path", raw, strlen(raw)) < 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/* A record for a path of the changes list; a lossy one is as Docker gave
 * it, and says so. */
static json_t *change_rec(const struct change *c)
{
	if (!c->lossy)
		return raw_rec(c->path);
	return json_pack("{s:s, s:b}", "path", c->path, "path_lossy", 1);
}

/* What `seen` and `known` are keyed by: the path when it is text, else
 * its bytes (which no text path can be taken for: those begin with '/'). */
static char *seen_key(const char *raw)
{
	char *b64, *key = NULL;

	if (util_utf8_valid(raw, strlen(raw)))
		return strdup(raw);
	if ((b64 = util_base64(raw, strlen(raw))) != NULL && asprintf(&key, "b64:%s", b64) < 0)
		key = NULL;
	free(b64);
	return key;
}

/* Logs rec's path as not copied out; rec (stolen) goes to the manifest. */
static void skipped_rec(struct job *j, json_t *rec, const char *reason, json_int_t size)
{
	json_t *e = job_event(j, "artifact.skipped");
	static const char *const keys[] = {"path", "path_b64", "path_lossy"};

	j->skipped++;
	if (rec == NULL)
		rec = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(rec, keys[i]);
		if (v != NULL)
			json_object_set(e, keys[i], v);
	}
	json_object_set_new(e, "reason", json_string(reason));
	json_object_set_new(rec, "skipped", json_string(reason));
	if (size >= 0) {
		json_object_set_new(e, "size", json_integer(size));
		json_object_set_new(rec, "size", json_integer(size));
	}
	events_emit(j->a->events, e);
	json_array_append_new(j->manifest, rec);
}

static void skipped(struct job *j, const char *raw, const char *reason, json_int_t size)
{
	skipped_rec(j, raw_rec(raw), reason, size);
}

/* What Hermes put at key (artifacts.h): its hash, or NULL; *size the
 * size of a log the box appends to, else -1. */
static const char *prepared_at(const struct job *j, const char *key, json_int_t *size)
{
	const json_t *v = json_object_get(j->prepared, key);
	const json_t *n = json_object_get(v, "size");

	*size = -1;
	if (!json_is_object(v))
		return json_string_value(v);
	if (json_is_integer(n) && json_integer_value(n) >= 0)
		*size = json_integer_value(n);
	return json_string_value(json_object_get(v, "sha256"));
}

/* Notes what key is now; true when an earlier session of the container
 * left it just so (then it is listed, not reported again). */
static bool as_before(struct job *j, const char *key, const char *now, json_t *rec)
{
	const char *was = json_string_value(json_object_get(j->known, key));
	bool prepared = was == NULL;
	json_int_t size; /* a log's: whether it is as made needs only the hash */

	if (prepared)
		was = prepared_at(j, key, &size);
	json_object_set_new(j->seen, key, json_string(now));
	if (was == NULL || strcmp(was, now) != 0)
		return false;
	json_object_set_new(rec, prepared ? "prepared" : "unchanged", json_true());
	json_array_append_new(j->manifest, rec);
	if (prepared)
		j->prepared_n++;
	else
		j->unchanged++;
	return true;
}

/* A log Hermes prepared that the box appends to (artifacts.h): true when
 * the file still starts with that log, *from its size, so that only what
 * follows is kept. False when it is no such log, and then rec says whether
 * it was one that the box (or its root) rewrote instead ("log_altered"). */
static bool appended_from(const struct job *j, const char *key, const struct tar_entry *t,
                          json_t *rec, size_t *from)
{
	char hash[DIGEST_HEX_MAX];
	json_int_t base;
	const char *was = prepared_at(j, key, &base);

	*from = 0;
	if (was == NULL || base < 0)
		return false;
	if ((uint64_t)base <= t->size &&
	    digest_hex(EVP_sha256(), t->data, (size_t)base, hash) == 0 && strcmp(hash, was) == 0) {
		*from = (size_t)base;
		return true;
	}
	/* Shorter, or its past changed: wiped or edited, as log cleaners do. */
	json_object_set_new(rec, "log_altered", json_true());
	return false;
}

/* A regular file: hashed and stored. False when it was not: then rec is
 * in the manifest already (unchanged, or skipped and logged). */
static bool take_file(struct job *j, const char *raw, const char *key, const struct tar_entry *t,
                      json_t *rec)
{
	char hash[DIGEST_HEX_MAX], part[DIGEST_HEX_MAX];
	const uint8_t *keep = t->data;
	size_t from, n = t->size;
	bool grew;
	int r;

	if (digest_hex(EVP_sha256(), t->data, t->size, hash) < 0) {
		skipped_rec(j, rec, "hash failed", (json_int_t)t->size);
		return false;
	}
	json_object_set_new(rec, "type", json_string("file"));
	json_object_set_new(rec, "size", json_integer((json_int_t)t->size));
	json_object_set_new(rec, "sha256", json_string(hash));
	if (as_before(j, key, hash, rec))
		return false;
	/* A prepared log that grew: what was appended is the session's, and
	 * what is stored (size and sha256 say so); the whole file's are kept
	 * beside. */
	if ((grew = appended_from(j, key, t, rec, &from))) {
		keep = t->data + from;
		n = t->size - from;
		if (digest_hex(EVP_sha256(), keep, n, part) < 0) {
			skipped_rec(j, rec, "hash failed", (json_int_t)t->size);
			return false;
		}
		json_object_set_new(rec, "appended",
		                    json_pack("{s:I, s:I, s:s}", "offset", (json_int_t)from,
		                              "file_size", (json_int_t)t->size, "file_sha256",
		                              hash));
		json_object_set_new(rec, "size", json_integer((json_int_t)n));
		json_object_set_new(rec, "sha256", json_string(part));
	}
	if (n > (uint64_t)j->a->cfg->forensics.max_file_size) {
		skipped_rec(j, rec, "max_file_size", (json_int_t)n);
		return false;
	}
	if (j->bytes + n > (uint64_t)j->a->cfg->forensics.max_session_size) {
		skipped_rec(j, rec, "max_session_size", (json_int_t)n);
		return false;
	}
	r = store(j->a, grew ? part : hash, keep, n);
	if (r < 0) {
		char *text = util_escape_bytes(raw, strlen(raw), NULL);
		error("artifact %s of session %.8s: %s", text ? text : "?", j->session,
		      strerror(-r));
		free(text);
		skipped_rec(j, rec, "cannot store", (json_int_t)n);
		return false;
	}
	j->bytes += n;
	return true;
}

/* One entry of an archive, named raw: a file is hashed and stored, a link
 * noted, anything else (directories, devices) ignored. A hard link's
 * target is named inside the archive: link_base is put before it. */
static void take(struct job *j, const char *raw, enum change_kind kind, const struct tar_entry *t,
                 const char *link_base)
{
	const char *type = kind == CHANGE_ADDED ? "file.created" : "file.changed";
	char mode[8], *key;
	json_t *e, *rec;

	if (t->type != '0' && t->type != '2' && t->type != '1')
		return;
	snprintf(mode, sizeof(mode), "%04o", (unsigned)t->mode);
	rec = raw_rec(raw);
	key = seen_key(raw);
	if (rec == NULL || key == NULL) {
		json_decref(rec);
		free(key);
		j->skipped++;
		return;
	}
	json_object_set_new(rec, "kind", json_string(kind == CHANGE_ADDED ? "created" : "changed"));
	json_object_set_new(rec, "mode", json_string(mode));
	if (t->type == '0') {
		bool ok = take_file(j, raw, key, t, rec);
		free(key);
		if (!ok)
			return;
	} else {
		char target[TAR_NAME_MAX * 2 + 2], *text, *now = NULL;
		bool listed;

		json_object_set_new(rec, "type",
		                    json_string(t->type == '2' ? "symlink" : "hardlink"));
		snprintf(target, sizeof(target), "%s%s%s",
		         t->type == '1' && link_base ? link_base : "",
		         t->type == '1' && link_base ? "/" : "", t->link);
		event_set_name(rec, "link", target, strlen(target));
		text = util_escape_bytes(target, strlen(target), NULL);
		if (text == NULL || asprintf(&now, "link:%s", text) < 0)
			now = NULL;
		free(text);
		listed = now != NULL && as_before(j, key, now, rec);
		free(now);
		free(key);
		if (listed)
			return;
	}
	if (uploaded(j, raw))
		json_object_set_new(rec, "transfer", json_true());
	j->files++;
	e = job_event(j, type);
	json_object_update(e, rec);
	json_object_del(e, "kind");
	/* A log of the box's past wiped or cut: what a log cleaner does. */
	if (json_is_true(json_object_get(rec, "log_altered")))
		json_object_set_new(e, "alert",
		                    json_pack("{s:s, s:[O]}", "type", "log_altered", "paths",
		                              json_object_get(rec, "path")));
	events_emit(j->a->events, e);
	json_array_append_new(j->manifest, rec);
}

static void deleted(struct job *j, const struct change *c)
{
	json_t *rec = change_rec(c), *e;

	if (rec == NULL)
		return;
	json_object_set_new(rec, "kind", json_string("deleted"));
	if (as_before(j, c->path, "deleted", rec))
		return;
	e = job_event(j, "file.deleted");
	json_object_update(e, rec);
	json_object_del(e, "kind");
	events_emit(j->a->events, e);
	json_array_append_new(j->manifest, rec);
}

static struct change_group *current(struct job *j)
{
	return &j->changes.groups[j->next_group];
}

static void next_group(struct job *j)
{
	j->next_group++;
	j->next_item = 0;
	j->per_path = false;
	j->why[0] = '\0';
}

static void on_path_archive(void *arg, const struct docker_reply *r)
{
	struct job *j = arg;
	const struct change *c = &current(j)->items[j->next_item++];
	size_t off = 0;

	j->call = 0;
	if (r->too_large) {
		skipped(j, c->path, "max_file_size", -1);
	} else if (r->status == 404) {
		/* Removed since the list was made (a process left running). */
		skipped(j, c->path, "gone", -1);
	} else if (r->error != NULL) {
		skipped(j, c->path, r->error, -1);
	} else if (tar_next(r->body, r->body_len, &off, &j->entry) == 1) {
		take(j, c->path, c->kind, &j->entry, NULL);
	} else {
		skipped(j, c->path, "unreadable archive", -1);
	}
	step(j);
}

/* An entry of the group dir's archive: its full path, raw. */
static bool full_path(const char *dir, const char *name, char *out, size_t cap)
{
	const char *slash = strrchr(dir, '/');
	size_t plen = slash ? (size_t)(slash - dir) : 0, n;
	int len = snprintf(out, cap, "%.*s/%s", (int)plen, dir, name);

	if (len < 0 || (size_t)len >= cap)
		return false;
	n = (size_t)len;
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return true;
}

static int by_item_path(const void *key, const void *item)
{
	return strcmp(key, ((const struct change *)item)->path);
}

/* Which entry of the group an archive entry is (by the name Docker's list
 * would give it), or -1. */
static ssize_t match(const struct change_group *g, const char *raw)
{
	char *name = changes_docker_name(raw, strlen(raw));
	const struct change *c;

	if (name == NULL)
		return -1;
	c = bsearch(name, g->items, g->n, sizeof(*g->items), by_item_path);
	free(name);
	return c != NULL ? c - g->items : -1;
}

static size_t dir_max(const struct job *j)
{
	size_t max = (size_t)j->a->cfg->forensics.max_file_size;

	return max > DIR_MAX ? max : DIR_MAX;
}

static void sweep_free(struct job *j)
{
	struct sweep *w = &j->sweep;

	loop_del_timer(j->a->loop, w->timer);
	buf_free(&w->body);
	free(w->cand);
	free(w->found);
	memset(w, 0, sizeof(*w));
}

/* The name of an archive entry, raw, and where a hard link's target is
 * named from. */
static bool sweep_name(const struct sweep *w, const char *name, char *raw, size_t cap, char *base,
                       size_t bcap)
{
	const char *slash;
	int n;

	if (w->g == NULL) { /* tar -C / ...: "tmp/x" */
		n = snprintf(raw, cap, "/%s", name);
		base[0] = '\0';
		return n > 0 && (size_t)n < cap;
	}
	slash = strrchr(w->g->dir, '/');
	snprintf(base, bcap, "%.*s", slash ? (int)(slash - w->g->dir) : 0, w->g->dir);
	return full_path(w->g->dir, name, raw, cap);
}

static bool add_candidate(struct sweep *w, const struct tar_entry *e, size_t off, size_t item)
{
	if (w->nc == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct change_candidate *c = realloc(w->cand, cap * sizeof(*c));
		if (c == NULL)
			return false;
		w->cand = c;
		w->cap = cap;
	}
	changes_candidate(&w->cand[w->nc++], e, off, item);
	return true;
}

/* Lists the archive's entries to take: for a group, those that are its
 * entries (one per name when the cap cuts through it); for the tmpfs tar,
 * every file and link. Best first when not all of them can be taken. */
static bool sweep_scan(struct job *j)
{
	struct sweep *w = &j->sweep;
	char raw[TAR_NAME_MAX + 4200], base[4200];
	size_t off = 0, at = 0;
	int r;

	while ((r = tar_next(w->body.data, w->body.len, &off, &j->entry)) == 1) {
		const struct tar_entry *e = &j->entry;
		ssize_t i = 0;
		bool takes = e->type == '0' || e->type == '1' || e->type == '2';

		if (w->g != NULL) {
			if (!sweep_name(w, e->name, raw, sizeof(raw), base, sizeof(base)) ||
			    (i = match(w->g, raw)) < 0 || (w->quota < w->g->n && w->found[i])) {
				at = off;
				continue;
			}
			w->found[i] = true;
		}
		if (takes && !add_candidate(w, e, at, (size_t)i))
			return false;
		at = off;
	}
	w->broken = r < 0;
	if (w->g == NULL)
		w->quota = MAX_CHANGES;
	if (w->nc > w->quota)
		changes_sort_candidates(w->cand, w->nc);
	return true;
}

static void sweep_done(struct job *j)
{
	bool tmpfs = j->sweep.g == NULL, broken = j->sweep.broken;

	sweep_free(j);
	if (tmpfs) {
		if (broken)
			skipped(j, "/tmp", "unreadable archive", -1);
		j->tmpfs_done = true;
	} else {
		next_group(j);
	}
	step(j);
}

static void on_sweep_timer(struct loop *l, void *arg);

/* What a tmpfs tar entry is: a file the box's tmpfs holds is new; one of
 * /etc's was there before. */
static enum change_kind tar_kind(const char *raw)
{
	return strncmp(raw, "/etc/", 5) == 0 ? CHANGE_MODIFIED : CHANGE_ADDED;
}

/* Takes up to SLICE entries, then lets the loop run. */
static void sweep_run(struct job *j)
{
	struct sweep *w = &j->sweep;
	char raw[TAR_NAME_MAX + 4200], base[4200];
	size_t work = 0;

	for (; w->next < w->nc && work < SLICE; w->next++) {
		const struct change_candidate *c = &w->cand[w->next];
		enum change_kind kind;
		size_t o = c->off;

		if (tar_next(w->body.data, w->body.len, &o, &j->entry) != 1 ||
		    !sweep_name(w, j->entry.name, raw, sizeof(raw), base, sizeof(base)))
			continue;
		kind = w->g ? w->g->items[c->item].kind : tar_kind(raw);
		if (w->taken++ < w->quota) {
			take(j, raw, kind, &j->entry, base);
			work++;
		} else {
			char *text = util_escape_bytes(raw, strlen(raw), NULL);
			changes_drop(&j->changes.dropped, text ? text : "?", kind);
			free(text);
		}
	}
	/* Gone since the list was made, or past where the archive broke
	 * (what came before stays taken); past the quota, only counted. */
	for (; w->g != NULL && w->next_missing < w->g->n && work < SLICE; w->next_missing++) {
		const struct change *c = &w->g->items[w->next_missing];

		if (w->found[w->next_missing])
			continue;
		if (w->taken++ < w->quota) {
			skipped_rec(j, change_rec(c), w->broken ? "unreadable archive" : "gone",
			            -1);
			work++;
		} else {
			changes_drop(&j->changes.dropped, c->path, c->kind);
		}
	}
	if (w->next < w->nc || (w->g != NULL && w->next_missing < w->g->n)) {
		w->timer = loop_add_timer(j->a->loop, 0, on_sweep_timer, j);
		if (w->timer != 0)
			return;
		/* Cannot wait for the loop: go on now rather than stop. */
		sweep_run(j);
		return;
	}
	sweep_done(j);
}

static void on_sweep_timer(struct loop *l, void *arg)
{
	struct job *j = arg;

	j->sweep.timer = 0;
	sweep_run(j);
}

static void remember_big(struct artifacts *a, const char *dir)
{
	char *copy = strdup(dir);

	if (copy == NULL)
		return;
	free(a->big_dirs[a->next_big]);
	a->big_dirs[a->next_big] = copy;
	a->next_big = (a->next_big + 1) % BIG_DIRS;
}

/* A group read one archive per path gives the same as its directory's
 * archive but where the cap cuts through it (the headers choose) or a name
 * is not UTF-8 (only the directory's archive holds it). */
static bool batch_needed(const struct change_group *g)
{
	if (g->quota < g->n)
		return true;
	for (size_t i = 0; i < g->n; i++)
		if (g->items[i].lossy)
			return true;
	return false;
}

/* Whether to read the group's directory whole: not one already seen too
 * large, unless only its archive will do. */
static bool batch_group(const struct artifacts *a, const struct change_group *g)
{
	if (!g->batch)
		return false;
	for (size_t i = 0; i < BIG_DIRS; i++)
		if (a->big_dirs[i] != NULL && strcmp(a->big_dirs[i], g->dir) == 0)
			return batch_needed(g);
	return true;
}

static void on_dir_archive(void *arg, const struct docker_reply *r)
{
	struct job *j = arg;
	const struct change_group *g = current(j);
	struct sweep *w = &j->sweep;

	j->call = 0;
	if (!r->too_large && r->error == NULL) {
		/* The reply is borrowed: the archive is kept for the slices. */
		w->g = g;
		w->quota = g->quota < g->n ? g->quota : SIZE_MAX;
		if ((w->found = calloc(g->n, sizeof(*w->found))) != NULL &&
		    (r->body_len == 0 || buf_put(&w->body, r->body, r->body_len) == 0) &&
		    sweep_scan(j)) {
			sweep_run(j);
			return;
		}
		sweep_free(j);
	}
	/* Read one archive each instead; the names Docker cannot give are
	 * skipped, saying why. */
	if (r->too_large) {
		snprintf(j->why, sizeof(j->why), "the archive of %s is over %zu bytes", g->dir,
		         dir_max(j));
		remember_big(j->a, g->dir);
	} else if (r->error != NULL)
		snprintf(j->why, sizeof(j->why), "%s", r->error);
	else
		snprintf(j->why, sizeof(j->why), "out of memory");
	j->per_path = true;
	step(j);
}

/* Starts GET .../archive?path=PATH: NULL, or why it cannot be asked. */
static const char *fetch(struct job *j, const char *path, size_t max, docker_cb cb)
{
	char url[8192], q[6144];

	if (util_url_encode(path, q, sizeof(q)) < 0)
		return "path too long";
	snprintf(url, sizeof(url), "/containers/%s/archive?path=%s", j->cid, q);
	j->call = docker_request_max(j->a->docker, "GET", url, NULL, max, CALL_MS, cb, j);
	return j->call != 0 ? NULL : "out of memory";
}

/* The group's next path read with an archive of its own; false when the
 * group is done. */
static bool step_path(struct job *j)
{
	const struct change_group *g = current(j);

	while (j->next_item < g->n) {
		const struct change *c = &g->items[j->next_item];
		const char *err;
		char why[256];

		if (!c->kept) {
			/* The cap cut through the group and its directory could
			 * not be read: the paths chose. */
			changes_drop(&j->changes.dropped, c->path, c->kind);
		} else if (c->lossy) {
			/* Docker cannot name it: only a directory's archive can. */
			snprintf(why, sizeof(why), "name not UTF-8: %s",
			         j->why[0] ? j->why : "no directory above it to read");
			skipped_rec(j, change_rec(c), why, -1);
		} else if ((err = fetch(j, c->path, (size_t)j->a->cfg->forensics.max_file_size,
		                        on_path_archive)) == NULL) {
			return true;
		} else {
			skipped(j, c->path, err, -1);
		}
		j->next_item++;
	}
	return false;
}

/* Starts the next archive call, or finishes. */
static void step(struct job *j)
{
	if (!j->deletions_done) {
		j->deletions_done = true;
		for (size_t i = 0; i < j->changes.n_deleted; i++)
			deleted(j, &j->changes.deleted[i]);
	}
	while (j->next_group < j->changes.n_groups) {
		const struct change_group *g = current(j);

		if (!j->per_path && batch_group(j->a, g)) {
			const char *err = fetch(j, g->dir, dir_max(j), on_dir_archive);
			if (err == NULL)
				return;
			snprintf(j->why, sizeof(j->why), "%s", err);
			j->per_path = true;
		}
		if (step_path(j))
			return;
		next_group(j);
	}
	if (!j->tmpfs_done) {
		j->tmpfs_done = true;
		scan_tmpfs(j);
		return;
	}
	finish(j);
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
	sweep_free(j);
	for (size_t i = 0; j->uploads != NULL && j->uploads[i] != NULL; i++)
		free(j->uploads[i]);
	free(j->uploads);
	changes_free(&j->changes);
	json_decref(j->manifest);
	json_decref(j->known);
	json_decref(j->prepared);
	json_decref(j->seen);
	free(j);
}

/* What the cap kept out: one event with counts and a sample, not one per
 * path (docs/events.md); and the entries Docker should not have sent. */
static void report_dropped(struct job *j)
{
	json_t *d = changes_dropped_json(&j->changes.dropped), *e, *rec;
	json_int_t total = (json_int_t)j->changes.dropped.total;

	if (j->changes.malformed > 0)
		skipped(j, "/", "malformed changes", (json_int_t)j->changes.malformed);
	if (d == NULL)
		return;
	j->skipped++;
	e = job_event(j, "artifact.skipped");
	rec = json_pack("{s:s, s:s, s:I, s:I, s:O}", "path", "/", "skipped", "too many changes",
	                "size", total, "max", (json_int_t)MAX_CHANGES, "dropped", d);
	json_object_set_new(e, "path", json_string("/"));
	json_object_set_new(e, "reason", json_string("too many changes"));
	json_object_set_new(e, "size", json_integer(total));
	json_object_set_new(e, "max", json_integer(MAX_CHANGES));
	json_object_set_new(e, "dropped", d);
	events_emit(j->a->events, e);
	json_array_append_new(j->manifest, rec);
}

static void finish(struct job *j)
{
	char manifest[4200];
	json_t *e;

	report_dropped(j);
	write_manifest(j, manifest, sizeof(manifest));
	e = job_event(j, "artifacts.collected");
	json_object_set_new(e, "files", json_integer(j->files));
	json_object_set_new(e, "bytes", json_integer((json_int_t)j->bytes));
	json_object_set_new(e, "skipped", json_integer(j->skipped));
	if (j->known != NULL)
		json_object_set_new(e, "unchanged", json_integer(j->unchanged));
	if (j->prepared != NULL)
		json_object_set_new(e, "prepared", json_integer(j->prepared_n));
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

/* The whole of tar's output is there: every file in it is an artifact. */
static void tar_done(struct job *j, const char *error)
{
	if (j->tar_fd >= 0) {
		loop_del_fd(j->a->loop, j->tar_fd);
		close(j->tar_fd);
		j->tar_fd = -1;
	}
	loop_del_timer(j->a->loop, j->tar_timer);
	j->tar_timer = 0;
	if (error != NULL) {
		skipped(j, "/tmp", error, -1);
	} else if (j->tar_too_large) {
		skipped(j, "/tmp", "max_session_size", (json_int_t)j->tar.len);
	} else {
		/* Every file in it is an artifact, taken a slice at a time. */
		j->sweep.body = j->tar;
		buf_init(&j->tar);
		if (sweep_scan(j)) {
			sweep_run(j);
			return;
		}
		sweep_free(j);
		skipped(j, "/tmp", "out of memory", -1);
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
	const char *id = NULL;

	j->call = 0;
	if (r->error != NULL || docker_json_id(r->json, &id, NULL) < 0) {
		tar_done(j, r->error ? r->error : "exec create: no valid id");
		return;
	}
	j->call = docker_exec_start(j->a->docker, id, false, CALL_MS, on_tar_hijacked, j);
	if (j->call == 0)
		tar_done(j, "out of memory");
}

static void scan_tmpfs(struct job *j)
{
	json_t *body = sandbox_tool_exec_spec(j->a->tar_cmd);
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
	step(j);
}

static void tar_command(struct artifacts *a);

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
	tar_command(a);
	return a;
}

/* The tmpfs tar's command: tmp and dev/shm, the /etc files and /run as
 * asked, the exclusions before every name. */
static void tar_command(struct artifacts *a)
{
	static const char *const excludes[] = {JOURNAL_EXCLUDES};
	size_t n = TAR_TO_STDOUT_N;
	char text[1024];

	memcpy(a->tar_cmd, tar_to_stdout, sizeof(tar_to_stdout));
	for (size_t i = 0; a->read_run && i < sizeof(excludes) / sizeof(excludes[0]); i++)
		a->tar_cmd[n++] = excludes[i];
	a->tar_cmd[n++] = "tmp";
	a->tar_cmd[n++] = "dev/shm";
	for (int f = 0; a->read_etc && f < ENGINE_FILES_N && n + 2 < TAR_ARGS_MAX; f++)
		if (sandbox_etc_text(a->cfg, (enum engine_file)f, text, sizeof(text)) > 0)
			a->tar_cmd[n++] = sandbox_etc_path[f] + 1; /* "etc/hosts": tar -C / */
	if (a->read_run)
		a->tar_cmd[n++] = "run";
	a->tar_cmd[n] = NULL;
}

void artifacts_read_etc(struct artifacts *a)
{
	a->read_etc = true;
	tar_command(a);
}

void artifacts_read_run(struct artifacts *a)
{
	a->read_run = true;
	tar_command(a);
}

void artifacts_free(struct artifacts *a)
{
	if (a == NULL)
		return;
	while (a->jobs != NULL) {
		struct job *j = a->jobs;
		artifacts_done_cb done = j->done;
		void *arg = j->arg;
		char cid[65], cname[80];

		snprintf(cid, sizeof(cid), "%s", j->cid);
		snprintf(cname, sizeof(cname), "%s", j->cname);
		docker_cancel(a->docker, j->call);
		job_free(j);
		/* Told, so that what it holds for the collection is freed. */
		done(arg, cid, cname, NULL);
	}
	for (size_t i = 0; i < BIG_DIRS; i++)
		free(a->big_dirs[i]);
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
	/* Root in the box makes this list as long as it likes: the bound
	 * keeps it to what collection can use (the path cap takes the rest). */
	j->call = docker_request_max(j->a->docker, "GET", path, NULL, CHANGES_ANSWER_MAX, CALL_MS,
	                             on_changes, j);
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
	j->prepared = s->prepared != NULL ? json_deep_copy(s->prepared) : NULL;
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
