/*
 * indexer: the index kept current by a child process; see indexer.h.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "helper_sandbox.h"
#include "index.h"
#include "indexer.h"
#include "log.h"
#include "util.h"

#define EVERY_MS 1000

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void run(const struct config *cfg, pid_t parent)
{
	char events[4096], err[512], last[512] = "";
	struct index *ix = NULL;

	snprintf(events, sizeof(events), "%s/events.jsonl", cfg->logging.output_dir);
	while (!stop && getppid() == parent) {
		if (ix == NULL)
			ix = index_open(cfg->forensics.database, err, sizeof(err));
		if (ix != NULL && index_catch_up(ix, events, err, sizeof(err)) >= 0)
			last[0] = '\0';
		else if (strcmp(err, last) != 0) {
			/* Said once until it changes: a full disk fails every second. */
			error("indexer: %s", err);
			snprintf(last, sizeof(last), "%s", err);
		}
		struct timespec ts = {EVERY_MS / 1000, (EVERY_MS % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	index_close(ix);
}

pid_t indexer_start(const struct config *cfg)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		error("indexer: fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		return pid;
	/* The child: nothing of the monitor's but the config it was given. */
	close_range(3, ~0U, 0);
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	util_fd_limit_restore();
	log_setup(cfg->logging.level, strcmp(cfg->logging.format, "json") == 0, "indexer");
	/* The log to read; the index's directory, where SQLite also keeps
	 * its journal and temporary files; the randomness it opens. */
	char *copy = strdup(cfg->forensics.database);
	if (copy == NULL)
		_exit(1);
	const char *dbdir = dirname(copy);
	setenv("SQLITE_TMPDIR", dbdir, 1);
	const struct fs_rule rules[] = {
	    {cfg->logging.output_dir, FS_READ},
	    {dbdir, FS_READ | FS_WRITE | FS_REMOVE},
	    {"/dev/urandom", FS_READ},
	};
	helper_sandbox_enter("hermes-indexer", rules, sizeof(rules) / sizeof(rules[0]));
	run(cfg, parent);
	_exit(0);
}
