"""logging.syslog: every event of events.jsonl, also sent as an RFC 5424 message to a
collector the test runs on loopback, over UDP (a datagram each) and over TCP (octet counting,
RFC 6587), and a TCP collector that goes away and comes back gets the events again."""

import json
import re
import socket
import threading
import time


from hermes_helpers import failed_password_login, wait_for

HEADER = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) hermes (?P<pid>\d+) (?P<msgid>\S+) "
    r"\[hermes@32473 event=\"(?P<event>[^\"\\\]]*)\"(?: session=\"(?P<session>[0-9a-f]+)\")?\] "
    r"(?P<json>\{.*\})$", re.S)


class Collector:
    """A syslog collector on loopback: UDP datagrams, or TCP with octet-counted frames."""

    def __init__(self, kind, port=0):
        self.kind = kind
        self.messages = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sock = socket.socket(socket.AF_INET,
                                  socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        if kind == "tcp":
            self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                if self.kind == "udp":
                    data, _ = self.sock.recvfrom(65536)
                    with self.lock:
                        self.messages.append(data.decode())
                    continue
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.read_frames(conn)

    def read_frames(self, conn):
        conn.settimeout(0.2)
        data = b""
        with conn:
            while not self.stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                data += chunk
                while b" " in data:
                    n, rest = data.split(b" ", 1)
                    assert n.isdigit(), data[:40]
                    if len(rest) < int(n):
                        break
                    with self.lock:
                        self.messages.append(rest[:int(n)].decode())
                    data = rest[int(n):]

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()

    def parsed(self):
        with self.lock:
            return [HEADER.match(m) for m in self.messages]


def check_stream(inst, collector, user):
    """The session's events, each sent once, as the log has it."""
    mark = inst.mark()
    failed_password_login(inst.port, user)
    sid = inst.wait_event("login.failed", since=mark, username=user)["session"]
    inst.wait_event("session.closed", session=sid, timeout=30)
    logged = [e for e in inst.events() if e.get("session") == sid]
    got = wait_for(lambda: (lambda ms: ms if len(ms) >= len(logged) else None)(
        [m for m in collector.parsed() if m and m["session"] == sid]), 30,
        what=f"{len(logged)} messages of {sid}")
    assert [json.loads(m["json"]) for m in got] == logged
    for m, e in zip(got, logged):
        assert int(m["pri"]) == 16 * 8 + 6  # local0.info
        assert m["ts"] == e["timestamp"] and m["event"] == m["msgid"] == e["event"]
        assert int(m["pid"]) == inst.proc.pid
        assert m["host"] == socket.gethostname()
    return sid


def test_udp(hermes_factory):
    col = Collector("udp")
    try:
        inst = hermes_factory.start({"logging": {"syslog": f"udp://127.0.0.1:{col.port}"}})
        check_stream(inst, col, "udp-user")
        # The daemon's own events go too (no session): its start.
        started = [m for m in col.parsed() if m and m["event"] == "hermes.started"]
        assert len(started) == 1 and started[0]["session"] is None
        assert json.loads(started[0]["json"])["pid"] == inst.proc.pid
    finally:
        col.close()
    # Every message parsed: none malformed.
    assert all(col.parsed()), [m for m in col.messages if not HEADER.match(m)]


def test_tcp_and_a_collector_that_comes_back(hermes_factory):
    col = Collector("tcp")
    port = col.port
    try:
        inst = hermes_factory.start({"logging": {"syslog": f"tcp://127.0.0.1:{port}",
                                                 "syslog_facility": "local0"}})
        check_stream(inst, col, "tcp-user")
    finally:
        col.close()
    assert all(col.parsed())
    # Gone: Hermes goes on (its log says so), and sends again once it is back.
    failed_password_login(inst.port, "while-gone")
    inst.wait_event("login.failed", username="while-gone")
    time.sleep(1)
    col = Collector("tcp", port)
    try:
        wait_for(lambda: "logging.syslog: connected" in inst.stderr_path.read_text(), 30,
                 what="the reconnect")
        check_stream(inst, col, "tcp-again")
    finally:
        col.close()
    assert inst.running()
