"""Honeytokens: a login with a planted credential, and a bait file read on the command line,
fetched over SFTP or changed in the container, each raise an `alert` on the event that touched
it; events that touch none carry no alert; the index lists the alerts."""

import sqlite3

import paramiko
import pytest

from hermes_helpers import open_shell, paramiko_transport

BAIT_ENV = "/etc/config/app.env"
BAIT_SSH = "/root/.ssh/config"
TOKEN_USER, TOKEN_PASSWORD = "postgres", "P0stgr3s-Pr0d-2023!"
ANY_USER_TOKEN = "Xk9#mQ2vL7pR!wd4"


@pytest.fixture(scope="module")
def baited(module_factory):
    return module_factory.start(overrides={"honeytokens": {
        "credentials": [{"username": TOKEN_USER, "password": TOKEN_PASSWORD},
                        {"password": ANY_USER_TOKEN}],
        "files": [BAIT_ENV, BAIT_SSH],
    }})


def test_honeytoken_logins_are_accepted_and_alert(baited):
    for user, password in ((TOKEN_USER, TOKEN_PASSWORD), ("deploy", ANY_USER_TOKEN)):
        mark = baited.mark()
        t = paramiko_transport(baited.port)
        try:
            t.auth_password(user, password)
            assert t.is_authenticated()
            sid = baited.session_for_port(t.sock.getsockname()[1], since=mark)
            ok = baited.wait_event("login.success", session=sid)
            assert ok["reason"] == "honeytoken" and ok["username"] == user
            assert ok["alert"] == {"type": "honeytoken_login"}
        finally:
            t.close()
    # The token's password with another user is an ordinary failed login: no alert.
    mark = baited.mark()
    t = paramiko_transport(baited.port)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_password("root", TOKEN_PASSWORD)
        sid = baited.session_for_port(t.sock.getsockname()[1], since=mark)
        failed = baited.wait_event("login.failed", session=sid)
        assert "alert" not in failed
    finally:
        t.close()


def test_bait_files_read_fetched_and_changed(baited):
    with open_shell(baited) as sh:
        sh.send("uname -s\n")
        sh.expect(r"Linux")
        sh.send(f"grep DB_USER {BAIT_ENV}\n")
        sh.expect(r"DB_USER=portal_app")
        sh.send("cd /root && echo 'Host x' >> .ssh/config && echo APPENDED\n")
        sh.expect(r"APPENDED")
        # A second channel of the same connection fetches a bait file over SFTP.
        sftp = paramiko.SFTPClient.from_transport(sh.transport)
        with sftp.open(BAIT_ENV) as f:
            assert b"DB_PASSWORD=" in f.read()
        sftp.close()
        sh.send("exit\n")
        sh.exit_status()
    sid = sh.sid
    baited.wait_event("artifacts.collected", session=sid, timeout=60)
    evs = baited.session_events(sid)

    cmds = {e["command"]: e for e in evs if e["event"] == "command.input"}
    assert "alert" not in cmds["uname -s"]
    assert cmds[f"grep DB_USER {BAIT_ENV}"]["alert"] == {"type": "bait_file",
                                                         "paths": [BAIT_ENV]}
    assert cmds["cd /root && echo 'Host x' >> .ssh/config && echo APPENDED"]["alert"] == \
        {"type": "bait_file", "paths": [BAIT_SSH]}
    fetched = [e for e in evs if e["event"] == "file.transfer"]
    assert [(e["direction"], e["path"], e.get("alert")) for e in fetched] == \
        [("download", BAIT_ENV, {"type": "bait_file", "paths": [BAIT_ENV]})]
    changed = {e["path"]: e for e in evs if e["event"] == "file.changed"}
    assert changed[BAIT_SSH]["alert"] == {"type": "bait_file", "paths": [BAIT_SSH]}
    # Nothing else the session did touched a bait file.
    alerted = [e["event"] for e in evs if "alert" in e]
    assert sorted(alerted) == sorted(["command.input", "command.input", "file.transfer",
                                      "file.changed"]), alerted
    assert "ALERT bait_file" in baited.stderr_tail(400)

    # The index has a row per alert, and the session counts them.
    from test_cli import cli
    cli(baited.config_path, "sessions")
    db = sqlite3.connect(baited.config["forensics"]["database"])
    rows = db.execute("SELECT event, type, path FROM alerts WHERE session = ? ORDER BY rowid",
                      (sid,)).fetchall()
    assert sorted(rows) == sorted([("command.input", "bait_file", BAIT_ENV),
                                   ("command.input", "bait_file", BAIT_SSH),
                                   ("file.transfer", "bait_file", BAIT_ENV),
                                   ("file.changed", "bait_file", BAIT_SSH)])
    assert db.execute("SELECT alerts FROM sessions WHERE id = ?", (sid,)).fetchone() == (4,)
    db.close()

    # The analyst sees them in show, sessions and stats.
    from test_cli import cli_json
    shown = cli_json(baited.config_path, "show", sid)
    assert shown["session"]["alerts"] == 4
    assert sorted((a["event"], a["path"]) for a in shown["alerts"]) == sorted(
        [("command.input", BAIT_ENV), ("command.input", BAIT_SSH),
         ("file.transfer", BAIT_ENV), ("file.changed", BAIT_SSH)])
    listed = {x["session"]: x for x in cli_json(baited.config_path, "sessions")}
    assert listed[sid]["alerts"] == 4
    stats = {(x["type"], x["path"]): x for x in cli_json(baited.config_path, "stats")["alerts"]}
    assert stats[("bait_file", BAIT_ENV)]["sessions"] >= 1
    assert stats[("honeytoken_login", None)]["times"] >= 2
