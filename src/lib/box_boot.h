/*
 * box_boot: a box's own boot time (docs/stealth.md, "Uptime").
 *
 * A box reads the host's uptime, so its PID 1 seems to have started long
 * after the kernel: on a server it starts a second or two after. Hermes
 * draws each box a boot time a moment before it starts the box and passes
 * it in the container's environment (BOX_BOOT_ENV, milliseconds since the
 * epoch); hermes-runtime takes it out and creates the box in a time
 * namespace of its own whose boot and monotonic clocks read the time since
 * then. The box's log history ends with a reboot at that time.
 *
 * One place for the monitor that writes the variable
 * (src/docker/sandbox_spec.c) and the runtime that reads it
 * (src/runtime/runtime_spec.c).
 */
#ifndef HERMES_BOX_BOOT_H
#define HERMES_BOX_BOOT_H

#define BOX_BOOT_ENV "HERMES_BOOT_AT"

/* How long before the box's start its kernel "booted": Debian's kernel
 * and initramfs on a small VM take this long to start systemd. */
#define BOX_BOOT_LEAD_MIN_MS 1200
#define BOX_BOOT_LEAD_MAX_MS 3400

/* A boot further back than this (a box started again long after it was
 * made), or in the future, is taken as BOX_BOOT_LEAD_MIN_MS before the
 * start: the box boots again, as a server does. */
#define BOX_BOOT_MAX_AGE_MS (10 * 60 * 1000)

/* A box whose init is systemd (the image's label "hermes.init" says
 * "systemd"): BOX_INIT_ENV=BOX_INIT_SYSTEMD in its environment tells
 * hermes-runtime to give it what systemd needs in a container, a writable
 * name=systemd cgroup of its own (docs/stealth.md). */
#define BOX_INIT_ENV     "HERMES_INIT"
#define BOX_INIT_SYSTEMD "systemd"

#endif
