#!/usr/bin/env bash
# setup.sh: what only the bench uses, installed if missing: linux-perf (`perf record` for
# docs/performance.md's "where the time goes"), and optional: the bench goes on without it.
# What the bench compares Hermes with (openssh-server, dropbear-bin, sshpass) the tests use too:
# scripts/install-deps.sh installs it, and bench/bench.sh runs that first.
set -euo pipefail

log() { printf 'bench/setup: %s\n' "$*"; }

if [ "$(dpkg-query -W -f='${Status}' linux-perf 2>/dev/null || true)" = "install ok installed" ]; then
	log "linux-perf installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	log "not root: going on without linux-perf"
	exit 0
fi
log "installing: linux-perf"
if ! DEBIAN_FRONTEND=noninteractive apt-get update -q ||
	! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends linux-perf; then
	log "cannot install linux-perf: going on without it"
fi
log "done"
