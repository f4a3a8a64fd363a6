"""A Docker socket proxy for the tests, in front of the real engine: it reads each request's
head, lets a policy refuse it (403), and relays the rest. A `mutate` hook may rewrite an
answer before Hermes sees it (a hostile or broken engine); the exec hijack (`Upgrade: tcp`) is
relayed untouched, half-closes included.

Runs an asyncio loop in a thread of the test process; `with DockerProxy(path) as p:` serves
on the unix socket `path` until the block ends."""

import asyncio
import os
import re
import threading


def engine_socket():
    host = os.environ.get("DOCKER_HOST", "")
    return host[len("unix://"):] if host.startswith("unix://") else "/var/run/docker.sock"


def api_call(method, target):
    """'GET /containers/ID/json' from the request line, without version prefix or query."""
    path = re.sub(r"^/v1\.\d+", "", target.split("?", 1)[0])
    return f"{method} {path}"


def dechunk(body):
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            return out
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2:]
    return out


class DockerProxy:
    def __init__(self, path, policy=None, mutate=None, upstream=None):
        """policy(call) -> bool; mutate(call, status, body) -> raw response bytes or None (as
        is). `status` is the engine's status code, `body` the de-chunked body."""
        self.path, self.upstream = str(path), upstream or engine_socket()
        self.policy, self.mutate = policy, mutate
        self.allowed, self.refused, self.mutated = [], [], []
        self.targets = []  # (method, request target as sent: version prefix and query kept)
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
        self.loop.run_until_complete(asyncio.start_unix_server(
            self._serve, path=self.path, limit=1 << 20))
        self.ready.set()
        self.loop.run_forever()

    async def _serve(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        method, target = head.split(b" ", 2)[:2]
        call = api_call(method.decode(), target.decode())
        self.targets.append((method.decode(), target.decode()))
        if self.policy is not None and not self.policy(call):
            self.refused.append(call)
            body = b'{"message":"refused by the socket proxy"}'
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            writer.close()
            return
        self.allowed.append(call)
        up_r, up_w = await asyncio.open_unix_connection(self.upstream, limit=1 << 20)
        up_w.write(head)
        hijack = b"upgrade: tcp" in head.lower()
        if self.mutate is None or hijack:
            await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))
        else:
            await self._rewrite(call, reader, writer, up_r, up_w)
        for w in (writer, up_w):
            w.close()

    @staticmethod
    async def _pipe(src, dst):
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
            if dst.can_write_eof():
                dst.write_eof()  # a half-close is how stdin's EOF reaches the exec
        except (ConnectionError, OSError):
            pass

    async def _rewrite(self, call, reader, writer, up_r, up_w):
        # Every call is "Connection: close": the answer is all the engine sends.
        send = asyncio.ensure_future(self._pipe(reader, up_w))
        answer = await up_r.read()
        send.cancel()
        head, _, body = answer.partition(b"\r\n\r\n")
        try:
            status = int(head.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = 0
        if b"transfer-encoding: chunked" in head.lower():
            body = dechunk(body)
        raw = self.mutate(call, status, body)
        if raw is not None:
            self.mutated.append(call)
            answer = raw
        try:
            writer.write(answer)
            await writer.drain()
        except (ConnectionError, OSError):
            pass
