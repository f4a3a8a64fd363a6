/*
 * prune: the retention pass as a command; see prune.h.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "prune.h"
#include "retention.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hermes prune --config FILE [--now T] [--dry-run] [--json]\n"
	           "T: 2026-11-24T10:30:00Z (UTC); default: now\n");
}

/* YYYY-MM-DDTHH:MM:SSZ, UTC. */
static int parse_now(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (end == NULL || *end != '\0')
		return -1;
	*out = timegm(&tm);
	return 0;
}

int prune_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"now", required_argument, NULL, 'n'},
	    {"dry-run", no_argument, NULL, 'd'},      {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	bool dry_run = false, json = false;
	time_t now = time(NULL);
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			if (parse_now(optarg, &now) < 0) {
				fprintf(stderr,
				        "hermes: --now: want YYYY-MM-DDTHH:MM:SSZ, got \"%s\"\n",
				        optarg);
				return 2;
			}
			break;
		case 'd':
			dry_run = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	struct config *cfg = config_load_or_report(config_path);
	if (cfg == NULL)
		return 2;
	struct retention_report r;
	int rc = retention_run(cfg, now, dry_run, json ? NULL : stdout, &r) < 0 || r.errors ? 1 : 0;
	if (json) {
		json_t *j = retention_report_json(&r);
		json_object_set_new(j, "dry_run", json_boolean(dry_run));
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
	} else {
		printf("%s %lu recordings (%llu bytes) and %lu stored files (%llu bytes) for their "
		       "age, %lu files (%llu bytes) for the disk budget; kept %lu files (%llu "
		       "bytes)%s\n",
		       dry_run ? "would remove" : "removed", r.recordings.files,
		       (unsigned long long)r.recordings.bytes, r.artifacts.files,
		       (unsigned long long)r.artifacts.bytes, r.budget.files,
		       (unsigned long long)r.budget.bytes, r.kept.files,
		       (unsigned long long)r.kept.bytes,
		       retention_enabled(cfg) ? "" : " (no rule is set)");
	}
	config_free(cfg);
	return rc;
}
