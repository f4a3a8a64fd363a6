"""server.max_concurrent_sessions: connections beyond the limit are refused before SSH and
logged; a freed slot can be used again."""

import paramiko
import pytest

from hermes_helpers import PASSWORD, USER, open_shell, paramiko_transport, raw_connect, \
    read_until_closed


def _prove_alive(hermes, sh, n):
    hermes.wait_event("session.shell", session=sh.sid, timeout=30)
    sh.send(f"echo LIVE-$(({n}*1000+1))\n")
    sh.expect(rf"LIVE-{n}001")


def test_third_connection_refused_at_limit_of_two(hermes_factory):
    hermes = hermes_factory.start({"server": {"max_concurrent_sessions": 2}})
    held = []
    try:
        for n in (1, 2):
            held.append(open_shell(hermes))
            _prove_alive(hermes, held[-1], n)

        mark = hermes.mark()
        with raw_connect(hermes.port) as sock:
            took, data = read_until_closed(sock, 10)
        assert took is not None, f"the third connection was kept open; got {data[:200]!r}"
        assert not data.startswith(b"SSH-"), f"refused connections get no SSH: {data[:200]!r}"
        rejected = hermes.wait_event("session.rejected", since=mark)
        assert isinstance(rejected["reason"], str) and rejected["reason"]
        assert rejected["src_ip"] == "127.0.0.1"

        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            t = paramiko_transport(hermes.port, timeout=10)
            try:
                t.auth_password(USER, PASSWORD)
            finally:
                t.close()
        hermes.wait_count("session.rejected", 2, since=mark)
        assert not hermes.find("session.connect", since=mark), \
            "a refused connection must not get a worker"

        # Free one slot: the next login works.
        first = held.pop(0)
        first.send("exit\n")
        assert first.exit_status() == 0
        first.close()
        hermes.wait_event("session.closed", session=first.sid, timeout=30)

        held.append(open_shell(hermes))
        _prove_alive(hermes, held[-1], 3)
    finally:
        for sh in held:
            sh.close()
