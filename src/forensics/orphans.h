/*
 * orphans: which session a container left running by a killed Hermes
 * belonged to, read back from the tail of events.jsonl, so that its
 * artifacts are collected under that session before it is stopped.
 *
 * Start-up only (a blocking read of at most ORPHANS_TAIL bytes). The log is
 * our own, but it is read as untrusted text: whole lines only, each parsed
 * by jansson, fields checked.
 */
#ifndef HERMES_ORPHANS_H
#define HERMES_ORPHANS_H

#include <stddef.h>

#include "util.h"

#define ORPHANS_TAIL (16 << 20)

struct orphan_session {
	char session_id[SESSION_ID_LEN + 1];
	char src_ip[64];
	int src_port;
};

/* In buf[0..len) (lines of events.jsonl), the last container.allocated for
 * container_id: 1 and *out filled, or 0. */
int orphans_find(const char *buf, size_t len, const char *container_id, struct orphan_session *out);

/* The same over the last ORPHANS_TAIL bytes of the file at path; 0 when it
 * cannot be read. */
int orphans_find_in_log(const char *path, const char *container_id, struct orphan_session *out);

#endif
