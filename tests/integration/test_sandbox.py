"""The container behind a session: its Docker configuration, what the shell sees inside, and
that it is stopped (kept) when the session ends, also when the client just vanishes."""

import ipaddress
import re
import signal
import subprocess
import time

from hermes_helpers import HOSTNAME, SshProc, cap_mask, docker_inspect, normalise_caps, \
    open_shell, parse_size, wait_for, write_askpass

NAME_RE = re.compile(r"^/hermes-target-([0-9a-f]{8})-\d{8}-\d{6}$")

# Hermes's defaults (docs/configuration.md), for what a test's config does not set.
DEFAULT_SECURITY = {"capabilities": {"drop": ["ALL"], "add": [
    "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "NET_BIND_SERVICE", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP"]},
    "security_opt": [], "tmpfs_size": "50m"}
# keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0): needs no capability and works
# unfiltered; Docker's default seccomp profile refuses the keyring calls (EPERM, 1).
KEYCTL = ("python3 -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); "
          "r = l.syscall(250, 0, -4, 0); print(\"KEY\" \"CTL=%d\" % (ctypes.get_errno() if "
          "r < 0 else 0))'")  # the pty echoes the command: KEYCTL= only in its output


def security(hermes):
    """container_pool.security as the instance's config says, defaults filled in."""
    sec = hermes.config["container_pool"].get("security", {})
    caps = {**DEFAULT_SECURITY["capabilities"], **sec.get("capabilities", {})}
    return {**DEFAULT_SECURITY, **sec, "capabilities": caps}


def mount_options(opts):
    return dict(o.partition("=")[::2] for o in opts.split(","))


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
        sec = security(hermes)
        assert hc["NetworkMode"] == "none"
        assert hc["Memory"] == 268435456
        assert hc["MemorySwap"] == 268435456
        assert hc["CpuQuota"] == 50000
        assert hc["CpuPeriod"] == 100000
        assert hc["PidsLimit"] == 100
        # Exactly the configured capabilities: one more added back is one too many.
        assert normalise_caps(hc["CapDrop"]) == normalise_caps(sec["capabilities"]["drop"])
        assert len(hc["CapDrop"]) == 1
        assert normalise_caps(hc["CapAdd"]) == normalise_caps(sec["capabilities"]["add"])
        assert len(hc["CapAdd"]) == len(sec["capabilities"]["add"]), hc["CapAdd"]
        # Exactly the configured options (none by default), and no seccomp= entry (which
        # would replace Docker's default profile, checked from inside below).
        assert sorted(o.replace("=", ":", 1) for o in hc.get("SecurityOpt") or []) == \
            sorted(o.replace("=", ":", 1) for o in sec["security_opt"]), hc.get("SecurityOpt")
        # A tmpfs /tmp of the configured size; and, as the image boots with systemd, a server's
        # /run (a tenth of the memory) and /run/lock (5 MiB), no more.
        tmpfs = hc.get("Tmpfs") or {}
        assert sorted(tmpfs) == ["/run", "/run/lock", "/tmp"], tmpfs
        assert int(mount_options(tmpfs["/tmp"])["size"]) == parse_size(sec["tmpfs_size"]), \
            tmpfs
        mem_kib = int(open("/proc/meminfo").readline().split()[1])
        assert mount_options(tmpfs["/run"])["size"] == f"{mem_kib * 1024 // 2 // 5 // 1024}k", \
            tmpfs
        assert mount_options(tmpfs["/run/lock"])["size"] == "5120k", tmpfs
        for t in tmpfs.values():
            assert {"nosuid", "nodev"} <= set(mount_options(t)), tmpfs
        assert hc.get("Privileged") is False
        # /dev/shm as a server's: half the memory (Docker's is 64M).
        mem_total = int(open("/proc/meminfo").readline().split()[1]) * 1024
        assert abs(hc["ShmSize"] - mem_total // 2) < 64 << 20, (hc["ShmSize"], mem_total)

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

        # Inside: the loopback interface and an eth0 that goes nowhere (box_nic.c: a dummy
        # link, with an address of egress.subnet and a default route via its first
        # address, all dropped), and we are root in /root.
        sh.send("echo IFACES=$(awk -F: 'NR>2 {gsub(/ /, \"\", $1); printf \"%s,\", $1}' "
                "/proc/net/dev | tr , '\\n' | sort | tr '\\n' ,)END; "
                "echo WHO-$(id -u)-$(pwd)-$(hostname)\n")
        assert sh.expect(r"IFACES=([^\s]*)END").group(1) == "eth0,lo,"
        assert sh.expect(r"WHO-(\d+)-(/[\w/]*)-([\w-]+)").groups() == ("0", "/root", HOSTNAME)
        # Inside too: a seccomp filter (Docker's default profile: the keyring calls it
        # refuses are refused), root's capabilities bounded to the configured ones, and the
        # tmpfs mounted with the configured size.
        sh.send("grep -E '^(Seccomp|CapBnd|CapEff):' /proc/self/status | tr -d ' \\t' | "
                "sed 's/^/ST-/'; " + KEYCTL + "; awk '$2 == \"/tmp\" {print \"TM\" \"P=\" $3 "
                "\" \" $4}' /proc/mounts\n")
        assert sh.expect(r"ST-Seccomp:(\d)").group(1) == "2"
        want = cap_mask(sec["capabilities"]["add"])
        assert int(sh.expect(r"ST-CapBnd:([0-9a-f]+)").group(1), 16) == want
        assert int(sh.expect(r"ST-CapEff:([0-9a-f]+)").group(1), 16) == want
        assert sh.expect(r"KEYCTL=(\d+)").group(1) == "1"  # EPERM
        # Root as on a server: it reads another user's 0600 file (CAP_DAC_OVERRIDE), its
        # logins have 1024 files (the box's sshd sets it, as systemd would), setuid programs
        # work for a user (no no-new-privileges), /dev/shm is server-sized.
        sh.send("echo DAC=$(head -c 0 /home/admin/.bash_history 2>/dev/null && echo ok); "
                "echo NOFILE=$(ulimit -Sn); "
                "echo NNP=$(awk '/^NoNewPrivs/ {print $2}' /proc/self/status); "
                "echo SHM=$(df -k --output=size /dev/shm | tail -1)\n")
        assert sh.expect(r"DAC=(\w*)\r?\n").group(1) == "ok"
        assert sh.expect(r"NOFILE=(\d+)").group(1) == "1024"
        assert sh.expect(r"NNP=(\d)").group(1) == "0"
        assert abs(int(sh.expect(r"SHM=\s*(\d+)").group(1)) * 1024 - hc["ShmSize"]) < 1 << 20
        fstype, opts = sh.expect(r"TMP=(\S+) (\S+)").groups()
        size = mount_options(opts)["size"]
        assert fstype == "tmpfs" and parse_size(size) == parse_size(sec["tmpfs_size"]), opts
        sh.send("exit\n")
        assert sh.exit_status() == 0

    closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    assert closed["container_id"] == cid
    # Its collection comes first (docs/artifacts.md): on a loaded machine, many seconds.
    info = _wait_stopped(cid, 60)
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
        # After its collection, as at any session's end.
        left = max(1.0, 60 - (time.monotonic() - killed_at))
        _wait_stopped(cid, left)
    finally:
        client.close()


def test_network_none_has_an_eth0_that_goes_nowhere(hermes):
    """network_mode none: the box has an eth0 and a default route, as a server has, and still
    no way out: the link is a dummy (or ifb) one that drops every packet, the only link beside
    lo (checked from the host), root in the box cannot change it, and ping says what it says
    behind a firewall that drops, not "Operation not permitted"."""
    subnet = ipaddress.ip_network(hermes.config.get("egress", {}).get("subnet", "10.77.0.0/16"))
    gateway = str(subnet.network_address + 1)
    with open_shell(hermes) as sh:
        sh.send("ip -4 route show default; ip -4 -o addr show dev eth0; "
                f"ping -c 2 -W 1 {gateway}; echo PING=$?; "
                f"timeout 3 bash -c 'exec 3<>/dev/tcp/{gateway}/80' 2>/dev/null; echo TCP=$?; "
                "ip link set eth0 down 2>&1; echo DOWN=$?; "
                "echo STATE=$(cat /sys/class/net/eth0/operstate); "
                "cd /sys/class/net/eth0/statistics && echo SENT=$(($(cat tx_packets) + "
                "$(cat tx_dropped) + $(cat rx_dropped))); echo NIC-$((2+3))-DONE\n")
        sh.expect(r"NIC-5-DONE", timeout=60)
        out = sh.output
        # From the host, while the box runs: its network namespace holds lo and that eth0,
        # and nothing else: no veth, no peer.
        shell = hermes.wait_event("session.shell", session=sh.sid)
        pid = docker_inspect(shell["container_id"])["State"]["Pid"]
        links = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-d", "-o", "link"],
                               capture_output=True, text=True, timeout=30).stdout
    names = re.findall(r"^\d+: ([^:@]+)", links, re.M)
    assert sorted(names) == ["eth0", "lo"], links
    assert re.search(r"^\d+: eth0: .*\b(dummy|ifb)\b", links, re.M), links
    assert re.search(rf"^default via {re.escape(gateway)} dev eth0 *\r?$", out, re.M), out
    addr = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/(\d+)", out)
    assert addr and ipaddress.ip_address(addr.group(1)) in subnet, out
    assert int(addr.group(2)) == subnet.prefixlen
    assert addr.group(1) not in (gateway, str(subnet.network_address),
                                 str(subnet.broadcast_address))
    assert "100% packet loss" in out and "PING=1" in out, out
    assert "Operation not permitted" in out.split("PING=1")[-1], out  # no NET_ADMIN in the box
    assert "TCP=124" in out, out  # nothing answered: the SYNs went into the link
    assert re.search(r"DOWN=[12]\b", out), out
    assert re.search(r"STATE=(unknown|up)\b", out), out
    assert int(re.search(r"SENT=(\d+)", out).group(1)) >= 2, out  # sent, and dropped
