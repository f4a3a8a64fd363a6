/*
 * honeytoken: bait-file alerts on events; see honeytoken.h.
 */
#include <stdlib.h>
#include <string.h>

#include "honeytoken.h"

#define MAX_PATH_LEN 4096 /* longer paths in events are not compared */

/* Characters a file name is made of on a command line. */
static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* Characters a path is made of: names, separators and "~". */
static bool path_char(char c)
{
	return name_char(c) || c == '/' || c == '~';
}

/* A bare name that cannot be an ordinary word. */
static bool distinctive(const char *name, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (name[i] == '.' || name[i] == '_' || name[i] == '-' ||
		    (name[i] >= '0' && name[i] <= '9'))
			return true;
	return false;
}

/* The k-th directory component of path counted from its end (0: the
 * file's own directory), as a pointer and length; false past the root. */
static bool dir_component(const char *path, size_t base_off, size_t k, const char **p, size_t *n)
{
	size_t end = base_off - 1; /* the '/' before the file name */

	for (;;) {
		if (end == 0)
			return false;
		size_t start = end;
		while (start > 0 && path[start - 1] != '/')
			start--;
		if (k == 0) {
			*p = path + start;
			*n = end - start;
			return true;
		}
		k--;
		end = start - 1;
	}
}

static bool same_text(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* The directory part dir[0..n) of a name on the command line (no trailing
 * slash) against the bait file's directories, read backwards. */
static bool dir_matches(const char *dir, size_t n, const char *path, size_t base_off)
{
	size_t k = 0, skip = 0, end = n;

	for (;;) {
		size_t start = end;
		while (start > 0 && dir[start - 1] != '/')
			start--;
		const char *c = dir + start;
		size_t cn = end - start;
		const char *want;
		size_t wn;
		bool first = start == 0;

		if (first && cn == 0) /* absolute: every directory matched */
			return skip == 0 && !dir_component(path, base_off, k, &want, &wn);
		if (first && cn >= 1 && c[0] == '~') {
			/* "~" is /root, "~user" /home/user: what is left of the
			 * bait's directory must be that. */
			size_t rest_end = base_off - 1;
			if (skip > 0)
				return false;
			if (k > 0 && dir_component(path, base_off, k - 1, &want, &wn))
				rest_end = (size_t)(want - path) - 1;
			if (cn == 1)
				return same_text(path, rest_end, HONEYTOKEN_HOME,
				                 sizeof(HONEYTOKEN_HOME) - 1);
			return rest_end == 6 + cn - 1 && memcmp(path, "/home/", 6) == 0 &&
			       memcmp(path + 6, c + 1, cn - 1) == 0;
		}
		if (same_text(c, cn, "..", 2)) {
			skip++;
		} else if (cn > 0 && !same_text(c, cn, ".", 1)) {
			if (skip > 0) {
				skip--;
			} else {
				if (!dir_component(path, base_off, k, &want, &wn) ||
				    !same_text(c, cn, want, wn))
					return false;
				k++;
			}
		}
		if (first) /* relative, from a directory we do not know */
			return true;
		end = start - 1;
	}
}

bool honeytoken_names(const char *cmd, size_t len, const char *path)
{
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;

	if (cmd == NULL || slash == NULL || slash[1] == '\0')
		return false;
	const char *base = slash + 1;
	size_t bn = strlen(base), base_off = (size_t)(base - path);

	for (size_t i = 0; i + bn <= len;) {
		const char *hit = memmem(cmd + i, len - i, base, bn);
		if (hit == NULL)
			return false;
		size_t at = (size_t)(hit - cmd), end = at + bn;
		i = at + 1;
		if (end < len && (name_char(cmd[end]) || cmd[end] == '/'))
			continue; /* a longer name, or a directory of that name */
		if (at == 0 || !path_char(cmd[at - 1])) {
			if (distinctive(base, bn))
				return true;
			continue;
		}
		if (cmd[at - 1] != '/')
			continue; /* the end of a longer name */
		size_t start = at - 1;
		while (start > 0 && path_char(cmd[start - 1]))
			start--;
		if (dir_matches(cmd + start, at - 1 - start, path, base_off))
			return true;
	}
	return false;
}

/* An event's path as an absolute, lexically normal path (relative ones
 * from HONEYTOKEN_HOME), in out (MAX_PATH_LEN + sizeof(HONEYTOKEN_HOME) + 2
 * bytes); false when it is too long. */
static bool normalize(const char *p, size_t n, char *out)
{
	size_t o = 0;

	if (n > MAX_PATH_LEN)
		return false;
	if (n == 0 || p[0] != '/') {
		memcpy(out, HONEYTOKEN_HOME, sizeof(HONEYTOKEN_HOME) - 1);
		o = sizeof(HONEYTOKEN_HOME) - 1;
	}
	for (size_t i = 0; i < n;) {
		while (i < n && p[i] == '/')
			i++;
		size_t s = i;
		while (i < n && p[i] != '/')
			i++;
		size_t cn = i - s;
		if (cn == 0 || (cn == 1 && p[s] == '.'))
			continue;
		if (cn == 2 && p[s] == '.' && p[s + 1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, p + s, cn);
		o += cn;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return true;
}

static bool path_is(json_t *v, const char *bait)
{
	char norm[MAX_PATH_LEN + sizeof(HONEYTOKEN_HOME) + 2];

	return json_is_string(v) && normalize(json_string_value(v), json_string_length(v), norm) &&
	       strcmp(norm, bait) == 0;
}

/* Events whose "path" (and "path2") name a file in the container. */
static const char *const path_events[] = {
    "file.transfer", "file.operation", "file.created",
    "file.changed",  "file.deleted",   "artifact.skipped",
};

size_t honeytoken_mark(const struct strlist *files, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "event"));
	bool by_command = false, by_path = false;
	json_t *paths;
	size_t found = 0;

	if (files == NULL || files->n == 0 || type == NULL)
		return 0;
	by_command = strcmp(type, "command.input") == 0;
	for (size_t i = 0; i < sizeof(path_events) / sizeof(path_events[0]); i++)
		by_path = by_path || strcmp(type, path_events[i]) == 0;
	if (!by_command && !by_path)
		return 0;
	if ((paths = json_array()) == NULL)
		return 0;
	json_t *cmd = json_object_get(ev, "command");
	for (size_t i = 0; i < files->n; i++) {
		const char *bait = files->items[i];
		bool hit = by_command ? json_is_string(cmd) &&
		                            honeytoken_names(json_string_value(cmd),
		                                             json_string_length(cmd), bait)
		                      : path_is(json_object_get(ev, "path"), bait) ||
		                            path_is(json_object_get(ev, "path2"), bait);
		if (hit && json_array_append_new(paths, json_string(bait)) == 0)
			found++;
	}
	if (found > 0)
		json_object_set_new(ev, "alert",
		                    json_pack("{s:s, s:O}", "type", "bait_file", "paths", paths));
	json_decref(paths);
	return found;
}

json_t *honeytoken_login_alert(void)
{
	return json_pack("{s:s}", "type", "honeytoken_login");
}
