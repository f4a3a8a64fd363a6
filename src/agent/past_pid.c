/* The PID an earlier connection's sshd had (see past_pid.h). */
#include "past_pid.h"

static int in_use(const struct live_proc *procs, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (procs[i].pid == pid)
			return 1;
	return 0;
}

pid_t past_pid_choose(const struct live_proc *procs, size_t n, time_t when, pid_t below, uint32_t r)
{
	pid_t lo = 1, hi = below, p;
	uint32_t skip = r % 6;

	/* Between the newest PID of a process already there at `when` and
	 * the oldest of one started after it. */
	for (size_t i = 0; i < n; i++) {
		if (procs[i].pid >= below)
			continue;
		if (procs[i].start <= when) {
			if (procs[i].pid > lo)
				lo = procs[i].pid;
		} else if (procs[i].pid < hi) {
			hi = procs[i].pid;
		}
	}
	/* A sshd forks twice per connection: start a PID or two below hi,
	 * then r's few more where there is room. */
	for (p = hi - 2; p > lo; p--) {
		if (in_use(procs, n, p))
			continue;
		if (skip == 0 || p - 1 <= lo)
			return p;
		skip--;
	}
	return hi - 1 > lo && !in_use(procs, n, hi - 1) ? hi - 1 : 0;
}
