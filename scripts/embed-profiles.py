#!/usr/bin/env python3
"""embed-profiles.py OUTPUT PROFILE...: the built-in stealth profiles (profiles/*.profile) as a
C file defining stealth_builtins[] (src/monitor/stealth_profile.h). Run by the build."""

import os
import sys


def c_string(text):
    out = []
    for line in text.splitlines(keepends=True):
        esc = "".join(ch if 0x20 <= ord(ch) < 0x7f and ch not in '"\\?' else "\\%03o" % ord(ch)
                      for ch in line.rstrip("\n"))
        out.append('\t    "%s\\n"' % esc if line.endswith("\n") else '\t    "%s"' % esc)
    return "\n".join(out) if out else '\t    ""'


def main():
    output, inputs = sys.argv[1], sorted(sys.argv[2:])
    parts = ["/* Generated from profiles/ by scripts/embed-profiles.py: do not edit. */",
             '#include "stealth_profile.h"', "",
             "const struct stealth_builtin stealth_builtins[] = {"]
    for path in inputs:
        name = os.path.basename(path)
        if name.endswith(".profile"):
            name = name[:-len(".profile")]
        if not name or any(ch not in "abcdefghijklmnopqrstuvwxyz0123456789._-" for ch in name):
            sys.exit("embed-profiles: %s: a profile's file name must be [a-z0-9._-]+.profile"
                     % path)
        with open(path, encoding="ascii") as f:
            parts.append('\t{"%s",\n%s},' % (name, c_string(f.read())))
    parts += ["};", "const size_t stealth_builtin_count = %d;" % len(inputs), ""]
    with open(output, "w", encoding="ascii") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    main()
