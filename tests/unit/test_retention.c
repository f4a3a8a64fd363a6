/* Unit tests for retention: real files in a temporary directory, aged by
 * setting their mtimes; which go for their age, which for the budget, and
 * that nothing else is ever touched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "retention.h"

#define DAY 86400
#define NOW ((time_t)1800000000)

static const char sid1[] = "0123456789abcdef0123456789abcdef";
static const char sid2[] = "fedcba9876543210fedcba9876543210";
static const char sha[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

struct tree {
	char root[64], rec[128], art[128], man[160];
	struct config cfg;
};

static void put(const char *dir, const char *name, size_t size, int days_old)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc('x', f);
	fclose(f);
	struct timeval tv[2] = {{NOW - days_old * DAY, 0}, {NOW - days_old * DAY, 0}};
	assert_int_equal(utimes(path, tv), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	snprintf(t->root, sizeof(t->root), "/tmp/hermes-retention-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->rec, sizeof(t->rec), "%s/rec", t->root);
	snprintf(t->art, sizeof(t->art), "%s/art", t->root);
	snprintf(t->man, sizeof(t->man), "%s/art/sessions", t->root);
	mkdir(t->rec, 0700);
	mkdir(t->art, 0700);
	mkdir(t->man, 0700);
	t->cfg.recording.output_dir = t->rec;
	t->cfg.forensics.artifacts_dir = t->art;
	char name[128];
	snprintf(name, sizeof(name), "%s.cast", sid1);
	put(t->rec, name, 100, 40); /* old recording */
	snprintf(name, sizeof(name), "%s-3.cast", sid1);
	put(t->rec, name, 100, 40);
	snprintf(name, sizeof(name), "%s.json", sid1);
	put(t->rec, name, 10, 40);
	snprintf(name, sizeof(name), "%s.cast", sid2);
	put(t->rec, name, 100, 1);          /* recent */
	put(t->rec, "notes.txt", 10, 400);  /* not ours */
	put(t->rec, "0123.cast", 10, 400);  /* not a session id */
	put(t->art, sha, 1000, 20);         /* stored file */
	put(t->art, "bbbb.tmp.1", 10, 400); /* not ours */
	snprintf(name, sizeof(name), "%s.json", sid1);
	put(t->man, name, 50, 20);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void test_nothing_without_rules(void **state)
{
	struct tree *t = *state;
	struct retention_report r;

	assert_false(retention_enabled(&t->cfg));
	assert_int_equal(retention_run(&t->cfg, NOW, false, NULL, &r), 0);
	assert_int_equal(r.recordings.files + r.artifacts.files + r.budget.files, 0);
	assert_int_equal(r.kept.files, 6);
	assert_int_equal(r.kept.bytes, 100 * 3 + 10 + 1000 + 50);
}

static void test_by_age(void **state)
{
	struct tree *t = *state;
	struct retention_report r;
	char name[128];

	t->cfg.recording.retention_days = 30;
	/* A dry run removes nothing but says what it would. */
	assert_int_equal(retention_run(&t->cfg, NOW, true, NULL, &r), 0);
	assert_int_equal(r.recordings.files, 3);
	snprintf(name, sizeof(name), "%s.cast", sid1);
	assert_true(exists(t->rec, name));

	assert_int_equal(retention_run(&t->cfg, NOW, false, NULL, &r), 0);
	assert_int_equal(r.recordings.files, 3);
	assert_int_equal(r.recordings.bytes, 210);
	assert_int_equal(r.artifacts.files, 0);
	assert_false(exists(t->rec, name));
	snprintf(name, sizeof(name), "%s.cast", sid2);
	assert_true(exists(t->rec, name));
	assert_true(exists(t->rec, "notes.txt") && exists(t->rec, "0123.cast"));
	assert_true(exists(t->art, sha));

	t->cfg.forensics.retention_days = 19;
	assert_int_equal(retention_run(&t->cfg, NOW, false, NULL, &r), 0);
	assert_int_equal(r.artifacts.files, 2); /* the stored file and the manifest */
	assert_false(exists(t->art, sha));
	assert_true(exists(t->art, "bbbb.tmp.1"));
	/* Exactly at the limit is not past it. */
	put(t->art, sha, 1000, 19);
	assert_int_equal(retention_run(&t->cfg, NOW, false, NULL, &r), 0);
	assert_true(exists(t->art, sha));
}

static void test_by_budget_oldest_first(void **state)
{
	struct tree *t = *state;
	struct retention_report r;
	char name[128];

	/* 1360 bytes of ours; a budget of 1000 takes the oldest first: the
	 * three 40-day-old recording files (210), then the stored file (20
	 * days, before the manifest of the same age by name), and stops once
	 * under: the manifest and the recent recording stay. */
	t->cfg.forensics.disk_budget = 1000;
	assert_true(retention_enabled(&t->cfg));
	FILE *list = tmpfile();
	assert_int_equal(retention_run(&t->cfg, NOW, false, list, &r), 0);
	assert_int_equal(r.budget.files, 4);
	assert_int_equal(r.kept.bytes, 150);
	assert_int_equal(r.kept.files, 2);
	snprintf(name, sizeof(name), "%s.cast", sid2);
	assert_true(exists(t->rec, name)); /* the newest stays */
	assert_false(exists(t->art, sha));
	rewind(list);
	char line[600];
	int lines = 0;
	while (fgets(line, sizeof(line), list) != NULL)
		lines++;
	assert_int_equal(lines, 4);
	fclose(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_nothing_without_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_by_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_by_budget_oldest_first, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
