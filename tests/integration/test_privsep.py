"""The worker that speaks SSH to the attacker holds no power: it runs as server.worker_user in
an empty chroot with no_new_privs and a seccomp filter, holds only its sockets and the fds the
monitor passed, cannot open the Docker socket, and a forbidden system call kills it - which the
monitor logs. Checked from outside, in /proc, and from inside with gdb calling into it."""

import json
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hermes_helpers import allow_trouble, open_shell, wait_for

# What these tests provoke on purpose, and the fixture would otherwise fail them for.
WORKER_SIGSYS = r"worker killed for a forbidden system call"


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


def named(pid, comm):
    """The daemon's children called `comm` (its workers: hermes-worker)."""
    out = []
    for p in children(pid):
        try:
            if Path(f"/proc/{p}/comm").read_text().strip() == comm:
                out.append(p)
        except FileNotFoundError:  # gone meanwhile
            pass
    return out


def core_limit(pid):
    """(soft, hard) of RLIMIT_CORE, as /proc shows them."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return tuple(line.split()[4:6])
    raise AssertionError(f"no core limit for {pid}")


def worker_of(hermes):
    """The daemon's one worker (a test's session is the only one)."""
    def probe():
        found = named(hermes.proc.pid, "hermes-worker")
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
        assert core_limit(pid) == ("0", "0")  # soft and hard: no core file with its keys
        assert os.readlink(f"/proc/{pid}/root") == "/var/empty"
        assert os.listdir("/var/empty") == []
        # Its fds: /dev/null for stdin and stdout, a pipe to the monitor for stderr (the
        # daemon's own stderr is not the worker's to write), sockets (client, IPC, relay,
        # container streams) and the recordings the monitor opened for it - nothing of the
        # monitor's own.
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
        assert os.readlink(f"/proc/{pid}/fd/1") == "/dev/null"
        err = os.readlink(f"/proc/{pid}/fd/2")
        assert err.startswith("pipe:"), err
        monitor_fds = [os.readlink(f"/proc/{hermes.proc.pid}/fd/{fd}")
                       for fd in os.listdir(f"/proc/{hermes.proc.pid}/fd")]
        assert err in monitor_fds, "the monitor holds the other end of the worker's stderr"
        assert os.readlink(f"/proc/{hermes.proc.pid}/fd/2") != err
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
    allow_trouble(WORKER_SIGSYS)
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


def test_signals_only_to_itself(hermes):
    """tgkill to itself is allowed (abort() needs it; the filter carries the worker's own pid),
    to any other process it kills the worker."""
    allow_trouble(WORKER_SIGSYS)
    with open_shell(hermes) as sh:
        sh.send("echo SIG\n")
        sh.expect(r"SIG")
        pid = worker_of(hermes)
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                            "-ex", f"print (long)syscall(234, {pid}, {pid}, 0)",
                            "-ex", f"print (long)syscall(234, {hermes.proc.pid}, "
                                   f"{hermes.proc.pid}, 0)"],
                           capture_output=True, text=True, timeout=120)
        got = re.findall(r"^\$\d+ = (-?\d+)$", r.stdout, re.M)
        assert got[:1] == ["0"], r.stdout + r.stderr
        assert "SIGSYS" in r.stdout + r.stderr, r.stdout + r.stderr
        closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    assert closed["worker_signal"] == "SYS"


def test_no_keystrokes_pushed_into_a_terminal(hermes):
    """TIOCSTI - faking input on a terminal the daemon was started from - kills the worker."""
    allow_trouble(WORKER_SIGSYS)
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


def test_worker_stderr_is_relayed_escaped_and_attributed(hermes):
    """What a worker writes to its stderr - a taken-over worker writing terminal escapes, or a
    line dressed as the monitor's - reaches the daemon's log only through the monitor: under
    the worker's pid and session, control characters escaped."""
    with open_shell(hermes) as sh:
        sh.send("echo STDERR\n")
        sh.expect(r"STDERR")
        pid = worker_of(hermes)
        payload = r"\033]0;owned\007 INFO monitor[1] listening: forged\n"
        # A string given to a called function is copied into a block gdb mallocs in the
        # worker and never frees, which a sanitizer build's leak check would report: into
        # one of ours, then, freed after.
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                            "-ex", "set $buf = (char *)malloc(64)",
                            "-ex", f'set {{char[46]}} $buf = "{payload}"',
                            "-ex", "print (long)write(2, $buf, 45)",
                            "-ex", "call (void)free($buf)"],
                           capture_output=True, text=True, timeout=120)
        assert re.search(r"^\$1 = 45$", r.stdout, re.M), r.stdout + r.stderr
        line = wait_for(lambda: next((ln for ln in hermes.stderr_tail(400).splitlines()
                                      if "owned" in ln), None), 15, what="the relayed line")
        sh.send("echo STILL\n")
        sh.expect(r"STILL")  # the worker lives on
    hermes.wait_event("session.closed", session=sh.sid, timeout=30)  # its end checked here
    assert "\x1b" not in line and "\x07" not in line, line  # no raw control byte
    forged = "\x1b]0;owned\x07 INFO monitor[1] listening: forged"
    if line.startswith("{"):  # logging.format: json
        rec = json.loads(line)
        assert (rec["process"], rec["pid"], rec["level"], rec["func"]) == \
            ("worker", pid, "WARNING", "stderr"), rec
        assert rec["message"] == f"session {sh.sid[:8]}: {forged}", rec
    else:
        assert f" WARNING worker[{pid}] stderr: session {sh.sid[:8]}: " in line, line
        assert forged.replace("\x1b", "\\x1b").replace("\x07", "\\x07") in line, line
    # Nowhere in the daemon's log did the escape sequence arrive raw.
    assert not any("\x1b]0;owned" in ln for ln in hermes.stderr_tail(400).splitlines())


def test_indexer_is_confined_and_restarted(hermes):
    """The indexer child parses the event log (attacker strings and all) as root: it keeps only
    the file capabilities, has no_new_privs, Landlock rules (the log and the index's directory
    only) and a deny-list filter; socket() kills it, the monitor says so and starts another,
    which goes on indexing."""
    import sqlite3
    from hermes_helpers import ssh_exec
    allow_trouble(r"indexer killed by SIGSYS")
    pid = wait_for(lambda: (named(hermes.proc.pid, "hermes-indexer") or [None])[0], 15,
                   what="the indexer")
    st = status(pid)
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", st
    # chown, dac_override, dac_read_search, fowner: no sys_admin, net_*, ptrace, setuid...
    assert int(st["CapEff"], 16) == 0xF and int(st["CapPrm"], 16) == 0xF, st
    assert int(st["CapAmb"], 16) == 0 and int(st["CapInh"], 16) == 0, st
    # Landlock: it may read the log (and write the index's directory), nothing else - not even
    # as root with dac_override. A kernel without Landlock must be said to be one.
    confined = "this kernel has no Landlock" not in hermes.stderr_tail(5000)
    probe = "/etc/hermes-landlock-probe"
    r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                        "-ex", f'print (int)open("{hermes.events_path}", 0)',
                        "-ex", 'print (int)open("/etc/passwd", 0)',
                        "-ex", f'print (int)open("{probe}", 0101, 0600)',
                        "-ex", "print (int)socket(1, 1, 0)"],
                       capture_output=True, text=True, timeout=120)
    opened = [int(v) for v in re.findall(r"^\$\d+ = (-?\d+)$", r.stdout, re.M)]
    assert len(opened) == 3 and opened[0] >= 0, r.stdout + r.stderr
    made = os.path.exists(probe)
    if made:
        os.unlink(probe)
    if confined:
        assert opened[1:] == [-1, -1] and not made, r.stdout + r.stderr
    else:
        assert opened[1] >= 0  # the warning was true
    assert "SIGSYS" in r.stdout + r.stderr, r.stdout + r.stderr
    wait_for(lambda: "indexer killed by SIGSYS (a forbidden system call)"
             in hermes.stderr_tail(300), 15, what="the monitor's word on it")
    again = wait_for(lambda: next((p for p in named(hermes.proc.pid, "hermes-indexer")
                                   if p != pid), None), 20, what="a new indexer")
    # Seen between its fork and its sandbox, it is not filtered yet: soon it is.
    wait_for(lambda: status(again)["Seccomp"] == "2", 10, what="the new indexer's filter")
    mark = hermes.mark()
    assert ssh_exec(hermes.port, "true").returncode == 0
    sid = hermes.wait_event("session.closed", since=mark, timeout=30)["session"]

    def indexed():
        db = sqlite3.connect(hermes.config["forensics"]["database"], timeout=10)
        try:
            row = db.execute("SELECT reason FROM sessions WHERE id = ?", (sid,)).fetchone()
            return row[0] if row and row[0] else None
        finally:
            db.close()
    assert wait_for(indexed, 15, what="the new indexer to index the session") == "client_closed"
    # TIOCSTI with bits above the 32 the kernel reads is TIOCSTI all the same: killed too.
    said = killed_said(hermes)
    r = subprocess.run(["gdb", "-p", str(again), "-batch", "-nx",
                        "-ex", 'print (int)ioctl(2, 0x100005412, "x")'],
                       capture_output=True, text=True, timeout=120)
    assert "SIGSYS" in r.stdout + r.stderr, r.stdout + r.stderr
    # Said before the test ends, where it is allowed.
    wait_for(lambda: killed_said(hermes) > said, 15, what="the monitor's word on it")


def killed_said(hermes):
    return hermes.stderr_path.read_text(errors="replace").count("indexer killed by SIGSYS")


def readable_memory(pid):
    """The bytes of pid's private memory: heap, anonymous maps, stacks, data segments."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            perms, path = parts[1], parts[5] if len(parts) > 5 else ""
            if "r" not in perms or "w" not in perms or path in ("[vvar]", "[vsyscall]"):
                continue
            try:
                mem.seek(lo)
                yield mem.read(hi - lo)
            except OSError:
                continue


# Long, and looked for by their last 16 bytes: an allocator reuses a freed block's first bytes
# for its own lists, so a whole-string search would miss a secret's surviving tail.
SECRETS = [b"Unused-Static-Pw-41x-" + b"q" * 20 + b"-tail1", b"Honey-Pw-77qz-" + b"z" * 24 + b"-tail2",
           b"honey-user-r8-" + b"u" * 24 + b"-tail3", b"/srv/bait-Kx3-" + b"k" * 24 + b"-tail4.key"]
TAILS = [s[-16:] for s in SECRETS]


@pytest.mark.heap
def test_worker_memory_holds_no_credentials_or_bait(hermes_factory):
    """The worker is a fork of the monitor, so it starts with a copy of the monitor's memory:
    the config's credentials and honeytokens are wiped from that copy (and from what was
    freed while the config was read), so a worker taken over learns no bait to avoid."""
    inst = hermes_factory.start({
        "authentication": {"static_credentials": [
            {"username": "root", "password": "toor"},
            {"username": "admin", "password": SECRETS[0].decode()}]},
        "honeytokens": {"credentials": [{"username": SECRETS[2].decode(),
                                         "password": SECRETS[1].decode()}],
                        "files": [SECRETS[3].decode()]},
    })
    with open_shell(inst) as sh:
        sh.send("echo MEM\n")
        sh.expect(r"MEM")
        pid = worker_of(inst)
        in_worker = {t for chunk in readable_memory(pid) for t in TAILS if t in chunk}
        in_monitor = {t for chunk in readable_memory(inst.proc.pid) for t in TAILS
                      if t in chunk}
    assert in_monitor == set(TAILS), "the scan finds them where they are"
    assert in_worker == set(), in_worker
