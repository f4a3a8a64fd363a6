/*
 * table: aligned, terminal-safe text; see table.h.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "table.h"

size_t table_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Length in bytes of the UTF-8 sequence starting with c (1 for anything
 * unexpected: the event log only holds valid UTF-8). */
static size_t seq_len(unsigned char c)
{
	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* The character at s[i] (n bytes): its display form in esc when it is a
 * control character. Returns its width. */
static size_t one_char(const char *s, size_t i, size_t n, char esc[8], bool *escaped)
{
	unsigned char c = (unsigned char)s[i];
	/* C1 controls are U+0080..U+009F: 0xc2 0x80..0x9f. */
	bool c1 = n == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0;

	*escaped = c < 0x20 || c == 0x7f || c1;
	if (!*escaped)
		return 1;
	snprintf(esc, 8, "\\x%02x", c1 ? (unsigned char)s[i + 1] : c);
	return 4;
}

static size_t char_len(const char *s, size_t i, size_t len)
{
	size_t n = seq_len((unsigned char)s[i]);
	return n > len - i ? len - i : n;
}

static char *safe_text(const char *s, size_t len, size_t max)
{
	struct buf b;
	char esc[8];
	bool escaped;
	size_t total = 0, points = 0, limit = (size_t)-1;

	for (size_t i = 0; i < len; i += char_len(s, i, len))
		total += one_char(s, i, char_len(s, i, len), esc, &escaped);
	if (max > 0 && total > max)
		limit = max > 3 ? max - 3 : 0;
	buf_init(&b);
	for (size_t i = 0; i < len;) {
		size_t n = char_len(s, i, len);
		size_t w = one_char(s, i, n, esc, &escaped);
		if (points + w > limit)
			break;
		buf_put(&b, escaped ? esc : s + i, escaped ? 4 : n);
		points += w;
		i += n;
	}
	if (limit != (size_t)-1)
		buf_put(&b, "...", 3);
	if (buf_put_u8(&b, 0) < 0) {
		buf_free(&b);
		return NULL;
	}
	return (char *)b.data;
}

char *table_cell(const json_t *v, size_t max)
{
	char tmp[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return safe_text(json_string_value(v), json_string_length(v), max);
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(tmp, sizeof(tmp), "%.1f", json_real_value(v));
		break;
	case JSON_TRUE:
		return strdup("yes");
	case JSON_FALSE:
		return strdup("no");
	case JSON_NULL:
		return strdup("-");
	default: {
		char *s = json_dumps(v, JSON_COMPACT);
		char *r = s ? safe_text(s, strlen(s), max) : NULL;
		free(s);
		return r;
	}
	}
	return strdup(tmp);
}

int table_print(FILE *f, const json_t *rows, size_t max_cell)
{
	size_t nrows = json_array_size(rows);

	if (nrows == 0)
		return 0;
	const json_t *first = json_array_get(rows, 0);
	size_t ncols = json_object_size(first);
	const char **keys = calloc(ncols ? ncols : 1, sizeof(*keys));
	size_t *width = calloc(ncols ? ncols : 1, sizeof(*width));
	char **cells = calloc((nrows + 1) * (ncols ? ncols : 1), sizeof(*cells));
	int rc = -1;

	if (keys == NULL || width == NULL || cells == NULL)
		goto out;
	size_t k = 0;
	const char *key;
	const json_t *val;
	json_object_foreach((json_t *)first, key, val)
	{
		(void)val;
		keys[k] = key;
		char *h = strdup(key);
		if (h == NULL)
			goto out;
		for (char *p = h; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		cells[k++] = h;
	}
	for (size_t r = 0; r < nrows; r++) {
		const json_t *row = json_array_get(rows, r);
		for (size_t c = 0; c < ncols; c++) {
			const json_t *v = json_object_get(row, keys[c]);
			char *cell = table_cell(v ? v : json_null(), max_cell);
			if (cell == NULL)
				goto out;
			cells[(r + 1) * ncols + c] = cell;
		}
	}
	for (size_t i = 0; i < (nrows + 1) * ncols; i++) {
		size_t w = table_width(cells[i]);
		if (w > width[i % ncols])
			width[i % ncols] = w;
	}
	for (size_t r = 0; r <= nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];
			fputs(s, f);
			if (c + 1 < ncols)
				fprintf(f, "%*s", (int)(width[c] - table_width(s) + 2), "");
		}
		fputc('\n', f);
	}
	rc = 0;
out:
	if (cells != NULL)
		for (size_t i = 0; i < (nrows + 1) * ncols; i++)
			free(cells[i]);
	free(cells);
	free(width);
	free(keys);
	return rc;
}
