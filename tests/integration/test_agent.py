"""The session agent in the box (src/agent/, the image's /usr/sbin/sshd; docs/agent-protocol.md),
spoken to directly with agent_client.py, without Hermes: a box from the target image with network
"none", the client's socket made inside the box's network namespace and connected to
127.0.0.1:22 there, as Hermes does. Needs root (setns) and the image built by
scripts/build-images.sh. HERMES_AGENT_BIN=build-asan/hermes-agent runs another build of the agent
(meson's, with sanitizers) in the box instead of the image's.

Checks the login as a shell sees it (tty, process titles and tree, environment, limits, login
uid, utmp/wtmp/lastlog, auth.log, MOTD and "Last login"), exit statuses and signals, flow control
with small windows both ways, stderr kept apart, SIGNAL, several channels at once, CLOSE, and that
a protocol error ends one connection while the listener goes on serving.
"""

import hashlib
import os
import re
import struct
import time
import uuid

import pytest

from agent_client import (CLOSE, DATA, KIND_EXEC, KIND_SHELL, KIND_SUBSYSTEM, AgentClient,
                          VERSION, connect_in_netns, frame, hello_payload)
from hermes_helpers import IMAGE, docker

CLIENT = ("198.51.100.23", 41022)
SERVER = ("172.17.0.5", 22)


class Box:
    def __init__(self, name, pid):
        self.name = name
        self.pid = pid

    def connect(self, timeout=30, **kw):
        return AgentClient(connect_in_netns(self.pid), timeout=timeout, **kw)

    def login(self, **kw):
        kw.setdefault("client", CLIENT)
        kw.setdefault("server", SERVER)
        c = self.connect()
        assert c.hello(**kw) == VERSION
        return c

    def sh(self, command):
        r = docker("exec", self.name, "sh", "-c", command)
        assert r.returncode == 0, r.stderr
        return r.stdout


def _start_box():
    if os.geteuid() != 0:
        pytest.fail("test_agent needs root (setns into the box's network namespace)",
                    pytrace=False)
    name = f"hermes-agent-test-{uuid.uuid4().hex[:12]}"
    # HERMES_AGENT_BIN: another build of the agent (say meson's with sanitizers) in place of the
    # image's, copied in before the box starts; sanitizer reports go to `docker logs`.
    agent = os.environ.get("HERMES_AGENT_BIN")
    env = ["-e", "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1",
           "-e", "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"] if agent else []
    # The image boots with systemd, which needs what Hermes gives its boxes (hermes-runtime's
    # cgroup); the agent alone needs an init that starts it and reaps its orphans, and sends
    # its stderr (a sanitizer's report) to the container's log.
    init = ["/bin/bash", "-c", "mkdir -p -m 755 /run/sshd; /usr/sbin/sshd -D & "
            "trap 'exit 0' TERM; while :; do sleep 86400 & wait $!; done"]
    r = docker("create", "--network", "none", "--name", name, *env, IMAGE, *init)
    if r.returncode != 0:
        pytest.fail(f"docker create {IMAGE} failed: {r.stderr.strip()}", pytrace=False)
    if agent:
        r = docker("cp", agent, f"{name}:/usr/sbin/sshd")
        assert r.returncode == 0, r.stderr
    r = docker("start", name)
    if r.returncode != 0:
        docker("rm", "-f", name)
        pytest.fail(f"docker start {name} failed: {r.stderr.strip()}", pytrace=False)
    r = docker("inspect", "-f", "{{.State.Pid}}", name)
    box = Box(name, int(r.stdout.strip()))
    # The listener starts with the box's init: wait until it accepts.
    deadline = time.monotonic() + 20
    while True:
        try:
            connect_in_netns(box.pid).close()
            return box
        except OSError:
            if time.monotonic() > deadline:
                docker("rm", "-f", name)
                pytest.fail("the agent never listened on 127.0.0.1:22 in the box", pytrace=False)
            time.sleep(0.1)


def _end_box(b):
    """Removes the box; fails if the agent wrote a sanitizer report (or anything) to its log."""
    logs = docker("logs", b.name)
    docker("rm", "-f", b.name)
    report = (logs.stdout + logs.stderr).strip()
    assert "Sanitizer" not in report and "runtime error" not in report, report[-4000:]


@pytest.fixture(scope="module")
def box(request, docker_ready):
    b = _start_box()
    yield b
    _end_box(b)


@pytest.fixture
def fresh_box(request, docker_ready):
    b = _start_box()
    yield b
    _end_box(b)


def clean(out):
    """A pty's output without CRs and terminal escapes (bash's bracketed-paste switches)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", bytes(out).decode(errors="replace")
                  .replace("\r", ""))


def shell_until(c, ch, marker, timeout=20):
    """Waits for marker in a pty's output (with its CRs removed); returns clean(output)."""
    m = marker.encode()
    c.until(lambda: m in ch.out.replace(b"\r", b"") or ch.exit is not None, timeout)
    assert m in ch.out.replace(b"\r", b""), ch.out.decode(errors="replace")
    return clean(ch.out)


# ---------------------------------------------------------------------------------------------
# Login and the shell's world

def test_listener_title_and_hello(box):
    out = box.sh("ps -o pid=,ppid=,args= -C sshd")
    assert re.search(r"^\s*\d+\s+1\s+sshd: /usr/sbin/sshd -D \[listener\] 0 of 10-100 startups$",
                     out, re.M), out
    c = box.login()
    c.close()


def test_image_names_its_agents_protocol():
    """The image says which protocol its agent speaks (the monitor uses docker exec for any
    other): this build's."""
    r = docker("image", "inspect", "-f", '{{ index .Config.Labels "hermes.agent_protocol" }}',
               IMAGE)
    assert r.returncode == 0 and r.stdout.strip() == str(VERSION), (r.stdout, r.stderr)


def test_hello_with_another_version_is_refused(box):
    c = box.connect(timeout=10)
    c.send(frame(1, 0, hello_payload(version=VERSION - 1)))
    with pytest.raises(ConnectionError):
        c.until(lambda: False, timeout=10)
    c.close()


def test_pty_shell_looks_like_sshd(fresh_box):
    box = fresh_box
    c = box.login(failures=[(1700000000, "admin", "password"),
                            (1700000001, "oracle", "password"),
                            (1700000002, "root", "publickey")])
    ch = c.open(KIND_SHELL, pty=True, cols=120, rows=40,
                env=[("LANG", "C.UTF-8"), ("LC_TIME", "C"), ("FOO", "bar"), ("LC_X-Y", "no")])
    assert ch.opened, ch.fail_message
    shell_until(c, ch, "# ")
    c.data(ch, b"tty; echo T=$SSH_TTY; echo P=$(ps -o ppid=,args= -p $$); "
                b"echo PP=$(ps -o ppid=,args= -p $PPID); "
                b"echo L=$(ps -o args= -p $(ps -o ppid= -p $PPID)); stty size; "
                b"echo N=$(ulimit -n) H=$(ulimit -Hn); echo U=$(cat /proc/self/loginuid); "
                b"echo M=$(umask); pwd; env | sort | sed 's/^/E:/'; who; echo END-$((6*7))\n")
    out = shell_until(c, ch, "END-42\n")
    lines = out.splitlines()
    assert "/dev/pts/0" in lines
    assert "T=/dev/pts/0" in lines
    # The shell is "-bash", child of "sshd: root@pts/0", child of the listener.
    assert any(re.match(r"^P=\s*\d+ -bash$", ln) for ln in lines), out
    assert any(re.match(r"^PP=\s*\d+ sshd: root@pts/0$", ln) for ln in lines), out
    assert "L=sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups" in lines, out
    assert "40 120" in lines
    assert "U=0" in lines
    n = next(ln for ln in lines if ln.startswith("N="))
    assert n.split()[0] == "N=1024", n
    assert "M=0022" in lines
    assert "/root" in lines
    env = dict(ln[2:].split("=", 1) for ln in lines if ln.startswith("E:") and "=" in ln)
    assert "HOSTNAME" not in env
    assert env["SSH_CONNECTION"] == "198.51.100.23 41022 172.17.0.5 22"
    assert env["SSH_CLIENT"] == "198.51.100.23 41022 22"
    assert env["SSH_TTY"] == "/dev/pts/0"
    assert env["TERM"] == "xterm-256color"
    assert env["USER"] == env["LOGNAME"] == "root"
    assert env["HOME"] == "/root" and env["SHELL"] == "/bin/bash"
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert env["MAIL"] == "/var/mail/root"
    assert env["XDG_SESSION_TYPE"] == "tty" and env["XDG_SESSION_CLASS"] == "user"
    assert env["XDG_RUNTIME_DIR"] == "/run/user/0"
    assert env["XDG_SESSION_ID"].isdigit()
    assert env["MOTD_SHOWN"] == "pam"
    assert env["LANG"] == "C.UTF-8" and env["LC_TIME"] == "C"
    assert "FOO" not in env and "LC_X-Y" not in env
    assert any(ln.split()[:2] == ["root", "pts/0"] and "(198.51.100.23)" in ln
               for ln in lines), out
    # The MOTD came before the prompt; a first login has no "Last login".
    assert "Authorized access only" in out.split("# ")[0]
    assert "Last login" not in out

    c.resize(ch, 100, 30)
    c.data(ch, b"stty size; exit 3\n")
    assert c.wait_exit(ch) == ("status", 3)
    assert "30 100" in clean(ch.out).splitlines()
    assert ch.eof
    assert [t for t, _ in ch.frames if t not in ("DATA",)][-2:] == ["EOF", "EXIT"]
    c.close()

    # What the box's records say now.
    time.sleep(0.5)
    auth = box.sh("cat /var/log/auth.log")
    stamp = r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ sshd\[\d+\]: "
    assert re.search(stamp + r"Failed password for admin from 198\.51\.100\.23 port 41022 ssh2$",
                     auth, re.M), auth
    assert re.search(stamp + r"Failed password for invalid user oracle from 198\.51\.100\.23 "
                     r"port 41022 ssh2$", auth, re.M), auth
    assert "publickey for root" not in auth.replace("Accepted publickey", "")
    assert re.search(stamp + r"Accepted password for root from 198\.51\.100\.23 port 41022 ssh2$",
                     auth, re.M), auth
    assert re.search(stamp + r"pam_unix\(sshd:session\): session opened for user root\(uid=0\) "
                     r"by \(uid=0\)$", auth, re.M), auth
    assert re.search(stamp + r"pam_unix\(sshd:session\): session closed for user root$",
                     auth, re.M), auth
    assert box.sh("stat -c %a /var/log/auth.log").strip() == "640"
    last = box.sh("last -w")
    assert re.search(r"^root\s+pts/0\s+198\.51\.100\.23\s", last, re.M), last
    lastb = box.sh("lastb -w")
    assert re.search(r"^oracle\s+ssh:notty\s+198\.51\.100\.23\s", lastb, re.M), lastb
    assert re.search(r"^admin\s+ssh:notty\s+198\.51\.100\.23\s", lastb, re.M), lastb
    assert "root" not in lastb.split("btmp begins")[0]  # the publickey refusal is no failure
    assert box.sh("who").strip() == ""  # the session's utmp entry is dead

    # A second login is told about the first.
    c = box.login()
    ch = c.open(KIND_SHELL, pty=True)
    out = shell_until(c, ch, "# ")
    assert re.search(r"^Last login: [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} "
                     r"from 198\.51\.100\.23$", out, re.M), out
    c.close_channel(ch)
    assert c.wait_exit(ch) == ("signal", 1, False)
    c.close()


def auth_stamp(fmt, when, usec=0):
    if fmt == "rfc3339":
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{usec:06d}+00:00"
    return time.strftime("%b %e %H:%M:%S", time.gmtime(when))


@pytest.mark.parametrize("fmt", ["rfc3339", "traditional"])
def test_earlier_connections_failures_go_in_at_their_time(fresh_box, fmt):
    """HELLO's failures of earlier connections (a run of one client port each) are written into
    auth.log at their place among the file's lines, in its format, stamped with their own times,
    as that connection's sshd: its port, one PID a few below the next connection's, and its
    close; this connection's own go at the end, as they happen."""
    box = fresh_box
    now = int(box.sh("date +%s"))
    old = [(now - 600, "CRON[100]: a"), (now - 100, "CRON[200]: b"), (now - 10, "CRON[300]: c")]
    text = "".join(f"{auth_stamp(fmt, t, 5)} prod-web-01 {m}\n" for t, m in old)
    box.sh(f"printf '%s' '{text}' > /var/log/auth.log")
    c = box.login(failures=[(now - 300, "adm1", "password", 40001),
                            (now - 299, "adm1", "password", 40001),
                            (now - 50, "root", "password", 40007),
                            (now - 2, "guest", "password")])
    c.close()
    time.sleep(0.5)
    lines = box.sh("cat /var/log/auth.log").splitlines()
    msg = [re.sub(r"^\S+( +\d+ \S+)? \S+ ", "", ln) for ln in lines]
    sshd = [re.sub(r"^sshd\[\d+\]: ", "", m) for m in msg]
    pid = [int(m[1]) if (m := re.match(r"sshd\[(\d+)\]: ", x)) else None for x in msg]
    adm1 = ["Invalid user adm1 from 198.51.100.23 port 40001",
            "pam_unix(sshd:auth): check pass; user unknown",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
            "rhost=198.51.100.23",
            "Failed password for invalid user adm1 from 198.51.100.23 port 40001 ssh2",
            "pam_unix(sshd:auth): check pass; user unknown",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
            "rhost=198.51.100.23",
            "Failed password for invalid user adm1 from 198.51.100.23 port 40001 ssh2",
            "Connection closed by invalid user adm1 198.51.100.23 port 40001 [preauth]"]
    root = ["pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
            "rhost=198.51.100.23  user=root",
            "Failed password for root from 198.51.100.23 port 40007 ssh2",
            "Connection closed by authenticating user root 198.51.100.23 port 40007 [preauth]"]
    assert sshd[:1 + 8 + 1 + 3 + 1] == ["CRON[100]: a", *adm1, "CRON[200]: b", *root,
                                        "CRON[300]: c"], lines
    assert sshd[14] == "Invalid user guest from 198.51.100.23 port 41022", lines
    assert any(x.startswith("Accepted password for root") for x in sshd[14:]), lines
    # Each line's own time, in the file's format.
    for i, t in [(1, now - 300), (4, now - 300), (7, now - 299), (8, now - 299), (10, now - 50),
                 (12, now - 50)]:
        assert lines[i].startswith(auth_stamp(fmt, t)[:19 if fmt == "rfc3339" else 15]), lines
    if fmt == "rfc3339":
        assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 ", ln)
                   for ln in lines), lines
    else:
        assert all(re.match(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ", ln) for ln in lines), lines
    # One PID per connection, climbing with them.
    assert len(set(pid[1:9])) == 1 and len(set(pid[10:13])) == 1, lines
    assert pid[1] < pid[10] < pid[14], lines
    # btmp has every failure, with its connection's PID.
    lastb = box.sh("lastb -w")
    assert len(re.findall(r"^adm1\s+ssh:notty\s+198\.51\.100\.23\s", lastb, re.M)) == 2, lastb


def test_earlier_failures_never_go_into_what_hermes_keeps(fresh_box):
    """The part of auth.log Hermes's collection holds as the box had it at ready (HELLO's
    auth_log_kept) is never rewritten: an earlier connection's lines older than its last line
    go right after it, so that the log only grows and is not reported as altered."""
    box = fresh_box
    now = int(box.sh("date +%s"))
    old = [(now - 600, "CRON[100]: a"), (now - 100, "CRON[200]: b"), (now - 10, "CRON[300]: c")]
    text = "".join(f"{auth_stamp('rfc3339', t, 5)} prod-web-01 {m}\n" for t, m in old)
    box.sh(f"printf '%s' '{text}' > /var/log/auth.log")
    kept = len(text.splitlines(keepends=True)[0]) + len(text.splitlines(keepends=True)[1]) - 5
    c = box.login(failures=[(now - 300, "adm1", "password", 40001)], auth_log_kept=kept)
    c.close()
    time.sleep(0.5)
    data = box.sh("cat /var/log/auth.log")
    # The kept bytes as they were, the cut inside the second line taking that line along.
    assert data.startswith(text.splitlines(keepends=True)[0] + text.splitlines(keepends=True)[1])
    msg = [re.sub(r"^\S+ \S+ (sshd\[\d+\]: )?", "", ln) for ln in data.splitlines()]
    assert msg[:7] == ["CRON[100]: a", "CRON[200]: b",
                       "Invalid user adm1 from 198.51.100.23 port 40001",
                       "pam_unix(sshd:auth): check pass; user unknown",
                       "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
                       "tty=ssh ruser= rhost=198.51.100.23",
                       "Failed password for invalid user adm1 from 198.51.100.23 port 40001 ssh2",
                       "Connection closed by invalid user adm1 198.51.100.23 port 40001 [preauth]"
                       ], data
    assert msg[7] == "CRON[300]: c", data


def test_connections_before_the_boxs_boot_are_left_out(fresh_box):
    """An earlier connection that began before the box's boot (its /proc/stat btime, what
    `uptime -s` and `who -b` read) has no place in its logs: its lines would have to go before
    the boot's, into what Hermes keeps. It is left out of auth.log and btmp alike; a connection
    after the boot goes in."""
    box = fresh_box
    now = int(box.sh("date +%s"))
    btime = int(re.search(r"^btime (\d+)$", box.sh("cat /proc/stat"), re.M)[1])
    c = box.login(failures=[(btime - 120, "adm1", "password", 40001),
                            (btime + 5, "adm1", "password", 40001),
                            (now - 50, "oracle", "password", 40007)])
    c.close()
    time.sleep(0.5)
    log = box.sh("cat /var/log/auth.log")
    assert "port 40001" not in log, log
    assert "Failed password for invalid user oracle from 198.51.100.23 port 40007 ssh2" in log, log
    lastb = box.sh("lastb -w")
    assert "adm1" not in lastb, lastb
    assert re.search(r"^oracle\s+ssh:notty\s+198\.51\.100\.23\s", lastb, re.M), lastb


def test_exec_has_no_pty_and_notty_title(box):
    c = box.login()
    ch = c.run("tty; tr '\\0' '|' < /proc/$PPID/cmdline; echo; echo $$ $(ps -o sid= -p $$); "
               "echo TERM=$(printenv TERM || echo unset) MOTD=${MOTD_SHOWN-unset}; "
               "cat /proc/self/loginuid")
    assert ch.exit == ("status", 0), ch.err
    lines = ch.out.decode().splitlines()
    assert lines[0] == "not a tty"
    assert lines[1].rstrip("|") == "sshd: root@notty"
    pid, sid = lines[2].split()
    assert pid == sid  # the command leads its own session
    assert lines[3] == "TERM=unset MOTD=unset"
    assert lines[4] == "0"
    assert "Authorized access" not in ch.out.decode()
    c.close()


def test_admin_user_runs_as_admin(box):
    c = box.login(user="admin")
    ch = c.run("id -un; echo $HOME $PATH; pwd")
    assert ch.exit == ("status", 0), ch.err
    assert ch.out.decode().splitlines() == [
        "admin", "/home/admin /usr/local/bin:/usr/bin:/bin:/usr/games", "/home/admin"]
    c.close()


def test_user_the_box_lacks_runs_as_root(box):
    c = box.login(user="oracle", method="keyboard-interactive")
    ch = c.run("id -un; echo $USER $HOME; tr '\\0' '|' < /proc/$PPID/cmdline")
    lines = ch.out.decode().splitlines()
    assert lines[:2] == ["root", "root /root"]
    assert lines[2].rstrip("|") == "sshd: root@notty"  # NUL-padded, as sshd's title
    c.close()
    auth = box.sh("cat /var/log/auth.log")
    assert re.search(r"sshd\[\d+\]: Accepted keyboard-interactive/pam for root from "
                     r"198\.51\.100\.23 port 41022 ssh2$", auth, re.M), auth


def test_many_connections_at_once(box):
    clients = [box.login() for _ in range(30)]
    chans = [(c, c.open(KIND_EXEC, command=f"echo n{i}")) for i, c in enumerate(clients)]
    for i, (c, ch) in enumerate(chans):
        assert c.wait_exit(ch) == ("status", 0)
        assert ch.out == f"n{i}\n".encode()
        c.close()
    ids = set()
    for _ in range(3):
        c = box.login()
        ids.add(bytes(c.run("echo $XDG_SESSION_ID").out))
        c.close()
    assert len(ids) == 3  # each connection its own session id


# ---------------------------------------------------------------------------------------------
# Exit status, signals, streams

def test_exit_status_and_signal(box):
    c = box.login()
    assert c.run("exit 3").exit == ("status", 3)
    assert c.run("kill -TERM $$").exit == ("signal", 15, False)
    assert c.run("kill -KILL $$").exit == ("signal", 9, False)
    assert c.run("exit 0").exit == ("status", 0)
    c.close()


def test_stderr_is_separate(box):
    c = box.login()
    ch = c.run("echo out; echo err >&2; echo out2")
    assert ch.out == b"out\nout2\n"
    assert ch.err == b"err\n"
    assert ch.exit == ("status", 0)
    c.close()


def test_signal_frame(box):
    c = box.login()
    ch = c.open(KIND_EXEC, command="sleep 100")
    time.sleep(0.3)
    c.signal(ch, "INT")
    assert c.wait_exit(ch, timeout=10) == ("signal", 2, False)
    ch = c.open(KIND_EXEC, command="trap 'echo got-usr1; exit 7' USR1; sleep 100 & wait")
    time.sleep(0.3)
    c.signal(ch, "NOSUCH")  # unknown names are ignored
    c.signal(ch, "USR1")
    assert c.wait_exit(ch, timeout=10) == ("status", 7)
    assert ch.out == b"got-usr1\n"
    c.close()


def test_megabyte_round_trip_with_small_windows(box):
    payload = bytes((i * 7 + i // 251) & 0xff for i in range(1 << 20))
    c = box.login()
    c.timeout = 120
    ch = c.open(KIND_EXEC, command="cat", window=4096)
    assert ch.opened
    c.data(ch, payload)
    c.eof(ch)
    assert c.wait_exit(ch, timeout=120) == ("status", 0)
    assert len(ch.out) == len(payload)
    assert hashlib.sha256(ch.out).digest() == hashlib.sha256(payload).digest()
    # The client fails on any frame over its credit; 4096 was all it ever gave at once.
    assert max(n for t, n in ch.frames if t == "DATA") <= 4096

    ch = c.open(KIND_EXEC, command="wc -c", window=4096)
    c.data(ch, payload)
    c.eof(ch)
    assert c.wait_exit(ch, timeout=120) == ("status", 0)
    assert ch.out.decode().strip() == str(1 << 20)
    c.close()


def test_agent_waits_for_credit(box):
    """With no WINDOW from the client, the agent stops at the credit it was given."""
    c = box.connect(auto_window=False)
    c.hello()
    ch = c.open(KIND_EXEC, command="head -c 100000 /dev/zero; echo done >&2", window=1000)
    time.sleep(1.0)
    c.poll(0.2)
    assert len(ch.out) + len(ch.err) == 1000
    assert ch.exit is None
    c.window(ch, 1 << 20)
    c.until(lambda: len(ch.out) + len(ch.err) >= 1000 + 99000 + 5, timeout=20)
    c.window(ch, 1 << 20)
    assert c.wait_exit(ch) == ("status", 0)
    assert len(ch.out) == 100000 and ch.err == b"done\n"
    c.close()


def test_two_channels_at_once(box):
    c = box.login()
    a = c.open(KIND_EXEC, command="read x; echo A$x")
    b = c.open(KIND_EXEC, command="echo B; sleep 0.2; echo B2")
    assert c.wait_exit(b) == ("status", 0)
    assert a.exit is None
    c.data(a, b"1\n")
    c.eof(a)
    assert c.wait_exit(a) == ("status", 0)
    assert a.out == b"A1\n" and b.out == b"B\nB2\n"
    # Ptys at once: the connection's title lists them.
    p1 = c.open(KIND_SHELL, pty=True)
    p2 = c.open(KIND_SHELL, pty=True)
    shell_until(c, p1, "# ")
    shell_until(c, p2, "# ")
    c.data(p2, b"tr '\\0' '|' < /proc/$PPID/cmdline; echo; echo END-$((1+1))\n")
    out = shell_until(c, p2, "END-2\n")
    assert re.search(r"sshd: root@pts/\d+,pts/\d+\|", out), out
    c.data(p1, b"exit\n")
    c.data(p2, b"exit 5\n")
    assert c.wait_exit(p1) == ("status", 0)
    assert c.wait_exit(p2) == ("status", 5)
    c.close()


def test_close_hangs_up(box):
    c = box.login()
    sh = c.open(KIND_SHELL, pty=True)
    shell_until(c, sh, "# ")
    cat = c.open(KIND_EXEC, command="cat")
    c.data(cat, b"partial")
    c.close_channel(sh)
    c.close_channel(cat)
    assert c.wait_exit(sh) == ("signal", 1, False)
    # cat ends at the EOF of its input, or, when it had not yet written "partial" back before
    # the close took its output away, of SIGPIPE (as under sshd); either way it ends.
    assert c.wait_exit(cat) in (("status", 0), ("signal", 13, False))
    # Frames for the ended channels are ignored: the connection goes on.
    c.send(frame(CLOSE, sh.id))
    c.send(frame(DATA, cat.id, b"late"))
    assert c.run("echo still").out == b"still\n"
    c.close()


def test_subsystems(box):
    c = box.login()
    bad = c.open(KIND_SUBSYSTEM, command="nosuch")
    assert bad.opened is False
    sftp = c.open(KIND_SUBSYSTEM, command="sftp")
    assert sftp.opened
    # SSH_FXP_INIT version 3 -> SSH_FXP_VERSION.
    c.data(sftp, struct.pack(">IBI", 5, 1, 3))
    c.until(lambda: len(sftp.out) >= 9)
    assert sftp.out[4] == 2  # SSH_FXP_VERSION
    c.eof(sftp)
    assert c.wait_exit(sftp) == ("status", 0)
    c.close()


def test_pty_shell_ends_despite_a_background_job(box):
    """The shell's exit ends a pty channel even while a job it left holds the terminal."""
    c = box.login()
    sh = c.open(KIND_SHELL, pty=True)
    shell_until(c, sh, "# ")
    c.data(sh, b"sleep 60 & echo started-$((3*3))\n")
    shell_until(c, sh, "started-9")
    t0 = time.monotonic()
    c.data(sh, b"exit 4\n")
    assert c.wait_exit(sh, timeout=10) == ("status", 4)
    assert time.monotonic() - t0 < 5
    assert "logout" in clean(sh.out)
    c.close()


def test_silent_connection_is_dropped_after_ten_seconds(box):
    c = box.connect(timeout=30)
    t0 = time.monotonic()
    with pytest.raises(ConnectionError):
        c.until(lambda: False, timeout=20)
    assert 9 <= time.monotonic() - t0 < 15
    c.close()


def test_pty_eof_is_ignored_and_pipe_eof_closes_stdin(box):
    c = box.login()
    sh = c.open(KIND_SHELL, pty=True)
    shell_until(c, sh, "# ")
    c.eof(sh)
    c.data(sh, b"echo alive-$((2+3))\n")
    shell_until(c, sh, "alive-5")
    c.data(sh, b"exit\n")
    assert c.wait_exit(sh) == ("status", 0)
    ch = c.run("cat; echo after-eof", stdin=b"in\n")
    assert ch.out == b"in\nafter-eof\n"
    c.close()


# ---------------------------------------------------------------------------------------------
# Protocol errors end the connection, not the listener

@pytest.mark.parametrize("garbage", [
    b"\xff" * 16,                                      # a huge length
    frame(99, 1),                                      # an unknown type
    frame(11, 0, b"x"),                                # DATA on channel 0
    frame(6, 0, struct.pack(">I", 1)),                 # a frame only the agent sends
    frame(1, 0, b"\0\0\0\1"),                          # HELLO again, cut short
])
def test_garbage_drops_connection_listener_survives(box, garbage):
    c = box.login()
    sh = c.open(KIND_EXEC, command="sleep 100")
    c.send(garbage)
    with pytest.raises(ConnectionError):
        c.until(lambda: False, timeout=10)
    c.close()
    c = box.login()
    assert c.run("echo fine").out == b"fine\n"
    c.close()
    assert sh.exit is None


def test_data_over_credit_drops_connection(box):
    c = box.login()
    ch = c.open(KIND_EXEC, command="sleep 100", window=4096)
    # sleep reads nothing: beyond the pipe's buffer (whose bytes the agent gives back as
    # WINDOWs, unread here) no credit comes back.
    credit = ch.credit + (1 << 20)
    chunk = b"x" * 32768
    sent = 0
    with pytest.raises(ConnectionError):
        while sent <= credit:
            c.send(frame(DATA, ch.id, chunk))
            sent += len(chunk)
        c.until(lambda: False, timeout=10)
    c.close()
    assert box.login().run("echo ok").out == b"ok\n"


def test_connection_end_hangs_up_the_shell(box):
    c = box.login()
    sh = c.open(KIND_SHELL, pty=True)
    shell_until(c, sh, "# ")
    c.data(sh, b"echo PID=$$\n")
    out = shell_until(c, sh, "PID=")
    c.until(lambda: re.search(rb"PID=\d+\r\n", sh.out) is not None)
    pid = re.search(r"PID=(\d+)\n", sh.out.decode().replace("\r", "")).group(1)
    c.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if docker("exec", box.name, "test", "-d", f"/proc/{pid}").returncode != 0:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the shell {pid} outlived its connection: {out}")


def test_nothing_but_hello_first(box):
    c = box.connect(timeout=10)
    c.send(frame(2, 1, b""))  # OPEN before HELLO (and malformed)
    with pytest.raises(ConnectionError):
        c.until(lambda: False, timeout=10)
    c.close()
