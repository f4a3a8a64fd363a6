/* A box's own boot and monotonic clocks (box_boot.h; docs/stealth.md,
 * "Uptime"): a time namespace whose clocks read the time since the box's
 * boot, in which hermes-runtime runs `runc create`, and which it joins for
 * every later runc command on the box. runc records its init's start time
 * as /proc reads it, in the reader's clocks, and checks it in every command
 * (a pid whose start time differs is another process: "stopped"); and what
 * `runc exec` starts in the box reads the clocks its shells read. */
#ifndef HERMES_RUNTIME_CLOCK_H
#define HERMES_RUNTIME_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What to write to /proc/self/timens_offsets (time_namespaces(7)) for a box
 * that booted at boot_ms (milliseconds since the epoch), now being now_ms,
 * when the host's CLOCK_MONOTONIC reads *mono and its CLOCK_BOOTTIME
 * *boottime: both of the box's read now_ms - boot_ms. A boot_ms in the
 * future or more than BOX_BOOT_MAX_AGE_MS back is taken as
 * BOX_BOOT_LEAD_MIN_MS before now_ms. Returns the text's length, or -1 when
 * it does not fit in cap. No I/O. */
int runtime_clock_offsets(int64_t boot_ms, int64_t now_ms, const struct timespec *mono,
                          const struct timespec *boottime, char *out, size_t cap);

/* A new time namespace for this process's children (not itself), its
 * clocks set for a boot at boot_ms. 0 or -errno. */
int runtime_clock_new(int64_t boot_ms);

/* Puts this process (single-threaded) into the time namespace of the
 * container `id`'s init, as runc's state under `root` names it, when that
 * is not its own and that process still is the one runc started. 0 when it
 * is in it (or the container has none to give), else -errno (and the
 * process stays in its own). */
int runtime_clock_join(const char *root, const char *id);

#endif
