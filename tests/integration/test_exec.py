"""exec requests (`ssh host CMD`) as bots use them: exit codes, stdout and stderr kept apart,
stdin streamed in and its EOF passed on, bulk data both ways byte-exact, and data a client
sends before the command is even running (a whole small upload plus EOF in the first packets)."""

import hashlib
import os

import pytest

from hermes_helpers import parse_asciicast, ssh_exec


def test_exit_status_and_streams(hermes):
    r = ssh_exec(hermes.port, "echo to-out; echo to-err >&2; exit 3")
    assert r.returncode == 3, r
    assert r.stdout == b"to-out\n"
    assert r.stderr == b"to-err\n"


def test_command_event_logged(hermes):
    mark = hermes.mark()
    r = ssh_exec(hermes.port, "uname -n")
    assert r.returncode == 0 and r.stdout == b"prod-web-01\n", r
    shell = hermes.wait_event("session.shell", since=mark, timeout=30)
    assert shell["command"] == "uname -n"
    assert shell["tty"] is False


@pytest.mark.parametrize("size", [0, 1, 65536, 100_000, 3_000_000])
def test_stdin_streamed_and_eof_passed_on(hermes, size):
    data = os.urandom(size)
    r = ssh_exec(hermes.port, "cat | sha256sum", stdin=data)
    assert r.returncode == 0, r
    assert r.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_100mb_upload_and_download_byte_exact(hermes, tmp_path):
    data = os.urandom(100 * 1000 * 1000)
    r = ssh_exec(hermes.port, "cat > /root/up.bin && sha256sum /root/up.bin && "
                         "cat /root/up.bin", stdin=data, timeout=300)
    assert r.returncode == 0, r.stderr
    digest, rest = r.stdout.split(b"\n", 1)
    assert digest.split()[0].decode() == hashlib.sha256(data).hexdigest()
    assert len(rest) == len(data)
    assert hashlib.sha256(rest).hexdigest() == hashlib.sha256(data).hexdigest()


def test_environment_as_sshd_gives_it(hermes):
    r = ssh_exec(hermes.port, 'echo "$SSH_CONNECTION|$SSH_CLIENT|$USER|$HOME|$SHELL"')
    assert r.returncode == 0, r
    conn, client, user, home, shell = r.stdout.decode().strip().split("|")
    ip, cport, sip, sport = conn.split()
    assert (ip, sip, int(sport)) == ("127.0.0.1", "127.0.0.1", hermes.port)
    assert client == f"{ip} {cport} {sport}"
    assert (user, home, shell) == ("root", "/root", "/bin/bash")


def test_exec_recording_has_output_without_docker_framing(hermes):
    mark = hermes.mark()
    r = ssh_exec(hermes.port, "echo rec-out; echo rec-err >&2")
    assert r.returncode == 0
    shell = hermes.wait_event("session.shell", since=mark, timeout=30)
    hermes.wait_event("session.closed", session=shell["session"], timeout=30)
    with open(shell["recording"], encoding="utf-8") as f:
        header, events = parse_asciicast(f.read())
    assert header["hermes"]["command"] == "echo rec-out; echo rec-err >&2"
    out = "".join(data for _, code, data in events if code == "o")
    assert sorted(out.splitlines()) == ["rec-err", "rec-out"], repr(out)
