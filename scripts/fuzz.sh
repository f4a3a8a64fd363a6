#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer harnesses (clang, ASan+UBSan) and run them.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
#
# SECONDS per harness (default 600: the long run by hand; the test command runs 15), as many at
# once as there are cores (HERMES_FUZZ_JOBS). HARNESS:
# names without the fuzz_ prefix (http, demux, config, ...), all of them if none is given.
# Each harness keeps what it finds in build-fuzz/corpus-fuzz_NAME (seeded from
# tests/fuzz/corpus/NAME) and writes a crashing input to build-fuzz/crash-fuzz_NAME-*. Any
# sanitizer report fails the harness (UBSan's too, which would otherwise print and go on; the fuzz
# build also has -fno-sanitize-recover=all, see meson.build). Every harness runs even when one
# finds something; the exit status is then non-zero.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
seconds=${1:-600}
shift || true

# A report stops the run where it happened, with its stack; what the caller adds comes after, so
# it may override these when hunting by hand.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

scripts/build.sh build-fuzz clang -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
	-Dtests=disabled

harnesses=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		f=build-fuzz/fuzz_${n#fuzz_}
		if ! [ -f "$f" ] || ! [ -x "$f" ]; then
			echo "no harness $f" >&2
			exit 2
		fi
		harnesses+=("$f")
	done
else
	for f in build-fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] && harnesses+=("$f")
	done
fi

# One harness: its result line(s) on stdout once it has ended, and its name in $results when it
# found something.
run_one() {
	local f=$1 name corpus args
	name=$(basename "$f")
	corpus=tests/fuzz/corpus/${name#fuzz_}
	mkdir -p "build-fuzz/corpus-$name"
	args=("build-fuzz/corpus-$name")
	[ -d "$corpus" ] && args+=("$corpus")
	# A report that did not stop the run (an option overridden, a file built without the flag)
	# fails it all the same.
	if ! "$f" -max_total_time="$seconds" -print_final_stats=0 \
		-artifact_prefix="build-fuzz/crash-$name-" "${args[@]}" > "build-fuzz/log-$name" 2>&1 ||
		grep -Eq ': runtime error: |^==[0-9]+==ERROR: [A-Za-z]+Sanitizer' "build-fuzz/log-$name"; then
		{
			echo "--- $name (${seconds}s)"
			tail -n 40 "build-fuzz/log-$name"
			echo "*** $name found something: build-fuzz/crash-$name-*"
		} >"build-fuzz/result-$name"
		echo "$name" >>"$results"
	else
		{
			echo "--- $name (${seconds}s)"
			tail -n 3 "build-fuzz/log-$name"
		} >"build-fuzz/result-$name"
	fi
	cat "build-fuzz/result-$name"
}

# As many harnesses at once as there are cores (HERMES_FUZZ_JOBS to say otherwise): each is one
# single-threaded process, and the time each one fuzzes is the same either way.
jobs=${HERMES_FUZZ_JOBS:-$(nproc)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
results=$(mktemp)
trap 'rm -f "$results"' EXIT
running=0
for f in "${harnesses[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$f" &
	running=$((running + 1))
done
wait
mapfile -t failed <"$results"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzzing failed: ${failed[*]}" >&2
	exit 1
fi
