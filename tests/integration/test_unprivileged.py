"""The monitor needs no root: run as an ordinary user whose only privileges are the docker
group (for the Docker socket) and CAP_NET_BIND_SERVICE (for a port below 1024), Hermes still
serves a real shell, records and logs it, and its workers keep no_new_privs and the seccomp
filter and drop the capability. Without the capability it says why it cannot listen."""

import errno
import grp
import os
import pwd
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from hermes_helpers import (Hermes, HermesStartError, allow_trouble, open_shell,
                            sanitizer_build, wait_for)

from test_privsep import (AT_EMPTY_PATH, AT_FDCWD, F_SETOWN, STAT_SIZE, client_fd, core_limit,
                          status, syscall_in, worker_of)

def unused_uid():
    """An ordinary user with no name (nothing but the ids matters) that nobody else has."""
    for uid in range(64123, 65000):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise AssertionError("no unused uid in 64123..64999")


def low_port():
    """A free port below 1024 (only root or CAP_NET_BIND_SERVICE may bind it)."""
    for port in range(1023, 600, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port below 1024 on 127.0.0.1")


def setpriv(uid, gid, caps):
    """Runs the daemon as uid:gid with the docker group and nothing else; `caps` ambient."""
    assert shutil.which("setpriv"), "setpriv (util-linux) is missing"
    cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}",
           f"--groups={grp.getgrnam('docker').gr_gid}", "--inh-caps=-all"]
    if caps:
        cmd = cmd[:-1] + [f"--inh-caps=-all,+{caps}", f"--ambient-caps=+{caps}"]
    return cmd + ["--"]


@pytest.fixture
def user_workdir():
    uid = unused_uid()
    d = Path(tempfile.mkdtemp(prefix="hermes-unprivileged-"))
    os.chmod(d, 0o755)
    for sub in ("keys", "recordings", "logs"):
        (d / sub).mkdir()
    (d / "keys").chmod(0o700)
    for p in [d, *d.iterdir()]:
        os.chown(p, uid, uid)
    yield uid, d
    shutil.rmtree(d, ignore_errors=True)


def test_monitor_as_an_ordinary_user(user_workdir, hermes_binary, docker_ready):
    try:
        grp.getgrnam("docker")
    except KeyError:
        raise AssertionError("no docker group: Debian's docker.io makes it "
                             "(scripts/install-deps.sh)") from None
    uid, workdir = user_workdir
    port = low_port()
    inst = Hermes(workdir, {"server": {"port": port}}, name="hermes-unprivileged",
                  binary=hermes_binary, prefix=setpriv(uid, uid, "net_bind_service"))
    inst.port = port
    try:
        inst.start()
        st = status(inst.proc.pid)
        assert st["Uid"].split() == [str(uid)] * 4, st["Uid"]
        assert st["Groups"] == str(grp.getgrnam("docker").gr_gid)
        assert int(st["CapEff"], 16) == 1 << 10  # CAP_NET_BIND_SERVICE and nothing else
        assert "workers cannot chroot or change user" in inst.stderr_tail(200)
        with open_shell(inst) as sh:
            sh.send("echo $((6*7))-UNPRIVILEGED\n")
            sh.expect(r"42-UNPRIVILEGED")
            ws = status(worker_of(inst))
            assert ws["Seccomp"] == "2"
            assert ws["NoNewPrivs"] == "1"
            assert ws["CapEff"] == ws["CapPrm"] == ws["CapAmb"] == "0000000000000000", ws
            # Not dumpable: its /proc files are root's, so the monitor's user (or another
            # process of it) cannot read its memory; and it leaves no core file.
            assert os.stat(f"/proc/{worker_of(inst)}/mem").st_uid == 0
            assert os.stat(f"/proc/{inst.proc.pid}/mem").st_uid == uid
            assert core_limit(worker_of(inst)) == ("0", "0")
            assert ws["Uid"].split() == [str(uid)] * 4
            sid = sh.sid
        closed = inst.wait_event("session.closed", session=sid, timeout=30)
        # Everything it wrote is its user's.
        cast = Path(closed["recordings"][0])
        assert cast.stat().st_uid == uid and cast.stat().st_size > 0
        assert inst.events_path.stat().st_uid == uid
        assert b"42-UNPRIVILEGED" in cast.read_bytes()
    finally:
        inst.teardown()


def test_given_the_capabilities_to_change_user_workers_are_confined_as_under_root(
        user_workdir, hermes_binary, docker_ready):
    """The Debian package's unit: an ordinary user with the docker group and, ambient,
    CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT besides CAP_NET_BIND_SERVICE. Its workers
    chroot and take server.worker_user as under root, and keep none of the capabilities
    (a change of user between two users that are not root would have kept them)."""
    uid, workdir = user_workdir
    port = low_port()
    caps = "net_bind_service,+setuid,+setgid,+sys_chroot"
    inst = Hermes(workdir, {"server": {"port": port}}, name="hermes-unprivileged",
                  binary=hermes_binary, prefix=setpriv(uid, uid, caps))
    inst.port = port
    nobody = pwd.getpwnam("nobody")
    try:
        inst.start()
        assert status(inst.proc.pid)["Uid"].split() == [str(uid)] * 4
        assert "workers cannot chroot" not in inst.stderr_tail(200)
        with open_shell(inst) as sh:
            sh.send("echo CONFINED\n")
            sh.expect(r"CONFINED")
            pid = worker_of(inst)
            ws = status(pid)
            assert ws["Uid"].split() == [str(nobody.pw_uid)] * 4, ws["Uid"]
            assert ws["Gid"].split() == [str(nobody.pw_gid)] * 4, ws["Gid"]
            assert ws["Groups"] == ""
            assert ws["CapEff"] == ws["CapPrm"] == ws["CapAmb"] == "0000000000000000", ws
            assert ws["CapInh"] == "0000000000000000", ws
            assert ws["Seccomp"] == "2" and ws["NoNewPrivs"] == "1"
            if not sanitizer_build(hermes_binary):
                assert os.readlink(f"/proc/{pid}/root") == "/var/empty"
    finally:
        inst.teardown()


def test_worker_cannot_see_the_host_or_signal_the_monitor(user_workdir, hermes_binary,
                                                         docker_ready):
    """Not chrooted, the worker shares the host's file system and the monitor's uid: the filter
    alone keeps it from stat'ing host files (EACCES, in every form) and from aiming SIGIO (or
    the signal of its choosing) at the monitor with fcntl, which kills it instead."""
    allow_trouble(r"worker killed for a forbidden system call")
    uid, workdir = user_workdir
    port = low_port()
    inst = Hermes(workdir, {"server": {"port": port}}, name="hermes-unprivileged",
                  binary=hermes_binary, prefix=setpriv(uid, uid, "net_bind_service"))
    inst.port = port
    try:
        inst.start()
        with open_shell(inst) as sh:
            sh.send("echo HOST\n")
            sh.expect(r"HOST")
            pid = worker_of(inst)
            assert os.readlink(f"/proc/{pid}/root") == "/"  # the host's files, but for the filter
            for args in [(AT_FDCWD, "/etc/passwd", bytes(STAT_SIZE), 0),
                         (AT_FDCWD, "/etc/passwd", bytes(STAT_SIZE), AT_EMPTY_PATH)]:
                assert syscall_in(pid, "newfstatat", *args) == -errno.EACCES, args
            # (A sanitizer build's filter lets read-only opens through, for LeakSanitizer's
            # /proc: there only opening to write is refused. The release filter refuses both.)
            if not sanitizer_build(hermes_binary):
                assert syscall_in(pid, "open", "/etc/passwd", os.O_RDONLY) == -errno.EACCES
            assert syscall_in(pid, "open", "/etc/passwd", os.O_WRONLY) == -errno.EACCES
            fd = client_fd(pid, port)
            assert syscall_in(pid, "fcntl", fd, F_SETOWN, inst.proc.pid) == "SIGSYS"
            closed = inst.wait_event("session.closed", session=sh.sid, timeout=30)
        assert closed["worker_signal"] == "SYS"
        assert inst.running()
    finally:
        inst.teardown()


def test_without_the_capability_it_says_why(user_workdir, hermes_binary, docker_ready):
    uid, workdir = user_workdir
    port = low_port()
    inst = Hermes(workdir, {"server": {"port": port}}, name="hermes-nocap",
                  binary=hermes_binary, prefix=setpriv(uid, uid, None))
    try:
        with pytest.raises(HermesStartError):
            inst.start(timeout=60)
        wait_for(lambda: not inst.running(), 30, what="the daemon to exit")
        assert inst.proc.returncode != 0
        err = inst.stderr_tail(50)
        assert str(port) in err and "ermission denied" in err, err
    finally:
        inst.teardown()
