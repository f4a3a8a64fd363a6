#!/usr/bin/env bash
# install-deps.sh: install every Debian package Hermes needs to build, test and run.
#
# Idempotent: when dpkg already reports every package installed, it touches nothing (no
# apt-get update), so CI and developers can call it on every run. Runs as root; as another user
# it goes through sudo when sudo exists.
#
# Not for: starting services (see docker-up.sh) or building images (see build-images.sh). It starts
# none either: installing openssh-server (the stock sshd the wire tests and the bench compare
# Hermes with, run on a loopback port of their own) would start the system's ssh service where an
# init system runs, so a policy-rc.d that refuses every start is in place for the install when
# none exists, and removed after.
set -euo pipefail

packages=(
	# build; clang's sanitizer and libFuzzer runtimes are only a recommendation of clang, so named
	meson ninja-build pkg-config gcc clang libclang-rt-14-dev clang-format
	libssh-dev libssl-dev libjansson-dev libyaml-dev libsqlite3-dev libcmocka-dev libseccomp-dev
	zlib1g-dev
	# the live fetcher of the sinkhole (src/fetch/)
	libcurl4-openssl-dev
	# container engine and the offline base image builder
	docker.io debootstrap
	# integration tests: real clients driving the daemon (util-linux: setpriv, to run the daemon
	# as an ordinary user; dropbear-bin: also bench/)
	openssh-client sshpass tmux python3-pytest python3-paramiko python3-asyncssh asciinema putty-tools
	# the sinkhole tests: their FTP server, their HTTPS origin's certificate (openssl), the
	# host's addresses (ip)
	python3-pyftpdlib openssl iproute2
	# the metrics test reads the text with Prometheus' own parser; the package test reads the
	# config it installs
	python3-prometheus-client python3-yaml
	# make deb (scripts/build-deb.sh); the T-Pot drop-in's socket proxy, tested as shipped
	build-essential debhelper lintian haproxy
	dropbear-bin curl util-linux hydra
	# the stock sshd tests/integration/test_stealth_wire.py and the bench compare Hermes with
	openssh-server
	# groff: tests/integration/test_man.py reads the man page with it
	groff-base
)

log() { printf 'install-deps: %s\n' "$*"; }

# dpkg -s also succeeds for removed packages whose config files remain, so check the status.
missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	log "all ${#packages[@]} packages already installed"
	exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		as_root=(sudo)
	else
		printf 'install-deps: error: not root and no sudo; cannot install: %s\n' \
			"${missing[*]}" >&2
		exit 1
	fi
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# install-deps.sh: no service starts during its install\nexit 101\n' |
		"${as_root[@]}" tee "$policy" >/dev/null
	"${as_root[@]}" chmod 755 "$policy"
	made_policy=1
	trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi

log "installing: ${missing[*]}"
# needrestart, where installed, would otherwise offer to restart services after the install.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get update -q
# Recommends stay on: debootstrap's keyring (debian-archive-keyring) is only a recommendation.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
	apt-get install -y -q "${missing[@]}"
[ "$made_policy" -eq 0 ] || { "${as_root[@]}" rm -f "$policy"; trap - EXIT; }
log "done"
