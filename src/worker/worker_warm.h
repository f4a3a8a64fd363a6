/*
 * worker_warm: a worker template rehearses a few key exchanges with itself
 * before it forks its first worker.
 *
 * OpenSSL 3 sets up each algorithm on its first use in a process (fetching
 * it from the provider, building its method tables), libssh's and
 * libcrypto's functions are bound on their first call, and malloc grows
 * its heap: done in each worker, that is most of what a key exchange
 * costs. Done once in the template, over a socketpair with a libssh client
 * of its own (the common choices of clients and bots: curve25519 with
 * ed25519 and chacha20-poly1305, ECDH P-256 with ECDSA and AES-CTR, DH
 * group 14 with RSA and AES-GCM) and the digests the worker takes itself
 * (HASSH's MD5, fingerprints' SHA-256), every worker forked after it starts
 * with all of that done. Nothing of it is secret: the rehearsals' ephemeral
 * keys are freed, and each worker's own come from OpenSSL's generator,
 * which reseeds in the new process.
 */
#ifndef HERMES_WORKER_WARM_H
#define HERMES_WORKER_WARM_H

#include <libssh/server.h>

/* How many of the rehearsals completed (a failure costs speed only). */
int worker_warm(ssh_bind bind);

#endif
