"""A small client of the session agent's protocol (docs/agent-protocol.md), for tests.

Frames are `u32 length, u8 type, u32 channel, payload`, big-endian; strings are `u32 length +
bytes`. The client plays Hermes: it sends HELLO and OPENs, and keeps the flow-control books of
both sides, failing (AgentProtocolError) the moment the agent sends more than the credit it was
given. Standard library only.

The agent listens on 127.0.0.1:22 inside the box's own network namespace. connect_in_netns()
reaches it as Hermes does: a short-lived thread enters the namespace of the box's init (setns
acts on the calling thread only), creates and connects the socket there, and hands it back; the
socket stays in the box's namespace, the test process in its own.
"""

import ctypes
import os
import select
import socket
import struct
import threading
import time

HELLO, OPEN, RESIZE, SIGNAL, CLOSE = 1, 2, 3, 4, 5
HELLO_OK, OPEN_OK, OPEN_FAIL, STDERR, EXIT = 6, 7, 8, 9, 10
DATA, EOF, WINDOW = 11, 12, 13
NAMES = {1: "HELLO", 2: "OPEN", 3: "RESIZE", 4: "SIGNAL", 5: "CLOSE", 6: "HELLO_OK",
         7: "OPEN_OK", 8: "OPEN_FAIL", 9: "STDERR", 10: "EXIT", 11: "DATA", 12: "EOF",
         13: "WINDOW"}
KIND_SHELL, KIND_EXEC, KIND_SUBSYSTEM = 0, 1, 2
MAX_DATA = 32768
MAX_PAYLOAD = 65536


class AgentProtocolError(Exception):
    pass


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def frame(ftype, channel, payload=b""):
    return struct.pack(">IBI", len(payload), ftype, channel) + payload


VERSION = 2  # docs/agent-protocol.md


def hello_payload(user="root", method="password", client=("203.0.113.9", 50022),
                  server=("10.1.2.3", 22), session_id="test", failures=(), version=VERSION,
                  auth_log_kept=0):
    """HELLO's payload; each failure is (time, user, method), of this connection, or (time,
    user, method, client port) of the connection it names."""
    p = struct.pack(">I", version) + s(user) + s(method) + s(client[0])
    p += struct.pack(">I", client[1]) + s(server[0]) + struct.pack(">I", server[1])
    p += s(session_id) + struct.pack(">II", auth_log_kept, len(failures))
    for when, fuser, fmethod, *port in failures:
        p += struct.pack(">II", when, port[0] if port else client[1]) + s(fuser) + s(fmethod)
    return p


def open_payload(kind, pty=False, cols=80, rows=24, window=1 << 20, term="xterm-256color",
                 command="", env=()):
    envb = b"".join((f"{k}={v}".encode() + b"\0") for k, v in env)
    return (struct.pack(">BBIII", kind, 1 if pty else 0, cols, rows, window) + s(term)
            + s(command) + s(envb))


class Channel:
    def __init__(self, cid, window):
        self.id = cid
        self.out = bytearray()       # DATA from the agent
        self.err = bytearray()       # STDERR from the agent
        self.credit_given = window   # what the agent may still send us
        self.credit = 0              # what we may still send the agent
        self.opened = None           # True (OPEN_OK), False (OPEN_FAIL)
        self.fail_message = None
        self.eof = False
        self.exit = None             # ("status", n) or ("signal", n, core)
        self.frames = []             # (type name, size) in order


CLONE_NEWNET = 0x40000000


def connect_in_netns(pid, port=22, timeout=10):
    """A TCP socket connected to 127.0.0.1:PORT in the network namespace of process PID."""
    result = {}

    def enter_and_connect():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            result["sock"] = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except Exception as e:  # handed to the caller's thread
            result["error"] = e

    t = threading.Thread(target=enter_and_connect)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["sock"]


class AgentClient:
    def __init__(self, sock, timeout=30, auto_window=True):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.channels = {}
        self.timeout = timeout
        self.auto_window = auto_window
        self.closed = False
        self.next_id = 1

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def hello(self, **kw):
        self.send(frame(HELLO, 0, hello_payload(**kw)))
        ftype, ch, payload = self.read_frame()
        if ftype != HELLO_OK or ch != 0:
            raise AgentProtocolError(f"expected HELLO_OK, got {NAMES.get(ftype, ftype)}")
        return struct.unpack(">I", payload)[0]

    def open(self, kind, window=1 << 20, wait=True, **kw):
        cid = self.next_id
        self.next_id += 1
        ch = Channel(cid, window)
        self.channels[cid] = ch
        self.send(frame(OPEN, cid, open_payload(kind, window=window, **kw)))
        if wait:
            self.until(lambda: ch.opened is not None)
        return ch

    def data(self, ch, data):
        """Sends data within the agent's credit, waiting for WINDOWs as needed."""
        data = bytes(data)
        while data:
            self.until(lambda: ch.credit > 0 or ch.exit is not None)
            if ch.exit is not None:
                return
            n = min(len(data), ch.credit, MAX_DATA)
            self.send(frame(DATA, ch.id, data[:n]))
            ch.credit -= n
            data = data[n:]
            self.poll(0)

    def eof(self, ch):
        self.send(frame(EOF, ch.id))

    def close_channel(self, ch):
        self.send(frame(CLOSE, ch.id))

    def signal(self, ch, name):
        self.send(frame(SIGNAL, ch.id, s(name)))

    def resize(self, ch, cols, rows):
        self.send(frame(RESIZE, ch.id, struct.pack(">II", cols, rows)))

    def window(self, ch, n):
        ch.credit_given += n
        self.send(frame(WINDOW, ch.id, struct.pack(">I", n)))

    # -- receiving --

    def _recv(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return False
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            self.closed = True
            raise ConnectionError("the agent closed the connection")
        self.buf += chunk
        return True

    def _take(self):
        if len(self.buf) >= 4 and struct.unpack(">I", self.buf[:4])[0] > MAX_PAYLOAD:
            raise AgentProtocolError("frame over the payload limit")
        if len(self.buf) < 9:
            return None
        n, ftype, ch = struct.unpack(">IBI", self.buf[:9])
        if len(self.buf) < 9 + n:
            return None
        payload = bytes(self.buf[9:9 + n])
        del self.buf[:9 + n]
        return ftype, ch, payload

    def read_frame(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            f = self._take()
            if f is not None:
                return f
            left = deadline - time.monotonic()
            if left <= 0 or not self._recv(left):
                raise TimeoutError("no frame from the agent")

    def _dispatch(self, ftype, cid, payload):
        ch = self.channels.get(cid)
        if ch is None:
            raise AgentProtocolError(f"{NAMES.get(ftype, ftype)} for unknown channel {cid}")
        ch.frames.append((NAMES.get(ftype, str(ftype)), len(payload)))
        if ch.exit is not None:
            raise AgentProtocolError(f"{NAMES.get(ftype)} after EXIT")
        if ftype == OPEN_OK:
            ch.opened = True
            ch.credit = struct.unpack(">I", payload)[0]
        elif ftype == OPEN_FAIL:
            ch.opened = False
            ch.fail_message = payload[4:].decode(errors="replace")
        elif ftype in (DATA, STDERR):
            if not 1 <= len(payload) <= MAX_DATA:
                raise AgentProtocolError(f"DATA of {len(payload)} bytes")
            if ch.eof:
                raise AgentProtocolError("DATA after EOF")
            if len(payload) > ch.credit_given:
                raise AgentProtocolError(
                    f"{NAMES[ftype]} of {len(payload)} over credit {ch.credit_given}")
            ch.credit_given -= len(payload)
            (ch.out if ftype == DATA else ch.err).extend(payload)
            if self.auto_window:
                self.window(ch, len(payload))
        elif ftype == EOF:
            ch.eof = True
        elif ftype == WINDOW:
            ch.credit += struct.unpack(">I", payload)[0]
        elif ftype == EXIT:
            kind, core, value = struct.unpack(">BBI", payload)
            ch.exit = ("status", value) if kind == 1 else ("signal", value, bool(core))
        else:
            raise AgentProtocolError(f"unexpected {NAMES.get(ftype, ftype)}")

    def poll(self, timeout):
        """Handles whatever frames arrive within timeout seconds (at least those buffered)."""
        got = self._recv(timeout) if timeout is not None else False
        while True:
            f = self._take()
            if f is None:
                break
            self._dispatch(*f)
        return got

    def until(self, cond, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self.poll(0) if self.buf else None
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("condition not met in time")
            self.poll(min(left, 1.0))

    def wait_exit(self, ch, timeout=None):
        self.until(lambda: ch.exit is not None, timeout)
        return ch.exit

    def run(self, command, stdin=None, pty=False, **kw):
        """One exec channel: sends stdin (then EOF), returns the channel once it EXITs."""
        ch = self.open(KIND_EXEC, command=command, pty=pty, **kw)
        if not ch.opened:
            return ch
        if stdin is not None:
            self.data(ch, stdin)
        self.eof(ch)
        self.wait_exit(ch)
        return ch
