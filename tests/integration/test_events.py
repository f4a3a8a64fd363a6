"""The event log (docs/events.md): one session's events in order with their fields, and the
shape every line of events.jsonl must have."""

import os

from hermes_helpers import COMMON_FIELDS, PASSWORD, SESSION_ID_RE, TIMESTAMP_RE, USER, \
    open_shell, parse_event_lines, wait_for

ORDER = ["session.connect", "client.version", "login.success", "session.pty", "session.shell",
         "session.closed"]


def test_started_event(hermes):
    started = hermes.find("hermes.started")
    assert len(started) == 1
    ev = started[0]
    assert ev["listen"] == f"127.0.0.1:{hermes.port}"
    assert ev["pid"] == hermes.proc.pid
    assert isinstance(ev["version"], str) and ev["version"]
    assert ev["session"] is None


def test_one_session_in_order_with_fields(hermes):
    with open_shell(hermes, term="vt100", width=132, height=43) as sh:
        client_version = sh.transport.local_version
        shell = hermes.wait_event("session.shell", session=sh.sid, timeout=30)
        sh.send("echo EV-$((100+11))\n")
        sh.expect(r"EV-111")
        sh.send("exit 4\n")
        assert sh.exit_status() == 4
    closed = hermes.wait_event("session.closed", session=sh.sid, timeout=30)

    evs = hermes.session_events(sh.sid)
    types = [e["event"] for e in evs]
    for t in ORDER:
        assert t in types, f"{t} missing from {types}"
    firsts = [types.index(t) for t in ORDER]
    assert firsts == sorted(firsts), f"out of order: {types}"
    assert types[-1] == "session.closed" and types.count("session.closed") == 1, types
    by = {t: evs[types.index(t)] for t in types}

    for e in evs:
        assert e["src_ip"] == "127.0.0.1"
        assert e["src_port"] == sh.src_port
    assert SESSION_ID_RE.match(sh.sid)

    assert by["session.connect"]["dst_port"] == hermes.port
    assert by["client.version"]["version"].startswith("SSH-2.0-")
    assert by["client.version"]["version"] == client_version

    ok = by["login.success"]
    assert (ok["method"], ok["username"], ok["password"]) == ("password", USER, PASSWORD)
    assert (ok["reason"], ok["attempt"]) == ("static", 1)

    pty = by["session.pty"]
    assert (pty["term"], pty["width"], pty["height"]) == ("vt100", 132, 43)
    assert isinstance(pty["channel"], int)

    assert shell["channel"] == pty["channel"]
    assert shell["tty"] is True
    assert shell["container_id"] and shell["container_name"]
    assert shell["recording"] and os.path.isfile(shell["recording"])

    chc = hermes.find("session.channel_closed", session=sh.sid)
    assert len(chc) == 1, chc
    assert chc[0]["channel"] == shell["channel"]
    assert chc[0]["exit_status"] == 4
    assert chc[0]["bytes_in"] > 0 and chc[0]["bytes_out"] > 0
    assert types.index("session.channel_closed") < types.index("session.closed")

    assert closed["reason"] == "client_closed"
    assert isinstance(closed["duration"], (int, float)) and closed["duration"] > 0
    assert closed["username"] == USER
    # "echo EV-$((100+11))\n" + "exit 4\n" at least, and the shell's output.
    assert closed["bytes_in"] >= len("echo EV-$((100+11))\nexit 4\n")
    assert closed["bytes_out"] > len("EV-111")
    assert closed["bytes_in"] >= chc[0]["bytes_in"]
    assert closed["bytes_out"] >= chc[0]["bytes_out"]
    assert closed["exit_status"] == 4
    assert closed["container_id"] == shell["container_id"]
    assert closed["container_name"] == shell["container_name"]
    assert os.path.realpath(shell["recording"]) in \
        [os.path.realpath(p) for p in closed["recordings"]]
    assert os.path.isfile(closed["metadata"])


def test_every_line_is_a_well_formed_event(hermes):
    # Make sure there is a session in the log even if this test runs alone.
    with open_shell(hermes) as sh:
        hermes.wait_event("session.shell", session=sh.sid, timeout=30)
        sh.send("exit\n")
        sh.exit_status()
    hermes.wait_event("session.closed", session=sh.sid, timeout=30)

    # A line being written right now may be seen half-way; one left incomplete is a bug.
    data = wait_for(lambda: (lambda d: d if d.endswith(b"\n") else None)(
        hermes.events_path.read_bytes()), 5, what="events.jsonl to end with a whole line")
    events = parse_event_lines(data)
    assert len(events) == data.count(b"\n")
    for n, ev in enumerate(events, 1):
        assert list(ev)[:5] == COMMON_FIELDS, f"line {n}: fields {list(ev)[:5]}"
        assert isinstance(ev["timestamp"], str) and TIMESTAMP_RE.match(ev["timestamp"]), \
            f"line {n}: timestamp {ev['timestamp']!r}"
        assert isinstance(ev["event"], str) and ev["event"], f"line {n}"
        if ev["session"] is not None:
            assert SESSION_ID_RE.match(ev["session"]), f"line {n}: session {ev['session']!r}"
            assert isinstance(ev["src_ip"], str) and isinstance(ev["src_port"], int), \
                f"line {n}: {ev}"
        if ev["src_port"] is not None:
            assert isinstance(ev["src_port"], int) and 0 < ev["src_port"] < 65536
