/*
 * libFuzzer harness for changes_plan: byte 0 is the cap on entries, the rest
 * Docker's answer to GET /containers/{id}/changes, parsed as docker.c parses
 * it. The plan is checked against a slow reading of the same list: every
 * path planned is absolute with no ".." step, a leaf (or deleted), of a
 * kind in range, sorted within its group, no more taken than the cap, and
 * every leaf is planned or counted as dropped, except a change (not a
 * deletion) of a file the engine provides; malformed entries counted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "engine_files.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *path_of(const json_t *e)
{
	return json_string_value(json_object_get(e, "Path"));
}

/* What changes.h calls malformed, read the slow way. */
static int well_formed(const json_t *e)
{
	const char *p = path_of(e);
	const json_t *k = json_object_get(e, "Kind");
	size_t n;

	if (p == NULL || p[0] != '/' || !json_is_integer(k) || json_integer_value(k) < 0 ||
	    json_integer_value(k) > CHANGE_DELETED)
		return 0;
	n = strlen(p);
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "/../", 4) == 0)
			return 0;
	return !(n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

/* Entry i is a directory of another well-formed entry (every other entry
 * lies under "/"; the same path twice is no child of itself). */
static int has_child(const json_t *list, size_t i)
{
	const char *p = path_of(json_array_get(list, i));
	size_t n = strlen(p);

	for (size_t j = 0; j < json_array_size(list); j++) {
		const json_t *e = json_array_get(list, j);
		if (j == i || !well_formed(e))
			continue;
		if (strcmp(p, "/") == 0 ? path_of(e)[1] != '\0'
		                        : strncmp(path_of(e), p, n) == 0 && path_of(e)[n] == '/')
			return 1;
	}
	return 0;
}

/* Entry i is a well-formed entry the collection wants: a deletion, or a
 * leaf that is not one of the engine's files. */
static int wanted_entry(const json_t *list, size_t i)
{
	static const char *const engine[ENGINE_FILES_N] = ENGINE_FILE_PATHS;
	const json_t *e = json_array_get(list, i);

	if (!well_formed(e))
		return 0;
	if (json_integer_value(json_object_get(e, "Kind")) == CHANGE_DELETED)
		return 1;
	for (int f = 0; f < ENGINE_FILES_N; f++)
		if (strcmp(path_of(e), engine[f]) == 0)
			return 0;
	return !has_child(list, i);
}

/* Entry i is the first wanted entry of its path. */
static int first_wanted(const json_t *list, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (wanted_entry(list, k) &&
		    strcmp(path_of(json_array_get(list, k)), path_of(json_array_get(list, i))) == 0)
			return 0;
	return 1;
}

/* It came from the list, as a kept entry of that kind. */
static void check_planned(const json_t *j, const struct change *c)
{
	size_t k, total = json_array_size(j);

	CHECK(c->path != NULL && c->path[0] == '/');
	CHECK(c->kind >= CHANGE_MODIFIED && c->kind <= CHANGE_DELETED);
	CHECK(strstr(c->path, "/../") == NULL);
	for (k = 0; k < total; k++) {
		const json_t *e = json_array_get(j, k);
		if (wanted_entry(j, k) && strcmp(path_of(e), c->path) == 0 &&
		    json_integer_value(json_object_get(e, "Kind")) == c->kind)
			break;
	}
	CHECK(k < total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct change_list l;
	size_t max, total, bad = 0, wanted = 0, planned, taken;
	json_t *j;

	if (size < 1)
		return 0;
	max = data[0];
	j = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (changes_plan(j, max, &l) < 0) {
		CHECK(!json_is_array(j) && l.n_groups == 0 && l.n_deleted == 0);
		json_decref(j);
		return 0;
	}
	CHECK(json_is_array(j));
	total = json_array_size(j);
	for (size_t i = 0; i < total; i++) {
		const json_t *e = json_array_get(j, i);
		if (!well_formed(e))
			bad++;
		else if (wanted_entry(j, i) && first_wanted(j, i))
			wanted++; /* a path listed twice is collected once */
	}
	CHECK(l.malformed == bad);
	/* Every leaf is planned (a group cut by the cap holds all its entries, with a
	 * quota) or counted as dropped; no more are taken than the cap. */
	planned = l.n_deleted;
	taken = l.n_deleted;
	for (size_t i = 0; i < l.n_deleted; i++)
		check_planned(j, &l.deleted[i]);
	for (size_t g = 0; g < l.n_groups; g++) {
		const struct change_group *gr = &l.groups[g];
		CHECK(gr->dir != NULL && gr->dir[0] == '/' && gr->quota <= gr->n && gr->n > 0);
		planned += gr->n;
		taken += gr->quota;
		for (size_t i = 0; i < gr->n; i++) {
			check_planned(j, &gr->items[i]);
			if (i > 0)
				CHECK(strcmp(gr->items[i - 1].path, gr->items[i].path) <= 0);
		}
	}
	CHECK(taken <= max);
	CHECK(planned + l.dropped.total == wanted);
	changes_free(&l);
	json_decref(j);
	return 0;
}
