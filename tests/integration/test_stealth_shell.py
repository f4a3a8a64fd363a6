"""Inside the box, as an implant would look (issue 16, docs/stealth.md): what Hermes gives every
box before it is ready - the server's own host keys in /etc/ssh, a machine id of its own, no
/.dockerenv - is there and consistent with what a client sees, and it is not reported as the
attacker's files unless the attacker changes it. With hermes-runtime (which the engine
scripts/docker-up.sh starts has registered), Docker's bind mounts over /etc and the HOSTNAME
it exports to PID 1 are gone too, and /dev has the host's nodes (none of them openable)."""

import hashlib
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hermes_helpers import HOSTNAME, docker_inspect, ssh_exec

CHECKS = (
    "test -e /.dockerenv && echo DOCKERENV=yes || echo DOCKERENV=no; "
    "echo MACHINE=$(cat /etc/machine-id); "
    "for t in rsa ecdsa ed25519; do f=/etc/ssh/ssh_host_${t}_key; "
    "echo HEAD-$t=$(head -1 $f); "
    "echo KEY-$t=$(stat -c %a-%U $f)-$(stat -c %a $f.pub)-"
    "$(ssh-keygen -y -f $f | cut -d' ' -f2 | cut -c1-40); echo PUB-$t=$(cat $f.pub); done; "
    "sshd -t; echo SSHD_T=$?; echo HOSTKEYS=$(sshd -T | grep -c '^hostkey ')")


def run_checks(hermes):
    r = ssh_exec(hermes.port, CHECKS)
    assert r.returncode == 0, r
    out = r.stdout.decode()
    return dict(re.findall(r"^([A-Z_a-z0-9-]+)=(.*)$", out, re.M))


def test_box_looks_like_its_server(hermes):
    got = run_checks(hermes)
    assert got["DOCKERENV"] == "no", got
    assert re.fullmatch(r"[0-9a-f]{32}", got["MACHINE"]), got
    for t in ("rsa", "ecdsa", "ed25519"):
        # The public key a client is shown by Hermes, with the comment a key made on that
        # server has; the private key readable by root only, and the two a pair.
        served = Path(hermes.keys_dir, f"ssh_host_{t}_key.pub").read_text().split()
        kind, blob, comment = got[f"PUB-{t}"].split()
        assert (kind, blob) == (served[0], served[1]), (t, got[f"PUB-{t}"], served)
        assert comment == f"root@{HOSTNAME}"
        assert got[f"KEY-{t}"] == f"600-root-644-{blob[:40]}", (t, got[f"KEY-{t}"])
        # In OpenSSH's own format, as ssh-keygen writes a server's keys (not PKCS#8).
        assert got[f"HEAD-{t}"] == "-----BEGIN OPENSSH PRIVATE KEY-----", (t, got)
    # The box's sshd (the agent) finds its keys, as the distribution's would.
    assert got["SSHD_T"] == "0", got
    assert got["HOSTKEYS"] == "3", got


ENGINE_FILES = (
    "echo ENV=$(tr '\\0' '\\n' </proc/1/environ | grep -c '^HOSTNAME=');"
    "echo MOUNTS=$(grep -cE ' /etc/(hostname|hosts|resolv.conf) ' /proc/self/mountinfo);"
    "echo DOCKER=$(grep -lis docker /etc/hostname /etc/hosts /etc/resolv.conf | tr '\\n' ' ');"
    "echo COMMENTS=$(grep -c '^#' /etc/resolv.conf);"
    "echo NAME=$(cat /etc/hostname)-$(hostname);"
    "echo SELF=$(grep -P '^127\\.0\\.1\\.1\\t' /etc/hosts | cut -f2);"
    "echo NS=$(grep -c '^nameserver ' /etc/resolv.conf)")


def test_no_engine_files_or_hostname_env(hermes):
    started = hermes.find("hermes.started")[-1]
    assert started["runtime"] == "hermes", (
        "the engine has no hermes runtime: start dockerd with scripts/docker-up.sh, or register "
        "build/hermes-runtime with it (docs/stealth.md)", started)
    r = ssh_exec(hermes.port, ENGINE_FILES)
    assert r.returncode == 0, r
    got = dict(re.findall(r"^([A-Z]+)=(.*)$", r.stdout.decode(), re.M))
    assert got["ENV"] == "0", got  # PID 1 has no HOSTNAME exported by the engine
    assert got["MOUNTS"] == "0", got  # no bind mounts of the engine's files over /etc
    assert got["DOCKER"].strip() == "", got  # nothing naming the engine
    assert got["COMMENTS"] == "0", got  # resolv.conf as a resolver writes it, no engine notes
    assert got["NAME"] == f"{HOSTNAME}-{HOSTNAME}", got
    assert got["SELF"] == HOSTNAME, got  # /etc/hosts as Debian's installer writes it
    assert int(got["NS"]) >= 1, got


def host_nodes():
    """The host's block devices and virtual consoles directly under /dev: nodes no box may
    open (Docker's device rules allow none of them), so hermes-runtime lists every one."""
    nodes = {}
    for e in os.scandir("/dev"):
        st = e.stat(follow_symlinks=False)
        block = stat.S_ISBLK(st.st_mode)
        if block or (stat.S_ISCHR(st.st_mode) and re.fullmatch(r"tty\d+", e.name)):
            nodes[e.name] = f"{'b' if block else 'c'}{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    return nodes


def test_dev_as_the_servers(hermes):
    want = host_nodes()
    assert want, "this host has no block device or console directly under /dev to compare"
    r = ssh_exec(hermes.port, "for f in /dev/*; do [ -b $f ] && t=b || t=c; "
                 "[ -b $f ] || [ -c $f ] && echo \"NODE ${f#/dev/} $t$(stat -c '%t:%T' $f)\"; done; "
                 "for f in /dev/*; do [ -b $f ] && { head -c1 $f >/dev/null 2>&1 && echo OPENED=$f; "
                 "}; done; echo DONE")
    assert r.returncode == 0, r
    out = r.stdout.decode()
    assert "DONE" in out, out
    got = {}
    for name, kind in re.findall(r"^NODE (\S+) (\S+)$", out, re.M):
        t, mm = kind[0], kind[1:].split(":")
        got[name] = f"{t}{int(mm[0], 16)}:{int(mm[1], 16)}"
    missing = {n: k for n, k in want.items() if got.get(n) != k}
    assert not missing, (missing, got)
    # Made, never opened: the box may open no more devices than Docker lets it.
    assert "OPENED=" not in out, out


LIMITS = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
          "/sys/fs/cgroup/cpu/cpu.cfs_quota_us; sleep 3")


def test_limits_out_of_the_boxs_sight(hermes):
    """The box's own cgroup files read as a server's (no limit), while a cgroup above it, which
    the box cannot see, holds Docker's limits; test_container_attacks shows them enforced."""
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        pytest.skip("a cgroup v2 host: hermes-runtime moves limits on v1 hierarchies only")
    mark = hermes.mark()
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(ssh_exec, hermes.port, LIMITS)
        cid = hermes.wait_event("container.allocated", since=mark, timeout=60)["container_id"]
        pid = docker_inspect(cid)["State"]["Pid"]
        paths = dict(line.split(":", 2)[1:] for line in
                     Path(f"/proc/{pid}/cgroup").read_text().splitlines())
        r = run.result(timeout=120)
    assert r.returncode == 0, r
    mem, pids, quota = r.stdout.decode().split()
    assert int(mem) >= 1 << 62 and pids == "max" and quota == "-1", r.stdout
    security = hermes.config["container_pool"].get("security", {})
    # The configured limits (the tests' config keeps the defaults: 256m, 100, half a core).
    for controller, file, want in (
            ("memory", "memory.limit_in_bytes", 256 << 20),
            ("pids", "pids.max", security.get("pids_limit", 100)),
            ("cpu", "cpu.cfs_quota_us", round(security.get("cpu_quota", 0.5) * 100000))):
        own = Path("/sys/fs/cgroup", controller, paths[controller].lstrip("/"))
        assert own.name == "box", own
        assert int((own.parent / file).read_text()) == want, (own.parent, file)


def test_each_box_its_own_machine_id(hermes):
    # The tests' config gives every session a box of its own (sticky_ttl 0).
    first, second = run_checks(hermes)["MACHINE"], run_checks(hermes)["MACHINE"]
    assert first != second


def test_prepared_files_are_not_the_attackers(hermes):
    mark = hermes.mark()
    r = ssh_exec(hermes.port, "echo 0123456789abcdef0123456789abcdef > /etc/machine-id; "
                 "echo implant > /root/.implant; echo '203.0.113.9 pool.example' >> /etc/hosts; "
                 "true")
    assert r.returncode == 0, r
    # This session's, found by its command: an earlier test's session.closed may come after
    # the mark (a slow build writes it late).
    cmd = hermes.wait_event(lambda e: e.get("event") == "command.input" and
                            "implant" in e.get("command", ""), since=mark, timeout=60)
    closed = hermes.wait_event("session.closed", session=cmd["session"], timeout=60)
    done = hermes.wait_event("artifacts.collected", session=closed["session"], timeout=120)
    # Left as Hermes made them: the six keys' files, /.dockerenv's removal, /etc/hostname and
    # /etc/resolv.conf (hermes-runtime's, read from the box).
    assert done["prepared"] >= 9, done
    created = {e["path"] for e in hermes.find("file.created", session=closed["session"])}
    changed = {e["path"] for e in hermes.find("file.changed", session=closed["session"])}
    deleted = {e["path"] for e in hermes.find("file.deleted", session=closed["session"])}
    assert not any(p.startswith("/etc/ssh/") for p in created | changed), created | changed
    assert "/.dockerenv" not in deleted, deleted
    # The engine's files (hermes-runtime's in their place) are not the attacker's either, unless
    # the attacker changes them: then what the box holds is collected, not the engine's copy.
    assert not {"/etc/hostname", "/etc/resolv.conf"} & (created | changed), (created, changed)
    hosts = [e for e in hermes.find("file.changed", session=closed["session"])
             if e["path"] == "/etc/hosts"]
    assert len(hosts) == 1, hosts
    want = (f"127.0.0.1\tlocalhost\n127.0.1.1\t{HOSTNAME}\n\n"
            "# The following lines are desirable for IPv6 capable hosts\n"
            "::1     localhost ip6-localhost ip6-loopback\n"
            "ff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n203.0.113.9 pool.example\n")
    assert hosts[0]["sha256"] == hashlib.sha256(want.encode()).hexdigest(), hosts
    # What the attacker changed is theirs, a prepared path too.
    assert "/root/.implant" in created, created
    assert "/etc/machine-id" in created | changed, (created, changed)
