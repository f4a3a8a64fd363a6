/*
 * table: aligned, terminal-safe text; see table.h.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

/* Invisible characters that change how the text around them reads: the
 * format characters (Unicode's general category Cf - bidirectional
 * embeddings, overrides, isolates and marks, zero-width spaces and
 * joiners, the byte order mark, tags...) and the line and paragraph
 * separators (Zl, Zp). An override can show "exe.txt" for "txt.exe"; a
 * zero-width space makes two different names look the same. */
static const struct {
	uint32_t lo, hi;
} invisible[] = {
    {0x00ad, 0x00ad},   {0x0600, 0x0605},   {0x061c, 0x061c},   {0x06dd, 0x06dd},
    {0x070f, 0x070f},   {0x0890, 0x0891},   {0x08e2, 0x08e2},   {0x180e, 0x180e},
    {0x200b, 0x200f},   {0x2028, 0x202e},   {0x2060, 0x2064},   {0x2066, 0x206f},
    {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
    {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
    {0xe0020, 0xe007f},
};

static bool is_invisible(uint32_t cp)
{
	for (size_t k = 0; k < sizeof(invisible) / sizeof(invisible[0]); k++)
		if (cp >= invisible[k].lo && cp <= invisible[k].hi)
			return true;
	return false;
}

/* The code point of the n-byte sequence at p (n from seq_len, 2 to 4). */
static uint32_t code_point(const unsigned char *p, size_t n)
{
	uint32_t cp = p[0] & (0x7f >> n);

	for (size_t k = 1; k < n; k++)
		cp = cp << 6 | (p[k] & 0x3f);
	return cp;
}

/* How the character at s[i] (n of the len bytes) is shown: itself, or
 * (*escaped) what esc holds - C0, DEL and C1 as \xNN, the invisible ones
 * as \uNNNN or \UNNNNNNNN. With lines (terminal output), newlines and
 * tabs are kept and a carriage return before a newline is dropped.
 * Returns the width in code points. */
static size_t one_char(const char *s, size_t i, size_t n, size_t len, bool lines, char esc[16],
                       bool *escaped)
{
	const unsigned char *p = (const unsigned char *)s + i;
	unsigned char c = p[0];

	*escaped = false;
	if (lines && (c == '\n' || c == '\t'))
		return 1;
	if (lines && c == '\r' && i + 1 < len && s[i + 1] == '\n') {
		*escaped = true;
		esc[0] = '\0';
		return 0;
	}
	if (c < 0x20 || c == 0x7f) {
		*escaped = true;
		return (size_t)snprintf(esc, 16, "\\x%02x", c);
	}
	if (n < 2 || n != seq_len(c))
		return 1;
	uint32_t cp = code_point(p, n);
	if (cp >= 0x80 && cp < 0xa0) {
		*escaped = true;
		return (size_t)snprintf(esc, 16, "\\x%02x", (unsigned)cp);
	}
	if (!is_invisible(cp))
		return 1;
	*escaped = true;
	return (size_t)snprintf(esc, 16, cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);
}

static size_t char_len(const char *s, size_t i, size_t len)
{
	size_t n = seq_len((unsigned char)s[i]);
	return n > len - i ? len - i : n;
}

static char *safe_text(const char *s, size_t len, size_t max, bool lines)
{
	struct buf b;
	char esc[16];
	bool escaped;
	size_t total = 0, points = 0, limit = (size_t)-1;

	for (size_t i = 0; i < len; i += char_len(s, i, len))
		total += one_char(s, i, char_len(s, i, len), len, lines, esc, &escaped);
	if (max > 0 && total > max)
		limit = max > 3 ? max - 3 : 0;
	buf_init(&b);
	for (size_t i = 0; i < len;) {
		size_t n = char_len(s, i, len);
		size_t w = one_char(s, i, n, len, lines, esc, &escaped);
		if (points + w > limit)
			break;
		buf_put(&b, escaped ? esc : s + i, escaped ? strlen(esc) : n);
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

char *table_escape(const char *s, size_t len, bool lines)
{
	return safe_text(s, len, 0, lines);
}

char *table_cell(const json_t *v, size_t max)
{
	char tmp[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return safe_text(json_string_value(v), json_string_length(v), max, false);
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
		char *r = s ? safe_text(s, strlen(s), max, false) : NULL;
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
