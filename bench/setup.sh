#!/usr/bin/env bash
# setup.sh: the Debian packages bench/versus_sshd.py compares Hermes with, installed if missing.
#
#   openssh-server  the stock sshd (only its binary and stock config are used: the bench runs its
#                   own instance on a loopback port; the package's service is never started here)
#   dropbear-bin    the third column (optional for the bench, cheap to have)
#   sshpass         the OpenSSH client's password, for `ssh host true` and the 256 MiB exec
#   linux-perf      `perf record` for docs/performance.md's "where the time goes" (optional)
#
# Idempotent: nothing is touched when every package is installed. Installing openssh-server
# would start the system's ssh service where an init system runs; a policy-rc.d that refuses
# every start is put in place for the install when none exists, and removed again after.
set -euo pipefail

packages=(openssh-server dropbear-bin sshpass linux-perf)

log() { printf 'bench/setup: %s\n' "$*"; }

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	log "all of ${packages[*]} installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	printf 'bench/setup: error: not root; cannot install: %s\n' "${missing[*]}" >&2
	exit 1
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# bench/setup.sh: no service starts during its install\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	made_policy=1
	trap 'rm -f "$policy"' EXIT
fi

# needrestart, where installed, would otherwise offer to restart services after the install.
apt_get() { DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get "$@"; }

log "installing: ${missing[*]}"
apt_get update -q
if ! apt_get install -y -q --no-install-recommends "${missing[@]}"; then
	# linux-perf is only for the profile: go on without it rather than fail the bench.
	rest=()
	for p in "${missing[@]}"; do [ "$p" = linux-perf ] || rest+=("$p"); done
	log "retrying without linux-perf"
	[ "${#rest[@]}" -eq 0 ] || apt_get install -y -q --no-install-recommends "${rest[@]}"
fi
[ "$made_policy" -eq 0 ] || { rm -f "$policy"; trap - EXIT; }
log "done"
