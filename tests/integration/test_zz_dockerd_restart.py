"""dockerd stopped and started again under a live session (named to run last: every container
on the engine dies with it). The session's shell ends, the daemon stays up, a login while the
engine is down is accepted and logged, and once the engine is back new logins get shells again
(the pool's dead containers are replaced). The engine is restarted with the command line it
was running with, so whoever started it (scripts/docker-up.sh, its pidfile) still owns it."""

import os
import signal
import subprocess
import time
from pathlib import Path

import paramiko
import pytest

from hermes_helpers import PASSWORD, USER, open_shell, paramiko_transport, wait_for


def engine_answers():
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def start_engine(argv, env, log):
    with open(log, "ab") as out:
        subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                         start_new_session=True, close_fds=True)
    wait_for(engine_answers, 90, interval=0.5, what="dockerd to answer again")


@pytest.mark.slow
def test_dockerd_restart_under_a_live_session(hermes_factory, tmp_path):
    pid = int(subprocess.run(["pidof", "-s", "dockerd"], capture_output=True, text=True,
                             check=True).stdout)
    argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    env = dict(e.decode().split("=", 1) for e in
               Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in e)
    hermes = hermes_factory.start()
    stopped = False
    try:
        with open_shell(hermes) as sh:
            sh.send("echo BEFORE-RESTART\n")
            sh.expect(r"BEFORE-RESTART")
            os.kill(pid, signal.SIGTERM)
            stopped = True
            wait_for(lambda: not Path(f"/proc/{pid}").exists(), 90, what="dockerd to exit")
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

        start_engine(argv, env, tmp_path / "dockerd.log")
        stopped = False
        # Back: a login gets a shell, in a new container.
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
        assert hermes.running()
    finally:
        if stopped or not engine_answers():
            if not engine_answers():
                start_engine(argv, env, tmp_path / "dockerd.log")
