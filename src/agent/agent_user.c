/*
 * agent_user: accounts and groups read straight from /etc/passwd and
 * /etc/group. The agent is linked statically, where glibc's getpwnam would
 * have to load NSS modules at run time; the box's accounts are all in the
 * files anyway.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits line at ':' into at most max fields; returns the count. */
static int split(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		f[n++] = line;
		line = strchr(line, ':');
		if (line == NULL)
			break;
		*line++ = '\0';
	}
	return n;
}

static int parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	*out = strtoul(s, &end, 10);
	return *end == '\0' && *out < 0xffffffffUL;
}

int user_lookup(const char *name, struct agent_user *u)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[1024];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *fl[7];
		unsigned long uid, gid;

		if (split(line, fl, 7) != 7 || strcmp(fl[0], name) != 0 || !parse_id(fl[2], &uid) ||
		    !parse_id(fl[3], &gid) || strlen(fl[0]) >= sizeof(u->name))
			continue;
		memset(u, 0, sizeof(*u));
		memcpy(u->name, fl[0], strlen(fl[0]) + 1);
		u->uid = (uid_t)uid;
		u->gid = (gid_t)gid;
		snprintf(u->home, sizeof(u->home), "%s", fl[5][0] ? fl[5] : "/");
		snprintf(u->shell, sizeof(u->shell), "%s", fl[6][0] ? fl[6] : AGENT_SHELL);
		found = 1;
	}
	fclose(f);
	return found;
}

static int member_of(char *members, const char *name)
{
	for (char *m = strtok(members, ","); m != NULL; m = strtok(NULL, ","))
		if (strcmp(m, name) == 0)
			return 1;
	return 0;
}

int user_groups(const char *name, gid_t gid, gid_t *out, int max)
{
	FILE *f = fopen("/etc/group", "re");
	char line[4096];
	int n = 0;

	if (max < 1)
		return 0;
	out[n++] = gid;
	if (f == NULL)
		return n;
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		char *fl[4];
		unsigned long g;

		if (split(line, fl, 4) != 4 || !parse_id(fl[2], &g) || (gid_t)g == gid)
			continue;
		if (member_of(fl[3], name))
			out[n++] = (gid_t)g;
	}
	fclose(f);
	return n;
}

long group_gid(const char *name)
{
	FILE *f = fopen("/etc/group", "re");
	char line[4096];
	long gid = -1;

	if (f == NULL)
		return -1;
	while (gid < 0 && fgets(line, sizeof(line), f) != NULL) {
		char *fl[4];
		unsigned long g;

		if (split(line, fl, 4) >= 3 && strcmp(fl[0], name) == 0 && parse_id(fl[2], &g))
			gid = (long)g;
	}
	fclose(f);
	return gid;
}
