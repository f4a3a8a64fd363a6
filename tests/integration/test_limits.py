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


def test_max_sessions_per_ip_and_max_startups(hermes_factory):
    """Per-address cap, then MaxStartups with start = full = 2: the third connection not yet
    logged in is dropped before SSH; one that logs in frees its place for MaxStartups."""
    hermes = hermes_factory.start({"server": {"max_sessions_per_ip": 3,
                                              "max_startups": "2:100:2"}})
    held = []
    try:
        held.append(paramiko_transport(hermes.port))
        held.append(paramiko_transport(hermes.port))
        mark = hermes.mark()
        with raw_connect(hermes.port) as sock:
            took, data = read_until_closed(sock, 10)
        assert took is not None and not data.startswith(b"SSH-"), data[:200]
        assert hermes.wait_event("session.rejected", since=mark)["reason"] == "max_startups"

        # One logs in: two connections, one unauthenticated, so a third may start...
        held[0].auth_password(USER, PASSWORD)
        hermes.wait_event("login.success", since=mark)
        held.append(paramiko_transport(hermes.port))
        # ...and the fourth from this address meets the per-address cap.
        mark = hermes.mark()
        with raw_connect(hermes.port) as sock:
            took, data = read_until_closed(sock, 10)
        assert took is not None and not data.startswith(b"SSH-"), data[:200]
        assert hermes.wait_event("session.rejected", since=mark)["reason"] == \
            "max_sessions_per_ip"
    finally:
        for t in held:
            t.close()


def test_max_auth_tries_disconnects_as_openssh_does(hermes_factory, tmp_path):
    hermes = hermes_factory.start({"server": {"max_auth_tries": 3},
                                   "authentication": {"accept_all_after_failures": 0}})
    mark = hermes.mark()
    t = paramiko_transport(hermes.port)
    sid = hermes.session_for_port(t.sock.getsockname()[1], since=mark)
    try:
        for n in (1, 2):
            with pytest.raises(paramiko.AuthenticationException):
                t.auth_password("root", f"wrong-{n}")
            assert t.is_active()
        with pytest.raises((paramiko.SSHException, EOFError)):
            t.auth_password("root", "wrong-3")
        # paramiko may still be reading the disconnect; it is gone soon after.
        from hermes_helpers import wait_for
        wait_for(lambda: not t.is_active(), 10, what="the server to disconnect")
    finally:
        t.close()
    closed = hermes.wait_event("session.closed", session=sid, timeout=20)
    assert closed["reason"] == "max_auth_tries"
    assert len(hermes.find("login.failed", session=sid)) == 3

    # OpenSSH's client, asking again and again, sees OpenSSH's words.
    import subprocess
    from hermes_helpers import ssh_env, ssh_options, write_askpass
    askpass = write_askpass(tmp_path, "nope")
    r = subprocess.run(["ssh", *ssh_options(hermes.port), "-o", "LogLevel=INFO",
                        "-o", "NumberOfPasswordPrompts=10", "root@127.0.0.1", "true"],
                       capture_output=True, timeout=60, env=ssh_env(askpass),
                       stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert b"Too many authentication failures" in r.stderr, r.stderr[-500:]
