/*
 * fetch_cache: URL -> stored body; see fetch_cache.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch_cache.h"
#include "log.h"
#include "util.h"

struct entry {
	char *url;
	char sha[65];
	char type[128];
};

struct fetch_cache {
	char path[4096];
	struct entry *e;
	size_t n, next; /* a ring once full */
};

static bool clean(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static struct entry *find(const struct fetch_cache *c, const char *url)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].url, url) == 0)
			return &c->e[i];
	return NULL;
}

static void remember(struct fetch_cache *c, const char *url, const char *sha, const char *type)
{
	struct entry *e = find(c, url);

	if (e == NULL) {
		char *u = strdup(url);
		if (u == NULL)
			return;
		if (c->n < FETCH_CACHE_MAX) {
			e = &c->e[c->n++];
		} else {
			e = &c->e[c->next];
			c->next = (c->next + 1) % FETCH_CACHE_MAX;
			free(e->url);
		}
		e->url = u;
	}
	snprintf(e->sha, sizeof(e->sha), "%s", sha);
	snprintf(e->type, sizeof(e->type), "%s", type);
}

struct fetch_cache *fetch_cache_open(const char *dir)
{
	struct fetch_cache *c = calloc(1, sizeof(*c));
	char *line = NULL;
	size_t cap = 0;

	if (c == NULL || (c->e = calloc(FETCH_CACHE_MAX, sizeof(*c->e))) == NULL) {
		free(c);
		return NULL;
	}
	snprintf(c->path, sizeof(c->path), "%s/fetched.tsv", dir);
	FILE *f = fopen(c->path, "re");
	if (f == NULL) {
		if (errno != ENOENT)
			warn("%s: %s: fetched URLs are not known again", c->path, strerror(errno));
		return c;
	}
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (t2 == NULL)
			continue;
		*t1 = *t2 = '\0';
		if (strlen(line) == 64 && util_is_hex(line, 64) && strlen(t1 + 1) < 128 &&
		    clean(t2 + 1, 8192))
			remember(c, t2 + 1, line, t1 + 1);
	}
	free(line);
	fclose(f);
	return c;
}

void fetch_cache_free(struct fetch_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].url);
	free(c->e);
	free(c);
}

const char *fetch_cache_get(const struct fetch_cache *c, const char *url, const char **type)
{
	const struct entry *e = find(c, url);
	if (e == NULL)
		return NULL;
	*type = e->type;
	return e->sha;
}

void fetch_cache_put(struct fetch_cache *c, const char *url, const char *sha256, const char *type)
{
	char t[128];

	snprintf(t, sizeof(t), "%s", type ? type : "");
	if (!clean(url, 8192) || strlen(sha256) != 64 || (t[0] != '\0' && !clean(t, sizeof(t) - 1)))
		return;
	remember(c, url, sha256, t);
	int fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		warn("%s: %s", c->path, strerror(errno));
		return;
	}
	FILE *f = fdopen(fd, "a");
	if (f == NULL) {
		close(fd);
		return;
	}
	fprintf(f, "%s\t%s\t%s\n", sha256, t, url);
	fclose(f);
}
