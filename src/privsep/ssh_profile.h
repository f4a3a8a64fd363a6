/*
 * ssh_profile: the server's SSH offer (banner, algorithms in OpenSSH 8.9p1's
 * order), set on an ssh_bind: the monitor's, which listens, and each
 * worker's, which speaks to the client.
 */
#ifndef HERMES_SSH_PROFILE_H
#define HERMES_SSH_PROFILE_H

#include <libssh/server.h>

/* banner: what follows "SSH-2.0-". libssh's own config files are never read. */
void ssh_profile_apply(ssh_bind bind, const char *banner);

#endif
