/*
 * table: rows of JSON objects printed as plain, aligned text for the
 * analyst commands.
 *
 * Everything printed is made safe for a terminal first: attackers choose
 * usernames, passwords, commands and client versions, and an escape
 * sequence among them must not reach the analyst's terminal. Control
 * characters (C0, DEL, C1) are shown as \xNN, and invalid UTF-8 has
 * already been replaced by the event log. Widths count code points.
 */
#ifndef HERMES_TABLE_H
#define HERMES_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* A value as text: strings made terminal-safe and cut to max code points
 * (0: no limit) with "..." at the end, integers in decimal, reals with one
 * decimal, booleans yes/no, null "-". Heap string, NULL on failure. */
char *table_cell(const json_t *v, size_t max);

/* Code points in a UTF-8 string. */
size_t table_width(const char *s);

/* rows: an array of objects sharing their keys (the first row's order);
 * prints a header of those keys in upper case, then one line per row,
 * columns two spaces apart, each cell cut to max_cell. Returns 0 or -1. */
int table_print(FILE *f, const json_t *rows, size_t max_cell);

#endif
