#!/usr/bin/env bash
# run.sh [CONFIG]: set up everything on a fresh Debian 12 machine and run the honeypot.
#
# Installs packages, starts a Docker engine when none answers, builds the target image and
# Hermes, then runs build/hermes in the foreground with CONFIG (default
# config/hermes.example.yaml; host keys are generated on first start). Ctrl-C stops Hermes,
# and the Docker engine too if this script started it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
config=${1:-config/hermes.example.yaml}

scripts/install-deps.sh
scripts/docker-up.sh
trap 'scripts/docker-down.sh || true' EXIT
scripts/build-images.sh
scripts/build.sh build gcc

echo "run: starting Hermes with $config (Ctrl-C to stop)"
# Not exec: the trap must run after Hermes exits. Signals reach Hermes directly (same
# foreground process group), and it shuts down cleanly on SIGINT/SIGTERM.
set +e
build/hermes --config "$config"
rc=$?
exit $rc
