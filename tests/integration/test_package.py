"""The Debian package (`make deb`): it builds lintian-clean, installs on this machine (user,
group, files, modes, the unit), `hermes --check-config` passes on the config it installs,
Hermes runs under the unit's own settings and serves a login, and purge takes it all away.

This machine runs no systemd, so the settings of the installed hermes.service are applied by
hand, read from the unit itself: its User, Group and SupplementaryGroups, AmbientCapabilities
and CapabilityBoundingSet, NoNewPrivileges, UMask, and ProtectSystem=strict (every mount
read-only in a mount namespace of its own but /dev, /proc and /sys) with its StateDirectory
and LogsDirectory writable. Where systemd runs, `systemd-analyze verify` reads the unit too."""

import configparser
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from hermes_helpers import (IMAGE, PASSWORD, REPO_ROOT, USER, cap_mask, docker_rm_f,
                            free_port, ssh_exec, to_yaml, wait_for)
from test_privsep import children, status

pytestmark = pytest.mark.slow  # builds the package: not for the ASan pass

UNIT = Path("/lib/systemd/system/hermes.service")
CONFIG = Path("/etc/hermes/hermes.yaml")
STATE, LOGS = Path("/var/lib/hermes"), Path("/var/log/hermes")
EMPTY = Path("/usr/share/hermes/empty")


def run(*cmd, check=True, timeout=600, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check:
        assert r.returncode == 0, f"{shlex.join(cmd)}: {r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def installed():
    return run("dpkg-query", "-W", "-f=${Status}", "hermes", check=False).stdout \
        .endswith("installed")


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """The package: HERMES_DEB, or built now by the script `make deb` runs."""
    if os.environ.get("HERMES_DEB"):
        return Path(os.environ["HERMES_DEB"])
    out = tmp_path_factory.mktemp("deb")
    r = run(str(REPO_ROOT / "scripts" / "build-deb.sh"), str(out), timeout=1800)
    # lintian ran in the script and found no error or warning.
    assert "build-deb: lintian" in r.stdout
    debs = list(out.glob("hermes_*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


@pytest.fixture(scope="module")
def package(deb, docker_ready):
    if installed():
        pytest.fail("a hermes package is installed on this machine already; the test "
                    "installs and purges its own", pytrace=False)
    if shutil.which("systemctl") and Path("/run/systemd/system").exists():
        pytest.fail("this machine runs systemd: the test would leave the unit's state behind "
                    "(it expects none)", pytrace=False)
    try:
        run("dpkg", "-i", str(deb))
        yield deb
    finally:
        if installed() or run("dpkg-query", "-W", "hermes", check=False).returncode == 0:
            run("dpkg", "--purge", "hermes", check=False)


def unit_service():
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str
    cp.read_string(UNIT.read_text())
    return cp["Service"]


def test_installed_files_user_and_modes(package):
    for path in ("/usr/bin/hermes", "/usr/libexec/hermes/hermes-worker",
                 "/usr/libexec/hermes/hermes-metrics", "/usr/libexec/hermes/hermes-sinkhole",
                 "/usr/libexec/hermes/hermes-fetch", "/usr/libexec/hermes/hermes-runtime"):
        st = os.stat(path)
        assert st.st_uid == 0 and st.st_mode & 0o7777 == 0o755, path
    assert Path("/usr/share/man/man1/hermes.1.gz").is_file()
    assert run("/usr/bin/hermes", "--version").stdout.strip() == "hermes 0.1.0"
    # Its user: a system account with a group of its own, in the docker group.
    pw = pwd.getpwnam("hermes")
    assert pw.pw_uid < 1000 and pw.pw_shell in ("/usr/sbin/nologin", "/bin/false")
    assert grp.getgrgid(pw.pw_gid).gr_name == "hermes"
    assert "hermes" in grp.getgrnam("docker").gr_mem
    # The config holds credentials: root's, readable by its group only.
    st = CONFIG.stat()
    assert (st.st_uid, grp.getgrgid(st.st_gid).gr_name, st.st_mode & 0o777) == \
        (0, "hermes", 0o640)
    for d in (STATE, LOGS):
        st = d.stat()
        assert (pwd.getpwuid(st.st_uid).pw_name, st.st_mode & 0o777) == ("hermes", 0o750), d
    st = EMPTY.stat()
    assert st.st_uid == 0 and st.st_mode & 0o777 == 0o755 and not os.listdir(EMPTY)
    # The unit: installed, neither enabled nor started (sshd must leave port 22 first).
    svc = unit_service()
    assert svc["User"] == "hermes" and svc["SupplementaryGroups"] == "docker"
    assert svc["ProtectSystem"] == "strict"
    assert "CAP_NET_BIND_SERVICE" in svc["AmbientCapabilities"].split()
    assert not Path("/etc/systemd/system/multi-user.target.wants/hermes.service").exists()
    if shutil.which("systemd-analyze"):
        r = run("systemd-analyze", "verify", str(UNIT), check=False)
        assert "hermes.service" not in r.stderr, r.stderr


def test_the_installed_config_checks(package):
    r = run("/usr/bin/hermes", "--check-config", str(CONFIG))
    assert r.stdout.strip() == f"{CONFIG}: OK"


def unit_launcher(svc, config):
    """argv running /usr/bin/hermes --config CONFIG as the unit would, by hand."""
    assert svc["ProtectSystem"] == "strict"
    writable = [f"/var/lib/{svc['StateDirectory']}", f"/var/log/{svc['LogsDirectory']}"]
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4].encode().decode("unicode_escape")
        if not mp.startswith(("/dev", "/proc", "/sys")):
            mounts.append(mp)
    caps = [c.removeprefix("CAP_").lower() for c in svc["AmbientCapabilities"].split()]
    bound = [c.removeprefix("CAP_").lower() for c in svc["CapabilityBoundingSet"].split()]
    setpriv = ["setpriv", f"--reuid={svc['User']}", f"--regid={svc['Group']}",
               f"--groups={grp.getgrnam(svc['SupplementaryGroups']).gr_gid}",
               "--inh-caps=-all," + ",".join("+" + c for c in caps),
               "--ambient-caps=-all," + ",".join("+" + c for c in caps),
               "--bounding-set=-all," + ",".join("+" + c for c in bound)]
    if svc.get("NoNewPrivileges") == "yes":
        setpriv.append("--no-new-privs")
    script = ["set -e", "mount --make-rprivate /"]
    # Read-only: each mount on its own (a remount does not reach the mounts below it);
    # one that cannot be is said, and only the root must succeed.
    for mp in mounts:
        q = shlex.quote(mp)
        script.append(f"mount -o remount,bind,ro {q} 2>/dev/null || "
                      f"{{ [ {q} != / ] || exit 90; }}")
    for w in writable:
        q = shlex.quote(w)
        script.append(f"mount --bind {q} {q} && mount -o remount,bind,rw {q}")
    script.append(f"umask {svc.get('UMask', '0022')}")
    script.append("exec " + shlex.join(setpriv + ["--", "/usr/bin/hermes", "--config",
                                                  str(config)]))
    return ["unshare", "--mount", "--", "sh", "-c", "\n".join(script)]


def events():
    path = LOGS / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def wait_event(name, timeout=60, **fields):
    def probe():
        for e in events():
            if e.get("event") == name and all(e.get(k) == v for k, v in fields.items()):
                return e
        return None
    return wait_for(probe, timeout, what=name)


def test_it_runs_under_the_units_settings_and_serves_a_login(package, tmp_path):
    svc = unit_service()
    # The installed config, but on a free loopback port, with the tests' image and their
    # credential, and no refusal delay: a copy beside it, as root's and readable by hermes.
    base = yaml.safe_load(CONFIG.read_text())
    port = free_port()
    base["server"].update({"host": "127.0.0.1", "port": port})
    base["authentication"]["static_credentials"] = [{"username": USER, "password": PASSWORD}]
    base["container_pool"].update({"image": IMAGE, "size": 1, "sticky_ttl": 0})
    base["stealth"] = {"auth_delay": False}
    config = CONFIG.with_name("test-run.yaml")
    config.write_text(to_yaml(base) + "\n")
    os.chown(config, 0, grp.getgrnam("hermes").gr_gid)
    os.chmod(config, 0o640)
    stderr = open(tmp_path / "hermes.stderr", "wb")
    proc = subprocess.Popen(unit_launcher(svc, config), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=stderr, cwd="/")
    kept = []
    try:
        started = wait_event("hermes.started", timeout=120)
        hermes = pwd.getpwnam("hermes")
        pid = started["pid"]
        st = status(pid)
        assert st["Uid"].split() == [str(hermes.pw_uid)] * 4
        assert st["NoNewPrivs"] == "1"
        caps = [c.removeprefix("CAP_") for c in svc["AmbientCapabilities"].split()]
        assert int(st["CapEff"], 16) == cap_mask(caps) == int(st["CapAmb"], 16)
        assert int(st["CapBnd"], 16) == cap_mask(caps)
        # Its file system: read-only but for its state and logs.
        root = [ln.split() for ln in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()]
        opts = {f[4]: f[5].split(",") for f in root}
        assert "ro" in opts["/"] and "rw" in opts[str(STATE)] and "rw" in opts[str(LOGS)]

        r = ssh_exec(port, "echo packaged-$((6*7)); ip -4 route show default")
        assert r.returncode == 0 and b"packaged-42" in r.stdout, r
        # The box's eth0 that goes nowhere: the unit's CAP_NET_ADMIN at work.
        assert re.search(rb"^default via \S+ dev eth0", r.stdout, re.M), r.stdout
        login = wait_event("login.success", username=USER)
        shell = wait_event("session.shell", session=login["session"])
        # The box's own sshd reached inside its network namespace: the unit's
        # CAP_SYS_ADMIN and CAP_SYS_PTRACE at work.
        assert shell["transport"] == "agent", shell
        closed = wait_event("session.closed", session=login["session"])
        kept.append(closed["container_name"])
        # What it wrote is its user's, in the unit's directories.
        for p in [LOGS / "events.jsonl", Path(closed["recordings"][0]),
                  STATE / "keys" / "ssh_host_ed25519_key"]:
            st_ = p.stat()
            assert st_.st_uid == hermes.pw_uid and st_.st_mode & 0o007 == 0, p
        # Its worker template (the workers are its forks) took nobody and the package's
        # empty root, with no capability left.
        nobody = pwd.getpwnam(base["server"]["worker_user"])
        ours = ("hermes-template", "hermes-worker")
        templates = [c for c in children(pid)
                     if Path(f"/proc/{c}/comm").read_text().startswith(ours)]
        assert templates, [Path(f"/proc/{c}/comm").read_text() for c in children(pid)]
        for c in templates:
            ws = status(c)
            assert ws["Uid"].split() == [str(nobody.pw_uid)] * 4, ws
            assert ws["CapEff"] == ws["CapPrm"] == ws["CapAmb"] == "0000000000000000", ws
            assert os.readlink(f"/proc/{c}/root") == str(EMPTY)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        stderr.close()
        docker_rm_f(kept)
        config.unlink(missing_ok=True)
    err = (tmp_path / "hermes.stderr").read_text(errors="replace")
    assert rc == 0, err[-3000:]
    assert "ERROR" not in err and "CRITICAL" not in err, err[-3000:]


def test_purge_takes_it_all_away(package, deb):
    # Last in this file: the others use what it removes.
    run("dpkg", "--purge", "hermes")
    assert not installed()
    for p in ("/usr/bin/hermes", "/usr/libexec/hermes", str(CONFIG.parent), str(STATE),
              str(LOGS), str(UNIT), str(EMPTY.parent)):
        assert not Path(p).exists(), p
    with pytest.raises(KeyError):
        pwd.getpwnam("hermes")
    assert "hermes" not in grp.getgrnam("docker").gr_mem
