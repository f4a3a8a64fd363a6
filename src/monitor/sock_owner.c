/*
 * sock_owner: a connection's process in a box; see sock_owner.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sock_owner.h"
#include "util.h"

#define TABLE_MAX (1 << 20)
#define TREE_MAX  4096 /* processes of a box looked at */

unsigned long sock_owner_inode(const char *table, uint32_t addr, uint16_t port)
{
	char want[16], any[16];
	const char *line = table;

	/* The kernel prints the address as the 32-bit value it holds. An
	 * unconnected UDP socket's is 0.0.0.0. */
	snprintf(want, sizeof(want), "%08X:%04X", addr, port);
	snprintf(any, sizeof(any), "%08X:%04X", 0u, port);
	while (line != NULL && *line) {
		const char *nl = strchr(line, '\n');
		const char *colon = strchr(line, ':');
		if (colon != NULL && (nl == NULL || colon < nl)) {
			const char *local = colon + 1;
			while (*local == ' ')
				local++;
			if (strncmp(local, want, 13) == 0 || strncmp(local, any, 13) == 0) {
				/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode.
				 * All on this row (%s would read on into the next one),
				 * and a socket: a TIME_WAIT row of the same local end has
				 * inode 0, and the live connection may come after it. */
				unsigned long inode = 0;
				char f[10][40];
				int used = 0;
				if (sscanf(colon + 1,
				           "%39s %39s %39s %39s %39s %39s %39s %39s %lu%n", f[0],
				           f[1], f[2], f[3], f[4], f[5], f[6], f[7], &inode,
				           &used) == 9 &&
				    (nl == NULL || colon + 1 + used <= nl) && inode != 0)
					return inode;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

static bool holds(int pid, unsigned long inode)
{
	char dir[64], link[64], want[48];
	struct dirent *de;
	bool found = false;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	DIR *d = opendir(dir);
	while (d != NULL && !found && (de = readdir(d)) != NULL) {
		char path[384];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	if (d != NULL)
		closedir(d);
	return found;
}

/* The process of the box's tree (its init and every descendant: all of
 * its pid namespace) that holds socket inode, or 0. Breadth first over
 * /proc/PID/task/TID/children, at most TREE_MAX processes: the box's
 * pids_limit bounds it, not the host's process count. */
static int in_tree(int init, unsigned long inode)
{
	int queue[TREE_MAX];
	size_t head = 0, tail = 0;

	queue[tail++] = init;
	while (head < tail) {
		int pid = queue[head++];
		char dir[64], path[128];
		if (holds(pid, inode))
			return pid;
		snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d != NULL && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%.20s/children", dir, de->d_name);
			char *kids = util_read_file(path, 4096, NULL);
			for (char *p = kids, *end; p != NULL && *p; p = end) {
				long k = strtol(p, &end, 10);
				if (end == p)
					break;
				if (k > 0 && tail < TREE_MAX)
					queue[tail++] = (int)k;
			}
			free(kids);
		}
		if (d != NULL)
			closedir(d);
	}
	return 0;
}

/* The process of any in the box's network namespace that holds socket
 * inode, or 0: the whole of the host's /proc, for what is not of the
 * box's tree (a docker exec's processes: their parent is outside). */
static int in_netns(int init, unsigned long inode)
{
	char path[64];
	struct stat ns, st;
	struct dirent *de;
	int owner = 0;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", init);
	if (stat(path, &ns) < 0)
		return 0;
	DIR *d = opendir("/proc");
	while (d != NULL && owner == 0 && (de = readdir(d)) != NULL) {
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		if (stat(path, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev &&
		    holds(pid, inode))
			owner = pid;
	}
	if (d != NULL)
		closedir(d);
	return owner;
}

int sock_owner_cmdline(int box_pid, bool udp, uint32_t addr, uint16_t port, char *out, size_t cap)
{
	char path[64];
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", box_pid, udp ? "udp" : "tcp");
	char *table = util_read_file(path, TABLE_MAX, &len);
	unsigned long inode = table ? sock_owner_inode(table, addr, port) : 0;
	free(table);
	if (inode == 0)
		return -1;
	int owner = in_tree(box_pid, inode);
	if (owner == 0)
		owner = in_netns(box_pid, inode);
	if (owner == 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", owner);
	char *cmd = util_read_file(path, cap > 1 ? cap - 1 : 1, &len);
	if (cmd == NULL || len == 0) {
		free(cmd);
		return -1;
	}
	while (len > 0 && cmd[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	char *clean = util_utf8_sanitize(cmd, len);
	free(cmd);
	if (clean == NULL)
		return -1;
	snprintf(out, cap, "%s", clean);
	free(clean);
	return 0;
}
