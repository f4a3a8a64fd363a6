/*
 * huge_text: a worker template's large libraries' read-only pages moved
 * onto transparent huge pages, so that each worker it forks maps them two
 * mebibytes at a time instead of a page at a time (docs/performance.md,
 * "Huge pages for the libraries' code").
 */
#ifndef HERMES_HUGE_TEXT_H
#define HERMES_HUGE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define HUGE_TEXT_SIZE ((uintptr_t)2 << 20)
#define HUGE_TEXT_MAX  8 /* chunks; libcrypto has two */

struct huge_text_chunk {
	uintptr_t start; /* HUGE_TEXT_SIZE-aligned, HUGE_TEXT_SIZE long */
	int prot;        /* PROT_READ, with PROT_EXEC where any of it was */
};

/* The chunks of `maps` (the text of /proc/self/maps) that lie whole in one
 * file's private mappings, none of them writable, one after another with
 * no gap; at most `max`. Returns how many, or -1 on a line it cannot
 * read. Pure: for the tests. */
int huge_text_plan(const char *maps, struct huge_text_chunk *out, size_t max);

/* Moves the process's planned chunks onto huge pages: each copied into
 * anonymous memory that the kernel collapses into one huge page
 * (MADV_COLLAPSE), given the chunk's protection and moved over it in one
 * mremap, so that the code is never absent. A chunk the kernel cannot
 * collapse stays as it was. Returns the chunks moved (0 where there are
 * none or the kernel has no huge pages), or -1 if /proc/self/maps cannot
 * be read. For a process with one thread, before any untrusted input. */
int huge_text_apply(void);

#endif
