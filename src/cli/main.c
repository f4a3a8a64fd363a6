/*
 * main: the command line. `hermes --config FILE [--log-level LEVEL]` runs
 * the daemon; `hermes --check-config FILE` validates a config and exits;
 * `hermes doctor --config FILE` checks the machine for it (doctor.h).
 * Exit status: 0 fine, 1 failed to run, 2 bad command line or config.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "cli.h"
#include "config.h"
#include "doctor.h"
#include "log.h"
#include "monitor.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hermes --config FILE [--log-level LEVEL]\n"
	           "       hermes --check-config FILE\n"
	           "       hermes --version\n"
	           "       hermes doctor --config FILE\n"
	           "       hermes ");
	cli_print_names(f);
	fprintf(f, "\n              --config FILE ... (--help)\n"
	           "LEVEL: DEBUG, INFO, WARNING, ERROR or CRITICAL\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", required_argument, NULL, 'k'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *check_path = NULL, *level_name = NULL;
	int c;

	if (argc >= 2 && cli_is_command(argv[1]))
		return cli_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "doctor") == 0)
		return doctor_main(argc - 1, argv + 1);

	while ((c = getopt_long(argc, argv, "c:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			check_path = optarg;
			break;
		case 'l':
			level_name = optarg;
			break;
		case 'V':
			printf("hermes %s\n", HERMES_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (config_path == NULL) == (check_path == NULL)) {
		usage(stderr);
		return 2;
	}
	if (check_path != NULL) {
		struct config *cfg = config_load_or_report(check_path);
		if (cfg == NULL)
			return 2;
		printf("%s: OK\n", check_path);
		config_free(cfg);
		return 0;
	}
	int level = -1;
	if (level_name != NULL && (level = log_level_parse(level_name)) < 0) {
		fprintf(stderr, "hermes: --log-level: unknown level \"%s\"\n", level_name);
		usage(stderr);
		return 2;
	}
	struct config *cfg = config_load_or_report(config_path);
	if (cfg == NULL)
		return 2;
	if (level >= 0)
		cfg->logging.level = level;
	log_setup(cfg->logging.level, strcmp(cfg->logging.format, "json") == 0, "monitor");
	ssh_init();
	int rc = monitor_run(cfg);
	ssh_finalize();
	config_free(cfg);
	return rc;
}
