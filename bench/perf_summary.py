#!/usr/bin/python3
"""Where the CPU went in a `perf record -a -g` profile, in words: the share of samples of each
command, then, for Hermes's monitor and its workers, what each spent its samples on - a system
call (fork, exit, poll, ...), page faults, or a user-space library (libcrypto: the key
exchange; libssh; libc; Hermes itself).

Kernel samples are put under the system call or fault they happened in, not under the
innermost function: on a paravirtualised guest most kernel samples land on the point where
interrupts are enabled again (pvm_irq_enable), which says nothing by itself.

usage: bench/perf_summary.py PERF_DATA [MONITOR_PID]   (bench/versus_sshd.py --profile runs it)
"""

import collections
import re
import subprocess
import sys

SYSCALL = re.compile(r"^__(?:x64|ia32)_sys_(\w+)$|^__do_sys_(\w+)$")
# The monitor (and, under its name, a helper before it renames itself), the workers and the
# worker templates that fork them (a worker's first steps run under the template's name).
HERMES = ("hermes", "hermes-worker", "hermes-template")


def samples(perf_data):
    """(comm, pid, [(sym, dso), ...] innermost first) for every sample."""
    out = subprocess.run(["perf", "script", "-i", str(perf_data), "-F", "comm,pid,ip,sym,dso"],
                         capture_output=True, text=True, errors="replace", timeout=600).stdout
    for block in out.split("\n\n"):
        lines = block.strip("\n").split("\n")
        if not lines or not lines[0].strip():
            continue
        head = lines[0].rsplit(None, 1)
        if len(head) != 2 or not head[1].isdigit():
            continue
        frames = []
        for line in lines[1:]:
            m = re.match(r"\s*[0-9a-f]+ (.*) \((.*)\)$", line)
            if m:
                frames.append((m.group(1), m.group(2)))
        yield head[0].strip(), int(head[1]), frames


def category(frames):
    syms = [s for s, _ in frames]
    kernel = [s for s, d in frames if d == "[kernel.kallsyms]"]
    if kernel:
        for s in kernel:
            m = SYSCALL.match(s)
            if m:
                name = m.group(1) or m.group(2)
                if name in ("clone", "clone3", "fork", "vfork"):
                    return "kernel: fork (copying the address space)"
                if name in ("exit", "exit_group"):
                    return "kernel: exit (tearing the address space down)"
                return f"kernel: {name}()"
        if "asm_exc_page_fault" in syms:
            return ("kernel: copy-on-write page faults" if "do_wp_page" in syms
                    else "kernel: page faults")
        if "do_exit" in syms:
            return "kernel: exit (tearing the address space down)"
        if "ret_from_fork" in syms or "schedule_tail" in syms:
            return "kernel: a new process's first run"
        return "kernel: other (interrupts, scheduling)"
    for sym, dso in frames:
        lib = dso.rsplit("/", 1)[-1]
        if lib.startswith("libcrypto"):
            return "libcrypto (key exchange, host key signature, ciphers)"
        if lib.startswith("libssh"):
            return "libssh"
        if lib.startswith("ld-linux"):
            return "dynamic linker (symbol look-ups)"
        if lib == "hermes":
            return f"hermes: {sym}"
        if lib.startswith("libc.so"):
            return "libc: " + ("malloc/free" if re.search(r"malloc|free|_int_|chunk", sym)
                               else "memset/memcpy" if re.search(r"mem(set|cpy|move)", sym)
                               else sym)
        if lib not in ("[unknown]", ""):
            return lib.split(".so")[0]
    return "unknown (no stack)"


def summarize(perf_data, monitor_pid=None, top=12):
    by_comm = collections.Counter()
    parts = {"monitor": collections.Counter(), "workers": collections.Counter()}
    total = 0
    for comm, pid, frames in samples(perf_data):
        total += 1
        by_comm[comm] += 1
        if comm in HERMES:
            who = "monitor" if (pid == monitor_pid or (monitor_pid is None and comm == "hermes")) \
                else "workers"
            parts[who][category(frames)] += 1
    if not total:
        return "no samples\n"
    lines = [f"{total} samples; share of each command (over 0.5 %):"]
    lines += [f"  {100 * n / total:5.1f} %  {c}" for c, n in by_comm.most_common()
              if n / total >= 0.005]
    for who, cats in parts.items():
        n = sum(cats.values())
        if not n:
            continue
        lines.append(f"Hermes {who}: {100 * n / total:.1f} % of all samples; of its own:")
        lines += [f"  {100 * k / n:5.1f} %  {c}" for c, k in cats.most_common(top)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(summarize(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None), end="")
