/*
 * agent_title: the process title, as ps and /proc/PID/cmdline show it. The
 * title is written over the argument area and padded with NULs, as sshd's
 * setproctitle does. With environ the area also takes the environment's
 * strings (which follow argv's in memory) after copying them elsewhere: the
 * listener's title is longer than "/usr/sbin/sshd -D".
 */
#include "agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern char **environ;

static char *area;
static size_t room; /* bytes of the area, the last one kept NUL */

void title_init(int argc, char **argv, int with_environ)
{
	char *end;

	if (argc < 1 || argv[0] == NULL)
		return;
	end = argv[0] + strlen(argv[0]);
	for (int i = 1; i < argc; i++) {
		if (argv[i] != end + 1)
			return; /* not one contiguous area: leave it */
		end = argv[i] + strlen(argv[i]);
	}
	if (with_environ && environ != NULL) {
		int n = 0;
		char **copy;

		while (environ[n] != NULL && environ[n] == end + 1) {
			end = environ[n] + strlen(environ[n]);
			n++;
		}
		while (environ[n] != NULL)
			n++;
		copy = calloc((size_t)n + 1, sizeof(*copy));
		if (copy != NULL) {
			for (int i = 0; i < n; i++)
				copy[i] = strdup(environ[i]);
			environ = copy;
		} else {
			/* Without a copy the environment's area stays its own. */
			end = argv[argc - 1] + strlen(argv[argc - 1]);
		}
	}
	area = argv[0];
	room = (size_t)(end - area);
}

void title_set(const char *fmt, ...)
{
	char title[512];
	va_list ap;
	size_t n;

	prctl(PR_SET_NAME, "sshd", 0, 0, 0);
	if (area == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(title, sizeof(title), fmt, ap);
	va_end(ap);
	n = strlen(title);
	if (n > room)
		n = room;
	memset(area, 0, room + 1);
	memcpy(area, title, n);
}
