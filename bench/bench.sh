#!/usr/bin/env bash
# bench.sh (`make bench`): Hermes next to a stock OpenSSH sshd (and dropbear), in one run, as
# ratios. See docs/performance.md.
#
# Installs what is missing (scripts/install-deps.sh: openssh-server, dropbear-bin, sshpass among
# the rest; then bench/setup.sh: linux-perf), builds Hermes (build/, gcc), starts a Docker engine if
# none answers (and stops it at the end only then), builds the target image, then runs
# bench/versus_sshd.py, which starts and stops everything else itself. Root only.
#
# Environment: HERMES_BIN to bench that binary instead of building build/hermes; BENCH_ARGS
# passed to versus_sshd.py (e.g. "--runs 25", "--no-dropbear", "--profile DIR").
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n=== %s\n' "$*"; }

# On Ctrl-C or TERM, versus_sshd.py (same process group) stops what it started; then exit, so
# that the EXIT trap below runs.
trap 'exit 130' INT TERM HUP

step "dependencies"
scripts/install-deps.sh
bench/setup.sh

if [ -n "${HERMES_BIN:-}" ]; then
	bin=$HERMES_BIN
else
	step "build (gcc)"
	scripts/build.sh build gcc
	bin=build/hermes
fi

step "docker engine"
# docker-down.sh stops any engine docker-up.sh once started; only one that this run started
# is ours to stop.
if ! docker info >/dev/null 2>&1; then
	trap 'scripts/docker-down.sh || true' EXIT
fi
scripts/docker-up.sh

step "target image"
scripts/build-images.sh

step "bench: hermes versus sshd"
# Debian's interpreter: the one with python3-paramiko.
# shellcheck disable=SC2086 # BENCH_ARGS is a list of options
/usr/bin/python3 bench/versus_sshd.py ${BENCH_ARGS:-} "$bin"
