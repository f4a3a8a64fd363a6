"""The worker that speaks SSH to the attacker holds no power: it runs as server.worker_user in
an empty chroot with no_new_privs and a seccomp filter, holds only its sockets and the fds the
monitor passed, cannot open the Docker socket, and a forbidden system call kills it - which the
monitor logs. Checked from outside, in /proc, and from inside: tests/tools/syscall_inject.c makes
a live worker (or helper) make the system calls an exploit in it would make."""

import errno
import json
import os
import pwd
import re
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from hermes_helpers import allow_trouble, hermes_bin, open_shell, sanitizer_build, wait_for

# What these tests provoke on purpose, and the fixture would otherwise fail them for: workers
# and indexers killed by their filters.
@pytest.fixture(autouse=True)
def provoked_kills():
    allow_trouble(r"worker killed for a forbidden system call")
    allow_trouble(r"indexer killed by SIGSYS")


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


def filtered_indexer(hermes, other_than=None):
    """The daemon's indexer (not `other_than`), once it has loaded its filter: it takes its name
    a moment before, a moment that a busy machine can stretch."""
    def probe():
        for p in named(hermes.proc.pid, "hermes-indexer"):
            try:
                if p != other_than and status(p)["Seccomp"] == "2":
                    return p
            except FileNotFoundError:  # gone meanwhile
                pass
        return None
    return wait_for(probe, 20, what="a filtered indexer")


def inject_tool():
    """tests/tools/syscall_inject.c, built by meson beside the daemon."""
    path = Path(os.environ.get("HERMES_SYSCALL_INJECT") or hermes_bin().parent / "syscall_inject")
    assert path.is_file(), (f"{path} is missing: meson builds it beside hermes from "
                            "tests/tools/syscall_inject.c (or set HERMES_SYSCALL_INJECT)")
    return path


class Out:
    """An argument of n zero bytes that the call fills in (pipe2's descriptors, say)."""

    def __init__(self, n):
        self.n = n


def syscall_in(pid, call, *args):
    """Makes process `pid` make one system call, named or numbered: what it returned (a
    negative errno when it failed), or the signal's name ("SIGSYS") when the call killed it.
    An int is passed as it is; a str (NUL-terminated), bytes and Out are written into the
    process and their address passed. With Out arguments: (what it returned, [the bytes each
    Out holds after the call])."""
    def arg(a):
        if isinstance(a, Out):
            return f"out:{a.n}"
        if isinstance(a, bool) or not isinstance(a, (int, str, bytes)):
            raise TypeError(f"cannot pass {a!r}")
        if isinstance(a, int):
            return str(a)
        return "str:" + a if isinstance(a, str) else "hex:" + a.hex()
    r = subprocess.run([str(inject_tool()), str(pid), str(call), *map(arg, args)],
                       capture_output=True, text=True, timeout=60)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines, f"syscall_inject {pid} {call}: {r.stdout} {r.stderr}"
    m = re.fullmatch(r"killed by (SIG\w+)", lines[0])
    if m:
        return m.group(1)
    m = re.fullmatch(r"returned (-?\d+)(?: \S+)?", lines[0])
    assert m, f"syscall_inject {pid} {call}: {r.stdout!r}"
    if not any(isinstance(a, Out) for a in args):
        return int(m.group(1))
    return int(m.group(1)), [bytes.fromhex(ln.split()[2]) for ln in lines[1:]]


def socket_fds(pid):
    """{inode: fd} of pid's sockets."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        if m:
            out[m.group(1)] = int(fd)
    return out


def client_fd(pid, port):
    """The worker's descriptor for its client's TCP connection to `port`."""
    mine = socket_fds(pid)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[9] in mine:
                return mine[f[9]]
    raise AssertionError(f"worker {pid} holds no connection to port {port}")


def sockaddr_un(path):
    return struct.pack("=H", socket.AF_UNIX) + path.encode() + b"\0"


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


AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
FIONREAD = 0x541B
TIOCSTI = 0x5412
PTRACE_ATTACH = 16
F_GETFL, F_SETFL = 3, 4
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15
F_OWNER_PGRP = 2
O_ASYNC = 0o20000
STATX_BASIC_STATS = 0x7FF
STAT_SIZE = 144  # struct stat on x86-64


def test_forbidden_calls_fail_or_kill_and_are_logged(hermes):
    with open_shell(hermes) as sh:
        sh.send("echo BEFORE\n")
        sh.expect(r"BEFORE")
        pid = worker_of(hermes)
        # Inside the worker: the Docker socket cannot even be opened, nor /etc/passwd: the
        # filter says EACCES (the empty chroot alone would say ENOENT), whichever form of open.
        # A sanitizer build's filter lets read-only opens through (LeakSanitizer reads /proc):
        # there the empty chroot answers, and opening to write is still refused.
        read_only = -errno.ENOENT if sanitizer_build() else -errno.EACCES
        assert syscall_in(pid, "open", "/var/run/docker.sock", os.O_RDWR) == -errno.EACCES
        assert syscall_in(pid, "open", "/etc/passwd", os.O_RDONLY) == read_only
        assert syscall_in(pid, "openat", AT_FDCWD, "/etc/passwd", os.O_RDONLY) == read_only
        # FIONREAD is allowed: it returns (ENOTTY on /dev/null) instead of killing the
        # worker, which socket() - which a worker never needs - then does.
        assert syscall_in(pid, "ioctl", 0, FIONREAD, bytes(8)) == -errno.ENOTTY
        assert syscall_in(pid, "socket", socket.AF_UNIX, socket.SOCK_STREAM, 0) == "SIGSYS"
        closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    assert closed["reason"] == "worker_failed"
    assert closed["worker_signal"] == "SYS"
    assert "forbidden system call" in hermes.stderr_tail(200)


# What an exploit in a worker would try next, each of which kills it: (call, args...) from
# the monitor's pid and the worker's client socket.
ESCAPES = {
    "connect to the Docker socket": lambda monitor, fd: (
        "connect", fd, sockaddr_un("/var/run/docker.sock"), 2 + len("/var/run/docker.sock") + 1),
    "open a TCP socket": lambda monitor, fd: ("socket", socket.AF_INET, socket.SOCK_STREAM, 0),
    "execute a program": lambda monitor, fd: ("execve", "/bin/sh", 0, 0),
    "trace the monitor": lambda monitor, fd: ("ptrace", PTRACE_ATTACH, monitor, 0, 0),
    "signal the monitor": lambda monitor, fd: ("kill", monitor, 0),
    # TIOCSTI: faking input on a terminal the daemon was started from.
    "push keystrokes into a terminal": lambda monitor, fd: ("ioctl", 2, TIOCSTI, "x"),
    "stat a path with statx": lambda monitor, fd: (
        "statx", AT_FDCWD, "/etc/passwd", 0, STATX_BASIC_STATS, bytes(256)),
}


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_escapes_kill_the_worker(hermes, escape):
    with open_shell(hermes) as sh:
        sh.send("echo ESCAPE\n")
        sh.expect(r"ESCAPE")
        pid = worker_of(hermes)
        call, *args = ESCAPES[escape](hermes.proc.pid, client_fd(pid, hermes.port))
        if call == "ptrace" and sanitizer_build():
            # LeakSanitizer's check traces the worker's own threads: a sanitizer build's filter
            # allows ptrace, and the kernel refuses the monitor to an unprivileged worker.
            assert syscall_in(pid, call, *args) == -errno.EPERM
            assert status(hermes.proc.pid)["TracerPid"] == "0"
            return
        assert syscall_in(pid, call, *args) == "SIGSYS"
        closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    assert closed["worker_signal"] == "SYS"
    assert hermes.running()


def test_signals_only_to_itself(hermes):
    """tgkill to itself is allowed (abort() needs it; the filter carries the worker's own pid),
    to any other process it kills the worker."""
    with open_shell(hermes) as sh:
        sh.send("echo SIG\n")
        sh.expect(r"SIG")
        pid = worker_of(hermes)
        assert syscall_in(pid, "tgkill", pid, pid, 0) == 0
        assert syscall_in(pid, "tgkill", hermes.proc.pid, hermes.proc.pid, 0) == "SIGSYS"
        closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    assert closed["worker_signal"] == "SYS"


# fcntl aims signals too: an owner (F_SETOWN -pgrp: every worker, all of which run as the same
# user, and the monitor too when it runs as that user), a signal of one's choosing (F_SETSIG
# SIGKILL) and O_ASYNC on the worker's own socket make the kernel send it whenever the
# attacker types. (command, argument) from the monitor's pid and the socket's flags.
AIMS = {
    "F_SETOWN": lambda monitor, flags: (F_SETOWN, -os.getpgid(monitor)),
    "F_SETOWN_EX": lambda monitor, flags: (
        F_SETOWN_EX, struct.pack("=ii", F_OWNER_PGRP, os.getpgid(monitor))),
    "F_SETSIG": lambda monitor, flags: (F_SETSIG, 9),
    "F_SETFL O_ASYNC": lambda monitor, flags: (F_SETFL, flags | O_ASYNC),
}


@pytest.mark.parametrize("aim", sorted(AIMS))
def test_fcntl_cannot_aim_signals(hermes, aim):
    """The fcntl a worker makes (its socket's flags, O_NONBLOCK) works; what would aim signals
    at other processes kills it."""
    with open_shell(hermes) as sh:
        sh.send("echo FCNTL\n")
        sh.expect(r"FCNTL")
        pid = worker_of(hermes)
        fd = client_fd(pid, hermes.port)
        flags = syscall_in(pid, "fcntl", fd, F_GETFL)
        assert isinstance(flags, int) and flags & os.O_NONBLOCK, flags
        assert syscall_in(pid, "fcntl", fd, F_SETFL, flags) == 0
        assert syscall_in(pid, "fcntl", fd, *AIMS[aim](hermes.proc.pid, flags)) == "SIGSYS"
        closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    assert closed["worker_signal"] == "SYS"


def test_a_worker_cannot_kill_the_others(hermes):
    """The whole attack: a taken-over worker asks for SIGKILL (F_SETSIG) to its process group
    (F_SETOWN: the monitor's, which every worker shares) on I/O (O_ASYNC) on its socket, and
    its attacker types. Before the filter checked fcntl, every other worker died of it. Now
    the first step kills only the worker that tried, and the other session carries on."""
    with open_shell(hermes) as other:
        other.send("echo OTHER\n")
        other.expect(r"OTHER")
        victim = worker_of(hermes)
        with open_shell(hermes) as sh:
            sh.send("echo ATTACKER\n")
            sh.expect(r"ATTACKER")
            pid = wait_for(lambda: next((p for p in named(hermes.proc.pid, "hermes-worker")
                                         if p != victim), None), 15, what="the second worker")
            fd = client_fd(pid, hermes.port)
            flags = syscall_in(pid, "fcntl", fd, F_GETFL)
            steps = [(F_SETSIG, 9), (F_SETOWN, -os.getpgid(hermes.proc.pid)),
                     (F_SETFL, flags | O_ASYNC)]
            got = [syscall_in(pid, "fcntl", fd, *step) for step in steps[:1]]
            while got[-1] != "SIGSYS" and len(got) < len(steps):
                got.append(syscall_in(pid, "fcntl", fd, *steps[len(got)]))
            if got[-1] != "SIGSYS":
                sh.send("echo TYPED\n")  # SIGIO, here SIGKILL, to the group
            closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
        other.send("echo STILL\n")
        other.expect(r"STILL")
    assert got == ["SIGSYS"], got
    assert closed["worker_signal"] == "SYS"


def test_no_metadata_of_host_files(hermes):
    """stat on a path fails with EACCES, in every form. glibc's fstat() is newfstatat(fd, "",
    AT_EMPTY_PATH) since 2.33, and a filter sees the path's address, not the path: that empty
    path looks like "/etc/shadow" to it, so newfstatat is refused whole (the worker, once
    sandboxed, makes none). fstat on a descriptor stays."""
    with open_shell(hermes) as sh:
        sh.send("echo STAT\n")
        sh.expect(r"STAT")
        pid = worker_of(hermes)
        for args in [(AT_FDCWD, "/etc/passwd", bytes(STAT_SIZE), 0),
                     (0, "/etc/passwd", bytes(STAT_SIZE), AT_EMPTY_PATH),
                     (0, "", bytes(STAT_SIZE), AT_EMPTY_PATH)]:
            assert syscall_in(pid, "newfstatat", *args) == -errno.EACCES, args
        assert syscall_in(pid, "stat", "/etc/passwd", bytes(STAT_SIZE)) == -errno.EACCES
        assert syscall_in(pid, "fstat", 0, bytes(STAT_SIZE)) == 0
        sh.send("echo STILL\n")
        sh.expect(r"STILL")  # the worker lives on


def test_worker_stderr_is_relayed_escaped_and_attributed(hermes):
    """What a worker writes to its stderr - a taken-over worker writing terminal escapes, or a
    line dressed as the monitor's - reaches the daemon's log only through the monitor: under
    the worker's pid and session, control characters escaped."""
    with open_shell(hermes) as sh:
        sh.send("echo STDERR\n")
        sh.expect(r"STDERR")
        pid = worker_of(hermes)
        payload = b"\x1b]0;owned\x07 INFO monitor[1] listening: forged\n"
        assert syscall_in(pid, "write", 2, payload, len(payload)) == len(payload)
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
    pid = filtered_indexer(hermes)
    st = status(pid)
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", st
    # chown, dac_override, dac_read_search, fowner: no sys_admin, net_*, ptrace, setuid...
    assert int(st["CapEff"], 16) == 0xF and int(st["CapPrm"], 16) == 0xF, st
    assert int(st["CapAmb"], 16) == 0 and int(st["CapInh"], 16) == 0, st
    # Landlock: it may read the log (and write the index's directory), nothing else - not even
    # as root with dac_override. A kernel without Landlock must be said to be one.
    confined = "this kernel has no Landlock" not in hermes.stderr_tail(5000)
    probe = "/etc/hermes-landlock-probe"
    log_fd = syscall_in(pid, "open", str(hermes.events_path), os.O_RDONLY)
    assert isinstance(log_fd, int) and log_fd >= 0, log_fd
    assert syscall_in(pid, "close", log_fd) == 0
    passwd = syscall_in(pid, "open", "/etc/passwd", os.O_RDONLY)
    made = syscall_in(pid, "open", probe, os.O_WRONLY | os.O_CREAT, 0o600)
    exists = os.path.exists(probe)
    if exists:
        os.unlink(probe)
    if confined:
        assert (passwd, made, exists) == (-errno.EACCES, -errno.EACCES, False)
    else:
        assert passwd >= 0  # the warning was true
    assert syscall_in(pid, "socket", socket.AF_UNIX, socket.SOCK_STREAM, 0) == "SIGSYS"
    wait_for(lambda: "indexer killed by SIGSYS (a forbidden system call)"
             in hermes.stderr_tail(300), 15, what="the monitor's word on it")
    again = filtered_indexer(hermes, other_than=pid)
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
    assert syscall_in(again, "ioctl", 2, TIOCSTI | 1 << 32, "x") == "SIGSYS"


FIOASYNC = 0x5452
F_OWNER_PID = 1

# The same aims for the helpers, on the read end of a pipe of their own: (call, args...) from
# that descriptor, the target's pid and the descriptor's flags.
HELPER_AIMS = {
    "F_SETOWN": lambda fd, target, flags: ("fcntl", fd, F_SETOWN, target),
    # The kernel reads the command's low 32 bits only: a deny-list must too.
    "F_SETOWN, high bits": lambda fd, target, flags: ("fcntl", fd, F_SETOWN | 1 << 32, target),
    "F_SETOWN_EX": lambda fd, target, flags: (
        "fcntl", fd, F_SETOWN_EX, struct.pack("=ii", F_OWNER_PID, target)),
    "F_SETSIG": lambda fd, target, flags: ("fcntl", fd, F_SETSIG, 9),
    "F_SETFL O_ASYNC": lambda fd, target, flags: ("fcntl", fd, F_SETFL, flags | O_ASYNC),
    "FIOASYNC": lambda fd, target, flags: ("ioctl", fd, FIOASYNC, struct.pack("=i", 1)),
}


@pytest.mark.parametrize("aim", sorted(HELPER_AIMS))
def test_indexer_cannot_aim_signals(hermes_factory, aim):
    """The indexer's uid is root: a signal it aims through a descriptor (F_SETOWN, F_SETSIG and
    O_ASYNC on a pipe of its own, then a write) reaches any process on the host - a stranger's
    sleep here, SIGKILLed that way before the deny-list had these. Each step kills it now."""
    inst = hermes_factory.start({"container_pool": {"size": 1}})
    pid = filtered_indexer(inst)
    target = subprocess.Popen(["sleep", "60"])
    try:
        made, (fds,) = syscall_in(pid, "pipe2", Out(8), 0)
        assert made == 0
        read_end = struct.unpack("=ii", fds)[0]
        flags = syscall_in(pid, "fcntl", read_end, F_GETFL)
        assert isinstance(flags, int) and flags >= 0, flags
        call, *args = HELPER_AIMS[aim](read_end, target.pid, flags)
        assert syscall_in(pid, call, *args) == "SIGSYS"
        wait_for(lambda: "indexer killed by SIGSYS (a forbidden system call)"
                 in inst.stderr_tail(300), 15, what="the monitor's word on it")
        assert target.poll() is None
    finally:
        target.kill()
        target.wait()


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
