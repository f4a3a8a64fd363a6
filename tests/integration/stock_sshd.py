"""A live stock OpenSSH sshd of this machine's distribution, for test_stealth_wire.py to hold
Hermes up against, probe by probe.

Started the way bench/versus_sshd.py starts it: the package's own pristine sshd_config with
only Port, ListenAddress 127.0.0.1, PidFile and HostKey changed (and its Include left out, so
that no drop-in of the machine's own configuration leaks in), three host keys of its own made
with ssh-keygen in the order Debian's postinst makes them (rsa, ecdsa, ed25519), run in the
foreground (-D) with its log in its directory (-E). UsePAM stays as the package says: PAM's
failure delay is part of what is compared. Options a test needs on top (LoginGraceTime, say)
come first in the file, which is the value sshd keeps, and the package's own line of the same
keyword is commented out.

Nothing of the machine's own sshd is touched: not its configuration, keys or process. The
privilege separation directory (/run/sshd), which the package's init script would make, is
made if missing and removed again when the last instance stops.
"""

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from hermes_helpers import free_port

SSHD = Path("/usr/sbin/sshd")
STOCK_CONFIGS = (Path("/usr/share/openssh/sshd_config"),  # the package's pristine copy
                 Path("/etc/ssh/sshd_config"))
PRIVSEP_DIR = Path("/run/sshd")
# What this helper sets itself, whatever the package's file says.
OURS = {"port", "listenaddress", "hostkey", "pidfile", "include"}

_lock = threading.Lock()
_running = []  # instances started and not yet stopped
_made_privsep_dir = []


def package_version(package="openssh-server"):
    """The installed version of a Debian package on this machine, "" if none."""
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                           capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return ""
    return r.stdout.strip() if r.returncode == 0 else ""


def debian_banner(version):
    """The software version Debian's OpenSSH sends after SSH-2.0- for a package version:
    1:9.2p1-2+deb12u10 -> OpenSSH_9.2p1 Debian-2+deb12u10 (the epoch dropped, the upstream
    version after OpenSSH_, the Debian revision after Debian-)."""
    if ":" in version:
        version = version.split(":", 1)[1]
    upstream, _, revision = version.rpartition("-")
    if not upstream or not revision:
        raise ValueError(f"not a Debian package version with a revision: {version!r}")
    return f"OpenSSH_{upstream} Debian-{revision}"


def _listening(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class StockSshd:
    """One stock sshd on a free port of 127.0.0.1, everything of it in `directory`."""

    def __init__(self, directory, options=None):
        self.dir = Path(directory)
        self.options = dict(options or {})
        self.port = free_port()
        self.proc = None
        self.config_path = self.dir / "sshd_config"
        self.log_path = self.dir / "sshd.log"

    def config(self):
        stock = next((p for p in STOCK_CONFIGS if p.exists()), None)
        if stock is None:
            pytest.fail("no stock sshd_config (" + ", ".join(map(str, STOCK_CONFIGS)) + "): "
                        "scripts/install-deps.sh installs openssh-server")
        extra = {k.lower() for k in self.options}
        lines = [f"# {stock} with tests/integration/stock_sshd.py's changes on top",
                 f"Port {self.port}", "ListenAddress 127.0.0.1",
                 f"PidFile {self.dir / 'sshd.pid'}"]
        for t in ("rsa", "ecdsa", "ed25519"):  # the three Debian's postinst makes, in its order
            key = self.dir / f"ssh_host_{t}_key"
            subprocess.run(["ssh-keygen", "-q", "-t", t, "-N", "", "-f", str(key)],
                           check=True, capture_output=True)
            lines.append(f"HostKey {key}")
        lines += [f"{k} {v}" for k, v in self.options.items()]
        for line in stock.read_text().splitlines():
            word = line.split(None, 1)[0].lower() if line.strip() else ""
            lines.append(f"#(test) {line}" if word in OURS | extra else line)
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self, timeout=15):
        if not SSHD.exists():
            pytest.fail(f"no stock sshd at {SSHD}: scripts/install-deps.sh installs Debian's "
                        "openssh-server")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config()
        with _lock:
            if not PRIVSEP_DIR.exists():
                os.mkdir(PRIVSEP_DIR, 0o755)
                _made_privsep_dir.append(True)
            _running.append(self)
        r = subprocess.run([str(SSHD), "-t", "-f", str(self.config_path)],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            self.stop()
            raise AssertionError(f"sshd -t refused {self.config_path}: {r.stderr.strip()}")
        self.proc = subprocess.Popen(
            [str(SSHD), "-D", "-f", str(self.config_path), "-E", str(self.log_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log_text()
                self.stop()
                raise AssertionError(f"the stock sshd did not listen on {self.port}:\n{log}")
            time.sleep(0.05)
        return self

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                # Its own session: the listener and every connection's children.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=5)
            self.proc = None
        with _lock:
            if self in _running:
                _running.remove(self)
            if not _running and _made_privsep_dir:
                _made_privsep_dir.clear()
                with contextlib.suppress(OSError):
                    os.rmdir(PRIVSEP_DIR)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
