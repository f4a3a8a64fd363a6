"""Helpers for the Hermes integration tests: start a daemon, read its event log, drive clients.

What is here: building a config (a dict merged into a base, written as YAML), the `Hermes`
object that runs one daemon and reads its events, Docker look-ups, and client drivers (the
OpenSSH command line through sshpass or SSH_ASKPASS, paramiko shells, tmux panes, raw sockets).
What is not: fixtures and pytest hooks (conftest.py) and any assertion about Hermes' behaviour
(the test_*.py files). Only the Python standard library plus paramiko.

Every wait here polls with a deadline; nothing sleeps for a fixed time where a poll works.
"""

import base64
import contextlib
import copy
import fcntl
import functools
import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import termios
import threading
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The target image; HERMES_TARGET_IMAGE names another build of it (scripts/build-images.sh reads it
# too).
IMAGE = os.environ.get("HERMES_TARGET_IMAGE") or "hermes-target-ubuntu:latest"
USER = "root"
PASSWORD = "toor"
HOSTNAME = "prod-web-01"
# Not the default banner, so that a test can tell the configured value is the one served.
BANNER = "OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"
POOL_SIZE = 2

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
SESSION_ID_RE = re.compile(r"^[0-9a-f]{32}$")
COMMON_FIELDS = ["timestamp", "event", "session", "src_ip", "src_port"]


def hermes_bin():
    """The daemon under test: $HERMES_BIN, else build/hermes at the repo root."""
    env = os.environ.get("HERMES_BIN")
    return Path(env).resolve() if env else REPO_ROOT / "build" / "hermes"


@functools.lru_cache(maxsize=None)
def sanitizer_build(binary=None):
    """Whether the daemon under test is an ASan/UBSan build. Its workers' filter then lets
    through what the sanitizers' reports and leak check need (worker_sandbox.c,
    HERMES_SANITIZE): read-only opens, ptrace, clone; the other pass tests the release filter."""
    worker = Path(binary or hermes_bin()).parent / "hermes-worker"
    return b"AddressSanitizer" in worker.read_bytes()


def wait_for(fn, timeout, interval=0.1, what="condition"):
    """Calls fn until it returns something truthy and returns that; AssertionError on timeout.

    `what` is a string or a callable giving one, used in the failure message (a callable is
    evaluated only on failure, so it can describe the state at that moment).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            desc = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout} s waiting for {desc}")
        time.sleep(interval)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail_text(path, lines=60):
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# Config

DELETE = object()  # as an override value: remove the key from the base config


def deep_merge(base, overrides):
    """A new dict: base with overrides merged in, recursively for dicts; lists are replaced."""
    out = copy.deepcopy(base)
    for key, value in (overrides or {}).items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def base_config(workdir, port):
    """The config every test instance starts from; all paths inside workdir."""
    workdir = Path(workdir)
    cfg = {
        "server": {
            "host": "127.0.0.1",
            "port": port,
            "host_key_path": str(workdir / "keys" / "ssh_host_rsa_key"),
            "max_concurrent_sessions": 10,
            # Every test client comes from 127.0.0.1: one address may use every slot.
            "max_sessions_per_ip": 10,
            "session_timeout": 3600,
            "login_grace_time": 120,
            "banner": BANNER,
        },
        "authentication": {
            "static_credentials": [{"username": USER, "password": PASSWORD}],
            "accept_all_after_failures": 3,
            # The tests of keyboard-interactive logins use the default instance.
            "keyboard_interactive": True,
        },
        # PAM's delay of ~2-3 s after every wrong password would slow every test that fails a
        # login on purpose; test_stealth_wire.py turns it on.
        "stealth": {"auth_delay": False},
        "container_pool": {
            "size": POOL_SIZE,
            "image": IMAGE,
            "hostname": HOSTNAME,
            "max_session_duration": 3600,
            # Every test client comes from 127.0.0.1: without this, every session of a test
            # instance would share one box (test_boxes.py tests that default).
            "sticky_ttl": 0,
        },
        "recording": {
            "enabled": True,
            "output_dir": str(workdir / "recordings"),
            "format": "asciinema",
        },
        "forensics": {
            "artifacts_dir": str(workdir / "artifacts"),
            "database": str(workdir / "hermes.db"),
        },
        "logging": {
            "level": "DEBUG",
            "format": "json",
            "output_dir": str(workdir / "logs"),
        },
    }
    # Follow the environment's engine the way the docker CLI does.
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host.startswith("unix://"):
        cfg["docker"] = {"socket_path": docker_host[len("unix://"):]}
    elif docker_host:
        cfg["docker"] = {"base_url": docker_host}
    return cfg


_PLAIN_RE = re.compile(r"^[A-Za-z0-9_/.][A-Za-z0-9_/.:@+ -]*$")
_YAML_SPECIAL = re.compile(
    r"^(?:[-+]?[0-9][0-9_.eE+-]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|"
    r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|"
    r"null|Null|NULL|~)$"
)


def yaml_scalar(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    s = str(value)
    # Plain style when it cannot be misread (as a number, a bool, a comment, a mapping);
    # otherwise double-quoted, whose escapes are a superset of JSON's.
    if _PLAIN_RE.match(s) and not _YAML_SPECIAL.match(s) and not s.endswith(" ") \
            and ": " not in s and " #" not in s:
        return s
    return json.dumps(s, ensure_ascii=False)


def to_yaml(obj, indent=0):
    """Block-style YAML for nested dicts, lists and scalars (enough for a Hermes config)."""
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 2))
            elif isinstance(value, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(value, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {yaml_scalar(value)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                inner = to_yaml(item, indent + 2).splitlines()
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            else:
                lines.append(f"{pad}- {yaml_scalar(item)}")
    else:
        lines.append(pad + yaml_scalar(obj))
    return "\n".join(lines)


def write_config(path, cfg):
    Path(path).write_text(to_yaml(cfg) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Event log

def parse_event_lines(data):
    """Complete lines of an events.jsonl image, each parsed. A last line without its newline is
    still being written and is left out; any complete line that is not a JSON object fails."""
    lines = data.split(b"\n")
    events = []
    for n, raw in enumerate(lines[:-1], 1):
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError(f"events.jsonl line {n} is not valid UTF-8 JSON ({e}): {raw!r}")
        if not isinstance(obj, dict):
            raise AssertionError(f"events.jsonl line {n} is not a JSON object: {raw!r}")
        events.append(obj)
    return events


def event_matches(ev, match=None, **fields):
    """match: None, an event type, or a predicate; fields: exact values required."""
    if isinstance(match, str) and ev.get("event") != match:
        return False
    if callable(match) and not match(ev):
        return False
    return all(k in ev and ev[k] == v for k, v in fields.items())


def format_events(events, limit=None):
    sel = events if limit is None else events[-limit:]
    return "\n".join(json.dumps(e, ensure_ascii=False) for e in sel)


# ---------------------------------------------------------------------------------------------
# Docker

def docker(*args, timeout=60):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def docker_inspect(ref):
    """`docker inspect` of one container as a dict, or None when it does not exist."""
    r = docker("container", "inspect", ref)
    if r.returncode != 0:
        if "No such" in r.stderr or "no such" in r.stderr:
            return None
        raise AssertionError(f"docker inspect {ref} failed unexpectedly: {r.stderr.strip()}")
    data = json.loads(r.stdout)
    return data[0] if data else None


def docker_rm_f(refs):
    refs = sorted({r for r in refs if r})
    if refs:
        docker("rm", "-f", *refs, timeout=120)


# Linux capability numbers (include/uapi/linux/capability.h), for the masks in /proc/PID/status.
CAP_NUMBERS = {name: n for n, name in enumerate((
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"))}


def cap_mask(names):
    """The /proc/PID/status mask (an int) of a set of capability names."""
    return sum(1 << CAP_NUMBERS[n] for n in normalise_caps(names))


def parse_size(value):
    """A config size (`50m`, `1g`, `512k`, or bytes) in bytes, as Hermes reads it."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"(\d+)([kmgKMG]?)", str(value).strip())
    assert m, f"not a size: {value!r}"
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]


def normalise_caps(caps):
    out = set()
    for c in caps or []:
        c = c.upper()
        out.add(c[4:] if c.startswith("CAP_") else c)
    return out


# ---------------------------------------------------------------------------------------------
# What a daemon's stderr and exit must never say

# A sanitizer's report, or its runtime failing: in the monitor's (and the indexer's) own stderr,
# raw, or in a worker's, which the monitor relays as records of func "stderr".
SANITIZER_RE = re.compile(
    r"ERROR: [A-Za-z]*Sanitizer|[A-Za-z]+Sanitizer:DEADLYSIGNAL|runtime error:|"
    r"Sanitizer CHECK failed|Sanitizer has encountered a fatal error")
# The monitor's word on a child that ended badly (a worker, the indexer, a worker template, the
# sinkhole program): a crash, a sanitizer's abort, a forbidden system call, a non-zero exit.
CHILD_END_RE = re.compile(
    r"worker died of signal|worker exited with status|worker killed for a forbidden system "
    r"call|indexer killed by SIG|indexer exited with status|"
    r"worker template \d+ (killed by SIG|exited with status)|"
    r"sinkhole killed by signal|sinkhole exited with status|"
    r"hermes-metrics killed by signal|hermes-metrics exited with status")


REPORT_LINES = 40  # of a sanitizer's report shown after its first line


def _stderr_line(line):
    """(origin, text, trouble) of one line of a daemon's stderr. origin: None for a raw line
    (the monitor's or the indexer's own stderr), else the record's process, pid and func. In a
    JSON log only raw lines, a worker's relayed raw stderr (func "stderr") and the monitor's
    own records can be trouble, so that an attacker's string quoted in another message
    matches nothing."""
    rec = None
    if line.startswith("{"):
        try:
            rec = json.loads(line)
        except ValueError:
            pass
    if not isinstance(rec, dict):
        return None, line, bool(SANITIZER_RE.search(line) or CHILD_END_RE.search(line))
    origin = (rec.get("process"), rec.get("pid"), rec.get("func"))
    text = f"{origin[0]}[{origin[1]}] {origin[2]}: {rec.get('message', '')}"
    msg = str(rec.get("message", ""))
    if rec.get("func") == "stderr":
        return origin, text, bool(SANITIZER_RE.search(msg))
    return origin, text, rec.get("process") == "monitor" and bool(CHILD_END_RE.search(msg))


def stderr_trouble(text):
    """What a daemon's stderr says went wrong, whether or not a test noticed: a sanitizer's
    report (its first line and up to REPORT_LINES more of the same process, to its SUMMARY)
    and the monitor's word on a worker or the indexer that ended badly. One string each."""
    lines = [_stderr_line(ln) for ln in text.splitlines()]
    found = []
    i = 0
    while i < len(lines):
        origin, shown, trouble = lines[i]
        i += 1
        if not trouble:
            continue
        block = [shown]
        if SANITIZER_RE.search(shown):
            while i < len(lines) and len(block) <= REPORT_LINES and "SUMMARY:" not in block[-1]:
                o, more, t = lines[i]
                if t:
                    break
                i += 1
                if o == origin:
                    block.append("    " + more)
        found.append("\n".join(block))
    return found


# Every daemon's stderr: [how far it has been looked at, the process writing it]; what the
# current test expects to see there (allow_trouble); exits that went wrong. Read by
# new_trouble(), which conftest.py calls after each test and when a shared instance ends.
_WATCHED = {}
_ALLOWED = []
_BAD_EXITS = []
_FOUND = []  # read, not yet returned


def watch_stderr(path, proc=None):
    _WATCHED.setdefault(Path(path), [0, None])[1] = proc


def allow_trouble(pattern):
    """Lines matching `pattern` are what the current test provokes (a worker killed for a
    forbidden call, say): new_trouble() lets them pass once, then forgets the pattern."""
    _ALLOWED.append(re.compile(pattern))


def read_trouble(path):
    """Takes what `path` says went wrong since it was last read, for new_trouble() to
    return: at a daemon's teardown too, before a test's fixture removes its directory."""
    state = _WATCHED.get(Path(path))
    if state is None:
        return
    seen, proc = state
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size < seen:  # made anew
                seen = 0
            f.seek(seen)
            data = f.read()
    except FileNotFoundError:
        return
    # A line still being written waits for the next call, unless its writer is gone.
    end = data.rfind(b"\n") + 1 if proc is not None and proc.poll() is None else len(data)
    state[0] = seen + end
    _FOUND.extend(f"{path}: {found}"
                  for found in stderr_trouble(data[:end].decode("utf-8", "replace")))


def new_trouble():
    """What went wrong since the last call, in every daemon started: stderr_trouble() of the
    complete lines written since, less the allowed ones, and the exits that were not 0."""
    for path in list(_WATCHED):
        read_trouble(path)
    out = [found for found in _FOUND if not any(a.search(found) for a in _ALLOWED)]
    out.extend(_BAD_EXITS)
    _FOUND.clear()
    _BAD_EXITS.clear()
    _ALLOWED.clear()
    return out


# ---------------------------------------------------------------------------------------------
# The daemon

class HermesStartError(Exception):
    pass


class Hermes:
    """One Hermes daemon on a free port with all its directories in `workdir`."""

    def __init__(self, workdir, overrides=None, name="hermes", binary=None, prefix=()):
        self.name = name
        self.prefix = list(prefix)  # e.g. setpriv ... -- to run it as another user
        self.workdir = Path(workdir)
        self.binary = Path(binary) if binary else hermes_bin()
        self.port = free_port()
        self.config = deep_merge(base_config(self.workdir, self.port), overrides)
        self.config_path = self.workdir / "hermes.yaml"
        self.keys_dir = Path(self.config["server"]["host_key_path"]).parent
        self.rec_dir = Path(self.config["recording"]["output_dir"])
        self.log_dir = Path(self.config["logging"]["output_dir"])
        self.events_path = self.log_dir / "events.jsonl"
        self.stderr_path = self.workdir / "hermes.stderr"
        self.stdout_path = self.workdir / "hermes.stdout"
        self.proc = None
        self.returncode = None
        self.signalled = False  # the test sent it a signal: its exit is the test's to judge
        self._torn_down = False

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, timeout=120, since=0):
        """Starts the daemon and waits for its hermes.started (past event number `since`, for
        a restart on a log that already has one)."""
        for d in (self.workdir, self.keys_dir, self.rec_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.keys_dir, 0o700)
        write_config(self.config_path, self.config)
        self.signalled = False
        self.returncode = None
        # Appended to: an instance started again on the same data keeps what the first said.
        with open(self.stderr_path, "ab") as err, open(self.stdout_path, "ab") as out:
            # Own session: a signal meant for pytest's group never reaches it, and teardown
            # can take down any worker it leaves behind by this group id.
            self.proc = subprocess.Popen(
                [*self.prefix, str(self.binary), "--config", str(self.config_path), "--log-level", "DEBUG"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=self.workdir,
                start_new_session=True)
        watch_stderr(self.stderr_path, self.proc)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.find("hermes.started", since=since):
                    return self
            except AssertionError as e:  # a malformed line in events.jsonl
                raise HermesStartError(f"{self.name}: {e}\n" + self.diagnostics())
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                raise HermesStartError(
                    f"{self.name} exited with status {rc} before hermes.started\n"
                    + self.diagnostics())
            if time.monotonic() >= deadline:
                raise HermesStartError(
                    f"{self.name} wrote no hermes.started within {timeout} s\n"
                    + self.diagnostics())
            time.sleep(0.1)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.signalled = True
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Waits for the daemon to exit; its status, or None if still running at the deadline."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL (the whole process group) after `timeout` s. Returns status.

        A daemon stopped here must exit 0 (a sanitizer's leak check at exit, say, makes it
        not): anything else goes to new_trouble(). So must one that ended by itself, unless
        the test sent it a signal or saw it end (start() failing, wait_exit())."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._settle()
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait_exit(timeout) is None:
                self._kill_group()
                self.returncode = self.proc.wait(timeout=10)
                _BAD_EXITS.append(f"{self.name}: still running {timeout} s after SIGTERM; "
                                  f"killed")
            elif self.proc.returncode != 0:
                _BAD_EXITS.append(f"{self.name}: exited with status {self.proc.returncode} "
                                  f"when stopped with SIGTERM")
        elif self.proc.returncode != 0 and not self.signalled and self.returncode is None:
            # Ended by itself, unseen by the test (which would have waited for it).
            rc = self.proc.returncode
            _BAD_EXITS.append(f"{self.name}: " + (f"died of signal {-rc}" if rc < 0 else
                                                  f"exited with status {rc} by itself"))
        self.returncode = self.proc.returncode
        return self.returncode

    def _settle(self, timeout=5):
        """Waits a little for the sessions still open to close: a worker that ends by itself
        is leak-checked in a sanitizer build, one the shutdown kills is not."""
        def settled():
            try:
                events = self.events()
            except AssertionError:
                return True
            opened = {e.get("session") for e in events if e.get("event") == "session.connect"}
            return opened <= {e.get("session") for e in events
                              if e.get("event") == "session.closed"}
        try:
            wait_for(settled, timeout, interval=0.2)
        except AssertionError:
            pass

    def _kill_group(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def teardown(self):
        """Stops the daemon, ends stray workers of its group, removes its containers."""
        if self._torn_down:
            return
        self._torn_down = True
        try:
            self.stop()
        finally:
            if self.proc is not None:
                self._kill_group()
                read_trouble(self.stderr_path)
            try:
                docker_rm_f(self.container_refs() | set(self.labelled_containers()))
            except Exception:  # cleanup must not hide the test's own result
                pass

    # -- event log ----------------------------------------------------------------------------

    def _read(self):
        try:
            return self.events_path.read_bytes()
        except FileNotFoundError:
            return b""

    def events(self, since=0):
        return parse_event_lines(self._read())[since:]

    def mark(self):
        """The number of events so far, to look only at what comes after."""
        return len(self.events())

    def find(self, match=None, since=0, **fields):
        return [e for e in self.events(since) if event_matches(e, match, **fields)]

    def wait_event(self, match=None, timeout=20, since=0, **fields):
        def probe():
            found = self.find(match, since, **fields)
            if found:
                return found[0]
            if not self.running() and self.proc is not None:
                # One last read: the event may have been the daemon's last act.
                found = self.find(match, since, **fields)
                if found:
                    return found[0]
                raise AssertionError(
                    f"{self.name} exited (status {self.proc.returncode}) while waiting for "
                    f"{match!r} {fields}\n" + self.diagnostics())
            return None

        return wait_for(probe, timeout, what=lambda: (
            f"event {match!r} with {fields} from {self.name}; last events:\n"
            + format_events(self.events(since), 30)))

    def wait_count(self, match, count, timeout=20, since=0, **fields):
        """Waits until at least `count` matching events exist; returns all of them."""
        def probe():
            found = self.find(match, since, **fields)
            return found if len(found) >= count else None

        return wait_for(probe, timeout, what=lambda: (
            f"{count} x {match!r} {fields} from {self.name}; have "
            f"{len(self.find(match, since, **fields))}"))

    def session_for_port(self, src_port, since=0, timeout=20):
        """The session id of the connection from 127.0.0.1:src_port."""
        ev = self.wait_event("session.connect", timeout=timeout, since=since,
                             src_port=src_port)
        return ev["session"]

    def wait_new_session(self, since, timeout=20):
        """The id of the one connection accepted after mark `since`."""
        ev = self.wait_event("session.connect", timeout=timeout, since=since)
        later = self.find("session.connect", since)
        assert len(later) == 1, f"expected one new connection, got {format_events(later)}"
        return ev["session"]

    def session_events(self, sid):
        return [e for e in self.events() if e.get("session") == sid]

    def container_refs(self):
        """Ids (and names) of every container this instance's events mention."""
        refs = set()
        for e in self.events():
            if e.get("event") in ("container.created", "container.allocated", "session.shell",
                                  "container.stopped"):
                if e.get("container_id"):
                    refs.add(e["container_id"])
        return refs

    @property
    def instance_label(self):
        """Its containers' hermes.instance label: the SHA-256 of its log directory's real
        path, 16 hex digits."""
        return hashlib.sha256(os.path.realpath(self.log_dir).encode()).hexdigest()[:16]

    def labelled_containers(self):
        """Ids of every container with this instance's label, those it never named in an
        event too: one whose create was under way when the daemon was killed is finished by
        the engine after the restart's reconciliation may have looked."""
        return docker("ps", "-aq", "--no-trunc", "--filter",
                      f"label=hermes.instance={self.instance_label}").stdout.split()

    def created_containers(self):
        return [e for e in self.events() if e.get("event") == "container.created"]

    # -- diagnostics --------------------------------------------------------------------------

    def stderr_tail(self, lines=60):
        return tail_text(self.stderr_path, lines)

    def events_text(self, limit=None):
        try:
            return format_events(self.events(), limit)
        except AssertionError as e:  # a broken line: show the raw file instead
            return str(e) + "\n" + tail_text(self.events_path, limit or 200)

    def diagnostics(self, stderr_lines=60, events=None):
        return (f"--- {self.name}: tail of stderr ({self.stderr_path}) ---\n"
                f"{self.stderr_tail(stderr_lines)}\n"
                f"--- {self.name}: events ({self.events_path}) ---\n"
                f"{self.events_text(events)}")


# ---------------------------------------------------------------------------------------------
# OpenSSH client

def ssh_options(port, tool="ssh"):
    """Options for OpenSSH's ssh, or scp/sftp (`tool`), which take the port as -P."""
    return ["-F", "/dev/null",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no",
            "-o", "PreferredAuthentications=password,keyboard-interactive",
            "-o", "ConnectTimeout=15", "-p" if tool == "ssh" else "-P", str(port)]


def ssh_exec(port, command, stdin=b"", timeout=120, options=()):
    """`ssh -T host COMMAND` under sshpass; CompletedProcess with bytes stdout/stderr."""
    argv = ["sshpass", "-p", PASSWORD, "ssh", *ssh_options(port), *options, "-T",
            f"{USER}@127.0.0.1", command]
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                          env=ssh_env())


def scp_upload(port, src, remote, options=(), timeout=120):
    return subprocess.run(["sshpass", "-p", PASSWORD, "scp", *ssh_options(port, "scp"),
                           *options, str(src), f"{USER}@127.0.0.1:{remote}"],
                          capture_output=True, timeout=timeout, env=ssh_env())


class ControlMaster:
    """An OpenSSH ControlMaster connection; `client` holds the options that make ssh/scp/sftp
    use it, and fail at once (never prompt) if it is gone."""

    def __init__(self, port, directory):
        self.port = port
        self.client = ["-o", f"ControlPath={directory}/cm-%p", "-o", "ControlMaster=no",
                       "-o", "BatchMode=yes"]
        self._ctl = ["-o", f"ControlPath={directory}/cm-%p"]
        self.proc = None

    def __enter__(self):
        base = ["ssh", *ssh_options(self.port), *self._ctl]
        self.proc = subprocess.Popen(["sshpass", "-p", PASSWORD, *base, "-o",
                                      "ControlMaster=yes", "-N", f"{USER}@127.0.0.1"],
                                     env=ssh_env(), stdin=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: subprocess.run([*base, "-O", "check", f"{USER}@127.0.0.1"],
                                        capture_output=True, timeout=20).returncode == 0, 30,
                 what="the control master")
        return self

    def __exit__(self, *exc):
        subprocess.run(["ssh", *ssh_options(self.port), *self._ctl, "-O", "exit",
                        f"{USER}@127.0.0.1"], capture_output=True, timeout=20)
        self.proc.kill()
        self.proc.wait()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def asyncssh_run(port, *commands, timeout=120):
    """Runs each command on one asyncssh connection; their SSHCompletedProcess results."""
    import asyncio

    import asyncssh

    async def main():
        async with asyncssh.connect("127.0.0.1", port, username=USER, password=PASSWORD,
                                    known_hosts=None) as conn:
            return [await conn.run(c, input="") for c in commands]

    return asyncio.run(asyncio.wait_for(main(), timeout))


def ssh_command(port, tty=True, password=PASSWORD, user=USER, askpass=None):
    """The argv of the OpenSSH client. tty: True (-tt), False (-T), or "auto" (real terminal).

    With `askpass` (a script printing the password, see write_askpass) the password comes from
    SSH_ASKPASS and ssh is the process itself; otherwise ssh runs under sshpass.
    """
    flags = {True: ["-tt"], False: ["-T"], "auto": []}[tty]
    argv = ["ssh", *ssh_options(port), *flags, f"{user}@127.0.0.1"]
    if askpass:
        return argv
    return ["sshpass", "-p", password, *argv]


def ssh_env(askpass=None):
    env = dict(os.environ)
    env.setdefault("TERM", "xterm")
    if env["TERM"] in ("", "dumb", "unknown"):
        env["TERM"] = "xterm"
    env["LC_ALL"] = "C.UTF-8"
    if askpass:
        env["SSH_ASKPASS"] = str(askpass)
        env["SSH_ASKPASS_REQUIRE"] = "force"  # no DISPLAY or terminal check
    return env


def write_askpass(directory, password=PASSWORD):
    path = Path(directory) / f"askpass-{uuid.uuid4().hex[:8]}.sh"
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(password)}\n")
    path.chmod(0o700)
    return path


def run_ssh(port, stdin_text, tty=True, timeout=60, password=PASSWORD):
    """Runs the OpenSSH client with stdin_text as its input; CompletedProcess (text)."""
    return subprocess.run(ssh_command(port, tty=tty, password=password),
                          input=stdin_text.encode(), capture_output=True, timeout=timeout,
                          env=ssh_env())


def clean_tty_text(data):
    """Terminal output as text: CR removed, common escape sequences stripped."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    data = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[=>]", "", data)
    return data.replace("\r", "")


class SshProc:
    """An OpenSSH client run in the background; its output collected by a thread."""

    def __init__(self, port, tty=True, askpass=None, password=PASSWORD):
        self.proc = subprocess.Popen(
            ssh_command(port, tty=tty, password=password, askpass=askpass),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=ssh_env(askpass), start_new_session=True)
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                return
            with self._lock:
                self._buf += chunk

    @property
    def output(self):
        with self._lock:
            return clean_tty_text(bytes(self._buf))

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def expect(self, pattern, timeout=20):
        rx = re.compile(pattern)

        def probe():
            m = rx.search(self.output)
            if m:
                return m
            if self.proc.poll() is not None:
                self._reader.join(2)
                m = rx.search(self.output)
                if m:
                    return m
                raise AssertionError(f"ssh exited ({self.proc.returncode}) before "
                                     f"{pattern!r}; output:\n{self.output}")
            return None

        return wait_for(probe, timeout, what=lambda: f"{pattern!r} in ssh output:\n"
                        f"{self.output[-2000:]}")

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (OSError, ValueError):
                pass


# ---------------------------------------------------------------------------------------------
# paramiko

def paramiko_transport(port, timeout=15, source=None):
    """source: a loopback address to connect from (default: the kernel's choice)."""
    import paramiko
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0) if source else None)
    t = paramiko.Transport(sock)
    t.banner_timeout = timeout
    t.auth_timeout = timeout
    t.start_client(timeout=timeout)
    return t


def implant_session(inst, tmp_path):
    """What a bot does after login, for tests of the paths to Docker: an scp upload, then an
    exec that writes a script, runs it and exits 3 (each connection may have a box of its own:
    sticky_ttl 0). Returns the artifacts.collected event of the exec's session, which kept at
    least the script."""
    payload = tmp_path / "implant.sh"
    payload.write_text("#!/bin/sh\necho implanted\n")
    r = scp_upload(inst.port, payload, "/root/implant.sh")
    assert r.returncode == 0, r.stderr
    mark = inst.mark()
    r = ssh_exec(inst.port, "printf '#!/bin/sh\\necho implanted\\n' > /root/implant.sh; "
                 "sh /root/implant.sh; exit 3")
    assert r.returncode == 3 and r.stdout == b"implanted\n", r
    got = inst.wait_event("artifacts.collected", since=mark, timeout=60)
    assert got["files"] >= 1, got
    return got


def failed_password_login(port, user, password="not-the-password"):
    """One connection, one wrong password (refused, or the test fails), closed."""
    import paramiko
    t = paramiko.Transport(("127.0.0.1", port))
    try:
        t.start_client(timeout=30)
        try:
            t.auth_password(user, password)
        except paramiko.AuthenticationException:
            return
        raise AssertionError(f"{user}/{password}: the login was accepted")
    finally:
        t.close()


def exec_after_a_wrong_password(port, command):
    """One connection: root with a wrong password (refused, or the test fails), then the right
    one, then command. Returns (exit status, output)."""
    import paramiko
    t = paramiko_transport(port)
    try:
        try:
            t.auth_password(USER, "not-the-password")
            raise AssertionError("the wrong password was accepted")
        except paramiko.AuthenticationException:
            pass
        t.auth_password(USER, PASSWORD)
        chan = t.open_session(timeout=15)
        chan.exec_command(command)
        out = b""
        while d := chan.recv(1 << 20):
            out += d
        return chan.recv_exit_status(), out
    finally:
        t.close()


class ParamikoShell:
    """A logged-in paramiko connection with one session channel (pty + shell by default)."""

    def __init__(self, port, username=USER, password=PASSWORD, pty=True, term="xterm",
                 width=80, height=24, timeout=15, source=None):
        self.transport = paramiko_transport(port, timeout, source)
        self.src_port = self.transport.sock.getsockname()[1]
        self.sid = None
        self._buf = bytearray()
        self.eof = False
        try:
            self.transport.auth_password(username, password)
            self.chan = self.transport.open_session(timeout=timeout)
            if pty:
                self.chan.get_pty(term=term, width=width, height=height)
            self.chan.invoke_shell()
        except BaseException:
            self.transport.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, text):
        self.chan.sendall(text.encode() if isinstance(text, str) else text)

    def _pump(self, max_wait):
        if self.eof:
            time.sleep(min(max_wait, 0.05))
            return
        self.chan.settimeout(max(0.01, min(max_wait, 0.2)))
        try:
            data = self.chan.recv(65536)
        except socket.timeout:
            return
        if data:
            self._buf += data
        else:
            self.eof = True

    @property
    def raw_output(self):
        return bytes(self._buf)

    @property
    def output(self):
        return clean_tty_text(bytes(self._buf))

    def expect(self, pattern, timeout=20):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.output)
            if m:
                return m
            if self.eof:
                raise AssertionError(f"channel closed before {pattern!r}; output:\n"
                                     f"{self.output[-2000:]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for {pattern!r}; "
                                     f"output:\n{self.output[-2000:]}")
            self._pump(left)

    def wait_closed(self, timeout=20):
        """Reads until the server ends the channel (EOF and close, or the connection drops)."""
        deadline = time.monotonic() + timeout
        while not ((self.eof and self.chan.closed) or not self.transport.is_active()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"channel still open after {timeout} s; output:\n"
                                     f"{self.output[-2000:]}")
            self._pump(left)
        return self.output

    def exit_status(self, timeout=20):
        """The exit-status the server sent (paramiko's -1 when none came before the close)."""
        deadline = time.monotonic() + timeout
        while not self.chan.exit_status_ready():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no exit-status within {timeout} s; output:\n"
                                     f"{self.output[-2000:]}")
            self._pump(left)
        return self.chan.recv_exit_status()

    def close(self):
        try:
            self.transport.close()
        except Exception:
            pass


def open_shell(hermes, **kw):
    """A ParamikoShell on `hermes` with .sid set to its session id."""
    mark = hermes.mark()
    sh = ParamikoShell(hermes.port, **kw)
    try:
        sh.sid = hermes.session_for_port(sh.src_port, since=mark)
    except BaseException:
        sh.close()
        raise
    return sh


# x86-64 system calls a shell blocks in while it waits for a key: read, poll, select,
# pselect6 (readline's), ppoll.
_TTY_WAITS = {"0", "7", "23", "270", "271"}


def wait_shell_reading(hermes, sid, comm="bash", timeout=20):
    """Waits until the session's interactive shell (a `comm` process in its box with a
    controlling terminal) sleeps in a system call that waits for input. A key that must reach
    a shell's read loop, not the moment between its prompt and that loop, is sent after this:
    readline handles a SIGINT that lands in that moment without returning to its prompt
    (bash 5.2), a real server's shell the same."""
    box = hermes.wait_event("container.allocated", session=sid)["container_id"]

    def blocked():
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if (proc / "comm").read_text().strip() != comm or \
                        box not in (proc / "cgroup").read_text():
                    continue
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                if stat[0] != "S" or int(stat[4]) == 0:   # state, tty_nr
                    continue
                if (proc / "syscall").read_text().split()[0] in _TTY_WAITS:
                    return True
            except (OSError, IndexError, ValueError):
                continue
        return False

    wait_for(blocked, timeout, interval=0.02, what=f"the {comm} of session {sid} to wait for a key")


# ---------------------------------------------------------------------------------------------
# tmux

class Tmux:
    """A private tmux server (own socket name, no user config, no status line)."""

    def __init__(self, directory):
        self.socket = f"hermes-it-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.conf = Path(directory) / f"{self.socket}.conf"
        self.conf.write_text("set -g status off\nset -g history-limit 5000\n")
        self.target = "hermes"
        self.env = ssh_env()

    def run(self, *args, check=True):
        r = subprocess.run(["tmux", "-L", self.socket, "-f", str(self.conf), *args],
                           capture_output=True, text=True, timeout=20, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {r.stderr.strip()}")
        return r

    def new_session(self, command, width, height, env=None):
        if env:
            self.env = dict(env)
        self.run("new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height),
                 command)

    def send_line(self, text):
        # -l: literal, so words like "Enter" or "C-c" in the text are typed as letters.
        self.run("send-keys", "-t", self.target, "-l", text)
        self.run("send-keys", "-t", self.target, "Enter")

    def capture(self):
        r = self.run("capture-pane", "-p", "-J", "-S", "-", "-t", self.target, check=False)
        return r.stdout if r.returncode == 0 else ""

    def expect(self, pattern, timeout=20):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.capture()), timeout,
                        what=lambda: f"{pattern!r} in the tmux pane:\n{self.capture()}")

    def resize(self, width, height):
        self.run("resize-window", "-t", self.target, "-x", str(width), "-y", str(height))

    def size(self):
        r = self.run("display-message", "-p", "-t", self.target,
                     "#{window_width}x#{window_height}")
        return r.stdout.strip()

    def kill_server(self):
        # tmux 3.3 leaves its socket file behind: ask for it first, remove it after.
        r = self.run("display-message", "-p", "#{socket_path}", check=False)
        self.run("kill-server", check=False)
        sock = r.stdout.strip()
        if r.returncode == 0 and sock.endswith(self.socket):
            try:
                os.unlink(sock)
            except FileNotFoundError:
                pass


@contextlib.contextmanager
def tmux_ssh(hermes, directory, width, height, after=""):
    """OpenSSH on a tmux pty (password from SSH_ASKPASS, not sshpass, whose own pty in between
    would have to pass the size on), logged in with its shell started: yields (tmux, session
    id). `after` runs in the pane once ssh ends; the tmux server goes at the end."""
    askpass = write_askpass(directory)
    cmd = shlex.join(ssh_command(hermes.port, tty="auto", askpass=askpass))
    tmux = Tmux(directory)
    try:
        mark = hermes.mark()
        tmux.new_session(f"{cmd}; {after}sleep 600", width, height, env=ssh_env(askpass))
        sid = hermes.wait_new_session(mark, timeout=30)
        # Keys typed before the shell exists could land in a password prompt.
        hermes.wait_event("session.shell", session=sid, timeout=30)
        yield tmux, sid
    finally:
        tmux.kill_server()


# ---------------------------------------------------------------------------------------------
# Raw sockets, keys, recordings

def read_server_banner(port, timeout=10):
    """The first line the server sends, without CRLF."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        buf = b""
        while b"\n" not in buf and len(buf) < 512:
            chunk = s.recv(512)
            if not chunk:
                break
            buf += chunk
    return buf.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")


def ssh_keygen_fingerprint(pub_path):
    """("SHA256:...", type-in-parens) as `ssh-keygen -lf` prints them."""
    r = subprocess.run(["ssh-keygen", "-lf", str(pub_path)], capture_output=True, text=True,
                       timeout=20, check=True)
    parts = r.stdout.split()
    return parts[1], parts[-1].strip("()")


def sha256_fingerprint(blob):
    """OpenSSH's SHA256 fingerprint of a public key blob (base64 without padding)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def parse_asciicast(text):
    """(header dict, [(time, code, data), ...]) of an asciicast v2 file; fails on bad lines."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    assert lines, "empty asciicast file"
    header = json.loads(lines[0])
    assert isinstance(header, dict), f"header is not an object: {lines[0]!r}"
    events = []
    for n, ln in enumerate(lines[1:], 2):
        ev = json.loads(ln)
        assert isinstance(ev, list) and len(ev) == 3, f"line {n} is not [t, code, data]: {ln!r}"
        t, code, data = ev
        assert isinstance(t, (int, float)) and isinstance(code, str) \
            and isinstance(data, str), f"line {n} has wrong types: {ln!r}"
        events.append((float(t), code, data))
    return header, events


def asciinema_cat(path, timeout=60):
    """Runs `asciinema cat FILE`; CompletedProcess with bytes stdout.

    asciinema opens /dev/tty (to put it in raw mode), so it gets a pty of its own as its
    controlling terminal; its stdout stays a pipe, so the output is exactly what it printed.
    """
    master, slave = os.openpty()

    def take_ctty():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        return subprocess.run(["asciinema", "cat", str(path)], stdin=slave, capture_output=True,
                              timeout=timeout, start_new_session=True, preexec_fn=take_ctty,
                              env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
    finally:
        os.close(slave)
        os.close(master)


def raw_connect(port, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_until_closed(sock, timeout):
    """Reads until the peer closes: (seconds it took or None at the deadline, bytes read)."""
    start = time.monotonic()
    deadline = start + timeout
    data = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, bytes(data)
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return None, bytes(data)
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start, bytes(data)
        if not chunk:
            return time.monotonic() - start, bytes(data)
        data += chunk
