#!/usr/bin/env bash
# test.sh: every test of the project, from a fresh Debian 12 machine.
#
# Installs what is missing, checks the formatting, starts a Docker engine if none answers (and stops it again at the
# end if it started it), builds the target image, then: the daemon with gcc and with clang, the
# unit tests (gcc, and an ASan+UBSan build), a short run of every fuzz harness, and the
# integration tests (pytest driving real SSH clients against the built daemon and real
# containers). Exits non-zero if anything fails.
#
# Environment: HERMES_FUZZ_SECONDS (default 15) per harness; HERMES_SKIP_INTEGRATION=1 to run
# only what needs no Docker; PYTEST_ARGS passed to pytest.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fuzz_seconds=${HERMES_FUZZ_SECONDS:-15}

step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

if [ "${HERMES_SKIP_INTEGRATION:-0}" != 1 ]; then
	step "docker engine"
	scripts/docker-up.sh
	trap 'scripts/docker-down.sh || true' EXIT
	step "target image"
	scripts/build-images.sh
fi

step "format (.clang-format)"
make --no-print-directory format-check

step "build (gcc)"
scripts/build.sh build gcc

step "build (clang)"
scripts/build.sh build-clang clang

step "unit tests (gcc)"
meson test -C build --suite unit --print-errorlogs

step "unit tests (clang, ASan+UBSan)"
scripts/build.sh build-asan clang -Db_sanitize=address,undefined -Db_lundef=false
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --print-errorlogs

step "fuzz harnesses (${fuzz_seconds}s each)"
scripts/fuzz.sh "$fuzz_seconds"

if [ "${HERMES_SKIP_INTEGRATION:-0}" != 1 ]; then
	# Two passes: every test against the gcc daemon, and the fast ones again against the
	# ASan+UBSan daemon. A sanitizer's report in the monitor or a worker (workers run
	# LeakSanitizer as they end), or the monitor's non-zero exit, fails the test it came in
	# (tests/integration/README.md). Much of a test is waiting (a box's boot, a timeout, a
	# client's retry), so the two run side by side, each in a temporary directory of its own
	# (HERMES_SERIAL_PASSES=1: one after the other; kept when a pass fails); the ASan pass's
	# output follows the gcc pass's. Debian's interpreter: it is the one with python3-pytest
	# and python3-paramiko. Each pass lists its slowest tests, to keep the run's time in view.
	asan_tmp=$(mktemp -d)
	gcc_tmp=$(mktemp -d)
	read -ra pytest_args <<<"${PYTEST_ARGS:-}"
	asan_pass() {
		HERMES_BIN="$root/build-asan/hermes" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			/usr/bin/python3 -m pytest tests/integration -m "not slow and not rss and not heap and not box and not timing" \
			--durations=15 "${pytest_args[@]}" -p no:cacheprovider --basetemp "$asan_tmp/pytest"
	}
	gcc_pass() {
		HERMES_BIN="$root/build/hermes" /usr/bin/python3 -m pytest tests/integration \
			--durations=25 "${pytest_args[@]}" -p no:cacheprovider --basetemp "$gcc_tmp/pytest"
	}
	gcc_rc=0
	asan_rc=0
	if [ "${HERMES_SERIAL_PASSES:-0}" = 1 ]; then
		step "integration tests"
		gcc_pass || gcc_rc=$?
		step "integration tests against the ASan+UBSan daemon (fast ones)"
		asan_pass || asan_rc=$?
	else
		step "integration tests (the ASan+UBSan daemon's pass runs beside, its output below)"
		asan_pass >"$asan_tmp/log" 2>&1 &
		asan_pid=$!
		# An interrupted run takes the pass beside it down too (a background job of a
		# script ignores SIGINT).
		trap 'kill "$asan_pid" 2>/dev/null || true; scripts/docker-down.sh || true' EXIT
		gcc_pass || gcc_rc=$?
		wait "$asan_pid" || asan_rc=$?
		step "integration tests against the ASan+UBSan daemon (fast ones)"
		cat "$asan_tmp/log"
	fi
	if [ "$gcc_rc" != 0 ] || [ "$asan_rc" != 0 ]; then
		echo "integration tests failed: gcc pass exit $gcc_rc (its files in $gcc_tmp)," \
			"ASan+UBSan pass exit $asan_rc (its files in $asan_tmp)" >&2
		exit 1
	fi
	rm -rf "$asan_tmp" "$gcc_tmp"
fi
