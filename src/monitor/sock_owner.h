/*
 * sock_owner: which process in a box holds a TCP connection, and its
 * command line: what made a request the sinkhole saw (egress.http's
 * cmdline: "wget http://.../x.sh", "curl -O ...", "python3 -c ...").
 *
 * Reads the box's own TCP table (/proc/PID/net/tcp of its init, the
 * table of its network namespace) for the socket's inode, then the
 * descriptors of the box's process tree (bounded by its pids limit) for
 * the one that names it, and only when none does (a docker exec's
 * processes are not of the tree) those of every process in the box's
 * network namespace. Only the host's /proc is read, never a path inside the box.
 * The connection must still be open (the sinkhole asks while it waits).
 */
#ifndef HERMES_SOCK_OWNER_H
#define HERMES_SOCK_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* box_pid: the box's init (host pid); addr (network order) and port: the
 * box's end of the connection; udp: a UDP socket's (/proc/PID/net/udp). 0 and out (valid UTF-8,
 * arguments joined by spaces, cut to cap), or -1 when not found. */
int sock_owner_cmdline(int box_pid, bool udp, uint32_t addr, uint16_t port, char *out, size_t cap);

/* Exposed for the tests: the inode of the socket whose local end is
 * addr:port (or 0.0.0.0:port) in a /proc/net/tcp or udp text, or 0. */
unsigned long sock_owner_inode(const char *table, uint32_t addr, uint16_t port);

#endif
