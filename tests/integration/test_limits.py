"""server.max_concurrent_sessions: connections beyond the limit are refused before SSH and
logged; a freed slot can be used again."""

import paramiko
import pytest

from hermes_helpers import PASSWORD, USER, open_shell, paramiko_transport, raw_connect, \
    read_until_closed, wait_for


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


def test_a_flood_does_not_keep_a_login_out(hermes_factory):
    """500 connections from 20 other loopback addresses, each sending junk or nothing and going
    away, as scanners and brute-force bots do; meanwhile a real login still gets a shell (with
    a retry or two, as MaxStartups may drop any unauthenticated connection), every connection
    is accounted for, and the daemon is still there afterwards."""
    import socket
    import threading
    hermes = hermes_factory.start()
    mark = hermes.mark()
    errors, connected = [], []

    def flood(n):
        src = f"127.0.0.{2 + n}"
        for i in range(25):
            try:
                s = socket.socket()
                s.settimeout(10)
                s.bind((src, 0))
                s.connect(("127.0.0.1", hermes.port))
                connected.append(src)
                if i % 2:
                    s.sendall(b"GET / HTTP/1.0\r\n\r\n" if i % 4 == 1 else b"SSH-2.0-x\r\n\0\0")
                s.close()
            except OSError as e:  # refused or reset while the server drops: fine
                if not isinstance(e, (ConnectionError, socket.timeout)):
                    errors.append(e)
    threads = [threading.Thread(target=flood, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    got_shell = None
    try:
        for attempt in range(10):
            try:
                with open_shell(hermes) as sh:
                    sh.send("echo THROUGH-$((2*21))\n")
                    sh.expect(r"THROUGH-42", timeout=60)
                    got_shell = attempt
                    break
            except (paramiko.SSHException, EOFError, OSError):
                continue
    finally:
        for t in threads:
            t.join(120)
    assert got_shell is not None, "no shell during the flood"
    assert not errors, errors[:3]
    assert hermes.running()

    # Each connection the kernel completed is in the log, served or dropped (a few may have
    # been refused by a full listen backlog before that: the client saw those).
    assert len(connected) > 250, len(connected)

    def accounted():
        seen = [e for e in hermes.events(since=mark)
                if e["event"] in ("session.connect", "session.rejected")
                and e["src_ip"] != "127.0.0.1"]
        return len(seen) >= len(connected) and seen
    seen = wait_for(accounted, 60, what=lambda: f"{len(connected)} flood connections in the log")
    assert len(seen) == len(connected)
    reasons = {e.get("reason") for e in seen if e["event"] == "session.rejected"}
    assert reasons <= {"max_sessions_per_ip", "max_startups"}, reasons
    # Afterwards, a login at once.
    with open_shell(hermes) as sh:
        sh.send("echo CALM\n")
        sh.expect(r"CALM")
