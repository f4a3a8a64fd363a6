/*
 * table: rows of JSON objects printed as plain, aligned text for the
 * analyst commands.
 *
 * Everything printed is made safe for a terminal first: attackers choose
 * usernames, passwords, commands and client versions, and an escape
 * sequence among them must not reach the analyst's terminal, nor may a
 * bidirectional override reorder a line or a zero-width space hide in a
 * name. Control characters (C0, DEL, C1) are shown as \xNN, format
 * characters (Unicode category Cf) and the line and paragraph separators
 * as \uNNNN (\UNNNNNNNN past U+FFFF); invalid UTF-8 has already been
 * replaced by the event log. Widths count code points.
 */
#ifndef HERMES_TABLE_H
#define HERMES_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* A value as text: strings made terminal-safe and cut to max code points
 * (0: no limit) with "..." at the end, integers in decimal, reals with one
 * decimal, booleans yes/no, null "-". Heap string, NULL on failure. */
char *table_cell(const json_t *v, size_t max);

/* len bytes of UTF-8 made terminal-safe as cells are, never cut. With
 * lines, the text is a terminal's output: newlines and tabs stay, and
 * "\r\n" becomes "\n" (a lone "\r" is escaped). Heap string, NULL on
 * failure. */
char *table_escape(const char *s, size_t len, bool lines);

/* Code points in a UTF-8 string. */
size_t table_width(const char *s);

/* rows: an array of objects sharing their keys (the first row's order);
 * prints a header of those keys in upper case, then one line per row,
 * columns two spaces apart, each cell cut to max_cell. Returns 0 or -1. */
int table_print(FILE *f, const json_t *rows, size_t max_cell);

#endif
