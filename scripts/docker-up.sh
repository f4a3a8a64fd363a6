#!/usr/bin/env bash
# docker-up.sh: make sure a Docker engine answers, starting dockerd ourselves if none does.
#
# These machines have no systemd (no systemctl, no service), so dockerd is launched directly,
# detached into its own session so it outlives this script. When this script starts it, it
# records that in the state directory (HERMES_STATE_DIR, default .state/ at the repo root) so
# that docker-down.sh stops only an engine we started, never one somebody else runs.
#
# Not for: configuring a remote engine. If DOCKER_HOST names a tcp:// engine that does not
# answer, we report it and fail instead of starting a local one.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${HERMES_STATE_DIR:-$repo_root/.state}
wait_secs=${HERMES_DOCKER_WAIT:-60}

log() { printf 'docker-up: %s\n' "$*"; }
die() { printf 'docker-up: error: %s\n' "$*" >&2; exit 1; }

engine_answers() { docker info >/dev/null 2>&1; }

# hermes-runtime (docs/stealth.md): the OCI runtime Hermes creates its boxes with, registered
# with an engine this script starts. It is the one of the build/ directory that scripts/build.sh
# makes (the path need not exist yet when dockerd starts, only when the first box is created).
runtime=$repo_root/build/hermes-runtime

if engine_answers; then
	log "a Docker engine already answers (${DOCKER_HOST:-unix:///var/run/docker.sock}); nothing to do"
	if ! docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"hermes"'; then
		log "note: it has no hermes runtime, so boxes keep some of Docker's tells" \
			"(docs/stealth.md says how to register $runtime)"
	fi
	exit 0
fi

# Which socket should the engine listen on? Only a local unix socket is ours to provide.
host=${DOCKER_HOST:-unix:///var/run/docker.sock}
case $host in
unix://*) ;;
*) die "DOCKER_HOST=$host does not answer and is not a local unix socket; not starting dockerd" ;;
esac

command -v dockerd >/dev/null 2>&1 || die "dockerd not found; run scripts/install-deps.sh first"
if [ "$(id -u)" -ne 0 ]; then
	die "dockerd must be started as root (try: sudo $0)"
fi

mkdir -p "$state_dir"
pidfile=$state_dir/dockerd.pid
marker=$state_dir/dockerd.started-by-hermes
logfile=$state_dir/dockerd.log

# A dockerd from an earlier run that is alive but not answering yet (or wedged) would make a
# second one fail on its pidfile/socket: say so rather than pile up daemons.
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	log "dockerd (pid $(cat "$pidfile")) from an earlier run is alive; waiting for it"
else
	rm -f "$pidfile"
	log "starting dockerd (log: $logfile)"
	# setsid: own session and process group, so a job-control kill of our caller's group
	# does not take the engine with it. stdin from /dev/null so it never holds a terminal.
	setsid dockerd --host "$host" --pidfile "$pidfile" --add-runtime "hermes=$runtime" \
		</dev/null >>"$logfile" 2>&1 &
	# Written before the wait so that docker-down.sh can clean up even a start that timed out.
	printf '%s\n' "$!" >"$marker"
fi

for ((i = 0; i < wait_secs * 2; i++)); do
	if engine_answers; then
		log "dockerd is up after $((i / 2)) s (pid $(cat "$pidfile" 2>/dev/null || echo '?'))"
		exit 0
	fi
	# Stop waiting early if the daemon died (bad flag, port in use, missing kernel feature).
	if [ -s "$marker" ] && ! kill -0 "$(cat "$marker")" 2>/dev/null; then
		break
	fi
	sleep 0.5
done

printf 'docker-up: error: dockerd did not answer within %s s; last lines of %s:\n' \
	"$wait_secs" "$logfile" >&2
tail -n 30 "$logfile" >&2 || true
exit 1
