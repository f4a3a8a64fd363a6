/* exit_signal: see exit_signal.h. */
#include "exit_signal.h"

#include <signal.h>
#include <string.h>

int exit_signal_parse(const char *text, size_t n, int *sig, bool *core)
{
	static const char prefix[] = "signal ";
	size_t i = sizeof(prefix) - 1;
	int v = 0;

	if (text == NULL || n < i + 1 || memcmp(text, prefix, i) != 0)
		return -1;
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (i >= n || text[i] < '1' || text[i] > '9')
		return -1;
	for (; i < n && text[i] >= '0' && text[i] <= '9'; i++) {
		v = v * 10 + (text[i] - '0');
		if (v > EXIT_SIGNAL_MAX)
			return -1;
	}
	if (i == n)
		*core = false;
	else if (n - i == 5 && memcmp(text + i, " core", 5) == 0)
		*core = true;
	else
		return -1;
	*sig = v;
	return 0;
}

const char *exit_signal_name(int sig)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
	    {SIGABRT, "ABRT"}, {SIGALRM, "ALRM"}, {SIGFPE, "FPE"},   {SIGHUP, "HUP"},
	    {SIGILL, "ILL"},   {SIGINT, "INT"},   {SIGKILL, "KILL"}, {SIGPIPE, "PIPE"},
	    {SIGQUIT, "QUIT"}, {SIGSEGV, "SEGV"}, {SIGTERM, "TERM"}, {SIGUSR1, "USR1"},
	    {SIGUSR2, "USR2"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	return "SIG@openssh.com";
}
