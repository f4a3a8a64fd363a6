/*
 * cli_export: hermes artifacts (what was collected, and where it is
 * stored) and hermes export (one session, packed for another analyst);
 * see docs/cli.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_cmd.h"
#include "table.h"
#include "util.h"

#define SHA256_HEX 64 /* the hex digits of a stored file's name */

/* <artifacts_dir>/<sha256> in out when that file is stored, else -1. */
static int stored_file(struct ctx *c, const char *sha256, char *out, size_t cap)
{
	struct stat st;

	if (!util_is_hex(sha256, SHA256_HEX))
		return -1;
	int n = snprintf(out, cap, "%s/%s", c->cfg->forensics.artifacts_dir, sha256);
	if (n < 0 || (size_t)n >= cap || stat(out, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return 0;
}

/* Text: every cell cut to MAX_CELL but the column named whole, which holds
 * one of our paths and is printed whole. */
static int print_cut(json_t *rows, const char *whole)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row)
	{
		for (void *it = json_object_iter(row); it != NULL;
		     it = json_object_iter_next(row, it)) {
			if (strcmp(json_object_iter_key(it), whole) == 0)
				continue;
			char *cell = table_cell(json_object_iter_value(it), MAX_CELL);
			if (cell == NULL)
				return -1;
			json_object_iter_set_new(row, it, json_string(cell));
			free(cell);
		}
	}
	return table_print(stdout, rows, 0);
}

int cmd_artifacts(struct ctx *c, char *const *args)
{
	/* The newest N, shown oldest first. */
	static const char sql[] =
	    "SELECT session, time, event, path, type, size, sha256, mode, transfer, reason FROM"
	    " (SELECT rowid AS n, session, replace(substr(timestamp, 1, 19), 'T', ' ') AS time,"
	    " " ARTIFACT_EVENT ", path, type, size, sha256, mode, transfer, reason"
	    " FROM artifacts"
	    " WHERE (?1 IS NULL OR session = ?1) AND (?2 IS NULL OR timestamp >= ?2)"
	    " ORDER BY rowid DESC LIMIT CAST(?3 AS INTEGER)) ORDER BY n";
	char id[64], limit[24], path[4200];

	if (c->o.session != NULL && cli_resolve_session(c, c->o.session, id) < 0)
		return 1;
	const char *p[] = {c->o.session != NULL ? id : NULL, c->o.since,
	                   cli_limit_param(c->o.limit, limit)};
	json_t *rows = cli_query(c, sql, p, 3);
	size_t i;
	json_t *row;

	if (rows == NULL)
		return 1;
	json_array_foreach(rows, i, row)
	{
		const char *sha256 = json_string_value(json_object_get(row, "sha256"));
		json_t *stored = NULL;
		if (stored_file(c, sha256, path, sizeof(path)) == 0)
			stored = json_string(path);
		json_object_set_new(row, "stored", stored != NULL ? stored : json_null());
	}
	int rc = 0;
	if (c->o.json)
		rc = cli_print_json(rows);
	else if (json_array_size(rows) == 0)
		printf("no artifacts\n");
	else
		rc = print_cut(rows, "stored") == 0 ? 0 : 1;
	json_decref(rows);
	return rc;
}

/* One export under way: the directory, what was written, what was not. */
struct export_job {
	struct ctx *c;
	int dirfd;
	json_t *files, *failed;
};

static void wrote(struct export_job *x, const char *name, const char *src, long long bytes)
{
	json_t *f = json_object();

	json_object_set_new(f, "file", json_string(name));
	json_object_set_new(f, "source", src != NULL ? json_string(src) : json_null());
	json_object_set_new(f, "bytes", json_integer(bytes));
	json_array_append_new(x->files, f);
}

static void failed(struct export_job *x, const char *name, const char *src, const char *why)
{
	json_t *f = json_object();

	if (src != NULL) {
		/* A path from the log: as terminal-safe as the tables. */
		char *shown = table_escape(src, strlen(src), false);
		fprintf(stderr, "hermes: export: %s (from %s): %s\n", name, shown ? shown : "?",
		        why);
		free(shown);
	} else {
		fprintf(stderr, "hermes: export: %s: %s\n", name, why);
	}
	json_object_set_new(f, "file", json_string(name));
	json_object_set_new(f, "source", src != NULL ? json_string(src) : json_null());
	json_object_set_new(f, "error", json_string(why));
	json_array_append_new(x->failed, f);
}

/* A new file in the export directory, never one that is there already. */
static int create_in(struct export_job *x, const char *name, mode_t mode)
{
	return openat(x->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

/* Copies the regular file src to name. Returns the bytes copied, or -1 with
 * the reason in why (and no partial copy left). */
static long long copy_file(struct export_job *x, const char *name, const char *src, mode_t mode,
                           char *why, size_t whysz)
{
	struct stat st;
	char buf[65536];
	long long total = 0;
	int err = 0;
	/* O_NONBLOCK: a FIFO in the source's place must not hang us. */
	int in = open(src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (in < 0) {
		snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "not a regular file");
		close(in);
		return -1;
	}
	int out = create_in(x, name, mode);
	if (out < 0) {
		snprintf(why, whysz, "cannot create it: %s", strerror(errno));
		close(in);
		return -1;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		size_t done;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		int r = util_write_all(out, buf, (size_t)n, &done);
		if (r < 0) {
			err = -r;
			break;
		}
		total += n;
	}
	if (close(out) < 0 && err == 0)
		err = errno;
	close(in);
	if (err != 0) {
		unlinkat(x->dirfd, name, 0);
		snprintf(why, whysz, "%s", strerror(err));
		return -1;
	}
	return total;
}

static void export_copy(struct export_job *x, const char *name, const char *src, mode_t mode)
{
	char why[512];
	long long n = copy_file(x, name, src, mode, why, sizeof(why));

	if (n < 0)
		failed(x, name, src, why);
	else
		wrote(x, name, src, n);
}

/* session.json: the session as `hermes show SESSION --json` prints it. */
static void export_summary(struct export_job *x, json_t *all)
{
	static const char name[] = "session.json";
	int fd = create_in(x, name, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (f == NULL) {
		failed(x, name, NULL, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	bool bad = json_dumpf(all, f, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0;
	bad = fputc('\n', f) == EOF || bad;
	long long bytes = ftello(f);
	bad = ferror(f) || bad;
	if (fclose(f) != 0 || bad) {
		unlinkat(x->dirfd, name, 0);
		failed(x, name, NULL, "write failed");
		return;
	}
	wrote(x, name, NULL, bytes);
}

/* Whether one line of the log is an event of session id. */
static bool line_of(const char *line, size_t len, const char *id)
{
	/* Most lines are another session's: no parse for them. */
	if (memmem(line, len, id, strlen(id)) == NULL)
		return false;
	json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *s = json_string_value(json_object_get(ev, "session"));
	bool yes = s != NULL && strcmp(s, id) == 0;
	json_decref(ev);
	return yes;
}

/* events.jsonl: the log's whole lines of this session, byte for byte. */
static void export_events(struct export_job *x, const char *id)
{
	static const char name[] = "events.jsonl";
	const char *src = x->c->events;
	FILE *in = fopen(src, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long long bytes = 0;

	if (in == NULL) {
		failed(x, name, src, strerror(errno));
		return;
	}
	int fd = create_in(x, name, 0644);
	FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (out == NULL) {
		failed(x, name, NULL, strerror(errno));
		if (fd >= 0)
			close(fd);
		fclose(in);
		return;
	}
	/* A last line without its newline is still being written. */
	while ((n = getline(&line, &cap, in)) > 0 && line[n - 1] == '\n')
		if (line_of(line, (size_t)n - 1, id)) {
			fwrite(line, 1, (size_t)n, out);
			bytes += n;
		}
	free(line);
	bool bad_in = ferror(in), bad_out = ferror(out);
	fclose(in);
	if (fclose(out) != 0 || bad_in || bad_out) {
		unlinkat(x->dirfd, name, 0);
		failed(x, name, src, bad_in ? "read failed" : "write failed");
		return;
	}
	wrote(x, name, src, bytes);
}

/* The channels' recordings, named as the daemon names them: <id>.cast for
 * the first, <id>-<channel>.cast for the others. */
static void export_recordings(struct export_job *x, const char *id)
{
	const char *p[] = {id};
	json_t *rows = cli_query(x->c,
	                         "SELECT channel, recording FROM channels WHERE session = ?1 AND"
	                         " recording IS NOT NULL GROUP BY recording ORDER BY min(rowid)",
	                         p, 1);
	size_t i;
	json_t *row;
	char name[SESSION_ID_LEN + 32], first[SESSION_ID_LEN + 8];

	if (rows == NULL) {
		failed(x, "*.cast", NULL, "cannot read the index");
		return;
	}
	snprintf(first, sizeof(first), "%s.cast", id);
	json_array_foreach(rows, i, row)
	{
		const char *src = json_string_value(json_object_get(row, "recording"));
		if (src == NULL) {
			failed(x, "*.cast", NULL, "a recording in the index is not a path");
			continue;
		}
		const char *base = strrchr(src, '/');
		base = base != NULL ? base + 1 : src;
		if (strcmp(base, first) == 0)
			snprintf(name, sizeof(name), "%s", first);
		else
			snprintf(name, sizeof(name), "%s-%lld.cast", id,
			         (long long)json_integer_value(json_object_get(row, "channel")));
		export_copy(x, name, src, 0644);
	}
	json_decref(rows);
}

/* artifacts/<sha256>: each file of the session that was stored - those it
 * left in its container, the bodies its box downloaded, the first bytes of
 * its connections - once each, in the order they came. */
static void export_artifacts(struct export_job *x, const char *id)
{
	static const char sql[] =
	    "SELECT sha256 FROM (SELECT sha256, timestamp FROM artifacts WHERE session = ?1"
	    " UNION ALL SELECT sha256, timestamp FROM downloads WHERE session = ?1"
	    " UNION ALL SELECT sha256, timestamp FROM egress WHERE session = ?1)"
	    " WHERE sha256 IS NOT NULL GROUP BY sha256 ORDER BY min(timestamp), sha256";
	const char *p[] = {id};
	json_t *rows = cli_query(x->c, sql, p, 1);
	size_t i;
	json_t *row;
	char name[SHA256_HEX + 16], src[4200];
	bool made = false;

	if (rows == NULL) {
		failed(x, "artifacts/", NULL, "cannot read the index");
		return;
	}
	json_array_foreach(rows, i, row)
	{
		const char *sha256 = json_string_value(json_object_get(row, "sha256"));
		if (!util_is_hex(sha256, SHA256_HEX)) {
			failed(x, "artifacts/", NULL, "a sha256 in the index is not 64 hex digits");
			continue;
		}
		if (!made && mkdirat(x->dirfd, "artifacts", 0755) < 0) {
			failed(x, "artifacts/", NULL, strerror(errno));
			break;
		}
		made = true;
		snprintf(name, sizeof(name), "artifacts/%s", sha256);
		snprintf(src, sizeof(src), "%s/%s", x->c->cfg->forensics.artifacts_dir, sha256);
		/* Read-only and never executable, as the store keeps them. */
		export_copy(x, name, src, 0440);
	}
	if (made) /* gone again if nothing could be copied into it */
		unlinkat(x->dirfd, "artifacts", AT_REMOVEDIR);
	json_decref(rows);
}

/* The export directory, open: made when missing, else it must be an empty
 * directory. -1 after printing why. */
static int open_export_dir(const char *dir)
{
	struct stat st;
	struct dirent *e;

	if (stat(dir, &st) < 0) {
		int r = errno == ENOENT ? util_mkdirs(dir, 0755) : -errno;
		if (r < 0) {
			fprintf(stderr, "hermes: %s: %s\n", dir, strerror(-r));
			return -1;
		}
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd2 = fd >= 0 ? dup(fd) : -1;
	DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (d == NULL) {
		fprintf(stderr, "hermes: %s: %s\n", dir, strerror(errno));
		if (fd2 >= 0)
			close(fd2);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	bool empty = true;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	if (!empty) {
		fprintf(stderr, "hermes: %s: not empty; export into a new or empty directory\n",
		        dir);
		close(fd);
		return -1;
	}
	return fd;
}

int cmd_export(struct ctx *c, char *const *args)
{
	const char *arg = args[0], *dir = args[1];
	char id[64];

	if (cli_resolve_session(c, arg, id) < 0)
		return 1;
	if (!util_is_hex(id, SESSION_ID_LEN)) {
		fprintf(stderr, "hermes: %s: not a session id of ours (%d hex digits)\n", arg,
		        SESSION_ID_LEN);
		return 1;
	}
	json_t *all = cli_show_json(c, id);
	if (all == NULL)
		return 1;
	struct export_job x = {.c = c, .files = json_array(), .failed = json_array()};
	if ((x.dirfd = open_export_dir(dir)) < 0) {
		json_decref(all);
		json_decref(x.files);
		json_decref(x.failed);
		return 1;
	}
	json_t *sess = json_object_get(all, "session");
	const char *metadata = json_string_value(json_object_get(sess, "metadata"));
	const char *manifest = json_string_value(json_object_get(sess, "manifest"));
	char name[SESSION_ID_LEN + 8];

	export_summary(&x, all);
	export_events(&x, id);
	export_recordings(&x, id);
	snprintf(name, sizeof(name), "%s.json", id);
	if (metadata != NULL)
		export_copy(&x, name, metadata, 0644);
	if (manifest != NULL)
		export_copy(&x, "manifest.json", manifest, 0644);
	export_artifacts(&x, id);
	close(x.dirfd);

	int rc = json_array_size(x.failed) > 0 ? 1 : 0;
	if (c->o.json) {
		json_t *out = json_object(), *d = json_string(dir);
		json_object_set_new(out, "session", json_string(id));
		json_object_set_new(out, "dir", d != NULL ? d : json_null());
		json_object_set(out, "files", x.files);
		json_object_set(out, "failed", x.failed);
		if (cli_print_json(out) != 0)
			rc = 1;
		json_decref(out);
	} else {
		/* DIR as given, without its trailing slashes. */
		size_t len = strlen(dir);
		while (len > 1 && dir[len - 1] == '/')
			len--;
		size_t i;
		json_t *f;
		json_array_foreach(x.files, i, f)
		{
			const char *file = json_string_value(json_object_get(f, "file"));
			printf("%.*s/%s\n", (int)len, dir, file);
		}
	}
	json_decref(x.files);
	json_decref(x.failed);
	json_decref(all);
	return rc;
}
