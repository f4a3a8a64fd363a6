"""Hermes behind a Docker socket proxy that allows only the API calls SECURITY.md lists: a
whole session (pool, shell, resize, exec, an upload collected as an artifact, disk-quota polls,
shutdown) works through it, no call it makes is refused, and the proxy does refuse the rest.

The proxy (docker_proxy.py) is a few lines of asyncio in front of the real engine: it reads
each request's head, allows or refuses it by method and path, then relays bytes both ways (the
exec hijack included)."""

import re
import socket

from docker_proxy import DockerProxy
from hermes_helpers import Hermes, implant_session, open_shell, wait_for

ID = r"[A-Za-z0-9_.-]+"
# SECURITY.md's list: containers create, start, stop, rename, remove, list, inspect, changes,
# archive (read, and written into a new box before it starts); exec create, start, inspect,
# resize; images inspect; system info (which runtimes).
ALLOWED = [re.compile(p) for p in (
    r"POST /containers/create",
    rf"POST /containers/{ID}/(start|stop|rename|exec)",
    rf"DELETE /containers/{ID}",
    r"GET /containers/json",
    rf"GET /containers/{ID}/(json|changes|archive)",
    rf"PUT /containers/{ID}/archive",
    rf"POST /exec/{ID}/(start|resize)",
    rf"GET /exec/{ID}/json",
    r"GET /images/[^?]+/json",
    r"GET /info",
)]


def raw_call(path, request):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        s.sendall(request)
        return s.recv(4096)


def test_hermes_behind_a_socket_proxy(tmp_path, hermes_binary, docker_ready):
    sock = tmp_path / "proxy.sock"
    allowed = lambda call: any(rx.fullmatch(call) for rx in ALLOWED)  # noqa: E731
    with DockerProxy(sock, policy=allowed) as proxy:
        # The proxy does refuse what is not on the list (and passes what is).
        assert raw_call(sock, b"GET /v1.41/system/df HTTP/1.1\r\nHost: d\r\n\r\n").startswith(
            b"HTTP/1.1 403")
        assert raw_call(sock, b"POST /v1.41/containers/x/kill HTTP/1.1\r\nHost: d\r\n"
                        b"Content-Length: 0\r\n\r\n").startswith(b"HTTP/1.1 403")
        refused_by_us = len(proxy.refused)
        inst = Hermes(tmp_path / "hermes", {
            "docker": {"socket_path": str(sock)},
            "container_pool": {"size": 1, "security": {"disk_quota": "500m"}},
        }, name="hermes-proxied", binary=hermes_binary)
        try:
            inst.start()
            with open_shell(inst) as sh:
                sh.send("echo $((3*5))-PROXIED\n")
                sh.expect(r"15-PROXIED")
                sh.chan.resize_pty(width=120, height=40)
                # The resize reaches Docker asynchronously: ask until the shell sees it.
                def resized():
                    sh.send("stty size\n")
                    try:
                        return sh.expect(r"\b40 120\b", timeout=1)
                    except AssertionError:
                        return None
                wait_for(resized, 20, what="the resize through the proxy")
                sh.send("exit\n")
                sh.wait_closed(30)
            implant_session(inst, tmp_path)
        finally:
            inst.stop()
            inst.teardown()
        assert proxy.refused[refused_by_us:] == [], proxy.refused
        # It went through the proxy for all of it: pool, the box's pid for its sshd, the /tmp
        # copy's exec, artifacts, shutdown. The shell and its resize go through the box's own
        # sshd, not Docker.
        for call in (r"POST /containers/create", rf"POST /exec/{ID}/start",
                     rf"GET /containers/{ID}/changes",
                     rf"GET /containers/{ID}/archive", rf"PUT /containers/{ID}/archive",
                     rf"POST /containers/{ID}/stop",
                     rf"GET /containers/{ID}/json", rf"DELETE /containers/{ID}"):
            assert any(re.fullmatch(call, c) for c in proxy.allowed), (call, proxy.allowed)
