#!/usr/bin/env bash
# build.sh DIR [CC] [MESON OPTIONS...]: configure (once) and compile Hermes into DIR.
# CC is gcc (default) or clang; the options go to `meson setup` the first time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dir=${1:-build}
compiler=${2:-gcc}
shift $(($# >= 2 ? 2 : $#))

if [ ! -f "$dir/build.ninja" ]; then
	CC=$compiler meson setup "$dir" "$@" >/dev/null
fi
meson compile -C "$dir"
