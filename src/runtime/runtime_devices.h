/* A box's /dev as the server's: the host's own device nodes listed in the
 * bundle, so that runc makes them in the box's /dev (docs/stealth.md).
 *
 * Docker gives a box 14 entries in /dev where a server has a hundred; and
 * /proc/partitions, which no namespace hides, names the host's disks that
 * the box's /dev lacks. The nodes are only made, never opened: a node is
 * added only where no rule of the box's device cgroup
 * (linux.resources.devices) would let it be read or written, so what the
 * box may open stays exactly what Docker allows. No I/O here.
 */
#ifndef HERMES_RUNTIME_DEVICES_H
#define HERMES_RUNTIME_DEVICES_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct runtime_dev {
	char name[64]; /* a name directly under /dev */
	char type;     /* 'c' or 'b' */
	long major, minor;
	mode_t mode; /* permission bits */
	uid_t uid;
	gid_t gid;
};

#define RUNTIME_DEVICES_MAX 512 /* nodes added at most */

/* True when config's device cgroup rules allow reading or writing the
 * node (the last matching rule decides, as in runc). */
int runtime_dev_allowed(const json_t *config, char type, long major, long minor);

/* Adds each of devs to linux.devices unless it is allowed (above), named
 * as one already there, or one runc makes itself; returns how many were
 * added, or -1 when config has no "linux" object. */
int runtime_add_devices(json_t *config, const struct runtime_dev *devs, size_t n);

#endif
