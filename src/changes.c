/* changes: see changes.h. */
#include "changes.h"

#include <stdlib.h>
#include <string.h>

#include "exit_signal.h"

/* Written by images/ubuntu/session-parent.c in every tty session or kill. */
static const char *const noise[] = {
    "/run/utmp", "/var/run/utmp", "/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog",
};
static const char *const noise_dirs[] = {EXIT_REPORT_DIR, "/var" EXIT_REPORT_DIR};

int changes_is_noise(const char *path)
{
	for (size_t i = 0; i < sizeof(noise) / sizeof(noise[0]); i++)
		if (strcmp(path, noise[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(noise_dirs) / sizeof(noise_dirs[0]); i++) {
		size_t n = strlen(noise_dirs[i]);
		if (strncmp(path, noise_dirs[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

/* A sorted list: everything under P follows P directly ("P/..." sorts
 * after "P" but can be preceded by "P-x" or "P.x", which sort before '/'),
 * so look ahead past siblings that share the prefix. P listed twice is no
 * child of itself, "/" included. */
static int has_child(const struct change *all, size_t n, size_t i)
{
	size_t len = strlen(all[i].path);

	for (size_t j = i + 1; j < n; j++) {
		if (strncmp(all[j].path, all[i].path, len) != 0)
			return 0;
		if (all[j].path[len] == '/' || (len == 1 && all[j].path[1] != '\0'))
			return 1;
	}
	return 0;
}

/* Absolute, and no ".." component: the path goes into an archive URL. */
static int valid_path(const char *p)
{
	size_t n;

	if (p == NULL || p[0] != '/' || strstr(p, "/../") != NULL)
		return 0;
	n = strlen(p);
	return !(n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

int changes_plan(const json_t *changes, size_t max, struct change_list *out)
{
	struct change *all;
	size_t n = 0, i, total;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(changes))
		return -1;
	total = json_array_size(changes);
	all = calloc(total ? total : 1, sizeof(*all));
	if (all == NULL)
		return -1;
	for (i = 0; i < total; i++) {
		const json_t *e = json_array_get(changes, i);
		const char *path = json_string_value(json_object_get(e, "Path"));
		const json_t *kind = json_object_get(e, "Kind");

		if (!valid_path(path) || !json_is_integer(kind) || json_integer_value(kind) < 0 ||
		    json_integer_value(kind) > CHANGE_DELETED) {
			out->dropped++;
			continue;
		}
		all[n].path = (char *)path; /* borrowed until copied below */
		all[n].kind = (enum change_kind)json_integer_value(kind);
		n++;
	}
	qsort(all, n, sizeof(*all), by_path);
	out->items = calloc(n ? n : 1, sizeof(*out->items));
	if (out->items == NULL) {
		free(all);
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* A deleted directory's children are listed as deleted too;
		 * keep them all, they are one line each. */
		if (all[i].kind != CHANGE_DELETED && has_child(all, n, i))
			continue;
		/* Noise is dropped only now, so that its directories (/run,
		 * /var/log) still count as directories above. */
		if (changes_is_noise(all[i].path))
			continue;
		if (out->n >= max) {
			out->dropped++;
			continue;
		}
		out->items[out->n].path = strdup(all[i].path);
		out->items[out->n].kind = all[i].kind;
		if (out->items[out->n].path == NULL) {
			free(all);
			changes_free(out);
			return -1;
		}
		out->n++;
	}
	free(all);
	return 0;
}

void changes_free(struct change_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].path);
	free(l->items);
	memset(l, 0, sizeof(*l));
}
