"""Hermes behind a Docker socket proxy that allows only the API calls SECURITY.md lists: a
whole session (pool, shell, resize, exec, an upload collected as an artifact, disk-quota polls,
shutdown) works through it, no call it makes is refused, and the proxy does refuse the rest.

The proxy is a few lines of asyncio here, in front of the real engine: it reads each request's
head, allows or refuses it by method and path, then relays bytes both ways (the exec hijack
included)."""

import asyncio
import os
import re
import socket
import threading
from pathlib import Path

import pytest

from hermes_helpers import Hermes, open_shell, scp_upload, ssh_exec, wait_for

ID = r"[A-Za-z0-9_.-]+"
# SECURITY.md's list: containers create, start, stop, rename, remove, list, inspect, changes,
# archive; exec create, start, inspect, resize; images inspect.
ALLOWED = [re.compile(p) for p in (
    r"POST /containers/create",
    rf"POST /containers/{ID}/(start|stop|rename|exec)",
    rf"DELETE /containers/{ID}",
    r"GET /containers/json",
    rf"GET /containers/{ID}/(json|changes|archive)",
    rf"POST /exec/{ID}/(start|resize)",
    rf"GET /exec/{ID}/json",
    r"GET /images/[^?]+/json",
)]


def docker_socket():
    host = os.environ.get("DOCKER_HOST", "")
    return host[len("unix://"):] if host.startswith("unix://") else "/var/run/docker.sock"


class Proxy:
    def __init__(self, path, upstream):
        self.path, self.upstream = str(path), upstream
        self.allowed, self.refused = [], []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(10), "the proxy did not start"
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(asyncio.start_unix_server(self._serve, path=self.path))
        self.ready.set()
        self.loop.run_forever()

    @staticmethod
    def verdict(method, target):
        path = re.sub(r"^/v1\.\d+", "", target.split("?", 1)[0])
        call = f"{method} {path}"
        return call, any(rx.fullmatch(call) for rx in ALLOWED)

    async def _serve(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        method, target = head.split(b" ", 2)[:2]
        call, ok = self.verdict(method.decode(), target.decode())
        if not ok:
            self.refused.append(call)
            body = b'{"message":"refused by the socket proxy"}'
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            writer.close()
            return
        self.allowed.append(call)
        up_r, up_w = await asyncio.open_unix_connection(self.upstream)
        up_w.write(head)

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
                if dst.can_write_eof():
                    dst.write_eof()  # a half-close is how stdin's EOF reaches the exec
            except (ConnectionError, OSError):
                pass
        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        for w in (writer, up_w):
            w.close()


def raw_call(path, request):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        s.sendall(request)
        return s.recv(4096)


def test_hermes_behind_a_socket_proxy(tmp_path, hermes_binary, docker_ready):
    sock = tmp_path / "proxy.sock"
    with Proxy(sock, docker_socket()) as proxy:
        # The proxy does refuse what is not on the list (and passes what is).
        assert raw_call(sock, b"GET /v1.41/info HTTP/1.1\r\nHost: d\r\n\r\n").startswith(
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
            payload = tmp_path / "implant.sh"
            payload.write_text("#!/bin/sh\necho implanted\n")
            r = scp_upload(inst.port, payload, "/root/implant.sh")
            assert r.returncode == 0, r.stderr
            mark = inst.mark()
            r = ssh_exec(inst.port, "printf '#!/bin/sh\\necho implanted\\n' > /root/implant.sh; "
                         "sh /root/implant.sh; exit 3")
            assert r.returncode == 3 and r.stdout == b"implanted\n", r
            got = inst.wait_event("artifacts.collected", since=mark, timeout=60)
            assert got["files"] >= 1, got
        finally:
            inst.stop()
            inst.teardown()
        assert proxy.refused[refused_by_us:] == [], proxy.refused
        # It went through the proxy for all of it: pool, execs, resize, artifacts, shutdown.
        for call in (r"POST /containers/create", rf"POST /exec/{ID}/start",
                     rf"POST /exec/{ID}/resize", rf"GET /containers/{ID}/changes",
                     rf"GET /containers/{ID}/archive", rf"POST /containers/{ID}/stop",
                     rf"GET /containers/{ID}/json", rf"DELETE /containers/{ID}"):
            assert any(re.fullmatch(call, c) for c in proxy.allowed), (call, proxy.allowed)
