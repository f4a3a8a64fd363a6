/* changes: see changes.h. */
#include "changes.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sandbox_spec.h"
#include "util.h"

#define FFFD "\xef\xbf\xbd"

/* One leaf of the list while the plan is made; paths borrowed from the
 * JSON until copied out. */
struct leaf {
	const char *path;
	enum change_kind kind;
	size_t parent_len; /* path[0..parent_len) is its directory ("/" for "/x") */
	size_t group_len;  /* path[0..group_len) is its group's dir */
	size_t group;      /* index of its group in the plan, when not deleted */
	unsigned rank;     /* how many entries of its directory come before it */
	unsigned depth;
	int class;
	bool lossy, kept;
	bool planned; /* in a group the cap left something to take */
};

/* Names whose extension says "this runs". */
static const char *const run_ext[] = {"sh",  "bash", "py",  "pl",      "rb",   "php",
                                      "js",  "lua",  "elf", "bin",     "so",   "exe",
                                      "jar", "ko",   "run", "service", "timer"};
/* Where persistence and credentials live (prefixes of the path). */
static const char *const persist[] = {
    "/etc/cron",     "/var/spool/cron",    "/etc/init.d/",        "/etc/rc",
    "/etc/systemd/", "/lib/systemd/",      "/usr/lib/systemd/",   "/etc/profile",
    "/etc/passwd",   "/etc/shadow",        "/etc/group",          "/etc/gshadow",
    "/etc/sudoers",  "/etc/ld.so.preload", "/etc/update-motd.d/", "/etc/bash.bashrc",
};
/* File names that run at login or let someone in. */
static const char *const login_names[] = {
    "authorized_keys", "authorized_keys2", ".bashrc", ".profile",  ".bash_profile",
    ".bash_login",     ".bash_logout",     ".zshrc",  ".zprofile",
};
/* Directory components that hold programs or keys. */
static const char *const run_dirs[] = {"bin", "sbin", ".ssh"};
/* Where attackers work. */
static const char *const work[] = {
    "/root/",      "/home/", "/tmp/",       "/var/tmp/", "/dev/shm/", "/etc/", "/opt/",
    "/usr/local/", "/srv/",  "/var/spool/", "/var/log/", "/var/www/", "/run/", "/var/run/",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

int changes_class(const char *path)
{
	const char *base = strrchr(path, '/'), *dot, *c;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	for (size_t i = 0; dot != NULL && dot != base && i < COUNT(run_ext); i++)
		if (strcasecmp(dot + 1, run_ext[i]) == 0)
			return 0;
	for (size_t i = 0; i < COUNT(login_names); i++)
		if (strcmp(base, login_names[i]) == 0)
			return 0;
	for (size_t i = 0; i < COUNT(persist); i++)
		if (has_prefix(path, persist[i]))
			return 0;
	/* A directory component (not the name itself) that holds programs. */
	for (c = path; c < base; c = strchr(c, '/') + 1) {
		size_t len = strcspn(c, "/");
		for (size_t i = 0; c + len < base && i < COUNT(run_dirs); i++)
			if (len == strlen(run_dirs[i]) && strncmp(c, run_dirs[i], len) == 0)
				return 0;
		if (c[len] != '/')
			break;
	}
	for (size_t i = 0; i < COUNT(work); i++)
		if (has_prefix(path, work[i]))
			return 1;
	return 2;
}

char *changes_docker_name(const void *raw, size_t len)
{
	const uint8_t *s = raw;
	size_t i = 0, o = 0, k, bad;
	char *out;

	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	/* Go's encoding/json: one U+FFFD per byte that does not begin a
	 * valid sequence (not one per maximal subpart, as util's sanitizer). */
	while (i < len) {
		k = util_utf8_next(s + i, len - i, &bad);
		if (k > 0) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, FFFD, 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

void changes_candidate(struct change_candidate *c, const struct tar_entry *e, size_t off,
                       size_t item)
{
	c->off = off;
	c->item = item;
	c->runnable = e->type == '0' &&
	              ((e->mode & 0111) != 0 || (e->size >= 2 && memcmp(e->data, "#!", 2) == 0) ||
	               (e->size >= 4 && memcmp(e->data,
	                                       "\x7f"
	                                       "ELF",
	                                       4) == 0));
	c->mtime = e->mtime;
	c->size = e->size;
}

static int by_merit(const void *a, const void *b)
{
	const struct change_candidate *x = a, *y = b;

	if (x->runnable != y->runnable)
		return x->runnable ? -1 : 1;
	if (x->mtime != y->mtime)
		return x->mtime > y->mtime ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return (x->off > y->off) - (x->off < y->off);
}

void changes_sort_candidates(struct change_candidate *c, size_t n)
{
	qsort(c, n, sizeof(*c), by_merit);
}

/* The directory of a path, as text: "/" for "/x". */
static size_t parent_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == NULL || slash == path ? 1 : (size_t)(slash - path);
}

void changes_drop(struct changes_dropped *d, const char *path, enum change_kind kind)
{
	size_t plen = parent_len(path), i;

	d->total++;
	d->kind[kind]++;
	if (d->n_sample < CHANGES_SAMPLE && (d->sample[d->n_sample] = strdup(path)) != NULL)
		d->n_sample++;
	for (i = 0; i < d->n_dirs; i++)
		if (strlen(d->dirs[i].dir) == plen && strncmp(d->dirs[i].dir, path, plen) == 0) {
			d->dirs[i].n++;
			return;
		}
	if (d->n_dirs < CHANGES_DIR_SLOTS &&
	    (d->dirs[d->n_dirs].dir = strndup(path, plen)) != NULL) {
		d->dirs[d->n_dirs++].n = 1;
		return;
	}
	d->elsewhere++;
}

static int by_count(const void *a, const void *b)
{
	const size_t *x = a, *y = b;

	return x[1] < y[1] ? 1 : x[1] > y[1] ? -1 : (x[0] > y[0]) - (x[0] < y[0]);
}

json_t *changes_dropped_json(const struct changes_dropped *d)
{
	size_t idx[CHANGES_DIR_SLOTS][2], other = d->elsewhere;
	json_t *o, *sample, *dirs;

	if (d->total == 0)
		return NULL;
	sample = json_array();
	dirs = json_object();
	for (size_t i = 0; i < d->n_sample; i++)
		json_array_append_new(sample, json_string(d->sample[i]));
	for (size_t i = 0; i < d->n_dirs; i++) {
		idx[i][0] = i;
		idx[i][1] = d->dirs[i].n;
	}
	qsort(idx, d->n_dirs, sizeof(idx[0]), by_count);
	for (size_t i = 0; i < d->n_dirs; i++) {
		if (i < CHANGES_DIRS)
			json_object_set_new(dirs, d->dirs[idx[i][0]].dir,
			                    json_integer((json_int_t)idx[i][1]));
		else
			other += idx[i][1];
	}
	o = json_pack("{s:I, s:I, s:I, s:o, s:o}", "created", (json_int_t)d->kind[CHANGE_ADDED],
	              "changed", (json_int_t)d->kind[CHANGE_MODIFIED], "deleted",
	              (json_int_t)d->kind[CHANGE_DELETED], "sample", sample, "dirs", dirs);
	if (o != NULL && other > 0)
		json_object_set_new(o, "dirs_other", json_integer((json_int_t)other));
	return o;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct leaf *)a)->path, ((const struct leaf *)b)->path);
}

/* Is there an entry under all[i]? The list is sorted, so the entries that
 * begin with "P/" are one run: find where it would start. P listed twice is no
 * child of itself, "/" included (found by fuzz_changes). */
static bool has_child(const struct leaf *all, size_t n, size_t i)
{
	const char *p = all[i].path;
	size_t len = strlen(p), lo = i + 1, hi = n;

	if (len == 1) {
		/* "/": everything else is under it, but another "/" */
		while (lo < n && all[lo].path[1] == '\0')
			lo++;
		return lo < n;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(all[mid].path, p, len);

		if (c == 0)
			c = (unsigned char)all[mid].path[len] - (unsigned char)'/';
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strncmp(all[lo].path, p, len) == 0 && all[lo].path[len] == '/';
}

/* Absolute, and no ".." component: the path goes into an archive URL. */
static bool valid_path(const char *p)
{
	size_t n;

	if (p == NULL || p[0] != '/' || strstr(p, "/../") != NULL)
		return false;
	n = strlen(p);
	return !(n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

/* Compares two prefixes as strings. */
static int cmp_prefix(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int by_parent(const void *a, const void *b, void *arg)
{
	const struct leaf *l = arg, *x = &l[*(const size_t *)a], *y = &l[*(const size_t *)b];
	int c = cmp_prefix(x->path, x->parent_len, y->path, y->parent_len);

	return c != 0 ? c : strcmp(x->path, y->path);
}

static int by_group(const void *a, const void *b, void *arg)
{
	const struct leaf *l = arg, *x = &l[*(const size_t *)a], *y = &l[*(const size_t *)b];
	int c = cmp_prefix(x->path, x->group_len, y->path, y->group_len);

	return c != 0 ? c : strcmp(x->path, y->path);
}

/* What matters first: what the path tells, then a directory's first
 * entries before any directory's later ones, then the shallower. */
static int by_priority(const void *a, const void *b, void *arg)
{
	const struct leaf *l = arg, *x = &l[*(const size_t *)a], *y = &l[*(const size_t *)b];

	if (x->class != y->class)
		return x->class - y->class;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Fills in what the plan needs of each leaf but its rank. */
static void describe(struct leaf *l)
{
	const char *bad = strstr(l->path, FFFD);

	l->parent_len = parent_len(l->path);
	l->lossy = bad != NULL;
	l->group_len = l->parent_len;
	if (bad != NULL) {
		/* The nearest ancestor whose name is intact. */
		const char *p = bad;
		while (p > l->path && *p != '/')
			p--;
		l->group_len = p == l->path ? 1 : (size_t)(p - l->path);
	}
	l->depth = 0;
	for (const char *p = l->path; *p != '\0'; p++)
		l->depth += *p == '/';
	l->class = changes_class(l->path);
}

/* The files the engine provides (Docker's bind mounts, or what
 * hermes-runtime writes in their place before the box starts): the
 * engine's archive of such a path is its own copy, never what the box
 * holds, so a change listed there cannot be read truthfully that way. A
 * deletion is still a fact. */
static bool engine_file(const char *path)
{
	for (int f = 0; f < ENGINE_FILES_N; f++)
		if (strcmp(path, sandbox_etc_path[f]) == 0)
			return true;
	return false;
}

/* The leaves of the valid entries, sorted by path, without repeats and
 * without the engine's files. */
static struct leaf *leaves(const json_t *changes, size_t *n_out, size_t *malformed)
{
	size_t total = json_array_size(changes), n = 0, m = 0;
	struct leaf *all = calloc(total ? total : 1, sizeof(*all));

	if (all == NULL)
		return NULL;
	for (size_t i = 0; i < total; i++) {
		const json_t *e = json_array_get(changes, i);
		const char *path = json_string_value(json_object_get(e, "Path"));
		const json_t *kind = json_object_get(e, "Kind");

		if (!valid_path(path) || !json_is_integer(kind) || json_integer_value(kind) < 0 ||
		    json_integer_value(kind) > CHANGE_DELETED) {
			(*malformed)++;
			continue;
		}
		all[n].path = path;
		all[n].kind = (enum change_kind)json_integer_value(kind);
		n++;
	}
	qsort(all, n, sizeof(*all), by_path);
	for (size_t i = 0; i < n; i++) {
		/* A deleted directory's children are listed as deleted too;
		 * keep them all, they are one line each. */
		if (all[i].kind != CHANGE_DELETED && has_child(all, n, i))
			continue;
		if (all[i].kind != CHANGE_DELETED && engine_file(all[i].path))
			continue;
		if (m > 0 && strcmp(all[m - 1].path, all[i].path) == 0)
			continue;
		all[m] = all[i];
		describe(&all[m]);
		m++;
	}
	*n_out = m;
	return all;
}

static void rank(struct leaf *l, size_t n, size_t *idx)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), by_parent, l);
	for (size_t i = 0; i < n; i++) {
		const struct leaf *prev = i > 0 ? &l[idx[i - 1]] : NULL;
		struct leaf *x = &l[idx[i]];

		x->rank = prev != NULL && cmp_prefix(prev->path, prev->parent_len, x->path,
		                                     x->parent_len) == 0
		              ? prev->rank + 1
		              : 0;
	}
}

static int copy_change(struct change *c, const struct leaf *l)
{
	c->path = strdup(l->path);
	c->kind = l->kind;
	c->lossy = l->lossy;
	c->kept = l->kept;
	return c->path != NULL ? 0 : -1;
}

/* The groups of the leaves not deleted, each with its quota, in the order
 * of their most telling entry (order: leaf indices by priority). */
static int make_groups(struct leaf *l, size_t n, const size_t *order, struct change_list *out)
{
	size_t *idx = calloc(n ? n : 1, sizeof(*idx)), *best = NULL, k = 0, g;
	struct change_group *groups = NULL;
	int r = -1;

	if (idx == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (l[i].kind != CHANGE_DELETED)
			idx[k++] = i;
	qsort_r(idx, k, sizeof(*idx), by_group, l);
	/* At most k groups; the ones the cap leaves empty are dropped below. */
	groups = calloc(k ? k : 1, sizeof(*groups));
	best = calloc(k ? k : 1, sizeof(*best));
	if (groups == NULL || best == NULL)
		goto out;
	g = 0;
	for (size_t i = 0; i < k;) {
		const struct leaf *first = &l[idx[i]];
		size_t j = i;
		bool lossy = false;

		while (j < k && cmp_prefix(l[idx[j]].path, l[idx[j]].group_len, first->path,
		                           first->group_len) == 0)
			j++;
		struct change_group *gr = &groups[g];
		gr->n = j - i;
		if ((gr->dir = strndup(first->path, first->group_len)) == NULL ||
		    (gr->items = calloc(gr->n, sizeof(*gr->items))) == NULL)
			goto out;
		for (size_t m = i; m < j; m++) {
			if (copy_change(&gr->items[m - i], &l[idx[m]]) < 0)
				goto out;
			l[idx[m]].group = g;
			gr->quota += l[idx[m]].kept;
			lossy = lossy || l[idx[m]].lossy;
		}
		gr->batch = strcmp(gr->dir, "/") != 0 &&
		            (gr->n >= CHANGES_BATCH_MIN || lossy || gr->quota < gr->n);
		best[g] = SIZE_MAX;
		g++;
		i = j;
	}
	for (size_t pos = 0; pos < n; pos++) {
		struct leaf *x = &l[order[pos]];
		if (x->kind == CHANGE_DELETED)
			continue;
		x->planned = groups[x->group].quota > 0;
		if (best[x->group] == SIZE_MAX)
			best[x->group] = pos;
	}
	/* Out, in the order of each group's best entry; empty ones freed. */
	out->groups = calloc(g ? g : 1, sizeof(*out->groups));
	if (out->groups == NULL)
		goto out;
	for (size_t pos = 0; pos < n; pos++) {
		const struct leaf *x = &l[order[pos]];
		if (x->kind == CHANGE_DELETED || best[x->group] != pos)
			continue;
		struct change_group *gr = &groups[x->group];
		if (gr->quota == 0)
			continue;
		out->groups[out->n_groups++] = *gr;
		memset(gr, 0, sizeof(*gr));
	}
	r = 0;
out:
	for (size_t i = 0; groups != NULL && i < k; i++) {
		for (size_t m = 0; m < groups[i].n && groups[i].items != NULL; m++)
			free(groups[i].items[m].path);
		free(groups[i].items);
		free(groups[i].dir);
	}
	free(groups);
	free(best);
	free(idx);
	return r;
}

int changes_plan(const json_t *changes, size_t max, struct change_list *out)
{
	struct leaf *l;
	size_t n = 0, *order = NULL;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(changes))
		return -1;
	if ((l = leaves(changes, &n, &out->malformed)) == NULL)
		return -1;
	if ((order = calloc(n ? n : 1, sizeof(*order))) == NULL ||
	    (out->deleted = calloc(n ? n : 1, sizeof(*out->deleted))) == NULL)
		goto out;
	rank(l, n, order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_priority, l);
	for (size_t pos = 0; pos < n && pos < max; pos++)
		l[order[pos]].kept = true;
	if (make_groups(l, n, order, out) < 0)
		goto out;
	/* Deletions cost no call: kept ones are listed, the rest counted; so
	 * is every entry of a group the cap left with nothing. */
	for (size_t pos = 0; pos < n; pos++) {
		const struct leaf *x = &l[order[pos]];
		if (x->kind == CHANGE_DELETED && x->kept) {
			if (copy_change(&out->deleted[out->n_deleted], x) < 0)
				goto out;
			out->n_deleted++;
		} else if (x->kind == CHANGE_DELETED || !x->planned) {
			changes_drop(&out->dropped, x->path, x->kind);
		}
	}
	r = 0;
out:
	free(order);
	free(l);
	if (r < 0)
		changes_free(out);
	return r;
}

void changes_free(struct change_list *l)
{
	for (size_t i = 0; i < l->n_deleted; i++)
		free(l->deleted[i].path);
	free(l->deleted);
	for (size_t g = 0; g < l->n_groups; g++) {
		for (size_t i = 0; i < l->groups[g].n; i++)
			free(l->groups[g].items[i].path);
		free(l->groups[g].items);
		free(l->groups[g].dir);
	}
	free(l->groups);
	for (size_t i = 0; i < l->dropped.n_sample; i++)
		free(l->dropped.sample[i]);
	for (size_t i = 0; i < l->dropped.n_dirs; i++)
		free(l->dropped.dirs[i].dir);
	memset(l, 0, sizeof(*l));
}
