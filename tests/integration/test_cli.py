"""The analyst commands (hermes sessions, show, stats, replay, reindex) over the SQLite index:
a real session (scp upload, shell commands, a file written) found and replayed; the index
caught up from events.jsonl, line by line, and rebuilt; attacker text kept off the terminal."""

import json
import subprocess

import paramiko

from hermes_helpers import PASSWORD, USER, base_config, free_port, hermes_bin, open_shell, \
    scp_upload, sha256_file, write_config


def cli(config_path, *args, check=True):
    r = subprocess.run([str(hermes_bin()), *args, "--config", str(config_path)],
                       capture_output=True, timeout=60)
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stderr.decode(errors="replace"))
    return r


def cli_json(config_path, *args):
    return json.loads(cli(config_path, *args, "--json").stdout)


def test_a_session_shown_and_replayed(hermes, tmp_path):
    payload = tmp_path / "drop.sh"
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
    hermes.wait_event("artifacts.collected", session=sh.sid, timeout=60)
    hermes.wait_event("artifacts.collected", session=up_sid, timeout=60)

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


def event(kind, sid, ts, **fields):
    return json.dumps({"timestamp": ts, "event": kind, "session": sid, "src_ip": "198.51.100.7",
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
