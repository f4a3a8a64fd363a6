"""The worker that speaks SSH to the attacker holds no power: it runs as server.worker_user in
an empty chroot with no_new_privs and a seccomp filter, holds only its sockets and the fds the
monitor passed, cannot open the Docker socket, and a forbidden system call kills it - which the
monitor logs. Checked from outside, in /proc, and from inside with gdb calling into it."""

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from hermes_helpers import open_shell, wait_for


def children(pid):
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids = (task / "children").read_text().split()
        out.extend(int(k) for k in kids)
    return out


def status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    return fields


def worker_of(hermes):
    """The daemon's children with a seccomp filter are its workers."""
    def probe():
        found = [p for p in children(hermes.proc.pid) if status(p).get("Seccomp") == "2"]
        return found[0] if len(found) == 1 else None
    return wait_for(probe, 15, what="exactly one sandboxed worker")


def test_worker_is_unprivileged_chrooted_and_filtered(hermes):
    nobody = pwd.getpwnam("nobody")
    with open_shell(hermes) as sh:
        sh.send("echo SANDBOXED\n")
        sh.expect(r"SANDBOXED")
        pid = worker_of(hermes)
        st = status(pid)
        assert st["Uid"].split() == [str(nobody.pw_uid)] * 4, st["Uid"]
        assert st["Gid"].split() == [str(nobody.pw_gid)] * 4, st["Gid"]
        assert st["Groups"] == ""
        assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
        assert st["CapEff"] == "0000000000000000"
        assert os.readlink(f"/proc/{pid}/root") == "/var/empty"
        assert os.listdir("/var/empty") == []
        # Its fds: the standard three, sockets (client, IPC, relay, container streams) and
        # the recordings the monitor opened for it - nothing of the monitor's own.
        data = Path(hermes.workdir)
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if int(fd) <= 2 or target.startswith(("socket:", "pipe:", "anon_inode:")):
                continue
            assert target.endswith(".cast"), f"fd {fd} -> {target}"
            assert target.startswith(str(data / "recordings")), target
        # The monitor, for contrast, is root and unfiltered.
        assert status(hermes.proc.pid)["Seccomp"] == "0"


def test_forbidden_calls_fail_or_kill_and_are_logged(hermes):
    assert shutil.which("gdb"), "gdb is missing (scripts/install-deps.sh installs it)"
    with open_shell(hermes) as sh:
        sh.send("echo BEFORE\n")
        sh.expect(r"BEFORE")
        pid = worker_of(hermes)
        # Inside the worker: the Docker socket cannot even be opened (chroot, and open is
        # refused), then socket() - which a worker never needs - kills it.
        r = subprocess.run(
            ["gdb", "-p", str(pid), "-batch", "-nx",
             "-ex", 'print (int)open("/var/run/docker.sock", 2)',
             "-ex", 'print (int)open("/etc/passwd", 0)',
             "-ex", "print (int)ioctl(0, 0x541B, $rsp - 64)",
             "-ex", "print (int)socket(1, 1, 0)"],
            capture_output=True, text=True, timeout=120)
        opened = re.findall(r"^\$\d+ = (-?\d+)$", r.stdout, re.M)
        # The opens are refused (-1); FIONREAD is allowed: it returns (on /dev/null, with
        # ENOTTY) instead of killing the worker, which socket() then does.
        assert opened[:2] == ["-1", "-1"] and len(opened) == 3, r.stdout + r.stderr
        assert "SIGSYS" in r.stdout + r.stderr, r.stdout + r.stderr
        closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    assert closed["reason"] == "worker_failed"
    assert closed["worker_signal"] == "SYS"
    assert "forbidden system call" in hermes.stderr_tail(200)


def test_no_keystrokes_pushed_into_a_terminal(hermes):
    """TIOCSTI - faking input on a terminal the daemon was started from - kills the worker."""
    with open_shell(hermes) as sh:
        sh.send("echo TTY\n")
        sh.expect(r"TTY")
        pid = worker_of(hermes)
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                            "-ex", 'print (int)ioctl(2, 0x5412, "x")'],
                           capture_output=True, text=True, timeout=120)
        assert "SIGSYS" in r.stdout + r.stderr, r.stdout + r.stderr
        closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    assert closed["worker_signal"] == "SYS"
