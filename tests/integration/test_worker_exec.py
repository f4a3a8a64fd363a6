"""Each connection's worker is a program of its own (hermes-worker), exec'd by the monitor: a
fresh address space with its own layout, nothing of the monitor's environment or memory, and
only the descriptors it was given. Checked in /proc against two live workers and the monitor."""

import os
import re
import socket
import subprocess
from pathlib import Path

from hermes_helpers import open_shell, wait_for
from test_privsep import named, syscall_in


def workers(hermes):
    return named(hermes.proc.pid, "hermes-worker")


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


def test_workers_are_exec_d_with_a_layout_of_their_own(hermes):
    with open_shell(hermes) as a, open_shell(hermes) as b:
        for sh in (a, b):
            sh.send("echo EXECD\n")
            sh.expect(r"EXECD")
        pids = wait_for(lambda: (lambda w: w if len(w) == 2 else None)(workers(hermes)), 15,
                        what="two workers")
        monitor = hermes.proc.pid
        for pid in pids:
            exe = os.readlink(f"/proc/{pid}/exe")
            assert exe.endswith("/hermes-worker"), exe
            assert os.readlink(f"/proc/{monitor}/exe") != exe
            # Nothing of the monitor's environment (a sanitizer's options at most).
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert all(not e or re.match(rb"(ASAN|UBSAN|LSAN)_OPTIONS=", e) for e in env), env
            # What the monitor has loaded and a worker must not reach is not even mapped.
            maps = Path(f"/proc/{pid}/maps").read_text()
            assert "libsqlite3" not in maps and "libyaml" not in maps, maps
        # A fork would share the monitor's layout; an exec gets its own, each time.
        for lib in ("libssh", "libcrypto"):
            bases = {mapping(p, lib) for p in pids + [monitor]}
            assert len(bases) == 3, (lib, [hex(x) for x in bases])
        assert len({stack(p) for p in pids + [monitor]}) == 3


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
