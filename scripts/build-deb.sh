#!/usr/bin/env bash
# build-deb.sh [OUTDIR]: the Debian package (`make deb`): dpkg-buildpackage on a copy of the
# tree (the files git has, as they are now, and packaging/debian as debian/), then lintian,
# which must find no error or warning. The .deb lands in OUTDIR (default build-deb/).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${1:-$root/build-deb}
version=$(sed -n "s/^  version : '\([^']*\)',*/\1/p" meson.build)
[ -n "$version" ] || { echo "build-deb: no version in meson.build" >&2; exit 1; }
for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null || {
		echo "build-deb: $tool is missing: scripts/install-deps.sh installs it" >&2
		exit 1
	}
done
changelog=$(sed -n '1s/^hermes (\([^)]*\)).*/\1/p' packaging/debian/changelog)
[ "$changelog" = "$version" ] || {
	echo "build-deb: packaging/debian/changelog says $changelog, meson.build $version" >&2
	exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/hermes-$version
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
	[ -e "$f" ] || continue # removed, not yet committed
	case $f in packaging/debian/*) continue ;; esac
	mkdir -p "$src/$(dirname "$f")"
	cp -P "$f" "$src/$f"
done
cp -r packaging/debian "$src/debian"

echo "build-deb: dpkg-buildpackage in $src"
(cd "$src" && dpkg-buildpackage --build=binary --no-sign) >"$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed" >&2
	exit 1
}
mkdir -p "$out"
deb=$(ls "$work"/hermes_"$version"_*.deb)
cp "$deb" "$out/"
deb=$out/$(basename "$deb")
echo "build-deb: lintian $deb"
lintian --fail-on error,warning --display-level '>=warning' "$deb"
echo "build-deb: $deb"
