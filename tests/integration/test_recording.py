"""Session recordings: the asciicast v2 file of a shell and the JSON sidecar of the session."""

import json
import os

from hermes_helpers import USER, asciinema_cat, open_shell, parse_asciicast


def same_path(a, b):
    return os.path.realpath(str(a)) == os.path.realpath(str(b))


def test_shell_recording_and_sidecar(hermes):
    with open_shell(hermes, term="xterm", width=100, height=30) as sh:
        shell = hermes.wait_event("session.shell", session=sh.sid, timeout=30)
        sh.send("echo REC-$((6*7))-MARK\n")
        sh.expect(r"REC-42-MARK")
        sh.chan.resize_pty(width=110, height=35)
        hermes.wait_event("session.resize", session=sh.sid, width=110, height=35)
        sh.send("exit 5\n")
        assert sh.exit_status() == 5
    closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)

    cast = hermes.rec_dir / f"{sh.sid}.cast"
    assert cast.is_file(), f"no recording at {cast}; dir has {os.listdir(hermes.rec_dir)}"
    assert same_path(shell["recording"], cast)

    header, events = parse_asciicast(cast.read_text(encoding="utf-8"))
    assert header["version"] == 2
    assert (header["width"], header["height"]) == (100, 30)
    assert isinstance(header.get("timestamp"), (int, float)) and header["timestamp"] > 0

    codes = {code for _, code, _ in events}
    assert {"i", "o"} <= codes, f"event codes {codes}"
    times = [t for t, _, _ in events]
    assert all(t >= 0 for t in times)
    assert times == sorted(times), "event times go backwards"
    assert times[-1] > times[0]

    typed = "".join(d for _, c, d in events if c == "i")
    shown = "".join(d for _, c, d in events if c == "o")
    assert "echo REC-$((6*7))-MARK" in typed
    assert "REC-42-MARK" in shown
    assert "exit 5" in typed
    assert any(c == "r" and d == "110x35" for _, c, d in events), \
        [e for e in events if e[1] == "r"]

    r = asciinema_cat(cast)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"REC-42-MARK" in r.stdout

    sidecar = hermes.rec_dir / f"{sh.sid}.json"
    assert sidecar.is_file(), f"no sidecar at {sidecar}"
    assert same_path(closed["metadata"], sidecar)
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    for key in ("session_id", "src_ip", "src_port", "username", "start", "end", "duration",
                "container_id", "container_name", "recordings", "exit_status"):
        assert key in meta, f"sidecar lacks {key}: {meta}"
    assert meta["session_id"] == sh.sid
    assert meta["src_ip"] == "127.0.0.1"
    assert meta["src_port"] == sh.src_port
    assert meta["username"] == USER
    assert meta["container_id"] == shell["container_id"]
    assert meta["container_name"] == shell["container_name"]
    assert meta["exit_status"] == 5
    assert any(same_path(p, cast) for p in meta["recordings"]), meta["recordings"]
    assert meta["duration"] > 0
    assert abs(meta["duration"] - closed["duration"]) < 2.0
    if type(meta["start"]) is type(meta["end"]):
        assert meta["end"] >= meta["start"]


def test_session_recording_budget(hermes_factory):
    """recording.max_session_size: past it the recording ends with a marker and the event log
    says so; the client still gets every byte."""
    from hermes_helpers import ssh_exec
    hermes = hermes_factory.start({"recording": {"max_session_size": "16k"}})
    mark = hermes.mark()
    r = ssh_exec(hermes.port, "head -c 200000 /dev/zero | tr '\\0' x")
    assert r.returncode == 0 and r.stdout == b"x" * 200000
    shell = hermes.wait_event("session.shell", since=mark, timeout=30)
    cut = hermes.wait_event("recording.truncated", session=shell["session"], timeout=30)
    assert cut["max_session_size"] == 16384 and cut["channel"] == shell["channel"]
    path = shell["recording"]
    assert os.path.getsize(path) < 16384 + 4096  # the header and the marker on top
    header, events = parse_asciicast(open(path, encoding="utf-8").read())
    assert events[-1][1] == "m" and "max_session_size" in events[-1][2]
    assert sum(len(d) for _, c, d in events if c == "o") < 16384
