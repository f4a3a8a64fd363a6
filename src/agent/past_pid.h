/*
 * past_pid: the PID an earlier connection's sshd had, for its lines in
 * auth.log and btmp (agent_login.c). PIDs climb with time: it must be above
 * every live process's that started before the connection and below every
 * one's that started after it (this connection's own among them), and no
 * live process may hold it. Pure: the caller reads the processes from
 * /proc; unit-tested (tests/unit/test_past_pid.c).
 */
#ifndef HERMES_PAST_PID_H
#define HERMES_PAST_PID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct live_proc {
	pid_t pid;
	time_t start; /* wall clock */
};

/* A PID for a process of `when`, below `below` (the next connection's, or
 * this one's), a few below the highest free one the live processes allow
 * (r draws how far: 0-5 more). Returns 0 when no PID fits (the caller keeps
 * its own guess). */
pid_t past_pid_choose(const struct live_proc *procs, size_t n, time_t when, pid_t below,
                      uint32_t r);

#endif
