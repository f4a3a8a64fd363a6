"""The container behind a session: its Docker configuration, what the shell sees inside, and
that it is stopped (kept) when the session ends, also when the client just vanishes."""

import re
import signal
import time

from hermes_helpers import HOSTNAME, SshProc, docker_inspect, normalise_caps, open_shell, \
    wait_for, write_askpass

NAME_RE = re.compile(r"^/hermes-target-([0-9a-f]{8})-\d{8}-\d{6}$")


def _wait_stopped(ref, timeout):
    def probe():
        info = docker_inspect(ref)
        assert info is not None, f"container {ref} was removed; it must be kept"
        return info if not info["State"]["Running"] else None
    return wait_for(probe, timeout, what=f"container {ref} to stop")


def test_container_is_locked_down(hermes):
    with open_shell(hermes, width=200) as sh:
        shell = hermes.wait_event("session.shell", session=sh.sid, timeout=30)
        cid = shell["container_id"]
        info = docker_inspect(cid)
        assert info is not None, f"session.shell names {cid}, which does not exist"
        assert info["State"]["Running"] is True

        hc = info["HostConfig"]
        assert hc["NetworkMode"] == "none"
        assert hc["Memory"] == 268435456
        assert hc["MemorySwap"] == 268435456
        assert hc["CpuQuota"] == 50000
        assert hc["CpuPeriod"] == 100000
        assert hc["PidsLimit"] == 100
        assert normalise_caps(hc["CapDrop"]) == {"ALL"}
        assert len(hc["CapDrop"]) == 1
        assert normalise_caps(hc["CapAdd"]) >= {"CHOWN", "SETUID", "SETGID"}
        nnp = {o.replace("=", ":") for o in hc.get("SecurityOpt") or []}
        assert "no-new-privileges:true" in nnp or "no-new-privileges" in nnp, \
            hc.get("SecurityOpt")
        assert "/tmp" in (hc.get("Tmpfs") or {})
        assert hc.get("Privileged") is False

        assert info["Config"]["Hostname"] == HOSTNAME
        m = NAME_RE.match(info["Name"])
        assert m, f"container name {info['Name']!r}"
        assert m.group(1) == sh.sid[:8]
        assert shell["container_name"] == info["Name"].lstrip("/")
        labels = info["Config"]["Labels"] or {}
        assert labels.get("hermes.role") == "target"
        assert "hermes.created" in labels and "hermes.session_id" in labels, labels

        alloc = hermes.wait_event("container.allocated", session=sh.sid)
        assert alloc["container_id"] == cid

        # Inside: only the loopback interface, and we are root in /root.
        sh.send("echo IFACES=$(awk -F: 'NR>2 {gsub(/ /, \"\", $1); printf \"%s,\", $1}' "
                "/proc/net/dev)END; echo WHO-$(id -u)-$(pwd)-$(hostname)\n")
        assert sh.expect(r"IFACES=([^\s]*)END").group(1) == "lo,"
        assert sh.expect(r"WHO-(\d+)-(/[\w/]*)-([\w-]+)").groups() == ("0", "/root", HOSTNAME)
        sh.send("exit\n")
        assert sh.exit_status() == 0

    closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    assert closed["container_id"] == cid
    info = _wait_stopped(cid, 15)
    assert info["State"]["Running"] is False
    hermes.wait_event("container.stopped", container_id=cid, timeout=10)


def test_client_killed_mid_session(hermes, tmp_path):
    askpass = write_askpass(tmp_path)
    mark = hermes.mark()
    # ssh itself (not sshpass) is our child, so SIGKILL hits the real client.
    client = SshProc(hermes.port, tty=True, askpass=askpass)
    try:
        client.send("echo READY-$((20+22))\n")
        client.expect(r"READY-42", timeout=30)
        sid = hermes.wait_new_session(mark)
        cid = hermes.wait_event("session.shell", session=sid)["container_id"]
        assert docker_inspect(cid)["State"]["Running"] is True

        client.proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        client.wait(10)
        closed = hermes.wait_event("session.closed", session=sid, timeout=15)
        assert closed["reason"] == "client_closed"
        assert closed["container_id"] == cid
        left = max(1.0, 15 - (time.monotonic() - killed_at))
        _wait_stopped(cid, left + 5)
    finally:
        client.close()
