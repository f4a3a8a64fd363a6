/*
 * retention: age and budget rules over Hermes' own files; see retention.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "retention.h"
#include "util.h"

#define DAY 86400

enum kind { K_RECORDING, K_ARTIFACT };

struct file {
	char *path;
	time_t mtime;
	uint64_t size;
	enum kind kind;
};

struct files {
	struct file *v;
	size_t n, cap;
};

/* <session>.cast, <session>-<n>.cast, <session>.json */
static bool recording_name(const char *s)
{
	size_t n = strlen(s);

	if (n < SESSION_ID_LEN + 5 || !util_hex_prefix(s, SESSION_ID_LEN))
		return false;
	const char *rest = s + SESSION_ID_LEN;
	if (strcmp(rest, ".cast") == 0 || strcmp(rest, ".json") == 0)
		return true;
	if (rest[0] != '-' || rest[1] == '\0')
		return false;
	size_t d = strspn(rest + 1, "0123456789");
	return d > 0 && strcmp(rest + 1 + d, ".cast") == 0;
}

static bool artifact_name(const char *s)
{
	return util_is_hex(s, 64);
}

static bool manifest_name(const char *s)
{
	return strlen(s) == SESSION_ID_LEN + 5 && util_hex_prefix(s, SESSION_ID_LEN) &&
	       strcmp(s + SESSION_ID_LEN, ".json") == 0;
}

/* Adds dir's regular files whose names pass ok(); -1 if dir cannot be
 * read (a missing one is empty). */
static int scan(struct files *fs, const char *dir, bool (*ok)(const char *), enum kind kind)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (!ok(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (fs->n == fs->cap) {
			size_t cap = fs->cap ? fs->cap * 2 : 256;
			struct file *v = realloc(fs->v, cap * sizeof(*v));
			if (v == NULL)
				break;
			fs->v = v;
			fs->cap = cap;
		}
		struct file *f = &fs->v[fs->n];
		if (asprintf(&f->path, "%s/%s", dir, de->d_name) < 0)
			break;
		f->mtime = st.st_mtime;
		f->size = (uint64_t)st.st_size;
		f->kind = kind;
		fs->n++;
	}
	closedir(d);
	return 0;
}

static int oldest_first(const void *a, const void *b)
{
	const struct file *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Removes f (unless dry_run) and counts it in c; the path leaves the list. */
static void drop(struct file *f, bool dry_run, FILE *list, struct retention_count *c,
                 struct retention_report *r)
{
	if (!dry_run && unlink(f->path) < 0 && errno != ENOENT) {
		fprintf(stderr, "hermes: prune: %s: %s\n", f->path, strerror(errno));
		r->errors++;
		return;
	}
	if (list != NULL)
		fprintf(list, "%s\n", f->path);
	c->files++;
	c->bytes += f->size;
	free(f->path);
	f->path = NULL;
}

bool retention_enabled(const struct config *cfg)
{
	return cfg->recording.retention_days > 0 || cfg->forensics.retention_days > 0 ||
	       cfg->forensics.disk_budget > 0;
}

int retention_run(const struct config *cfg, time_t now, bool dry_run, FILE *list,
                  struct retention_report *r)
{
	struct files fs = {0};
	char manifests[4200];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	snprintf(manifests, sizeof(manifests), "%s/sessions", cfg->forensics.artifacts_dir);
	if (scan(&fs, cfg->recording.output_dir, recording_name, K_RECORDING) < 0 ||
	    scan(&fs, cfg->forensics.artifacts_dir, artifact_name, K_ARTIFACT) < 0 ||
	    scan(&fs, manifests, manifest_name, K_ARTIFACT) < 0) {
		fprintf(stderr, "hermes: prune: cannot read a data directory: %s\n",
		        strerror(errno));
		rc = -1;
	}
	if (fs.n > 0)
		qsort(fs.v, fs.n, sizeof(*fs.v), oldest_first);

	uint64_t total = 0;
	for (size_t i = 0; i < fs.n; i++) {
		struct file *f = &fs.v[i];
		int days = f->kind == K_RECORDING ? cfg->recording.retention_days
		                                  : cfg->forensics.retention_days;
		if (days > 0 && now - f->mtime > (time_t)days * DAY)
			drop(f, dry_run, list,
			     f->kind == K_RECORDING ? &r->recordings : &r->artifacts, r);
		if (f->path != NULL)
			total += f->size;
	}
	uint64_t budget = (uint64_t)cfg->forensics.disk_budget;
	for (size_t i = 0; budget > 0 && total > budget && i < fs.n; i++) {
		struct file *f = &fs.v[i];
		if (f->path == NULL)
			continue;
		uint64_t size = f->size;
		drop(f, dry_run, list, &r->budget, r);
		if (f->path == NULL)
			total -= size;
	}
	r->kept.bytes = total;
	for (size_t i = 0; i < fs.n; i++) {
		r->kept.files += fs.v[i].path != NULL;
		free(fs.v[i].path);
	}
	free(fs.v);
	return rc;
}

json_t *retention_report_json(const struct retention_report *r)
{
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "recordings_removed",
	    (json_int_t)r->recordings.files, "recordings_bytes", (json_int_t)r->recordings.bytes,
	    "artifacts_removed", (json_int_t)r->artifacts.files, "artifacts_bytes",
	    (json_int_t)r->artifacts.bytes, "budget_removed", (json_int_t)r->budget.files,
	    "budget_bytes", (json_int_t)r->budget.bytes, "kept_files", (json_int_t)r->kept.files,
	    "kept_bytes", (json_int_t)r->kept.bytes, "errors", (json_int_t)r->errors);
}
