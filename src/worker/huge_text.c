/*
 * huge_text: a template's libraries' read-only pages on huge pages; see
 * huge_text.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "huge_text.h"
#include "log.h"
#include "util.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1 */
#endif

#define MAPS_MAX (1u << 20) /* far above a worker's */

struct mapping {
	uintptr_t start, end;
	unsigned long dev_major, dev_minor;
	uint64_t inode;
	bool usable; /* a file's, private, not writable */
	bool exec;
};

/* One line of /proc/PID/maps: "start-end perms offset major:minor inode
 * [path]". */
static bool parse_line(const char *line, struct mapping *m)
{
	char perms[5];
	uintptr_t start, end;
	unsigned long long offset, inode;
	unsigned long major, minor;
	int n = 0;

	if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %llx %lx:%lx %llu%n", &start, &end, perms,
	           &offset, &major, &minor, &inode, &n) != 7 ||
	    n == 0 || start >= end || strlen(perms) != 4)
		return false;
	*m = (struct mapping){
	    .start = start,
	    .end = end,
	    .dev_major = major,
	    .dev_minor = minor,
	    .inode = inode,
	    .usable = inode != 0 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p',
	    .exec = perms[2] == 'x',
	};
	return true;
}

static bool same_file(const struct mapping *a, const struct mapping *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

/* The chunks of the run of usable mappings [first, last], in order. */
static size_t plan_run(const struct mapping *first, const struct mapping *last,
                       struct huge_text_chunk *out, size_t n, size_t max)
{
	uintptr_t end = last->end;
	uintptr_t a = (first->start + HUGE_TEXT_SIZE - 1) & ~(HUGE_TEXT_SIZE - 1);

	for (; a >= first->start && a <= end && end - a >= HUGE_TEXT_SIZE && n < max;
	     a += HUGE_TEXT_SIZE) {
		int prot = PROT_READ;
		for (const struct mapping *m = first; m <= last; m++)
			if (m->exec && m->start < a + HUGE_TEXT_SIZE && m->end > a)
				prot |= PROT_EXEC;
		out[n++] = (struct huge_text_chunk){.start = a, .prot = prot};
	}
	return n;
}

int huge_text_plan(const char *maps, struct huge_text_chunk *out, size_t max)
{
	struct mapping *ms = NULL;
	size_t nm = 0, cap = 0;
	int result = 0;

	for (const char *p = maps; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		char line[512];
		if (len >= sizeof(line))
			len = sizeof(line) - 1; /* the path's tail, which is not read */
		memcpy(line, p, len);
		line[len] = '\0';
		p += nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
		if (len == 0)
			continue;
		if (nm == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 64;
			struct mapping *g = realloc(ms, ncap * sizeof(*ms));
			if (g == NULL) {
				result = -1;
				break;
			}
			ms = g;
			cap = ncap;
		}
		if (!parse_line(line, &ms[nm]) || (nm > 0 && ms[nm].start < ms[nm - 1].end)) {
			result = -1;
			break;
		}
		nm++;
	}
	size_t n = 0;
	for (size_t i = 0; result == 0 && i < nm;) {
		if (!ms[i].usable) {
			i++;
			continue;
		}
		size_t j = i;
		while (j + 1 < nm && ms[j + 1].usable && same_file(&ms[j + 1], &ms[i]) &&
		       ms[j + 1].start == ms[j].end)
			j++;
		n = plan_run(&ms[i], &ms[j], out, n, max);
		i = j + 1;
	}
	free(ms);
	return result < 0 ? -1 : (int)n;
}

/* /proc/self/maps whole, or NULL. */
static char *read_maps(void)
{
	size_t n = 0;
	char *text = util_read_file("/proc/self/maps", MAPS_MAX, &n);

	if (text != NULL && n >= MAPS_MAX) {
		free(text); /* cut: not all of it */
		text = NULL;
	}
	return text;
}

/* One chunk: a copy on a huge page, then moved over the original. */
static bool move_chunk(const struct huge_text_chunk *c)
{
	const size_t h = HUGE_TEXT_SIZE;
	char *area = mmap(NULL, 2 * h, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return false;
	char *copy = (char *)(((uintptr_t)area + h - 1) & ~(h - 1));
	/* Only the aligned part stays. */
	if (copy > area)
		munmap(area, (size_t)(copy - area));
	if (copy + h < area + 2 * h)
		munmap(copy + h, (size_t)(area + 2 * h - (copy + h)));
	(void)madvise(copy, h, MADV_HUGEPAGE);
	memcpy(copy, (const void *)c->start, h);
	if (madvise(copy, h, MADV_COLLAPSE) < 0 || mprotect(copy, h, c->prot) < 0 ||
	    mremap(copy, h, h, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)c->start) == MAP_FAILED) {
		debug("huge pages: not for %#" PRIxPTR ": %s", c->start, strerror(errno));
		munmap(copy, h);
		return false;
	}
	return true;
}

int huge_text_apply(void)
{
	char *maps = read_maps();
	if (maps == NULL)
		return -1;
	struct huge_text_chunk plan[HUGE_TEXT_MAX];
	int n = huge_text_plan(maps, plan, HUGE_TEXT_MAX);
	free(maps);
	int moved = 0;
	for (int i = 0; i < n; i++)
		moved += move_chunk(&plan[i]);
	return n < 0 ? -1 : moved;
}
