/*
 * agent_signals: the names a SIGNAL frame may carry (RFC 4254's, without
 * "SIG", and a few more a client may send) and their numbers.
 */
#include "agent.h"

#include <signal.h>
#include <string.h>

static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM},   {"FPE", SIGFPE},   {"HUP", SIGHUP},   {"ILL", SIGILL},
    {"INT", SIGINT},   {"KILL", SIGKILL},   {"PIPE", SIGPIPE}, {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},
    {"TERM", SIGTERM}, {"USR1", SIGUSR1},   {"USR2", SIGUSR2}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"WINCH", SIGWINCH},
};

int signal_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(signals[i].name, name) == 0)
			return signals[i].sig;
	return 0;
}
