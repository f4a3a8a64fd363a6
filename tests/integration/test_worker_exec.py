"""Each connection's worker is the program hermes-worker, never a fork of the monitor: nothing of
the monitor's environment, memory or descriptors. By default a template (hermes-worker
--template, exec'd by the monitor) forks the workers of up to server.worker_template_uses
connections, each the monitor's own child, and is replaced after that many or at once when a
worker crashes; with worker_template_uses 0 every worker is exec'd with a layout of its own.
Checked in /proc against live workers, the template and the monitor."""

import os
import re
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from hermes_helpers import allow_trouble, open_shell, wait_for
from test_privsep import named, syscall_in


def workers(hermes):
    return named(hermes.proc.pid, "hermes-worker")


def templates(hermes):
    return named(hermes.proc.pid, "hermes-template")


def ppid(pid):
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def environ(pid):
    return [e for e in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if e]


def logged(hermes, text):
    return text in Path(hermes.stderr_path).read_text(errors="replace")


def n_workers(hermes, n):
    return wait_for(lambda: (lambda w: sorted(w) if len(w) == n else None)(workers(hermes)), 15,
                    what=f"{n} workers")


def nothing_of_the_monitors(pid, monitor):
    exe = os.readlink(f"/proc/{pid}/exe")
    assert exe.endswith("/hermes-worker"), exe
    assert os.readlink(f"/proc/{monitor}/exe") != exe
    # Nothing of the monitor's environment (a sanitizer's options, a template's LD_BIND_NOW).
    env = environ(pid)
    assert all(re.match(rb"(ASAN|UBSAN|LSAN)_OPTIONS=|LD_BIND_NOW=1$", e) for e in env), env
    # What the monitor has loaded and a worker must not reach is not even mapped.
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "libsqlite3" not in maps and "libyaml" not in maps, maps


def mapping(pid, name):
    """Start address of the first mapping of a file whose name contains `name`."""
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        if name in line:
            return int(line.split("-", 1)[0], 16)
    raise AssertionError(f"{pid} maps no {name}")


def stack(pid):
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        if line.endswith("[stack]"):
            return int(line.split("-", 1)[0], 16)
    raise AssertionError(f"{pid} has no stack")


def test_workers_are_forked_from_an_exec_d_template(hermes):
    with open_shell(hermes) as a, open_shell(hermes) as b:
        for sh in (a, b):
            sh.send("echo FORKED\n")
            sh.expect(r"FORKED")
        pids = n_workers(hermes, 2)
        monitor = hermes.proc.pid
        [template] = templates(hermes)
        for pid in pids + [template]:
            nothing_of_the_monitors(pid, monitor)
            # The monitor's children, all: it reaps and signals its workers itself.
            assert ppid(pid) == monitor
        # The template never holds a connection: no TCP socket, only its control socket,
        # its log pipe and /dev/null.
        for fd in os.listdir(f"/proc/{template}/fd"):
            target = os.readlink(f"/proc/{template}/fd/{fd}")
            assert target.startswith(("socket:", "pipe:", "/dev/null")), target
        tcp = Path("/proc/net/tcp").read_text() + Path("/proc/net/tcp6").read_text()
        inodes = {os.readlink(f"/proc/{template}/fd/{fd}")[8:-1]
                  for fd in os.listdir(f"/proc/{template}/fd")
                  if os.readlink(f"/proc/{template}/fd/{fd}").startswith("socket:")}
        assert not any(f" {i} " in tcp for i in inodes), inodes
        # Not the monitor's layout; the template's, which its workers share.
        for lib in ("libssh", "libcrypto"):
            assert mapping(monitor, lib) != mapping(template, lib)
            assert {mapping(p, lib) for p in pids} == {mapping(template, lib)}


HUGE = 2 << 20


def smaps(pid):
    """Each mapping of a process: (start, end, perms, path, AnonHugePages in bytes, file
    offset)."""
    out, cur = [], None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \S+ *(.*)$", line)
        if m:
            cur = [int(m[1], 16), int(m[2], 16), m[3], m[5], 0, int(m[4], 16)]
            out.append(cur)
        elif line.startswith("AnonHugePages:"):
            cur[4] = int(line.split()[1]) * 1024
    return out


def huge_code(pid):
    """The anonymous, huge-page-backed code of a process: (start, end, perms)."""
    return [(s, e, p) for s, e, p, path, huge, _ in smaps(pid)
            if not path and "x" in p and s % HUGE == 0 and huge == e - s]


def relro_start(path):
    """Where an ELF64 file's PT_GNU_RELRO segment starts (its size if it has none)."""
    data = Path(path).read_bytes()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, _, vaddr = struct.unpack_from("<IIQQ", data, phoff + i * phentsize)
        if p_type == 0x6474E552:
            return vaddr
    return len(data)


def thp_possible():
    try:
        return "[never]" not in Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except FileNotFoundError:
        return False


def test_libcrypto_code_is_on_huge_pages_in_the_template_only(hermes, hermes_factory):
    """The template moves libcrypto's read-only pages (4 MiB of its 4.5 here) onto anonymous
    huge pages that its workers share: never writable, ending where the library's file
    mappings go on, and the same bytes as the file. An exec'd worker has none."""
    if not thp_possible():
        pytest.skip("this kernel gives no transparent huge pages")
    with open_shell(hermes) as sh:
        sh.send("echo HUGE\n")
        sh.expect(r"HUGE")
        [worker] = n_workers(hermes, 1)
        [template] = templates(hermes)
        chunks = huge_code(template)
        assert chunks, [m for m in smaps(template) if "x" in m[2]]
        assert huge_code(worker) == chunks
        maps = smaps(template)
        crypto = [m for m in maps if "libcrypto" in m[3]]
        assert all(p == "r-xp" for _, _, p in chunks), chunks
        # Where the library was: its file mappings go on where the last chunk ends, at the
        # file offset that puts the chunks' bytes where the file has them (libcrypto's
        # read-only segments lie in memory as in the file).
        [after] = [m for m in crypto if m[0] == chunks[-1][1]]
        base = after[0] - after[5]
        relro = base + relro_start(after[3])  # relocated since: not the file's bytes
        with open(f"/proc/{template}/mem", "rb") as mem, open(after[3], "rb") as f:
            for s, e, _ in chunks:
                e = min(e, relro)
                mem.seek(s)
                f.seek(s - base)
                assert e <= s or mem.read(e - s) == f.read(e - s), hex(s)
        # Nothing in either process is both writable and executable.
        for pid in (template, worker):
            assert not [m for m in smaps(pid) if "w" in m[2] and "x" in m[2]]
    inst = hermes_factory.start(overrides={"server": {"worker_template_uses": 0}})
    with open_shell(inst) as sh:
        sh.send("echo EXECD\n")
        sh.expect(r"EXECD")
        [worker] = n_workers(inst, 1)
        assert huge_code(worker) == []


def test_exec_d_workers_have_a_layout_of_their_own(hermes_factory):
    inst = hermes_factory.start(overrides={"server": {"worker_template_uses": 0}})
    with open_shell(inst) as a, open_shell(inst) as b:
        for sh in (a, b):
            sh.send("echo EXECD\n")
            sh.expect(r"EXECD")
        pids = n_workers(inst, 2)
        monitor = inst.proc.pid
        assert templates(inst) == []
        for pid in pids:
            nothing_of_the_monitors(pid, monitor)
            assert b"LD_BIND_NOW=1" not in environ(pid)
        # A fork would share the monitor's layout; an exec gets its own, each time.
        for lib in ("libssh", "libcrypto"):
            bases = {mapping(p, lib) for p in pids + [monitor]}
            assert len(bases) == 3, (lib, [hex(x) for x in bases])
        assert len({stack(p) for p in pids + [monitor]}) == 3


def server_cookie(port):
    """The 16 random bytes of the server's KEXINIT, read before any key exchange."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(b"SSH-2.0-OpenSSH_9.2p1 cookie-probe\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            assert chunk, f"closed after {data!r}"
            data += chunk
            end = data.find(b"\r\n")
            if end >= 0 and len(data) >= end + 2 + 6 + 16:
                packet = data[end + 2:]
                assert packet[5] == 20, packet[:8]  # SSH_MSG_KEXINIT
                return packet[6:22]


def test_each_worker_has_randomness_of_its_own(hermes_factory):
    """A template's workers are copies of one process: each must still draw its own random
    numbers (OpenSSL reseeds when the pid changes). Twenty connections to one template, twenty
    different KEXINIT cookies; the same state in two of them would give the same cookie (and
    the same ephemeral keys)."""
    # Room for every probe at once: the monitor may count a probe's close after the next
    # probe has connected (the ASan+UBSan build's workers are slow to end), and the 11th
    # connection from one address would be refused by max_sessions_per_ip.
    inst = hermes_factory.start(overrides={"server": {"worker_template_uses": 100,
                                                      "max_sessions_per_ip": 30}})
    cookies = [server_cookie(inst.port) for _ in range(20)]
    assert len(set(cookies)) == 20, [c.hex() for c in cookies]
    assert len(templates(inst)) == 1


def test_a_template_serves_its_share_then_another_is_exec_d(hermes_factory):
    inst = hermes_factory.start(overrides={"server": {"worker_template_uses": 2}})
    shells = []
    try:
        for _ in range(3):
            sh = open_shell(inst)
            shells.append(sh)
            sh.send("echo SHARE\n")
            sh.expect(r"SHARE")
        pids = n_workers(inst, 3)  # in the order they started: pids grow
        bases = [mapping(p, "libcrypto") for p in pids]
        assert bases[0] == bases[1] != bases[2], [hex(b) for b in bases]
        wait_for(lambda: logged(inst, "retired after 2 workers"), 15,
                 what="the first template retired")
    finally:
        for sh in shells:
            sh.close()


def test_a_crashed_worker_retires_its_template(hermes_factory):
    """A worker that dies of a crash's signal takes its template's layout with it: the next
    connection meets another one, so that crashing workers tells nothing about the next."""
    allow_trouble(r"worker killed for a forbidden system call")
    inst = hermes_factory.start()
    with open_shell(inst) as sh:
        sh.send("echo FIRST\n")
        sh.expect(r"FIRST")
        [pid] = n_workers(inst, 1)
        [first] = templates(inst)
        before = mapping(pid, "libcrypto")
        assert syscall_in(pid, "socket", socket.AF_INET, socket.SOCK_STREAM, 0) == "SIGSYS"
    wait_for(lambda: logged(inst, "its template is replaced"), 15, what="the template retired")
    with open_shell(inst) as sh:
        sh.send("echo SECOND\n")
        sh.expect(r"SECOND")
        [pid] = n_workers(inst, 1)
        [second] = templates(inst)
        assert second != first
        assert mapping(pid, "libcrypto") != before


def test_a_stray_hermes_worker_does_nothing(hermes_binary):
    """Run by hand, without the monitor's descriptors, the worker says what it is and exits."""
    worker = Path(hermes_binary).parent / "hermes-worker"
    r = subprocess.run([str(worker)], capture_output=True, timeout=10, close_fds=True)
    assert r.returncode == 2, r
    assert b"started by the hermes monitor only" in r.stderr
    # With sockets on 3 and 4 but the monitor gone before its first message, it gives up.
    s1, s2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c1, c2 = socket.socketpair()
    s2.close()
    r = subprocess.run([str(worker)], capture_output=True, timeout=30, close_fds=False,
                       preexec_fn=lambda: (os.dup2(c1.fileno(), 3), os.dup2(s1.fileno(), 4)))
    assert r.returncode == 1, r
    assert b"first message" in r.stderr, r.stderr
    for s in (s1, c1, c2):
        s.close()


def test_the_kernel_holds_a_worker_to_its_recording_cap(hermes_factory):
    """recording.max_session_size is the worker's to keep, and RLIMIT_FSIZE holds one that does
    not: a live worker made to write far past the cap into its recording gets EFBIG."""
    inst = hermes_factory.start(overrides={"recording": {"max_session_size": "1m"}})
    with open_shell(inst) as sh:
        sh.send("echo CAPPED\n")
        sh.expect(r"CAPPED")
        pid = wait_for(lambda: (lambda w: w[0] if len(w) == 1 else None)(workers(inst)), 15,
                       what="the worker")
        fd = wait_for(lambda: next((int(f) for f in os.listdir(f"/proc/{pid}/fd")
                                    if os.readlink(f"/proc/{pid}/fd/{f}").endswith(".cast")),
                                   None), 15, what="its recording open")
        # More than the cap of the worker's own readable memory: its largest mapping (the
        # text of libcrypto, say).
        cap = (1 << 20) + (64 << 10)
        size, src = 0, None
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
            span, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in span.split("-"))
            if perms.startswith("r") and hi - lo > size:
                size, src = hi - lo, lo
        assert size > cap, f"no mapping larger than {cap} bytes in the worker"
        wrote = syscall_in(pid, "write", fd, src, size)
        # Up to the limit (the cap, a header's and a marker's slack), not a byte more ...
        assert 0 < wrote < cap, wrote
        # ... and then nothing.
        assert syscall_in(pid, "write", fd, src, 4096) == -27  # EFBIG
        assert os.stat(f"/proc/{pid}/fd/{fd}").st_size <= cap


def test_a_dead_template_is_replaced(hermes_factory):
    """A template that dies (here: killed from outside) is logged as a child that ended badly,
    and the next connection gets a new one; the sessions it forked stay up."""
    allow_trouble(r"worker template \d+ killed by SIGKILL")
    inst = hermes_factory.start()
    with open_shell(inst) as sh:
        sh.send("echo BEFORE\n")
        sh.expect(r"BEFORE")
        [first] = templates(inst)
        os.kill(first, 9)
        wait_for(lambda: logged(inst, f"worker template {first} killed by SIGKILL"), 15,
                 what="the template's death logged")
        sh.send("echo STILL\n")
        sh.expect(r"STILL")
        with open_shell(inst) as again:
            again.send("echo AFTER\n")
            again.expect(r"AFTER")
            [second] = templates(inst)
            assert second != first
