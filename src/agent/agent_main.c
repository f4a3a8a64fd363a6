/*
 * agent_main: the entry of the box's /usr/sbin/sshd. Chooses the mode from
 * the arguments:
 *   sshd -D            the listener in the foreground (how the box's init
 *                      starts it), one process per Hermes connection;
 *   sshd               the same, detached, as a real sshd daemonizes;
 *   sshd -R TOKEN ...  the one-shot session parent of Hermes's docker-exec
 *                      fallback (session_parent.c);
 *   anything else      what the distribution's sshd answers to it: sshd -V,
 *                      -T, -t, a bad option... (agent_cli.c).
 */
#include "agent.h"

#include <string.h>

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "-R") == 0)
		return session_parent_main(argc, argv);
	if (argc == 1)
		return listener_main(argc, argv, 0);
	if (argc == 2 && strcmp(argv[1], "-D") == 0)
		return listener_main(argc, argv, 1);
	return cli_main(argc, argv);
}
