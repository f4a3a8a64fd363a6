#!/usr/bin/env bash
# install-deps.sh: install every Debian package Hermes needs to build, test and run.
#
# Idempotent: when dpkg already reports every package installed, it touches nothing (no
# apt-get update), so CI and developers can call it on every run. Runs as root; as another user
# it goes through sudo when sudo exists.
#
# Not for: starting services (see docker-up.sh) or building images (see build-images.sh).
set -euo pipefail

packages=(
	# build; clang's sanitizer and libFuzzer runtimes are only a recommendation of clang, so named
	meson ninja-build pkg-config gcc clang libclang-rt-14-dev clang-format
	libssh-dev libssl-dev libjansson-dev libyaml-dev libsqlite3-dev libcmocka-dev libseccomp-dev
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
	dropbear-bin curl util-linux hydra
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

log "installing: ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
# Recommends stay on: debootstrap's keyring (debian-archive-keyring) is only a recommendation.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
log "done"
