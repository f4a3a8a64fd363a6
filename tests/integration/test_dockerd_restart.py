"""dockerd stopped and started again under a live session. The session's shell ends, the daemon
stays up, a login while the engine is down is accepted and logged, and once the engine is back
new logins get shells again (the pool's dead containers are replaced).

The engine is one of the test's own (own_engine.py): its own socket, data and exec roots,
pidfile and containerd, no bridge, no iptables rules, the target image copied into it. Only it
is stopped, so the machine's engine and every other test's containers are never touched, and
the test runs alone or among the others, in any order."""

import time

import paramiko
import pytest

from hermes_helpers import PASSWORD, USER, open_shell, paramiko_transport
from own_engine import OwnEngine


@pytest.fixture
def engine(tmp_path, docker_ready):
    eng = OwnEngine(tmp_path / "dockerd.log")
    try:
        eng.start()
        eng.load_image()
        yield eng
    finally:
        eng.close()  # after the test's Hermes: it was requested after this fixture


@pytest.mark.slow
def test_dockerd_restart_under_a_live_session(engine, hermes_factory):
    hermes = hermes_factory.start({"docker": {"socket_path": str(engine.sock)}})
    with open_shell(hermes) as sh:
        cid = hermes.wait_event("session.shell", session=sh.sid)["container_id"]
        assert engine.has_container(cid), "the session's box is not on the test's engine"
        sh.send("echo BEFORE-RESTART\n")
        sh.expect(r"BEFORE-RESTART")
        engine.stop_dockerd()
        # The container went with the engine: the shell channel ends.
        sh.wait_closed(timeout=60)
        closed_channel = hermes.wait_event("session.channel_closed", session=sh.sid,
                                           timeout=30)
        assert closed_channel["channel"] == 0

        # With no engine, a login is still accepted and logged; its shell cannot start.
        mark = hermes.mark()
        t = paramiko_transport(hermes.port)
        try:
            t.auth_password(USER, PASSWORD)
            sid = hermes.session_for_port(t.sock.getsockname()[1], since=mark)
            assert hermes.wait_event("login.success", session=sid, timeout=10)
        finally:
            t.close()
        assert hermes.running()

    engine.start_dockerd()
    # Back: a login gets a shell, in a new container of the test's engine.
    mark = hermes.mark()
    deadline = time.monotonic() + 120
    while True:
        try:
            with open_shell(hermes) as sh:
                sh.send("echo AFTER-RESTART\n")
                sh.expect(r"AFTER-RESTART", timeout=60)
                break
        except (AssertionError, paramiko.SSHException, EOFError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    after = hermes.wait_event("session.shell", session=sh.sid, since=mark)["container_id"]
    assert after != cid and engine.has_container(after)
    assert hermes.running()
    # Stopped here, while its engine still answers: its exit is checked (0) and its
    # containers stopped before the engine goes.
    assert hermes.stop() == 0, hermes.diagnostics()
