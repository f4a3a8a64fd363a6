#!/usr/bin/env bash
# docker-down.sh: stop the dockerd that scripts/docker-up.sh started, and only that one.
#
# docker-up.sh leaves a marker in the state directory (HERMES_STATE_DIR, default .state/ at the
# repo root) when it launched dockerd itself. Without that marker this script does nothing: an
# engine that was already running belongs to someone else. With it, we send SIGTERM, wait for
# dockerd and the containerd it spawned to exit, and remove the marker.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${HERMES_STATE_DIR:-$repo_root/.state}
pidfile=$state_dir/dockerd.pid
marker=$state_dir/dockerd.started-by-hermes
# dockerd stops running containers on shutdown (10 s grace each, in parallel) before it exits.
wait_secs=${HERMES_DOCKER_STOP_WAIT:-60}

log() { printf 'docker-down: %s\n' "$*"; }

if [ ! -e "$marker" ]; then
	log "dockerd was not started by docker-up.sh; leaving it alone"
	exit 0
fi

pid=""
if [ -s "$pidfile" ]; then
	pid=$(cat "$pidfile")
elif [ -s "$marker" ]; then
	pid=$(cat "$marker")
fi

# Only signal the pid if it still is a dockerd: after a reboot or crash the number may have
# been reused by an unrelated process.
is_dockerd() {
	[ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null || true)" = dockerd ]
}

# The containerd that dockerd spawned (it does so when no system containerd runs) is its child;
# remember it now, because after dockerd exits it is reparented and harder to recognise.
child_containerd=""
if is_dockerd "$pid"; then
	for c in $(cat "/proc/$pid/task/"*/children 2>/dev/null || true); do
		if [ "$(cat "/proc/$c/comm" 2>/dev/null || true)" = containerd ]; then
			child_containerd=$c
		fi
	done
fi

wait_gone() { # pid name
	local i
	for ((i = 0; i < wait_secs * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	log "warning: $2 (pid $1) still running after ${wait_secs} s"
	return 1
}

status=0
if is_dockerd "$pid"; then
	log "stopping dockerd (pid $pid)"
	kill -TERM "$pid"
	wait_gone "$pid" dockerd || status=1
	if [ -n "$child_containerd" ]; then
		# dockerd normally stops its containerd on the way out; wait for that too.
		wait_gone "$child_containerd" containerd || status=1
	fi
else
	log "dockerd from docker-up.sh is no longer running"
fi

if [ "$status" -eq 0 ]; then
	rm -f "$marker" "$pidfile"
	log "done"
fi
exit "$status"
