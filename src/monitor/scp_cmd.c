/*
 * scp_cmd: recognize "scp [-options] -t|-f [--] PATH"; see scp_cmd.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scp_cmd.h"

#define MAX_WORDS 16

/* Splits cmd into words with sh-like quoting ('...', "...", \x). Returns the
 * number of words, or -1 on unbalanced quotes or too many words. */
static int split(const char *cmd, char *out, char **words)
{
	int n = 0;
	char *o = out;

	for (const char *p = cmd; *p != '\0';) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n == MAX_WORDS)
			return -1;
		words[n++] = o;
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');
				if (end == NULL)
					return -1;
				memcpy(o, p + 1, (size_t)(end - p - 1));
				o += end - p - 1;
				p = end + 1;
			} else if (*p == '"') {
				p++;
				while (*p != '"') {
					if (*p == '\0')
						return -1;
					if (*p == '\\' && p[1] != '\0')
						p++;
					*o++ = *p++;
				}
				p++;
			} else if (*p == '\\' && p[1] != '\0') {
				*o++ = p[1];
				p += 2;
			} else {
				*o++ = *p++;
			}
		}
		*o++ = '\0';
	}
	return n;
}

int scp_cmd_parse(const char *cmd, bool *upload, char **path)
{
	char *buf = malloc(strlen(cmd) + 1 + MAX_WORDS);
	char *words[MAX_WORDS];
	int n, mode = 0, i;
	const char *target = NULL;

	if (buf == NULL)
		return -ENOMEM;
	n = split(cmd, buf, words);
	if (n < 3 || (strcmp(words[0], "scp") != 0 && strcmp(words[0], "/usr/bin/scp") != 0)) {
		free(buf);
		return 0;
	}
	for (i = 1; i < n; i++) {
		const char *w = words[i];
		if (strcmp(w, "--") == 0) {
			i++;
			break;
		}
		if (w[0] != '-' || w[1] == '\0')
			break;
		/* Clustered flags: "-pt", "-rf", "-vt". */
		for (const char *f = w + 1; *f != '\0'; f++)
			if (*f == 't' || *f == 'f')
				mode = *f;
	}
	if (i == n - 1)
		target = words[i];
	if (mode == 0 || target == NULL || target[0] == '\0') {
		free(buf);
		return 0;
	}
	*upload = mode == 't';
	*path = strdup(target);
	free(buf);
	return *path == NULL ? -ENOMEM : 1;
}
