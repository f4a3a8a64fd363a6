/*
 * sftp_watch: a passive observer of one SFTP session (protocol version 3, as
 * OpenSSH's sftp-server speaks it) that turns the two byte streams a relay
 * sees into file operations worth logging: uploads, downloads, removals,
 * renames, directory and link creation, attribute changes.
 *
 * Pure: it is fed bytes in arbitrary chunks and calls back; it never reads,
 * writes or alters the streams, and it is not an SFTP implementation (it
 * checks nothing a real server would refuse). Both streams are untrusted:
 * every packet is bounded, tracked state is capped, and a side whose framing
 * breaks is no longer watched.
 */
#ifndef HERMES_SFTP_WATCH_H
#define HERMES_SFTP_WATCH_H

#include <stddef.h>
#include <stdint.h>

struct sftp_watch;

enum sftp_op {
	SFTP_OP_UPLOAD,
	SFTP_OP_DOWNLOAD,
	SFTP_OP_REMOVE,
	SFTP_OP_RENAME,
	SFTP_OP_MKDIR,
	SFTP_OP_RMDIR,
	SFTP_OP_SYMLINK,
	SFTP_OP_SETSTAT
};

struct sftp_event {
	enum sftp_op op;
	/* Raw bytes, not NUL-terminated, not sanitized, cut at 4096 bytes
	 * (longer paths fail with ENAMETOOLONG on Linux anyway). Valid only
	 * during the callback. */
	const uint8_t *path;
	size_t path_len;
	/* Rename: the new name. Symlink: the second string as sent (OpenSSH
	 * sends target first, then the link's name). Else NULL/0. */
	const uint8_t *path2;
	size_t path2_len;
	/* Upload/download: bytes written/read through the handle. */
	uint64_t bytes;
	/* Upload/download: the OPEN pflags (0x1 read, 0x2 write, 0x4 append,
	 * 0x8 creat, 0x10 trunc, 0x20 excl). */
	uint32_t pflags;
	/* The server's SSH_FXP_STATUS code for the request, -1 if none came.
	 * Upload/download: the CLOSE's status, or the OPEN's when the open
	 * failed (then bytes is 0). */
	int status;
	/* Set when the operation came as an OpenSSH extended request:
	 * "posix-rename@openssh.com" (RENAME), "hardlink@openssh.com" (SYMLINK,
	 * same string order as OpenSSH's symlink), "lsetstat@openssh.com"
	 * (SETSTAT). NULL otherwise. */
	const char *ext;
};

/* Must not call back into the watcher. */
typedef void (*sftp_watch_cb)(void *arg, const struct sftp_event *e);

/* Keeps cb and arg; NULL when out of memory. */
struct sftp_watch *sftp_watch_new(sftp_watch_cb cb, void *arg);
void sftp_watch_client(struct sftp_watch *w, const uint8_t *data,
                       size_t len); /* client -> server */
void sftp_watch_server(struct sftp_watch *w, const uint8_t *data,
                       size_t len); /* server -> client */
/* Reports what is still open or unanswered (status -1), in the order the
 * client asked, then frees; NULL is fine. */
void sftp_watch_free(struct sftp_watch *w);

#endif
