"""What survives trouble: Hermes killed outright mid-session (the recording and the event log
stay valid, the worker goes too), and a pool that runs dry (containers made on demand)."""

import signal
import threading

from hermes_helpers import asciinema_cat, open_shell, parse_asciicast, parse_event_lines, \
    tail_text, wait_for


def test_sigkill_mid_session_leaves_valid_records(hermes_factory):
    hermes = hermes_factory.start()
    sh = open_shell(hermes)
    try:
        shell = hermes.wait_event("session.shell", session=sh.sid, timeout=30)
        sh.send("echo KILLED-$((40+2))\n")
        sh.expect(r"KILLED-42")
        cast = shell["recording"]
        wait_for(lambda: "KILLED-42" in open(cast, encoding="utf-8").read(), 10,
                 what="the output in the recording")

        hermes.signal(signal.SIGKILL)
        hermes.proc.wait(timeout=10)

        # The worker notices its monitor is gone and ends the connection.
        wait_for(lambda: sh.transport.is_active() is False, 15,
                 what="the client connection to be closed after the monitor died")
    finally:
        sh.close()

    # Every line written so far is whole: the recording plays, the log parses.
    with open(cast, encoding="utf-8") as f:
        header, events = parse_asciicast(f.read())
    assert header["version"] == 2
    assert any("KILLED-42" in data for _, code, data in events if code == "o")
    played = asciinema_cat(cast)
    assert played.returncode == 0, played.stderr
    assert b"KILLED-42" in played.stdout
    data = hermes.events_path.read_bytes()
    assert data.endswith(b"\n")
    evs = parse_event_lines(data)
    assert any(e["event"] == "session.shell" and e["session"] == sh.sid for e in evs)


def test_empty_pool_creates_on_demand(hermes_factory):
    hermes = hermes_factory.start({"container_pool": {"size": 1}})
    hermes.wait_count("container.created", 1, timeout=60, pooled=True)

    # Three logins at once against one ready container: the others cannot wait for a
    # replacement that is not there yet, so containers are made for them on demand.
    shells, errors = [], []

    def login():
        try:
            sh = open_shell(hermes)
            shells.append(sh)
            hermes.wait_event("session.shell", session=sh.sid, timeout=60)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=login) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not errors, errors
        assert len(shells) == 3
        allocs = [hermes.wait_event("container.allocated", session=sh.sid) for sh in shells]
        assert len({a["container_id"] for a in allocs}) == 3, allocs
        assert any(a["pooled"] is False for a in allocs), allocs
        assert "pool empty" in tail_text(hermes.stderr_path, 400)
        for sh in shells:
            sh.send("echo ONDEMAND-$((1+1))\n")
            sh.expect(r"ONDEMAND-2")
    finally:
        for sh in shells:
            sh.close()
