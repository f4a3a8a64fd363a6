#!/bin/sh
# sshd-capture.sh: what the distribution's own sshd answers when it is run as a command, measured
# at image build and written as C for the session agent (src/agent/agent_cli.c), which takes that
# binary's place in the target and answers the same.
#
# Usage: sshd-capture.sh DIR
#   Run as root by the Dockerfile's sshd-reference stage, where the base distribution's
#   openssh-server is installed and its host keys removed. Writes DIR/sshd_text.c, DIR/sshd.mtime
#   (the real binary's modification time, which the agent's binary takes) and the raw outputs in
#   DIR/raw. Leaves the stage with fresh host keys and /run/sshd, so that the real binary there
#   answers -T and -t too: the integration tests compare the box's agent with it.
#
# Measured, each as stdout, stderr and exit status: which option letters the binary takes (with
# an argument or not, or answering at once as -V does), its usage after an unknown option and a
# missing argument, an extra argument, a bad -C item and -C port, the re-exec check of a relative
# path, -C without -T, no host keys, no privilege separation directory, and -T's dump of the stock
# configuration (also with -q, which changes its log level). Nothing here is written for one
# distribution: another base (Ubuntu's 8.9p1 or Debian's 9.2p1) gives its own texts. A text that
# names what it was given (the option letter, an argument) is captured with a placeholder the agent
# replaces: '?' for a letter (in the first line), '@' for an argument.
#
# A step that fails ends the script with a non-zero status (set -e), and with it the image build:
# no agent is compiled from a capture that went wrong half-way.
set -eu

[ $# -eq 1 ] || {
	echo "usage: $0 DIR" >&2
	exit 2
}
dir=$1
raw=$dir/raw
sshd=/usr/sbin/sshd
mkdir -p "$raw"

die() {
	printf 'sshd-capture: %s\n' "$*" >&2
	exit 1
}

# run NAME ARGV...: the command's stdout, stderr and exit status in $raw/NAME.{out,err,rc}. From
# a scratch directory: an option given "-?" as its argument may make a file of that name (-E).
scratch=$(mktemp -d)
run() {
	name=$1
	shift
	rc=0
	(cd "$scratch" && exec timeout 20 "$@") </dev/null >"$raw/$name.out" 2>"$raw/$name.err" ||
		rc=$?
	echo "$rc" >"$raw/$name.rc"
}
rc() { cat "$raw/$1.rc"; }
# The letters of a word as words: "tT" -> "t T ".
each_letter() { printf '%s' "$1" | sed 's/./& /g'; }
first_line() { head -n 1 "$raw/$1.err"; }
same() { cmp -s "$raw/$1.out" "$raw/$2.out" && cmp -s "$raw/$1.err" "$raw/$2.err" &&
	[ "$(rc "$1")" = "$(rc "$2")" ]; }

[ -x "$sshd" ] || die "$sshd is missing (is openssh-server installed?)"
for key in /etc/ssh/ssh_host_*; do
	[ ! -e "$key" ] || die "host keys are present ($key); the stage must remove them first"
done
rmdir /run/sshd 2>/dev/null || true

# 1. Options, probed with no host keys and no /run/sshd: whatever a probe leads the binary into
# ends there. "-?" is an unknown option everywhere: its first line names the letter.
run unknown "$sshd" '-?'
[ "$(rc unknown)" -ne 0 ] || die "sshd -? succeeded"
unknown_line=$(first_line unknown)
case $unknown_line in
*'?'*) ;;
*) die "sshd -? did not name the option: $unknown_line" ;;
esac
unknown_pre=${unknown_line%'?'*}
unknown_post=${unknown_line##*'?'}
# For each letter L, `sshd -L -?`: an unknown L is named; a flag lets getopt go on to "-?"; anything
# else either answers at once (-V: the same without "-?") or took "-?" as its argument.
flags=
args=
exits=
needs_arg=
letters=$(awk 'BEGIN { for (i = 48; i < 123; i++) { c = sprintf("%c", i)
	if (c ~ /^[0-9A-Za-z]$/) printf "%s ", c } }')
for l in $letters; do
	run "probe-$l" "$sshd" "-$l" '-?'
	line=$(first_line "probe-$l")
	if [ "$line" = "$unknown_pre$l$unknown_post" ]; then
		continue
	elif [ "$line" = "$unknown_line" ]; then
		flags=$flags$l
		continue
	fi
	run "alone-$l" "$sshd" "-$l"
	if same "probe-$l" "alone-$l"; then
		exits=$exits$l
	else
		args=$args$l
		[ -n "$needs_arg" ] || needs_arg=$l
	fi
done
case $flags in *T*) ;; *) die "this sshd has no -T (flags: $flags)" ;; esac
case $flags in *t*) ;; *) die "this sshd has no -t (flags: $flags)" ;; esac
[ -n "$needs_arg" ] || die "this sshd takes no option with an argument"
# The missing-argument text with its letter as '?', as the unknown option's has it.
sed "1s/\\(.*\\)$needs_arg/\\1?/" "$raw/alone-$needs_arg.err" >"$raw/needs_arg.err"
cp "$raw/alone-$needs_arg.out" "$raw/needs_arg.out"
cp "$raw/alone-$needs_arg.rc" "$raw/needs_arg.rc"
for l in $(each_letter "$args"); do
	[ "$(sed "1s/\\(.*\\)$l/\\1?/;q" "$raw/alone-$l.err")" = "$(first_line needs_arg)" ] ||
		die "-$l without its argument says something else: $(first_line "alone-$l")"
done

# 2. Still no host keys, /run/sshd present.
mkdir -m 755 /run/sshd
run no_hostkeys "$sshd" -t
run extra "$sshd" @
run rexec sh -c 'cd /usr/sbin && exec ./sshd -D'
run bad_spec "$sshd" -T -C @
run bad_port "$sshd" -T -C lport=@
run spec_no_t "$sshd" -t -C user=root
if [ "$(rc no_hostkeys)" -eq 0 ] || [ ! -s "$raw/no_hostkeys.err" ]; then
	die "sshd -t without host keys: status $(rc no_hostkeys), no message"
fi
grep -q @ "$raw/extra.err" || die "an extra argument is not named: $(cat "$raw/extra.err")"

# 3. Host keys, then /run/sshd.
ssh-keygen -A >/dev/null
rmdir /run/sshd
run no_privsep_dir "$sshd" -t
grep -q /run/sshd "$raw/no_privsep_dir.err" ||
	die "sshd -t without /run/sshd: $(cat "$raw/no_privsep_dir.err")"
mkdir -m 755 /run/sshd
run dump "$sshd" -T
run test_ok "$sshd" -t
case $flags in
*q*) run dump_quiet "$sshd" -T -q ;;
*) for f in out err rc; do cp "$raw/dump.$f" "$raw/dump_quiet.$f"; done ;;
esac
if [ "$(rc dump)" -ne 0 ] || [ -s "$raw/dump.err" ] || ! grep -q '^hostkey ' "$raw/dump.out"; then
	die "sshd -T failed: status $(rc dump): $(cat "$raw/dump.err")"
fi
if [ "$(rc test_ok)" -ne 0 ] || [ -s "$raw/test_ok.err" ] || [ -s "$raw/test_ok.out" ]; then
	die "sshd -t is not silent with host keys: status $(rc test_ok): $(cat "$raw/test_ok.err")"
fi
rm -rf "$scratch"

stat -c %Y "$sshd" >"$dir/sshd.mtime"

# 4. The C file: every byte as an octal escape, so that no text can end a string or make a
# trigraph, whatever it holds. Written to stdout step by step rather than through $(...) in a
# command's arguments, whose failure set -e would not see.
c_string() { # FILE
	[ -f "$1" ] || die "no $1"
	od -An -v -to1 "$1" | awk '{ s = ""; for (i = 1; i <= NF; i++) s = s "\\" $i
		printf "\t\"%s\"\n", s }'
	printf '\t""'
}
c_run() { # NAME FILE-STEM: the texts of one run as sshd_run NAME
	status=$(rc "$2")
	case $status in '' | *[!0-9]*) die "$2: no exit status ($status)" ;; esac
	for f in out err; do
		printf 'static const char %s_%s[] =\n' "$1" "$f"
		c_string "$raw/$2.$f"
		printf ';\n'
	done
	printf 'static const struct sshd_run %s = {\n' "$1"
	printf '\t%s_out, sizeof(%s_out) - 1, %s_err, sizeof(%s_err) - 1, %d};\n\n' \
		"$1" "$1" "$1" "$1" "$status"
}
# The runs of struct sshd_texts (agent.h), each from $raw/NAME.*.
runs="unknown needs_arg extra bad_spec bad_port rexec spec_no_t no_hostkeys no_privsep_dir dump
dump_quiet"
package=$(dpkg-query -W -f '${Package} ${Version}' openssh-server 2>/dev/null || echo sshd)
{
	printf '/* Generated at image build by sshd-capture.sh from %s: do not edit. */\n' "$package"
	printf '#include "agent.h"\n\n'
	for name in $runs; do
		c_run "r_$name" "$name"
	done
	for l in $(each_letter "$exits"); do
		c_run "r_exit_$l" "alone-$l"
	done
	printf 'static const struct sshd_exit exits[] = {\n'
	for l in $(each_letter "$exits"); do
		printf "\t{'%s', &r_exit_%s},\n" "$l" "$l"
	done
	printf '\t{0, NULL},\n};\n\n'
	printf 'const struct sshd_texts sshd_texts = {\n'
	printf '\t.captured = 1,\n\t.flags = "%s",\n\t.args = "%s",\n\t.exits = exits,\n' \
		"$flags" "$args"
	for name in $runs; do
		printf '\t.%s = &r_%s,\n' "$name" "$name"
	done
	printf '};\n'
} >"$dir/sshd_text.c"
printf 'sshd-capture: flags %s, with an argument %s, answering at once %s\n' \
	"$flags" "$args" "${exits:-none}"
