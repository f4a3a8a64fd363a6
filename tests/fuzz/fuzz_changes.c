/*
 * libFuzzer harness for changes_plan: byte 0 is the cap on entries, the rest
 * Docker's answer to GET /containers/{id}/changes, parsed as docker.c parses
 * it. The plan is checked against a slow reading of the same list: every
 * path kept is absolute with no ".." step, not noise, a leaf (or deleted),
 * sorted, within the cap, of a kind in range, and every entry is kept,
 * counted as dropped, or left out for a reason (a directory of another
 * entry, noise).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct change_list l;
	size_t max, total, bad = 0, wanted = 0;
	json_t *j;

	if (size < 1)
		return 0;
	max = data[0];
	j = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (changes_plan(j, max, &l) < 0) {
		CHECK(!json_is_array(j) && l.n == 0 && l.items == NULL);
		json_decref(j);
		return 0;
	}
	CHECK(json_is_array(j));
	total = json_array_size(j);
	for (size_t i = 0; i < total; i++) {
		const json_t *e = json_array_get(j, i);
		if (!well_formed(e))
			bad++;
		else if (changes_is_noise(path_of(e)))
			continue;
		else if (json_integer_value(json_object_get(e, "Kind")) == CHANGE_DELETED ||
		         !has_child(j, i))
			wanted++;
	}
	CHECK(l.n == (wanted < max ? wanted : max));
	CHECK(l.dropped == bad + (wanted - l.n));
	for (size_t i = 0; i < l.n; i++) {
		const struct change *c = &l.items[i];
		CHECK(c->path != NULL && c->path[0] == '/');
		CHECK(c->kind >= CHANGE_MODIFIED && c->kind <= CHANGE_DELETED);
		CHECK(strstr(c->path, "/../") == NULL && !changes_is_noise(c->path));
		if (i > 0)
			CHECK(strcmp(l.items[i - 1].path, c->path) <= 0);
		/* It came from the list, as a kept entry of that kind. */
		size_t k;
		for (k = 0; k < total; k++) {
			const json_t *e = json_array_get(j, k);
			if (well_formed(e) && strcmp(path_of(e), c->path) == 0 &&
			    json_integer_value(json_object_get(e, "Kind")) == c->kind &&
			    (c->kind == CHANGE_DELETED || !has_child(j, k)))
				break;
		}
		CHECK(k < total);
	}
	changes_free(&l);
	json_decref(j);
	return 0;
}
