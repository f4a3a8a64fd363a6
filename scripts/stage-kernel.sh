#!/usr/bin/env bash
# stage-kernel.sh: copy the running kernel's files, as this host has them, into a directory the
# target image's build copies over its root (scripts/build-images.sh; docs/stealth.md, "The
# kernel's files").
#
# Usage: scripts/stage-kernel.sh DEST [ROOT [RELEASE]]
#   DEST     made if missing; gets usr/lib/modules/RELEASE, boot/{vmlinuz,config,System.map}-RELEASE
#            and the root's vmlinuz link, each only where ROOT has it from a package
#   ROOT     the file system to copy from (default /; the tests give a tree of their own)
#   RELEASE  the kernel release (default: uname -r, the kernel every box reports)
#
# A box reports the host's kernel (uname -r), and a server of that kernel has its modules in
# /lib/modules/RELEASE and its image, initrd, config and System.map in /boot. The image carries the
# host's own files for it, with their modes (System.map is root's only on Debian) and times, so
# that what a box lists is what a server of that kernel lists; a kernel with neither (built
# without modules, booted without /boot, as a microVM's) gives nothing, as on that server. The
# modules go under usr/lib: both images are merged-/usr, where /lib is a link that the build's
# COPY must not replace.
#
# Only what ROOT's package database lists (/var/lib/dpkg/info/*.list) is copied: a
# distribution's kernel, whose files anyone can download. The exact binary and symbol map of a
# kernel built on the host would help root in a box write an exploit against it, so such a
# kernel gives nothing. The initrd is never copied: update-initramfs makes it on the host, and
# it can hold the host's keys (cryptroot key files) and configuration.
set -euo pipefail

die() {
	printf 'stage-kernel: %s\n' "$*" >&2
	exit 1
}

if [ $# -lt 1 ] || [ $# -gt 3 ]; then die "usage: $0 DEST [ROOT [RELEASE]]"; fi
dest=$1
root=${2:-/}
if [ $# -ge 3 ]; then release=$3; else release=$(uname -r); fi
case $release in
'' | */* | .*) die "not a kernel release: '$release'" ;;
esac
root=${root%/}

# Whether a package of ROOT's installed PATH (as its .list files name it: /lib, not /usr/lib).
packaged() {
	local list
	for list in "$root"/var/lib/dpkg/info/*.list; do
		[ -f "$list" ] && grep -qxF -- "$1" "$list" && return 0
	done
	return 1
}

mkdir -p "$dest"
# Debian keeps /lib/modules under /usr/lib on a merged-/usr root; either path names the same tree.
for modules in "$root/lib/modules/$release" "$root/usr/lib/modules/$release"; do
	if [ -d "$modules" ] && packaged "/lib/modules/$release"; then
		mkdir -p "$dest/usr/lib/modules"
		cp -a "$modules" "$dest/usr/lib/modules/"
		break
	fi
done
for f in vmlinuz config System.map; do
	if [ -f "$root/boot/$f-$release" ] && packaged "/boot/$f-$release"; then
		mkdir -p "$dest/boot"
		cp -a "$root/boot/$f-$release" "$dest/boot/"
	fi
done
# Debian's links at the root (and in /boot, by its kernel-img.conf), where they point at this
# release's image.
for dir in "" boot; do
	src="$root${dir:+/$dir}/vmlinuz"
	if [ -L "$src" ] && [ "$(basename "$(readlink "$src")")" = "vmlinuz-$release" ] &&
		[ -e "$dest/boot/vmlinuz-$release" ]; then
		mkdir -p "$dest${dir:+/$dir}"
		cp -a "$src" "$dest${dir:+/$dir}/"
	fi
done
