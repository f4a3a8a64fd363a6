"""Checks of the suite's own helpers on fake data and a fake daemon: no Hermes, no Docker.
If these fail, a red Hermes test may be the suite's fault."""

import base64
import json
import socket
import subprocess
import sys
import textwrap
import threading

import paramiko
import pytest

from hermes_helpers import DELETE, Hermes, HermesStartError, Tmux, asciinema_cat, base_config, \
    clean_tty_text, deep_merge, event_matches, parse_asciicast, parse_event_lines, \
    read_until_closed, sha256_fingerprint, ssh_keygen_fingerprint, stderr_trouble, to_yaml, \
    wait_for, yaml_scalar
import hermes_helpers


def test_deep_merge_replaces_and_deletes():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 4}
    out = deep_merge(base, {"a": {"c": [3], "e": 5}, "d": DELETE})
    assert out == {"a": {"b": 1, "c": [3], "e": 5}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 4}


def test_yaml_scalars():
    assert yaml_scalar(True) == "true"
    assert yaml_scalar(60) == "60"
    assert yaml_scalar("/srv/hermes/keys") == "/srv/hermes/keys"
    assert yaml_scalar("OpenSSH_8.9p1 Ubuntu-3ubuntu0.10") == "OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"
    # Would be read as a bool, a number, or a comment: quoted.
    assert yaml_scalar("yes") == '"yes"'
    assert yaml_scalar("0.5") == '"0.5"'
    assert yaml_scalar("a #b") == '"a #b"'
    assert yaml_scalar("no-new-privileges:true") == "no-new-privileges:true"
    assert yaml_scalar("") == '""'


def test_to_yaml_layout():
    cfg = {"server": {"port": 2222, "banner": "x y"},
           "authentication": {"static_credentials": [{"username": "root", "password": "toor"},
                                                     {"username": "a", "password": "1234"}]},
           "container_pool": {"security": {"capabilities": {"drop": ["ALL"], "add": []}}}}
    assert to_yaml(cfg) == textwrap.dedent("""\
        server:
          port: 2222
          banner: x y
        authentication:
          static_credentials:
            - username: root
              password: toor
            - username: a
              password: "1234"
        container_pool:
          security:
            capabilities:
              drop:
                - ALL
              add: []""")


def test_base_config_paths(tmp_path):
    cfg = base_config(tmp_path, 12345)
    assert cfg["server"]["port"] == 12345
    assert cfg["server"]["host_key_path"].startswith(str(tmp_path))
    assert cfg["container_pool"]["size"] == 2
    assert cfg["authentication"]["static_credentials"] == [{"username": "root",
                                                            "password": "toor"}]


def test_parse_event_lines_skips_partial_and_rejects_garbage():
    data = b'{"event": "a"}\n{"event": "b"}\n{"event": "c"'
    assert [e["event"] for e in parse_event_lines(data)] == ["a", "b"]
    with pytest.raises(AssertionError):
        parse_event_lines(b'{"event": "a"}\nnot json\n')
    with pytest.raises(AssertionError):
        parse_event_lines(b'[1, 2]\n')
    with pytest.raises(AssertionError):
        parse_event_lines(b'{"event": "\xff"}\n')


def test_event_matches():
    ev = {"event": "login.failed", "attempt": 2, "session": "x"}
    assert event_matches(ev, "login.failed", attempt=2)
    assert not event_matches(ev, "login.failed", attempt=3)
    assert not event_matches(ev, "login.success")
    assert event_matches(ev, lambda e: e["attempt"] > 1)
    assert not event_matches(ev, None, missing=None)


def test_parse_asciicast():
    text = '{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "hi"]\n[0.2, "i", "x"]\n'
    header, events = parse_asciicast(text)
    assert header["width"] == 80
    assert events == [(0.1, "o", "hi"), (0.2, "i", "x")]
    with pytest.raises(AssertionError):
        parse_asciicast('{"version": 2}\n[0.1, "o"]\n')


def test_asciinema_cat_reads_a_v2_file(tmp_path):
    cast = tmp_path / "x.cast"
    cast.write_text('{"version": 2, "width": 80, "height": 24, "timestamp": 1}\n'
                    '[0.1, "o", "CAT-OK\\r\\n"]\n[0.2, "i", "q"]\n[0.3, "r", "90x30"]\n')
    r = asciinema_cat(cast)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"CAT-OK\r\n"


def test_fingerprint_matches_ssh_keygen(tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    fp, kind = ssh_keygen_fingerprint(f"{key}.pub")
    blob = base64.b64decode((tmp_path / "k.pub").read_text().split()[1])
    assert fp == sha256_fingerprint(blob)
    assert kind == "ED25519"
    pkey = paramiko.Ed25519Key.from_private_key_file(str(key))
    assert sha256_fingerprint(pkey.asbytes()) == fp


def test_clean_tty_text():
    assert clean_tty_text(b"\x1b[?2004hroot@h:~# ls\r\nA\r\n") == "root@h:~# ls\nA\n"


def test_read_until_closed():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        conn.sendall(b"bye")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    with socket.create_connection(srv.getsockname()) as s:
        took, data = read_until_closed(s, 5)
    srv.close()
    assert took is not None and took < 5
    assert data == b"bye"


def test_tmux_size_and_resize(tmp_path):
    tmux = Tmux(tmp_path)
    try:
        tmux.new_session("sh", 120, 40)
        tmux.send_line("stty size | sed 's/^/SZ=/'")
        assert tmux.expect(r"SZ=(\d+) (\d+)").groups() == ("40", "120")
        tmux.resize(100, 30)
        assert tmux.size() == "100x30"
        tmux.send_line("stty size | sed 's/^/SZB=/'")
        assert tmux.expect(r"SZB=(\d+) (\d+)").groups() == ("30", "100")
    finally:
        tmux.kill_server()


FAKE_DAEMON = """\
import json, os, re, signal, sys, time
cfg = open(sys.argv[sys.argv.index("--config") + 1]).read()
if "FAIL" in cfg:
    print("fake: refusing to start", file=sys.stderr)
    sys.exit(3)
logdir = re.search(r"^logging:\\n(?:  .*\\n)*?  output_dir: (.*)$", cfg, re.M).group(1)
def emit(kind, **kw):
    ev = {"timestamp": "2026-01-01T00:00:00.000000Z", "event": kind, "session": None,
          "src_ip": None, "src_port": None, **kw}
    with open(os.path.join(logdir, "events.jsonl"), "a") as f:
        f.write(json.dumps(ev) + "\\n")
def stop(*_):
    emit("hermes.stopped", reason="signal")
    if "TROUBLE" in cfg:  # a report cut short by the end
        print("==6==ERROR: LeakSanitizer: detected me", end="", file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(0)
if "TROUBLE" in cfg:  # a worker's report, relayed
    print(json.dumps({"process": "worker", "func": "stderr", "message":
                      "session 1: ==7==ERROR: AddressSanitizer: heap-use-after-free"}),
          file=sys.stderr)
signal.signal(signal.SIGTERM, stop)
print("fake: up", file=sys.stderr, flush=True)
time.sleep(0.3)
emit("hermes.started", version="0", listen="x", pid=os.getpid())
while True:
    time.sleep(1)
"""


def _fake_binary(tmp_path):
    path = tmp_path / "fake-hermes"
    path.write_text(f"#!{sys.executable}\n" + FAKE_DAEMON)
    path.chmod(0o755)
    return path


def test_hermes_object_with_a_fake_daemon(tmp_path):
    h = Hermes(tmp_path / "w", binary=_fake_binary(tmp_path), name="fake")
    try:
        h.start(timeout=20)
        assert h.running()
        ev = h.wait_event("hermes.started", timeout=5)
        assert ev["pid"] == h.proc.pid
        mark = h.mark()
        assert h.find("hermes.started", since=mark) == []
        with pytest.raises(AssertionError):
            h.wait_event("never.happens", timeout=0.5)
        assert h.stop() == 0
        assert h.find("hermes.stopped")[0]["reason"] == "signal"
        assert "fake: up" in h.stderr_tail()
    finally:
        h.teardown()


def test_hermes_start_failure_shows_stderr(tmp_path):
    h = Hermes(tmp_path / "w", overrides={"server": {"banner": "FAIL"}},
               binary=_fake_binary(tmp_path), name="fake")
    try:
        with pytest.raises(HermesStartError) as e:
            h.start(timeout=20)
        assert "exited with status 3" in str(e.value)
        assert "fake: refusing to start" in str(e.value)
    finally:
        h.teardown()
    assert h.returncode == 3


def rec(process, func, message):
    return json.dumps({"timestamp": "t", "level": "WARNING", "process": process, "pid": 1,
                       "func": func, "message": message})


def test_stderr_trouble_finds_reports_and_bad_ends_only():
    noise = rec("monitor", "monitor_run", "listening on 127.0.0.1:2222")
    bad = [  # (line, as shown)
        ("==12==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020",) * 2,
        ("==12==ERROR: LeakSanitizer: detected memory leaks",) * 2,
        ("../src/x.c:3:5: runtime error: signed integer overflow",) * 2,
        ("AddressSanitizer:DEADLYSIGNAL",) * 2,
        (rec("worker", "stderr", "session 1a: ==40==ERROR: AddressSanitizer: SEGV"),
         "worker[1] stderr: session 1a: ==40==ERROR: AddressSanitizer: SEGV"),
        (rec("worker", "stderr", "session 1a: ../src/worker/pump.c:9:1: runtime error: shift"),
         "worker[1] stderr: session 1a: ../src/worker/pump.c:9:1: runtime error: shift"),
        (rec("worker", "stderr", "session 1a: ==40==LeakSanitizer has encountered a fatal "
             "error."), "worker[1] stderr: session 1a: ==40==LeakSanitizer has encountered a "
         "fatal error."),
        (rec("monitor", "session_worker_exited", "session 1a: worker died of signal 6"),
         "monitor[1] session_worker_exited: session 1a: worker died of signal 6"),
        (rec("monitor", "session_worker_exited", "session 1a: worker exited with status 1"),
         "monitor[1] session_worker_exited: session 1a: worker exited with status 1"),
        (rec("monitor", "session_worker_exited",
             "session 1a from 1.2.3.4: worker killed for a forbidden system call (seccomp)"),
         "monitor[1] session_worker_exited: session 1a from 1.2.3.4: worker killed for a "
         "forbidden system call (seccomp)"),
        (rec("monitor", "indexer_died", "indexer killed by SIGSEGV; starting it again in 5 s"),
         "monitor[1] indexer_died: indexer killed by SIGSEGV; starting it again in 5 s"),
        (rec("monitor", "sinkhole_proc_reaped", "sinkhole killed by signal 31; starting it "
             "again"), "monitor[1] sinkhole_proc_reaped: sinkhole killed by signal 31; "
         "starting it again"),
        ("2026-01-01T00:00:00Z WARNING monitor[3] session_worker_exited: session 1a: worker "
         "died of signal 11",) * 2,  # logging.format: text
    ]
    good = [
        "{not json at all",
        noise,
        # an attacker's string quoted in a record is not a report
        rec("monitor", "on_login", "user 'ERROR: AddressSanitizer' runtime error: x"),
        rec("worker", "on_auth", "password runtime error: worker died of signal 6"),
        rec("worker", "stderr", "session 1a: ==40==WARNING: invalid path to external symbolizer!"),
    ]
    # Each apart (a report's next lines are shown with it): good lines in between.
    text = "\n".join(x for line, _ in bad for x in (line, noise)) + "\n" + "\n".join(good)
    assert stderr_trouble(text) == [shown for _, shown in bad]


def test_stderr_trouble_shows_a_report_to_its_summary():
    report = ["==9==ERROR: LeakSanitizer: detected memory leaks", "",
              "Direct leak of 16 byte(s) in 1 object(s) allocated from:",
              "    #0 0x55 in malloc", "SUMMARY: AddressSanitizer: 16 byte(s) leaked"]
    worker = [rec("worker", "stderr", f"session 1a: {ln}") for ln in report]
    other = rec("worker", "on_auth", "unrelated")
    found = stderr_trouble("\n".join([worker[0], other, *worker[1:], "after the summary"]))
    assert len(found) == 1
    shown = found[0].splitlines()
    assert shown[0] == f"worker[1] stderr: session 1a: {report[0]}"
    assert [ln.strip() for ln in shown[1:]] == \
        [f"worker[1] stderr: session 1a: {ln}".strip() for ln in report[1:]]


def test_new_trouble_reads_each_line_once_and_allows_what_a_test_provokes(tmp_path):
    class Running:  # the daemon writing it
        def poll(self):
            return None

    err = tmp_path / "hermes.stderr"
    hermes_helpers.watch_stderr(err, Running())
    try:
        err.write_text(rec("monitor", "f", "worker died of signal 6") + "\n" +
                       rec("monitor", "f", "worker killed for a forbidden system call") + "\n"
                       + "==1==ERROR: AddressSan")  # not yet a whole line
        hermes_helpers.allow_trouble("forbidden system call")
        found = hermes_helpers.new_trouble()
        assert len(found) == 1 and "died of signal 6" in found[0], found
        assert hermes_helpers.new_trouble() == []
        with open(err, "a") as f:
            f.write("itizer: SEGV\n")
        found = hermes_helpers.new_trouble()
        assert len(found) == 1 and found[0].endswith("==1==ERROR: AddressSanitizer: SEGV")
        # The allowance was for one test only.
        with open(err, "a") as f:
            f.write(rec("monitor", "f", "worker killed for a forbidden system call") + "\n")
        assert len(hermes_helpers.new_trouble()) == 1
    finally:
        hermes_helpers._WATCHED.pop(err, None)


def test_a_daemon_with_a_report_and_a_bad_exit_is_trouble(tmp_path):
    h = Hermes(tmp_path / "w", overrides={"server": {"banner": "TROUBLE"}},
               binary=_fake_binary(tmp_path), name="fake")
    try:
        h.start(timeout=20)
        wait_for(lambda: "heap-use-after-free" in h.stderr_tail(), 10, what="the report")
        assert h.stop() == 1
    finally:
        h.teardown()
        found = hermes_helpers.new_trouble()  # taken, so that this test's own check passes
    assert len(found) == 3, found
    assert "ERROR: AddressSanitizer: heap-use-after-free" in found[0]
    assert found[1].endswith("LeakSanitizer: detected me")  # the last words, the fake gone
    assert found[2] == "fake: exited with status 1 when stopped with SIGTERM"
