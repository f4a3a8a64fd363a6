#!/usr/bin/python3
"""Hermes next to a stock OpenSSH sshd (and dropbear where installed), driven by the same
clients in one run; prints each figure for every server and the ratio Hermes / sshd.

The machines this runs on are shared and noisy: only ratios from one run mean anything, and
nothing here passes or fails on time (the exit status says only whether the bench could run).
The servers are measured turn about (a figure's samples alternate between them), and before
every sample Hermes is let settle: its pool full again and the last session's container
stopped, so that no server pays for the work Hermes does after a session.

  first byte    TCP connect -> first byte of shell output (paramiko: kex, password, pty, shell)
  prompt        the same, until the shell's prompt
  true          `ssh host true` wall time (OpenSSH client, sshpass)
  throughput    `ssh -c chacha20-poly1305@openssh.com host 'head -c 256MiB /dev/zero'` to a
                byte counter, MB/s from the first byte to EOF
  cpu           server CPU per connection of key exchange + one wrong password (root; paramiko)
  pss pre-auth  PSS per connection held after its key exchange, before any login
  pss session   PSS per logged-in session held idle: the server's own processes (Hermes: the
                monitor and its workers; sshd: its sshd processes), with the session's shell
                side (Hermes: the box's processes and its containerd-shim; sshd: the user's
                shell) reported apart

The stock sshd is Debian's /usr/sbin/sshd with Debian's stock sshd_config, changed only where it
must be: Port (a free loopback port), ListenAddress 127.0.0.1, HostKey (fresh keys in the
temp dir), PidFile (the temp dir), and the Include of sshd_config.d/ left out (stock Debian
ships it empty; whatever this machine put there is not stock and could add listeners).
Root may not log in by password there, so a user made for the run (hermesbench, random
password) logs in to sshd and dropbear, and Hermes's static credentials to Hermes. The user,
the servers, their sessions and the temp dir are removed at the end, on failure and on Ctrl-C.

usage: bench/versus_sshd.py [options] [HERMES_BINARY]   (as root; Docker up, image built;
       `make bench` does all of that first). --profile DIR records `perf record -a -g` of
       Hermes alone during its connect -> shell loop instead (docs/performance.md).
"""

import argparse
import contextlib
import datetime
import fcntl
import logging
import os
import pwd
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paramiko
from ssh_server import (cpu_per_login, failed_logins, held_connections, listening, pss_kib,
                        shell_timing, tree)
from perf_summary import summarize
from hermes_helpers import (PASSWORD, USER, Hermes, docker, free_port, hermes_bin, ssh_env,
                            ssh_options, wait_for)

BENCH_USER = "hermesbench"
BENCH_GECOS = "Hermes bench user, temporary"
SSHD = "/usr/sbin/sshd"
CIPHER = "chacha20-poly1305@openssh.com"
POOL = 3
# Failed logins at once (sshd's PAM sleeps 2 s after each wrong password: one at a time would
# take minutes); few enough that no server refuses any (a refusal costs CPU but counts for none).
PARALLEL = 4


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_pids(pids, grace=5.0):
    """SIGTERM to each pid, SIGKILL to what is left after `grace` s. Only pids we started."""
    pids = [p for p in pids if p > 1]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, sig)
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if alive(p)]
            time.sleep(0.05)
        if not pids:
            return


# ---------------------------------------------------------------------------------------------
# The test user

def pids_of_uid(uid):
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                for line in (d / "status").read_text().splitlines():
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            out.append(int(d.name))
                        break
            except OSError:
                pass
    return out


class BenchUser:
    """hermesbench with a random password; a leftover of a killed run (recognised by its
    GECOS) is removed first, anyone else's account of that name is refused."""

    def __init__(self):
        self.name, self.password, self.made = BENCH_USER, secrets.token_urlsafe(12), False

    def __enter__(self):
        with contextlib.suppress(KeyError):
            if pwd.getpwnam(self.name).pw_gecos != BENCH_GECOS:
                raise SystemExit(f"a user {self.name} exists and is not the bench's; "
                                 "not touching it")
            log(f"removing the {self.name} a killed run left")
            self.made = True
            self.remove()
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", "-c", BENCH_GECOS, self.name],
                       check=True)
        self.made = True
        subprocess.run(["chpasswd"], input=f"{self.name}:{self.password}\n", text=True,
                       check=True)
        return self

    def remove(self):
        if not self.made:
            return
        with contextlib.suppress(KeyError):
            kill_pids(pids_of_uid(pwd.getpwnam(self.name).pw_uid))
            subprocess.run(["userdel", "-r", self.name], stderr=subprocess.DEVNULL)
        self.made = False

    def __exit__(self, *exc):
        self.remove()


# ---------------------------------------------------------------------------------------------
# The servers

class Server:
    name = "?"
    parallel = PARALLEL  # failed logins at once
    user = password = None
    port = None

    @property
    def pid(self):
        return self.proc.pid

    def settle(self):
        """Waits until the server does nothing on its own (Hermes: pool refilled)."""

    def explain(self):
        """What the server says about its last connection, for an error message."""
        return ""

    def memory(self, sessions_mark=None):
        """(KiB of the server's own processes, KiB of the sessions' shell side)."""
        return pss_kib(tree(self.pid)), 0

    def stop(self):
        if getattr(self, "proc", None) is None:
            return
        pids = tree(self.proc.pid) if self.proc.poll() is None else []
        kill_pids(pids + [self.proc.pid])
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.proc = None


class Sshd(Server):
    name = "sshd"

    def __init__(self, work, user):
        self.dir = work / "sshd"
        self.dir.mkdir()
        self.user, self.password = user.name, user.password
        self.port = free_port()
        self.proc = None
        self.made_run_dir = False

    def config(self):
        stock = Path("/usr/share/openssh/sshd_config")  # the package's own, pristine copy
        if not stock.exists():
            stock = Path("/etc/ssh/sshd_config")
        ours = {"port", "listenaddress", "hostkey", "pidfile", "include"}
        lines = [f"# {stock} with bench/versus_sshd.py's changes on top",
                 f"Port {self.port}", "ListenAddress 127.0.0.1", f"PidFile {self.dir}/sshd.pid"]
        for t in ("rsa", "ecdsa", "ed25519"):  # the three Debian's package makes
            key = self.dir / f"ssh_host_{t}_key"
            subprocess.run(["ssh-keygen", "-q", "-t", t, "-N", "", "-f", str(key)], check=True)
            lines.append(f"HostKey {key}")
        for line in stock.read_text().splitlines():
            word = line.split(None, 1)[0].lower() if line.strip() else ""
            lines.append(f"#(bench) {line}" if word in ours else line)
        path = self.dir / "sshd_config"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self):
        cfg = self.config()
        # The privilege separation directory, which the package's init script would make.
        if not Path("/run/sshd").exists():
            os.mkdir("/run/sshd", 0o755)
            self.made_run_dir = True
        subprocess.run([SSHD, "-t", "-f", str(cfg)], check=True)
        self.proc = subprocess.Popen([SSHD, "-D", "-f", str(cfg), "-E", str(self.dir / "sshd.log")],
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: listening(self.port), 15, what="sshd listening")
        r = subprocess.run([SSHD, "-V"], capture_output=True, text=True)
        self.version = r.stderr.split(",")[0]
        return self

    def memory(self, sessions_mark=None):
        pids = tree(self.pid)
        return (pss_kib([p for p in pids if comm(p) == "sshd"]),
                pss_kib([p for p in pids if comm(p) != "sshd"]))

    def stop(self):
        super().stop()
        if self.made_run_dir:
            with contextlib.suppress(OSError):
                os.rmdir("/run/sshd")


class Dropbear(Server):
    name = "dropbear"
    # It keeps 5 unauthenticated connections per address, and a closed one counts a while.
    parallel = 2

    def __init__(self, work, user):
        self.dir = work / "dropbear"
        self.dir.mkdir()
        self.user, self.password = user.name, user.password
        self.port = free_port()
        self.proc = None

    def start(self):
        key = self.dir / "dropbear_ed25519_host_key"
        subprocess.run(["dropbearkey", "-t", "ed25519", "-f", str(key)], capture_output=True,
                       check=True)
        with open(self.dir / "dropbear.log", "wb") as err:
            self.proc = subprocess.Popen(["dropbear", "-F", "-E", "-p", f"127.0.0.1:{self.port}",
                                          "-r", str(key)], stdin=subprocess.DEVNULL, stderr=err,
                                         start_new_session=True)
        wait_for(lambda: listening(self.port), 15, what="dropbear listening")
        r = subprocess.run(["dropbear", "-V"], capture_output=True, text=True)
        self.version = (r.stderr or r.stdout).strip().split("\n")[0]
        return self

    def memory(self, sessions_mark=None):
        pids = tree(self.pid)
        return (pss_kib([p for p in pids if comm(p) == "dropbear"]),
                pss_kib([p for p in pids if comm(p) != "dropbear"]))


class HermesServer(Server):
    name = "hermes"
    user, password = USER, PASSWORD

    def __init__(self, work, binary):
        # Every client here comes from 127.0.0.1: with one box per address (sticky_ttl) all
        # sessions would share one box. sticky_ttl 0 gives each its own from the warm pool,
        # which is what a new attacker gets.
        # stealth.auth_delay as deployed (the tests' base config turns it off): a wrong
        # password waits PAM's delay, as sshd's does, so both hold their failed logins alike.
        overrides = {"logging": {"level": "INFO"},
                     "server": {"max_sessions_per_ip": 40, "max_concurrent_sessions": 40},
                     "container_pool": {"size": POOL, "sticky_ttl": 0},
                     "recording": {"enabled": True},
                     "stealth": {"auth_delay": True}}
        self.inst = Hermes(work / "hermes", overrides, name="hermes", binary=binary)
        self.port = self.inst.port
        self.version = "Hermes"
        self.proc = None
        self.stuck = set()

    def start(self):
        self.inst.start()
        self.proc = self.inst.proc
        self.settle(120)
        return self

    def _state(self):
        created, allocated, gone = set(), set(), set()
        for e in self.inst.events():
            ev, cid = e.get("event"), e.get("container_id")
            if ev == "container.created" and e.get("pooled"):
                created.add(cid)
            elif ev == "container.allocated":
                allocated.add(cid)
            elif ev in ("container.stopped", "container.removed"):
                gone.add(cid)
        return created, allocated, gone

    def settle(self, timeout=60):
        """Pool full again and every session's container stopped (artifacts collected). A
        container that did not stop within `timeout` is not waited for again."""
        def missing():
            created, allocated, gone = self._state()
            ready = len(created - allocated - gone)
            stuck = allocated - gone - self.stuck
            return (ready < POOL, stuck, f"{ready} of {POOL} pooled containers ready, "
                    f"{len(stuck)} session container(s) not stopped")
        deadline = time.monotonic() + timeout
        while True:
            short, stuck, what = missing()
            if not short and not stuck:
                break
            if time.monotonic() > deadline:
                log(f"note: Hermes not settled after {timeout} s ({what}); going on")
                self.stuck |= stuck
                break
            time.sleep(0.1)
        time.sleep(0.2)

    def memory(self, sessions_mark=None):
        own = pss_kib(tree(self.pid))
        if sessions_mark is None:
            return own, 0
        pids = []
        for e in self.inst.find("container.allocated", since=sessions_mark):
            r = docker("top", e["container_id"], "-eo", "pid")
            box = [int(x) for x in r.stdout.split()[1:] if x.isdigit()]
            init = docker("inspect", "-f", "{{.State.Pid}}", e["container_id"]).stdout.strip()
            with contextlib.suppress(OSError, ValueError):
                ppid = int(Path(f"/proc/{init}/stat").read_text().rsplit(")", 1)[1].split()[1])
                if comm(ppid).startswith("containerd-shim"):
                    box.append(ppid)
            pids += box
        return own, pss_kib(pids)

    def explain(self):
        last = self.inst.find(lambda e: e.get("event") in (
            "session.closed", "session.channel_closed", "session.error", "container.error",
            "container.over_quota"))[-3:]
        return "; hermes's last events: " + " ".join(
            str({k: v for k, v in e.items() if k not in ("timestamp", "src_ip", "session")})
            for e in last)

    def transports(self):
        """How Hermes ran its channels in this run: agent, exec (docker exec)."""
        seen = {e.get("transport", "?") for e in self.inst.find("session.shell")}
        return "/".join(sorted(seen)) or "?"

    def stop(self):
        self.inst.teardown()
        self.proc = None


# ---------------------------------------------------------------------------------------------
# The clients

def ssh_argv(server, *args):
    return ["sshpass", "-p", server.password, "ssh", *ssh_options(server.port), *args,
            f"{server.user}@127.0.0.1"]


def ssh_true(server):
    t0 = time.monotonic()
    r = subprocess.run(ssh_argv(server) + ["true"], capture_output=True, timeout=60,
                       env=ssh_env())
    dt = 1000 * (time.monotonic() - t0)
    if r.returncode != 0:
        raise RuntimeError(f"{server.name}: ssh true exited {r.returncode}: {r.stderr[-300:]!r}")
    return dt


def exec_throughput(server, nbytes, work):
    """MB/s of `head -c nbytes /dev/zero` run by the server, from the first byte to EOF."""
    with open(work / f"ssh-{server.name}.stderr", "w+b") as err:
        proc = subprocess.Popen(ssh_argv(server, "-c", CIPHER) + [f"head -c {nbytes} /dev/zero"],
                                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                env=ssh_env())
        fd, count, first = proc.stdout.fileno(), 0, None
        with contextlib.suppress(OSError):  # fewer wake-ups of this counter than with 64 KiB
            fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ
        deadline = time.monotonic() + 300
        try:
            while time.monotonic() < deadline:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                if first is None:
                    first = time.monotonic()
                count += len(chunk)
            end = time.monotonic()
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if count != nbytes:
            err.seek(0)
            raise RuntimeError(f"{server.name}: got {count} of {nbytes} bytes "
                               f"(ssh exit {proc.returncode}): {err.read()[-300:]!r}"
                               + server.explain())
    return nbytes / (end - first) / 1e6


class Held:
    """Logged-in sessions with a pty and a shell, held open idle."""

    def __init__(self, server, n):
        self.transports = []
        try:
            for _ in range(n):
                t = paramiko.Transport(("127.0.0.1", server.port))
                self.transports.append(t)
                t.start_client(timeout=30)
                t.auth_password(server.user, server.password)
                chan = t.open_session(timeout=30)
                chan.settimeout(30)
                chan.get_pty(term="xterm", width=80, height=24)
                chan.invoke_shell()
                buf, deadline = b"", time.monotonic() + 30
                while not buf.rstrip().endswith((b"#", b"$")):
                    data = chan.recv(4096)
                    if not data or time.monotonic() > deadline:
                        raise EOFError(f"{server.name}: no prompt; got {buf[-200:]!r}")
                    buf += data
        except BaseException:
            self.close()
            raise

    def close(self):
        for t in self.transports:
            t.close()


def session_memory(server, n):
    """(KiB per session of the server's own processes, KiB per session of the shell side)."""
    server.settle()
    own0, apart0 = server.memory()
    mark = server.inst.mark() if isinstance(server, HermesServer) else None
    held = Held(server, n)
    try:
        time.sleep(1)
        own, apart = server.memory(mark)
    finally:
        held.close()
    return (own - own0) / n, (apart - apart0) / n


# ---------------------------------------------------------------------------------------------
# The run

FIGURES = [
    # key, label, unit, lower is better, target ratio, stretch ratio
    ("first", "connect → first shell byte, median", "ms", True, 1.0, 0.5),
    ("prompt", "connect → shell prompt, median", "ms", True, None, None),
    ("true", "`ssh host true`, median", "ms", True, 1.0, None),
    ("tput", "256 MiB exec → client (chacha20-poly1305)", "MB/s", False, 1.0, None),
    ("cpu", "server CPU per failed-login connection", "ms", True, 0.25, None),
    ("pss_pre", "PSS per connection before login", "KiB", True, 0.3, None),
    ("pss_sess", "PSS per logged-in session (server's own)", "KiB", True, 0.3, None),
    ("pss_apart", "… its shell side (Hermes: box + shim; others: user's shell)", "KiB", True,
     None, None),
]


def verdict(ratio, lower, target, stretch):
    if target is None or ratio is None:
        return "-"
    if lower:
        if ratio <= target:
            extra = ""
            if stretch is not None:
                extra = (f"; stretch ≤ {stretch}× met" if ratio <= stretch else
                         f"; stretch ≤ {stretch}× missed by {100 * (ratio / stretch - 1):.0f} %")
            return "yes" + extra
        return f"**no**: {100 * (ratio / target - 1):.0f} % over"
    if ratio >= target:
        return "yes"
    return f"**no**: {100 * (1 - ratio / target):.0f} % short"


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "KiB" or v >= 100:
        return f"{v:.0f}"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def table(results, names):
    cols = ["figure"] + names + ["hermes / sshd", "target", "met?"]
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for key, label, unit, lower, target, stretch in FIGURES:
        row = results.get(key, {})
        if not row:
            continue
        h, s = row.get("hermes"), row.get("sshd")
        ratio = h / s if h is not None and s else None
        tgt = "-" if target is None else (("≤ " if lower else "≥ ") + f"{target}×")
        out.append("| " + " | ".join([f"{label} ({unit})"] + [fmt(row.get(n), unit) for n in names]
                                     + ["-" if ratio is None else f"{ratio:.2f}×", tgt,
                                        verdict(ratio, lower, target, stretch)]) + " |")
    return "\n".join(out)


def interleaved(servers, n, sample, settle_all):
    """n samples of each server, turn about (the order rotating), each after a settle."""
    got = {s.name: [] for s in servers}
    for i in range(n):
        for s in servers[i % len(servers):] + servers[:i % len(servers)]:
            settle_all()
            got[s.name].append(sample(s))
    return got


def spread(xs):
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    return f"median {statistics.median(xs):.1f}, quartiles {q[0]:.1f}-{q[2]:.1f}, max {xs[-1]:.1f}"


def hermes_breakdown(hermes, mark, wall_starts):
    """Where Hermes's connect → shell time goes, by its own events: median ms from the client's
    connect start to each event. The k-th connection after `mark` is the k-th sample (Hermes's
    samples run one at a time and nothing else connects to it meanwhile)."""
    steps = ("session.connect", "client.version", "login.success", "session.pty",
             "session.shell")
    order, by_session = [], {}
    for e in hermes.inst.events(since=mark):
        sid = e.get("session")
        if e.get("event") == "session.connect":
            order.append(sid)
        if sid and e.get("event") in steps:
            by_session.setdefault(sid, {}).setdefault(e["event"], e["timestamp"])
    rows = {s: [] for s in steps}
    for sid, t0 in zip(order, wall_starts):
        for step, ts in by_session.get(sid, {}).items():
            t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            rows[step].append(1000 * (t - t0))
    return ", ".join(f"{s} {statistics.median(v):.0f}" for s, v in rows.items() if v)


def timed_shell(hermes, starts):
    """shell_timing, noting the wall-clock start of Hermes's samples for hermes_breakdown."""
    def sample(s):
        if s is hermes:
            starts.append(time.time())
        return shell_timing(s.port, s.user, s.password)
    return sample


def measure(servers, args, work):
    """Every figure for every server: ({figure: {server: value}}, notes)."""
    results, notes = {}, []
    hermes = next(s for s in servers if s.name == "hermes")

    def settle_all():
        for s in servers:
            s.settle()

    def shells():
        log(f"connect → shell, {args.runs} samples each")
        mark, starts = hermes.inst.mark(), []
        got = interleaved(servers, args.runs, timed_shell(hermes, starts), settle_all)
        results["first"] = {n: statistics.median([a for a, _ in v]) for n, v in got.items()}
        results["prompt"] = {n: statistics.median([b for _, b in v]) for n, v in got.items()}
        for n, v in got.items():
            notes.append(f"{n} connect → first byte, ms: {spread([a for a, _ in v])}; "
                         f"→ prompt: {spread([b for _, b in v])}")
        notes.append("hermes, ms from connect start to its events (medians): "
                     + hermes_breakdown(hermes, mark, starts))

    def trues():
        log(f"ssh host true, {args.runs} samples each")
        got = interleaved(servers, args.runs, ssh_true, settle_all)
        results["true"] = {n: statistics.median(v) for n, v in got.items()}
        notes.extend(f"{n} ssh true, ms: {spread(v)}" for n, v in got.items())

    def throughput():
        log(f"{args.mib} MiB exec, {args.tput_runs} runs each")
        got = interleaved(servers, args.tput_runs,
                          lambda s: exec_throughput(s, args.mib << 20, work), settle_all)
        results["tput"] = {n: statistics.median(v) for n, v in got.items()}
        notes.extend(f"{n} exec MB/s: " + ", ".join(f"{x:.0f}" for x in v)
                     for n, v in got.items())

    def cpu():
        log(f"CPU per failed login, {args.failed} connections each")
        results["cpu"] = {}
        for s in servers:
            settle_all()
            ms, wall, done = cpu_per_login(s.pid, s.port, args.failed, parallel=s.parallel)
            results["cpu"][s.name] = ms
            notes.append(f"{s.name} failed login: CPU {ms:.2f} ms per connection, over {done} "
                         f"of {args.failed} ({s.parallel} at a time; {wall:.0f} ms of wall time "
                         "each)")

    def memory():
        log(f"PSS: {args.held} connections before login, {args.sessions} sessions")
        for key in ("pss_pre", "pss_sess", "pss_apart"):
            results[key] = {}
        for s in servers:
            settle_all()
            kib, kept = held_connections(s.pid, s.port, args.held)
            results["pss_pre"][s.name] = kib
            notes.append(f"{s.name} PSS before login: {kib:.0f} KiB per connection, "
                         f"over {kept} held")
            settle_all()
            own, apart = session_memory(s, args.sessions)
            results["pss_sess"][s.name], results["pss_apart"][s.name] = own, apart
            notes.append(f"{s.name} PSS per logged-in session: own {own:.0f} KiB, "
                         f"shell side {apart:.0f} KiB ({args.sessions} held)")

    for name, step in (("shell", shells), ("true", trues), ("tput", throughput),
                       ("cpu", cpu), ("memory", memory)):
        if args.only and name not in args.only:
            continue
        try:
            step()
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as e:  # the other figures are still worth having
            log(f"{name} failed: {e!r}")
            notes.append(f"**{name} could not be measured**: {e!r}")
    settle_all()
    return results, notes


class PerfRecording:
    """`perf record -a -g` into DIR/perf.data, sampling only between enable() and disable()
    (perf's control FIFO), so that Hermes's settling between samples stays out of it."""

    def __init__(self, out, monitor_pid):
        self.out, self.monitor_pid = out, monitor_pid
        out.mkdir(parents=True, exist_ok=True)
        ctl, ack = out / "perf.ctl", out / "perf.ack"
        for f in (ctl, ack):
            with contextlib.suppress(FileNotFoundError):
                f.unlink()
            os.mkfifo(f)
        with open(out / "perf.log", "wb") as err:
            self.proc = subprocess.Popen(["perf", "record", "-a", "-g", "-D", "-1",
                                          "-o", str(out / "perf.data"),
                                          f"--control=fifo:{ctl},{ack}"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=err)
        # Opened without blocking, so that a perf that failed to start cannot hang us here.
        deadline = time.monotonic() + 30
        while True:
            try:
                fd = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("perf record did not start: "
                                       + (out / "perf.log").read_text()[-500:])
                time.sleep(0.05)
        os.set_blocking(fd, True)
        self.ctl = os.fdopen(fd, "w")
        fd = os.open(ack, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        self.ack = os.fdopen(fd, "r")

    def _cmd(self, word):
        self.ctl.write(word + "\n")
        self.ctl.flush()
        self.ack.readline()

    def enable(self):
        self._cmd("enable")

    def disable(self):
        self._cmd("disable")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.ctl.close()
        self.ack.close()
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=120)
        self.summary = summarize(self.out / "perf.data", self.monitor_pid)
        (self.out / "summary.txt").write_text(self.summary)


def profile(hermes, args, out):
    """Hermes alone under perf: its connect → shell loop (out/shell/), its failed logins
    (out/failed/) and one exec's output (out/exec/); docs/performance.md's "where the time
    goes" comes from these."""
    starts, times, mark = [], [], hermes.inst.mark()
    with PerfRecording(out / "shell", hermes.pid) as shell:
        for _ in range(args.runs):
            hermes.settle()
            shell.enable()
            starts.append(time.time())
            times.append(shell_timing(hermes.port, hermes.user, hermes.password))
            shell.disable()
    print(f"Hermes under perf: connect → first byte median "
          f"{statistics.median([a for a, _ in times]):.0f} ms, → prompt "
          f"{statistics.median([b for _, b in times]):.0f} ms ({args.runs} samples)")
    print("ms from connect start to Hermes's events (medians): "
          + hermes_breakdown(hermes, mark, starts))
    hermes.settle()
    with PerfRecording(out / "failed", hermes.pid) as rec:
        rec.enable()
        c0 = time.monotonic()
        done = failed_logins(hermes.port, args.failed, PARALLEL)
        rec.disable()
    print(f"{done} failed logins in {time.monotonic() - c0:.1f} s under perf")
    hermes.settle()
    with PerfRecording(out / "exec", hermes.pid) as exe:
        exe.enable()
        mbs = exec_throughput(hermes, args.mib << 20, out)
        exe.disable()
    print(f"{args.mib} MiB exec under perf: {mbs:.0f} MB/s")
    print(f"\n== connect → shell loop (sampled only while a connection was under way)\n"
          f"{shell.summary}\n== failed logins\n{rec.summary}\n== {args.mib} MiB exec\n"
          f"{exe.summary}\n(perf.data and summary.txt in {out}/shell, /failed, /exec)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary", nargs="?", default=str(hermes_bin()))
    ap.add_argument("--runs", type=int, default=15, help="samples of the latency figures (15)")
    ap.add_argument("--failed", type=int, default=120, help="failed-login connections (120)")
    ap.add_argument("--held", type=int, default=10,
                    help="connections held before login (10: stock MaxStartups' start)")
    ap.add_argument("--sessions", type=int, default=POOL, help=f"sessions held ({POOL})")
    ap.add_argument("--mib", type=int, default=256, help="MiB of the exec (256)")
    ap.add_argument("--tput-runs", type=int, default=3, help="exec runs (3)")
    ap.add_argument("--no-dropbear", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    ap.add_argument("--only", type=lambda v: v.split(","),
                    help="some of the figures: shell,true,tput,cpu,memory")
    ap.add_argument("--profile", metavar="DIR", type=Path,
                    help="only Hermes, under perf record -a -g; reports into DIR")
    args = ap.parse_args()
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # dropbear's refusals: expected
    if os.geteuid() != 0:
        sys.exit("versus_sshd: run as root (it starts sshd and adds a user for the run)")

    # The first signal ends the run; later ones are ignored so that they cannot cut the clean-up
    # short (every step of it is bounded).
    caught = [s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
              if signal.getsignal(s) is not signal.SIG_IGN]

    def interrupted(signum, frame):
        for s in caught:
            signal.signal(s, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)
    for s in caught:
        signal.signal(s, interrupted)

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="hermes-versus-"))
    servers = []
    try:
        with contextlib.ExitStack() as stack:
            if args.keep:
                log(f"keeping {work}")
            else:
                stack.callback(shutil.rmtree, work, ignore_errors=True)
            hermes = HermesServer(work, Path(args.binary).resolve())
            stack.callback(hermes.stop)
            log("starting Hermes, waiting for its pool")
            hermes.start()
            if args.profile:
                if not shutil.which("perf"):
                    sys.exit("versus_sshd: --profile needs perf (Debian: linux-perf)")
                profile(hermes, args, args.profile.resolve())
                return
            user = stack.enter_context(BenchUser())
            sshd = Sshd(work, user)
            stack.callback(sshd.stop)
            sshd.start()
            servers = [sshd, hermes]
            if not args.no_dropbear and shutil.which("dropbear"):
                db = Dropbear(work, user)
                stack.callback(db.stop)
                servers.append(db.start())
            for s in servers:
                log(f"{s.name}: port {s.port}, {s.version}")
            results, notes = measure(servers, args, work)
            names = [s.name for s in servers]
            print()
            print(table(results, names))
            print()
            for n in notes:
                print("- " + n)
            hermes.version = f"Hermes, channels by {hermes.transports()}, pool {POOL}, recording on"
            print(f"- run took {time.monotonic() - started:.0f} s; {os.cpu_count()} CPUs; "
                  + ", ".join(f"{s.name}: {s.version}" for s in servers))
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); everything this run started was stopped")
        sys.exit(130)


if __name__ == "__main__":
    main()
