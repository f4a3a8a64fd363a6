"""logging.cowrie_json: real sessions (a failed login, a shell with a command, an scp upload)
written again as Cowrie 2.5.0 writes its cowrie.json, checked line by line against the same
sessions' events.jsonl: each line's fields and their types as that release writes them, and its
message made from its own fields with that release's format string, as Cowrie makes it
(src/cowrie/core/output.py: message = format % event)."""

import hashlib
import json
import os
import re
from pathlib import Path

import paramiko
import pytest

from hermes_helpers import PASSWORD, USER, open_shell, scp_upload, wait_for

# Cowrie 2.5.0's format strings (the files at tag v2.5.0: ssh/transport.py, core/checkers.py,
# shell/session.py, ssh/session.py, shell/honeypot.py, insults/insults.py, shell/fs.py).
FORMATS = {
    "cowrie.session.connect":
        "New connection: %(src_ip)s:%(src_port)s (%(dst_ip)s:%(dst_port)s) [session: %(session)s]",
    "cowrie.client.version": "Remote SSH version: %(version)s",
    "cowrie.client.kex": "SSH client hassh fingerprint: %(hassh)s",
    "cowrie.login.success": "login attempt [%(username)s/%(password)s] succeeded",
    "cowrie.login.failed": "login attempt [%(username)s/%(password)s] failed",
    "cowrie.client.size": "Terminal Size: %(width)s %(height)s",
    "cowrie.client.var": "request_env: %(name)s=%(value)s",
    "cowrie.command.input": "CMD: %(input)s",
    "cowrie.log.closed": "Closing TTY Log: %(ttylog)s after %(duration)d seconds",
    "cowrie.session.closed": "Connection lost after %(duration)d seconds",
    "cowrie.session.file_upload": 'SFTP Uploaded file "%(filename)s" to %(outfile)s',
}
# Each line's own fields and their JSON types (beyond the common ones).
FIELDS = {
    "cowrie.session.connect": {},
    "cowrie.client.version": {"version": str},
    "cowrie.client.kex": {"hassh": str, "hasshAlgorithms": str, "kexAlgs": list,
                          "keyAlgs": list, "encCS": list, "macCS": list, "compCS": list,
                          "langCS": list},
    "cowrie.login.success": {"username": str, "password": str},
    "cowrie.login.failed": {"username": str, "password": str},
    "cowrie.client.size": {"width": int, "height": int},
    "cowrie.client.var": {"name": str, "value": str},
    "cowrie.command.input": {"input": str},
    "cowrie.log.closed": {"ttylog": str, "size": int, "duplicate": bool, "duration": float},
    "cowrie.session.closed": {"duration": float},
    "cowrie.session.file_upload": {"filename": str, "outfile": str, "shasum": str},
}
COMMON = {"eventid": str, "timestamp": str, "session": str, "src_ip": str, "src_port": int,
          "dst_ip": str, "dst_port": int, "sensor": str, "protocol": str, "message": str}


@pytest.fixture(scope="module")
def cowrie(module_factory, tmp_path_factory):
    path = tmp_path_factory.mktemp("cowrie") / "logs" / "cowrie.json"
    inst = module_factory.start({"logging": {"cowrie_json": str(path), "sensor": "sensor-t"}})
    return inst, path


def lines(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def session_lines(path, sid, last):
    """The session's lines once its `last` eventid is written."""
    return wait_for(lambda: (lambda ls: ls if any(ln["eventid"] == last for ln in ls) else None)(
        [ln for ln in lines(path) if ln["session"] == sid]), 60, what=f"{last} of {sid}")


def check_line(line, inst, connect):
    """The fields every line has, typed; its own, typed and no others; its message as Cowrie
    formats it."""
    own = FIELDS[line["eventid"]]
    assert set(line) == set(COMMON) | set(own), line
    for key, typ in {**COMMON, **own}.items():
        assert type(line[key]) is typ, (key, line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", line["timestamp"]), line
    assert line["sensor"] == "sensor-t" and line["protocol"] == "ssh"
    assert (line["src_ip"], line["src_port"]) == (connect["src_ip"], connect["src_port"])
    assert (line["dst_ip"], line["dst_port"]) == ("127.0.0.1", inst.port)
    assert line["message"] == FORMATS[line["eventid"]] % line


def test_a_shell_session(cowrie):
    inst, path = cowrie
    with open_shell(inst) as sh:
        sid = sh.sid
        sh.send("echo COWRIE-$((6*7))\n")
        sh.expect(r"COWRIE-42")
        sh.send("exit\n")
    closed = inst.wait_event("session.closed", session=sid, timeout=60)
    got = session_lines(path, sid, "cowrie.session.closed")
    evs = inst.session_events(sid)
    first = {}
    for e in evs:
        first.setdefault(e["event"], e)
    connect = first["session.connect"]
    for line in got:
        check_line(line, inst, connect)
    ids = [ln["eventid"] for ln in got]
    # The order of the session's events, one line each (a pty's size, then each command).
    assert ids[:4] == ["cowrie.session.connect", "cowrie.client.version", "cowrie.client.kex",
                       "cowrie.login.success"], ids
    assert ids[-2:] == ["cowrie.log.closed", "cowrie.session.closed"], ids
    by = {ln["eventid"]: ln for ln in got}
    assert by["cowrie.client.version"]["version"] == first["client.version"]["version"]
    kex, hk = by["cowrie.client.kex"], first["client.kex"]
    assert kex["hassh"] == hk["hassh"] == hashlib.md5(kex["hasshAlgorithms"].encode()).hexdigest()
    assert kex["hasshAlgorithms"] == ";".join(
        hk[k] for k in ("kex_algorithms", "ciphers_cs", "macs_cs", "compression_cs"))
    assert kex["kexAlgs"] == hk["kex_algorithms"].split(",")
    assert kex["keyAlgs"] == hk["host_key_algorithms"].split(",")
    assert kex["encCS"] == hk["ciphers_cs"].split(",")
    assert kex["langCS"] == hk["languages_cs"].split(",")
    assert (by["cowrie.login.success"]["username"], by["cowrie.login.success"]["password"]) == \
        (USER, PASSWORD)
    pty = first["session.pty"]
    assert (by["cowrie.client.size"]["width"], by["cowrie.client.size"]["height"]) == \
        (pty["width"], pty["height"])
    commands = [ln["input"] for ln in got if ln["eventid"] == "cowrie.command.input"]
    assert commands == [e["command"] for e in evs if e["event"] == "command.input"]
    assert "echo COWRIE-$((6*7))" in commands
    log = by["cowrie.log.closed"]
    assert log["ttylog"] == first["session.shell"]["recording"] and Path(log["ttylog"]).is_file()
    assert log["size"] == first["session.channel_closed"]["bytes_out"] > 0
    assert log["duplicate"] is False and 0 < log["duration"] <= closed["duration"]
    assert by["cowrie.session.closed"]["duration"] == closed["duration"]


def test_a_failed_login_and_nothing_outside_sessions(cowrie):
    inst, path = cowrie
    mark = inst.mark()
    t = paramiko.Transport(("127.0.0.1", inst.port))
    try:
        t.start_client(timeout=30)
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_password("admin", "Wr0ng-cowrie")
    finally:
        t.close()
    failed = inst.wait_event("login.failed", since=mark, username="admin")
    sid = failed["session"]
    got = session_lines(path, sid, "cowrie.session.closed")
    connect = inst.find("session.connect", session=sid)[0]
    for line in got:
        check_line(line, inst, connect)
    [f] = [ln for ln in got if ln["eventid"] == "cowrie.login.failed"]
    assert (f["username"], f["password"]) == ("admin", "Wr0ng-cowrie")
    assert "cowrie.log.closed" not in [ln["eventid"] for ln in got]
    # Every line belongs to a session of events.jsonl; the daemon's and the pool's events
    # (hermes.started, container.created) have none.
    sessions = {e["session"] for e in inst.events() if e.get("event") == "session.connect"}
    assert all(ln["session"] in sessions for ln in lines(path))
    assert not [ln for ln in lines(path) if not ln["eventid"].startswith("cowrie.")]


def test_an_upload(cowrie, tmp_path):
    inst, path = cowrie
    data = os.urandom(4000)
    src = tmp_path / "payload.sh"
    src.write_bytes(data)
    mark = inst.mark()
    r = scp_upload(inst.port, src, "/root/payload.sh")
    assert r.returncode == 0, r.stderr
    sid = inst.wait_event("file.transfer", since=mark, timeout=30)["session"]
    got = session_lines(path, sid, "cowrie.session.file_upload")
    connect = inst.find("session.connect", session=sid)[0]
    for line in got:
        check_line(line, inst, connect)
    [up] = [ln for ln in got if ln["eventid"] == "cowrie.session.file_upload"]
    sha = hashlib.sha256(data).hexdigest()
    assert (up["filename"], up["shasum"]) == ("payload.sh", sha)
    assert Path(up["outfile"]) == Path(inst.config["forensics"]["artifacts_dir"]) / sha
    assert Path(up["outfile"]).read_bytes() == data
