#!/usr/bin/env bash
# build-images.sh: build the target image hermes-target-ubuntu:latest from images/ubuntu/ and the
# session agent's sources (src/agent/), and beside it the reference image the tests compare the box's
# sshd with.
#
# Usage: scripts/build-images.sh [--force]
#   --force  rebuild the target even when it is up to date, without the layer cache (to pick up
#            package updates); a debootstrap base is still reused: `docker rmi` it to remake it.
#
# HERMES_TARGET_IMAGE names another tag for the target (a trial build beside the one other people's
# tests use); the integration tests read the same variable.
#
# The base image is, in order:
#   1. $HERMES_BASE_IMAGE when set;
#   2. ubuntu:22.04 when it is present locally or a (time-limited) pull succeeds;
#   3. otherwise hermes-base:bookworm, made once with debootstrap from this machine's configured
#      Debian apt mirror (read from /etc/apt at run time, never stored in the repo) and reused.
# The build context is staged in a temporary directory under the state dir: a copy of images/ubuntu
# with src/agent as agent/ (the Dockerfile compiles the agent from there) and the running kernel's
# files as kernel/ (scripts/stage-kernel.sh: so a new kernel rebuilds the target). The target carries a
# label with a hash of that context and the base image's id; a re-run whose target still matches
# skips everything (no pull attempt either) unless --force is given.
#
# The reference image is the Dockerfile's sshd-reference stage: the target's packages with the
# distribution's own sshd still in place, host keys and /run/sshd, and what sshd-capture.sh measured
# of it in /capture. It is tagged hermes-sshd-reference:HASH (HASH: the context hash's first 12
# digits) and named by the target's label hermes.sshd-reference; the target's agent answers as that
# binary does, and tests/integration/test_box_package.py checks it.
#
# Not for: starting the engine (scripts/docker-up.sh) or installing tools (install-deps.sh).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${HERMES_STATE_DIR:-$repo_root/.state}
context= # the staged build context, made below
target=${HERMES_TARGET_IMAGE:-hermes-target-ubuntu:latest}
reference_repo=hermes-sshd-reference
ubuntu_base=ubuntu:22.04
debian_suite=bookworm
debian_base=hermes-base:$debian_suite
pull_timeout=${HERMES_PULL_TIMEOUT:-30}
hash_label=hermes.context-hash
base_label=hermes.base-image
reference_label=hermes.sshd-reference

log() { printf 'build-images: %s\n' "$*"; }
die() { printf 'build-images: error: %s\n' "$*" >&2; exit 1; }

force=0
cache_opt=()
for arg in "$@"; do
	case $arg in
	--force)
		force=1
		cache_opt=(--no-cache)
		;;
	-h | --help)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) die "unknown argument: $arg (usage: $0 [--force])" ;;
	esac
done

docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/docker-up.sh first"

# The docker CLI on some machines is newer than the engine and has no buildx plugin; the
# classic builder works with every engine we meet.
export DOCKER_BUILDKIT=0

mkdir -p "$state_dir"
# Two builds at once would race on the same tags and the debootstrap directory.
exec 9>"$state_dir/build-images.lock"
if ! flock -n 9; then
	log "another build-images.sh is running; waiting for it"
	flock 9
fi

# The build context: images/ubuntu plus the agent's sources, staged so that `FROM`, `COPY rootfs/`
# and `COPY agent/` all see one directory. Removed when the script ends.
stage_context() {
	context=$(mktemp -d "$state_dir/context.XXXXXX")
	cp -a "$repo_root/images/ubuntu/." "$context/"
	mkdir "$context/agent"
	cp -a "$repo_root"/src/agent/*.c "$repo_root"/src/agent/*.h "$context/agent/"
	# The running kernel's modules and /boot files, as this host has them (none, for a kernel
	# without either); HERMES_IMAGE_KERNEL=no leaves them out.
	if [ "${HERMES_IMAGE_KERNEL:-yes}" = no ]; then
		mkdir "$context/kernel"
	else
		"$repo_root/scripts/stage-kernel.sh" "$context/kernel"
	fi
}
cleanup_stage() {
	if [ -n "$context" ]; then rm -rf "$context"; fi
}
trap cleanup_stage EXIT
stage_context

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_id() { docker image inspect -f '{{.Id}}' "$1"; }
image_label() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null; }

# When this host's server was "installed" (images/ubuntu/age-image.py dates the target so): drawn
# once, six to seven weeks before the first build, and kept in the state dir, so that every
# rebuild (a new kernel, --force) tells the same past, as the boxes' log history does.
installed_file=$state_dir/installed
if ! [[ -s $installed_file && $(cat "$installed_file") =~ ^[0-9]+$ ]]; then
	mkdir -p "$state_dir"
	echo $(($(date +%s) - 42 * 86400 - (RANDOM * 32768 + RANDOM) % (7 * 86400))) >"$installed_file"
fi
installed=$(cat "$installed_file")

# Hash of every file in the build context (path, executable bit, content), the base image's id
# and the install time, so that a changed file, a rebuilt base or a new install time each
# trigger a rebuild.
build_hash() { # base_ref
	{
		printf 'base %s\n' "$(image_id "$1")"
		printf 'installed %s\n' "$installed"
		(
			cd "$context"
			find . -type f -print0 | LC_ALL=C sort -z |
				while IFS= read -r -d '' f; do
					if [ -x "$f" ]; then x=x; else x=-; fi
					printf '%s %s %s\n' "$x" "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
				done
		)
	} | sha256sum | cut -d' ' -f1
}

# Prints "URI SUITE" for every enabled "deb" source of this machine's apt configuration, from
# deb822 files (/etc/apt/sources.list.d/*.sources) and one-line files (*.list, sources.list).
apt_sources() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# Stanzas are separated by blank lines; '#' lines are comments.
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled != "no")
					for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
				types = ""; enabled = ""; nu = 0; ns = 0
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
				if (key == "types") types = $0
				else if (key == "enabled") enabled = tolower($0)
				else if (key == "uris") nu = split($0, u, " ")
				else if (key == "suites") ns = split($0, s, " ")
			}
			END { flush() }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# deb [options] URI SUITE COMPONENTS...
		awk '$1 == "deb" {
			n = 2
			if ($2 ~ /^\[/) { while (n <= NF && $n !~ /\]$/) n++; n++ }
			if (n + 1 <= NF) print $n, $(n + 1)
		}' "$f"
	done
}

# Builds $debian_base with debootstrap unless it exists. Needs root (mknod, chroot).
make_debian_base() {
	local sources main_uri security_uri work rootfs
	if image_exists "$debian_base"; then
		log "reusing local base image $debian_base"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "debootstrap needs root to build $debian_base"
	command -v debootstrap >/dev/null 2>&1 ||
		die "debootstrap not found; run scripts/install-deps.sh first"

	sources=$(apt_sources)
	# The main archive is the source that carries the bare suite; third-party repositories
	# (nodesource, google, ...) use suite names of their own and never match.
	main_uri=$(awk -v s="$debian_suite" '$2 == s { print $1; exit }' <<<"$sources")
	if [ -z "$main_uri" ]; then
		# A host on another Debian release: its main mirror carries bookworm too.
		local codename
		# shellcheck disable=SC1091 # the host's file, read at run time
		codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
		main_uri=$(awk -v s="$codename" 's != "" && $2 == s { print $1; exit }' <<<"$sources")
	fi
	[ -n "$main_uri" ] || die "no Debian apt mirror found in /etc/apt (sources.list or *.sources)"
	security_uri=$(awk -v s="$debian_suite-security" '$2 == s { print $1; exit }' <<<"$sources")
	log "no Ubuntu base available; building $debian_base with debootstrap from the apt mirror"
	log "(this takes a few minutes; mirror taken from this machine's apt configuration)"

	work=$(mktemp -d "$state_dir/debootstrap.XXXXXX")
	rootfs=$work/rootfs
	# debootstrap mounts /proc and /sys inside the target while it works: unmount anything
	# left there before deleting, or rm would walk into the host's /proc and /sys.
	cleanup_work() {
		local m
		if command -v findmnt >/dev/null 2>&1; then
			findmnt -rn -o TARGET | awk -v w="$work/" 'index($0, w) == 1' | sort -r |
				while read -r m; do umount -l "$m" || true; done
		fi
		rm -rf --one-file-system "$work"
	}
	trap 'cleanup_work; cleanup_stage' EXIT

	# Show only debootstrap's stage lines; the full output goes to its log.
	local stages='^I: (Retrieving InRelease|Installing core|Unpacking the base|Configuring the base'
	stages+='|Base system installed)'
	if ! debootstrap --variant=minbase "$debian_suite" "$rootfs" "$main_uri" 2>&1 |
		tee "$work/debootstrap.log" |
		{ grep --line-buffered -E "$stages" || true; } |
		sed -u 's/^I: /build-images:   debootstrap: /'; then
		tail -n 30 "$work/debootstrap.log" >&2
		die "debootstrap failed"
	fi

	# The image's own apt sources: the same mirror, with updates and security when the host
	# uses them, so the target build installs current packages.
	{
		printf 'deb %s %s main\n' "$main_uri" "$debian_suite"
		printf 'deb %s %s-updates main\n' "$main_uri" "$debian_suite"
		if [ -n "$security_uri" ]; then
			printf 'deb %s %s-security main\n' "$security_uri" "$debian_suite"
		fi
	} >"$rootfs/etc/apt/sources.list"
	# debootstrap copies the host's resolv.conf and hostname; the engine supplies both at run.
	rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
	printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
		>"$rootfs/etc/hosts"
	rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb \
		"$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*

	log "importing the root file system as $debian_base"
	# /dev, /proc and /sys are provided by the engine at run time.
	tar -C "$rootfs" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
		-c . |
		docker import \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'CMD ["bash"]' \
			- "$debian_base" >/dev/null
	cleanup_work
	trap cleanup_stage EXIT
	log "base image $debian_base ready"
}

start=$(date +%s)

# Fast path: the existing target was built from this context on a base that is unchanged.
if [ "$force" -eq 0 ] && image_exists "$target"; then
	old_base=$(image_label "$target" "$base_label" || true)
	if [ -n "$old_base" ] && image_exists "$old_base" &&
		{ [ -z "${HERMES_BASE_IMAGE:-}" ] || [ "$HERMES_BASE_IMAGE" = "$old_base" ]; } &&
		[ "$(image_label "$target" "$hash_label")" = "$(build_hash "$old_base")" ] &&
		image_exists "$(image_label "$target" "$reference_label")"; then
		log "$target is up to date (base $old_base); nothing to do (use --force to rebuild)"
		exit 0
	fi
fi

if [ -n "${HERMES_BASE_IMAGE:-}" ]; then
	base=$HERMES_BASE_IMAGE
	log "using base image $base (from HERMES_BASE_IMAGE)"
	image_exists "$base" || timeout "$pull_timeout" docker pull "$base" ||
		die "base image $base is neither local nor pullable"
elif image_exists "$ubuntu_base"; then
	base=$ubuntu_base
	log "using local base image $base"
else
	log "trying to pull $ubuntu_base (at most ${pull_timeout} s)"
	if timeout "$pull_timeout" docker pull -q "$ubuntu_base" >/dev/null 2>&1; then
		base=$ubuntu_base
		log "pulled $base"
	else
		log "cannot pull $ubuntu_base (no registry reachable)"
		make_debian_base
		base=$debian_base
	fi
fi

hash=$(build_hash "$base")
if [ "$force" -eq 0 ] && image_exists "$target" &&
	[ "$(image_label "$target" "$hash_label")" = "$hash" ] &&
	image_exists "$(image_label "$target" "$reference_label")"; then
	log "$target is up to date (base $base); nothing to do (use --force to rebuild)"
	exit 0
fi

reference=$reference_repo:${hash:0:12}
old_reference=$(image_label "$target" "$reference_label" || true)
build_log=$state_dir/build-target.log
: >"$build_log"
# Shows the Dockerfile steps as they start; the full output goes to the log.
build() { # DOCKER-BUILD-ARGS...
	if ! docker build --build-arg "BASE=$base" --build-arg "HERMES_INSTALLED=$installed" "$@" \
		"$context" 2>&1 |
		tee -a "$build_log" | { grep --line-buffered '^Step ' || true; } |
		awk '{ print "build-images:   " substr($0, 1, 76) (length($0) > 76 ? " ..." : ""); fflush() }'
	then
		tail -n 40 "$build_log" >&2
		die "docker build failed (full log: $build_log)"
	fi
}
# The reference first (its stages are the target's first ones), then the target on the same layers:
# --force's fresh build is the reference's, so that both have the same packages.
log "building $reference (the distribution's sshd, measured) on $base"
build "${cache_opt[@]}" --target sshd-reference --label "$hash_label=$hash" \
	--label "org.opencontainers.image.title=$reference_repo" -t "$reference"
log "building $target from images/ubuntu and src/agent on $base"
build --label "$hash_label=$hash" --label "$base_label=$base" \
	--label "$reference_label=$reference" -t "$target"
# The previous target, now untagged, is dropped unless a kept (forensic) container uses it; so is a
# reference left untagged (a --force rebuild moves its tag to a new image).
for title in hermes-target "$reference_repo"; do
	docker image prune -f --filter "label=org.opencontainers.image.title=$title" >/dev/null
done
# The reference the previous target named, when it was another (still tagged), goes too unless
# another target (another tag) still names it.
if [ -n "$old_reference" ] && [ "$old_reference" != "$reference" ] &&
	[ -z "$(docker images -q --filter "label=$reference_label=$old_reference")" ]; then
	docker rmi "$old_reference" >/dev/null 2>&1 || true
fi
log "built $target ($(docker image inspect -f '{{.Size}}' "$target" |
	awk '{ printf "%.0f MB", $1 / 1e6 }')) in $(($(date +%s) - start)) s"
