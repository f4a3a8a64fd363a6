"""Time limits: the idle timeout, the absolute session limit and the login grace time, in one
instance with all three short, the sessions running side by side (about 80 s in all)."""

import threading
import time

import pytest

from hermes_helpers import open_shell, raw_connect, read_until_closed

IDLE = 60          # server.session_timeout (its minimum)
MAX_DURATION = 75  # container_pool.max_session_duration; above IDLE so the idle session's
#                    idle timeout comes first, and an active one can only hit this limit
GRACE = 3          # server.login_grace_time


def _type_slowly(sh, stop, sent):
    # One key every 5 s keeps the session from ever being idle for long.
    while not stop.wait(5):
        try:
            sh.send(" ")
        except Exception:
            return
        sent.append(time.monotonic())


@pytest.mark.slow
def test_idle_timeout_max_duration_and_login_grace(hermes_factory):
    hermes = hermes_factory.start({
        "server": {"session_timeout": IDLE, "login_grace_time": GRACE},
        "container_pool": {"max_session_duration": MAX_DURATION},
    })
    stop = threading.Event()
    sent = []
    idle = open_shell(hermes)
    busy = open_shell(hermes)
    typer = threading.Thread(target=_type_slowly, args=(busy, stop, sent), daemon=True)
    try:
        busy_start = time.monotonic()
        typer.start()
        hermes.wait_event("session.shell", session=idle.sid, timeout=30)
        idle.send("echo IDLE-$((2+2))\n")
        idle.expect(r"IDLE-4")
        idle_last_input = time.monotonic()

        # Meanwhile: a client that says its version and nothing more.
        with raw_connect(hermes.port) as sock:
            src_port = sock.getsockname()[1]
            sock.sendall(b"SSH-2.0-test\r\n")
            took, _ = read_until_closed(sock, 20)
        assert took is not None and took <= GRACE + 7, \
            f"silent client still connected after {took or 20} s"
        lazy = hermes.session_for_port(src_port)
        closed = hermes.wait_event("session.closed", session=lazy, timeout=10)
        assert closed["reason"] == "login_timeout"
        assert closed["username"] is None
        assert closed["container_id"] is None

        closed = hermes.wait_event("session.closed", session=idle.sid, timeout=IDLE + 30)
        waited = time.monotonic() - idle_last_input
        assert closed["reason"] == "idle_timeout", closed
        assert IDLE - 5 <= waited <= IDLE + 20, f"idle session closed after {waited:.1f} s"
        assert IDLE - 5 <= closed["duration"] <= IDLE + 25
        idle.wait_closed(timeout=10)

        closed = hermes.wait_event("session.closed", session=busy.sid,
                                   timeout=MAX_DURATION + 30)
        lived = time.monotonic() - busy_start
        assert closed["reason"] == "max_duration", closed
        assert MAX_DURATION - 5 <= lived <= MAX_DURATION + 20, f"closed after {lived:.1f} s"
        assert MAX_DURATION - 5 <= closed["duration"] <= MAX_DURATION + 20
        busy.wait_closed(timeout=10)
        # The busy client really was typing until the end.
        assert len(sent) >= (MAX_DURATION - 10) // 5, f"only {len(sent)} keys typed"
    finally:
        stop.set()
        if typer.is_alive():
            typer.join(10)
        idle.close()
        busy.close()
