"""Probes of what an SSH server shows a client before and around the login, for comparing
Hermes with a stock OpenSSH sshd (test_stealth_wire.py). Each probe takes (host, port, ...) and
returns plain data - dicts, lists, tuples of str, bytes, int and float - so that the same probe
runs against either server and a test compares the results.

Raw sockets for what comes before the key exchange (the identification line, the KEXINIT, bad
identification lines, a key exchange that cannot agree). After the key exchange, `Wire` drives
a paramiko client transport whose user-auth and global-request replies are recorded raw with
their arrival times instead of being handled by paramiko's own auth code, so that a probe sees
exactly which message came back and when (a failed password's delay, MaxAuthTries' disconnect).

How the end of a connection is told: recv() returning b"" is a FIN ("FIN"); recv() raising
ConnectionResetError is an RST ("RST"); nothing within the probe's wait is "open".
Only the Python standard library plus paramiko.
"""

import concurrent.futures
import queue
import socket
import statistics
import struct
import threading
import time

import paramiko
from paramiko.common import (MSG_GLOBAL_REQUEST, MSG_REQUEST_FAILURE, MSG_REQUEST_SUCCESS,
                             MSG_SERVICE_ACCEPT, MSG_SERVICE_REQUEST, MSG_UNIMPLEMENTED,
                             MSG_USERAUTH_BANNER, MSG_USERAUTH_FAILURE, MSG_USERAUTH_INFO_REQUEST,
                             MSG_USERAUTH_REQUEST, MSG_USERAUTH_SUCCESS)
from paramiko.message import Message

# The identification a probe sends where it speaks for itself: an ordinary OpenSSH client's.
CLIENT_LINE = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"

KEXINIT_FIELDS = ("kex", "host_key", "cipher_cs", "cipher_sc", "mac_cs", "mac_sc",
                  "compression_cs", "compression_sc", "language_cs", "language_sc")

SSH_MSG_DISCONNECT = 1
SSH_MSG_KEXINIT = 20


# ---------------------------------------------------------------------------------------------
# Raw sockets

class Raw:
    """A TCP connection read into a buffer, with what ended it and when."""

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.t0 = time.monotonic()
        self.buf = b""
        self.end = None  # "FIN" or "RST" once the server has ended the connection
        self.end_at = None  # time.monotonic() of that

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fill(self, deadline):
        """Reads what comes until `deadline` (a time.monotonic()), the first chunk only.
        False when nothing more can come (the connection ended) or the deadline passed."""
        if self.end:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.end, self.end_at = "RST", time.monotonic()
            return False
        if not data:
            self.end, self.end_at = "FIN", time.monotonic()
            return False
        self.buf += data
        return True

    def take(self, n):
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self, timeout=10):
        """The next line, with its terminator, or None if none came (what came stays)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if not self.fill(deadline):
                return None
        return self.take(self.buf.index(b"\n") + 1)

    def read_exact(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if not self.fill(deadline):
                return None
        return self.take(n)

    def read_packet(self, timeout=10):
        """The payload of the next unencrypted binary packet, or None."""
        head = self.read_exact(5, timeout)
        if head is None:
            return None
        length, pad = struct.unpack(">IB", head)
        if not 5 <= length <= 35000:
            raise ValueError(f"not a binary packet: length {length} ({head!r})")
        body = self.read_exact(length - 1, timeout)
        if body is None:
            return None
        return body[:len(body) - pad]

    def read_to_end(self, timeout):
        """Everything until the server ends the connection or `timeout` s pass; the rest of
        the buffer included."""
        deadline = time.monotonic() + timeout
        while self.fill(deadline):
            pass
        return self.take(len(self.buf))

    def ending(self, since):
        """How the server ended the connection: ("FIN" or "RST", seconds from `since` (a
        time.monotonic()) to that end), or ("open", None) if it has not."""
        if not self.end:
            return "open", None
        return self.end, round(self.end_at - since, 3)

    def server_line(self, timeout=10):
        """(bytes before the server's identification line, that line): the first line that
        starts with SSH-, and every byte sent before it."""
        before = b""
        while True:
            line = self.read_line(timeout)
            if line is None:
                return before + self.take(len(self.buf)), None
            if line.startswith(b"SSH-"):
                return before, line
            before += line


def name_lists(data, count):
    """`count` SSH name-lists from the start of data: (list of lists, the rest)."""
    out = []
    for _ in range(count):
        (n,) = struct.unpack(">I", data[:4])
        text = data[4:4 + n].decode("ascii")
        out.append(text.split(",") if text else [])
        data = data[4 + n:]
    return out, data


def parse_kexinit(payload):
    """A KEXINIT payload as a dict: the ten lists by KEXINIT_FIELDS' names, first_kex_follows,
    reserved."""
    if not payload or payload[0] != SSH_MSG_KEXINIT:
        raise ValueError(f"not a KEXINIT: {payload[:32]!r}")
    lists, rest = name_lists(payload[17:], 10)
    kex = dict(zip(KEXINIT_FIELDS, lists))
    kex["first_kex_follows"] = bool(rest[0])
    kex["reserved"] = struct.unpack(">I", rest[1:5])[0]
    return kex


def parse_disconnect(payload):
    """(code, text, language) of an SSH_MSG_DISCONNECT payload."""
    (code,) = struct.unpack(">I", payload[1:5])
    (n,) = struct.unpack(">I", payload[5:9])
    text = payload[9:9 + n].decode("utf-8", "replace")
    rest = payload[9 + n:]
    lang = rest[4:4 + struct.unpack(">I", rest[:4])[0]].decode("ascii", "replace") \
        if len(rest) >= 4 else None
    return code, text, lang


def packet(payload):
    """An unencrypted binary packet around payload (block size 8, no MAC)."""
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)


def ssh_string(value):
    value = value.encode() if isinstance(value, str) else value
    return struct.pack(">I", len(value)) + value


def kexinit_payload(lists, first_kex_follows=False):
    return bytes([SSH_MSG_KEXINIT]) + bytes(16) + b"".join(
        ssh_string(",".join(x)) for x in lists) + bytes([first_kex_follows]) + bytes(4)


def identification(host, port, client_line=CLIENT_LINE, quiet=0.5, timeout=10):
    """What the server says first: the bytes before its identification line ("before"), the
    line without its terminator ("line") and the terminator ("terminator"), what it sends
    before the client's own line within `quiet` s ("early"), and the KEXINIT it sends after
    the client's line, parsed ("kexinit") and raw ("kexinit_payload")."""
    with Raw(host, port, timeout) as c:
        before, line = c.server_line(timeout)
        if line is None:
            return {"before": before, "line": None, "end": c.end}
        term = b"\r\n" if line.endswith(b"\r\n") else b"\n"
        early = c.read_to_end(quiet)  # what came with the line, and within `quiet` s
        c.sock.sendall(client_line)
        if early:  # the KEXINIT came before the client's line: it is in `early`
            packets = split_packets(early)
            payload = packets[0][1] if packets else None
        else:
            payload = c.read_packet(timeout)
    out = {"before": before, "line": line[:-len(term)].decode("ascii", "replace"),
           "terminator": term.decode(), "early": early, "kexinit_payload": payload}
    out["kexinit"] = parse_kexinit(payload) if payload else None
    return out


def bad_identification(host, port, data, wait=8, timeout=10):
    """Sends `data` after reading the server's identification line and reads until the server
    ends the connection or `wait` s pass: {"line": the server's line, "before": what came
    before it, "reply": the bytes after it, "end": "FIN"/"RST"/"open", "after": seconds from
    the send to the end (None if open)}."""
    with Raw(host, port, timeout) as c:
        before, line = c.server_line(timeout)
        sent = time.monotonic()
        c.sock.sendall(data)
        reply = c.read_to_end(wait)
        end, after = c.ending(sent)
    return {"line": line, "before": before, "reply": reply, "end": end, "after": after}


def silent_until_closed(host, port, send=b"", wait=30, timeout=10):
    """Login grace before the key exchange: connects, sends `send` (nothing, or a line) and
    then nothing, and reads until the server ends the connection or `wait` s pass. {"line":
    the server's line, "reply": every byte after it, "packets": the unencrypted packets in
    the reply (type, payload), "end": "FIN"/"RST"/"open", "after": seconds from connect}."""
    with Raw(host, port, timeout) as c:
        _, line = c.server_line(timeout)
        if send:
            c.sock.sendall(send)
        reply = c.read_to_end(wait - (time.monotonic() - c.t0))
        end, after = c.ending(c.t0)
    return {"line": line, "reply": reply, "packets": split_packets(reply), "end": end,
            "after": after}


def split_packets(data):
    """(type, payload) of each whole unencrypted packet at the start of data."""
    out = []
    while len(data) >= 5:
        length, pad = struct.unpack(">IB", data[:5])
        if not 5 <= length <= 35000 or len(data) < 4 + length:
            break
        payload = data[5:4 + length - pad]
        out.append((payload[0] if payload else None, payload))
        data = data[4 + length:]
    return out


def kex_failure(host, port, lists=None, wait=8, timeout=10):
    """A client KEXINIT the server cannot agree with (by default only diffie-hellman-group1-sha1
    for the key exchange), sent with the client's line as bad_identification sends: {"types":
    the types of the packets the server sends after its line, "disconnect": (code, text, lang)
    if one came, "end", "after": seconds from the send}."""
    lists = lists or [["diffie-hellman-group1-sha1"], ["ssh-ed25519", "rsa-sha2-256"],
                      ["aes128-ctr"], ["aes128-ctr"], ["hmac-sha2-256"], ["hmac-sha2-256"],
                      ["none"], ["none"], [], []]
    r = bad_identification(host, port, CLIENT_LINE + packet(kexinit_payload(lists)), wait,
                           timeout)
    packets = split_packets(r["reply"])
    disc = [parse_disconnect(p) for t, p in packets if t == SSH_MSG_DISCONNECT]
    return {"types": [t for t, _ in packets], "disconnect": disc[0] if disc else None,
            "end": r["end"], "after": r["after"]}


# ---------------------------------------------------------------------------------------------
# After the key exchange: paramiko, with the replies recorded raw

def end_of(exc):
    """"FIN" or "RST" for what paramiko's packetizer raised when the connection ended."""
    if isinstance(exc, ConnectionResetError):
        return "RST"
    if isinstance(exc, EOFError):
        return "FIN"
    return type(exc).__name__


class _Recorder:
    """Stands in for paramiko's AuthHandler: the transport thread hands it the messages of
    the types in _handler_table, and it queues them with their arrival times."""

    def __init__(self, wire):
        self._handler_table = {
            t: (lambda _self, m, t=t: wire._put(t, m))
            for t in (MSG_UNIMPLEMENTED, MSG_SERVICE_ACCEPT, MSG_USERAUTH_FAILURE,
                      MSG_USERAUTH_SUCCESS, MSG_USERAUTH_BANNER, MSG_USERAUTH_INFO_REQUEST)}

    def is_authenticated(self):
        return False

    def get_username(self):
        return None

    banner = None

    def abort(self):
        pass


_KEY = []
_KEY_LOCK = threading.Lock()


def probe_key():
    """An ECDSA key no server has heard of, made once per process."""
    with _KEY_LOCK:
        if not _KEY:
            _KEY.append(paramiko.ECDSAKey.generate())
        return _KEY[0]


class Wire:
    """A paramiko client transport past its key exchange, whose replies to user-auth requests
    and global requests are recorded raw with their arrival times.

    Each request method returns a reply tuple (kind, seconds, detail): kind is "failure"
    (detail: (methods, partial)), "success", "pk_ok", "info_request", "service_accept",
    "request_success", "request_failure", "unimplemented" (detail: the sequence number),
    "disconnect" (detail: (code, text, end) where end is what followed it: "FIN", "RST" or
    "open"), "closed" (detail: "FIN"/"RST"), or "timeout"; seconds is the time from the send
    to the reply. Banners (SSH_MSG_USERAUTH_BANNER) are kept in .banners, not returned."""

    def __init__(self, host, port, timeout=15):
        self.q = queue.Queue()
        self.banners = []
        # What a reply of type 60 is: SSH_MSG_USERAUTH_PK_OK to a public key query, or
        # SSH_MSG_USERAUTH_INFO_REQUEST to keyboard-interactive (they share the number).
        self.pending_60 = "pk_ok"
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.t0 = time.monotonic()
        t = self.transport = paramiko.Transport(self.sock)
        t.auth_handler = _Recorder(self)
        table = dict(paramiko.Transport._handler_table)
        table[MSG_REQUEST_SUCCESS] = lambda _t, m: self._put(MSG_REQUEST_SUCCESS, m)
        table[MSG_REQUEST_FAILURE] = lambda _t, m: self._put(MSG_REQUEST_FAILURE, m)
        t._handler_table = table
        t._parse_disconnect = self._disconnect
        read = t.packetizer.read_message

        def read_message():
            try:
                return read()
            except Exception as e:  # the connection ended (or broke): say how, and go on
                self.q.put((time.monotonic(), "closed", end_of(e)))
                raise
        t.packetizer.read_message = read_message
        try:
            t.start_client(timeout=timeout)
        except BaseException:
            self.close()
            raise

    # -- what the transport thread calls ------------------------------------------------------

    def _put(self, ptype, m):
        now = time.monotonic()
        if ptype == MSG_USERAUTH_FAILURE:
            item = ("failure", (m.get_list(), m.get_boolean()))
        elif ptype == MSG_USERAUTH_SUCCESS:
            item = ("success", None)
        elif ptype == MSG_USERAUTH_INFO_REQUEST:
            item = (self.pending_60, m.get_remainder())
        elif ptype == MSG_USERAUTH_BANNER:
            self.banners.append(m.get_text())
            return
        elif ptype == MSG_SERVICE_ACCEPT:
            item = ("service_accept", m.get_text())
        elif ptype == MSG_REQUEST_SUCCESS:
            item = ("request_success", m.get_remainder())
        elif ptype == MSG_REQUEST_FAILURE:
            item = ("request_failure", None)
        elif ptype == MSG_UNIMPLEMENTED:
            item = ("unimplemented", m.get_int())
        self.q.put((now,) + item)

    def _disconnect(self, m):
        now = time.monotonic()
        code, text = m.get_int(), m.get_text()
        # paramiko closes the socket after this: read what follows first (at most 2 s).
        end = "open"
        self.sock.settimeout(0.1)
        deadline = now + 2
        while time.monotonic() < deadline:
            try:
                if not self.sock.recv(4096):
                    end = "FIN"
                    break
            except socket.timeout:
                continue
            except ConnectionResetError:
                end = "RST"
                break
            except OSError as e:
                end = type(e).__name__
                break
        self.q.put((now, "disconnect", (code, text, end)))

    # -- sending --------------------------------------------------------------------------------

    def send(self, *fields):
        """Sends a message of paramiko Message fields (the first a type byte); its time."""
        m = Message()
        m.add_byte(bytes([fields[0]]))
        for f in fields[1:]:
            if isinstance(f, bool):
                m.add_boolean(f)
            elif isinstance(f, int):
                m.add_int(f)
            else:
                m.add_string(f)
        sent = time.monotonic()
        self.transport._send_user_message(m)
        return sent

    def reply(self, sent, timeout=15):
        """The next reply, as (kind, seconds since `sent`, detail)."""
        try:
            at, kind, detail = self.q.get(timeout=timeout)
        except queue.Empty:
            return ("timeout", None, None)
        return (kind, round(at - sent, 4), detail)

    def ask(self, *fields, timeout=15):
        return self.reply(self.send(*fields), timeout)

    # -- requests -------------------------------------------------------------------------------

    def service(self, name="ssh-userauth"):
        return self.ask(MSG_SERVICE_REQUEST, name)

    def none(self, user):
        return self.ask(MSG_USERAUTH_REQUEST, user, "ssh-connection", "none")

    def password(self, user, password):
        return self.ask(MSG_USERAUTH_REQUEST, user, "ssh-connection", "password", False,
                        password)

    def publickey(self, user, key=None, signed=False):
        key = key or probe_key()
        alg, blob = key.get_name(), key.asbytes()
        self.pending_60 = "pk_ok"
        if not signed:
            return self.ask(MSG_USERAUTH_REQUEST, user, "ssh-connection", "publickey", False,
                            alg, blob)
        m = Message()
        m.add_string(self.transport.session_id)
        m.add_byte(bytes([MSG_USERAUTH_REQUEST]))
        m.add_string(user)
        m.add_string("ssh-connection")
        m.add_string("publickey")
        m.add_boolean(True)
        m.add_string(alg)
        m.add_string(blob)
        sig = key.sign_ssh_data(m.asbytes()).asbytes()
        return self.ask(MSG_USERAUTH_REQUEST, user, "ssh-connection", "publickey", True, alg,
                        blob, sig)

    def keyboard_interactive(self, user):
        self.pending_60 = "info_request"
        return self.ask(MSG_USERAUTH_REQUEST, user, "ssh-connection", "keyboard-interactive",
                        "", "")

    def global_request(self, name, want_reply=True, timeout=15):
        return self.ask(MSG_GLOBAL_REQUEST, name, want_reply, timeout=timeout)

    # -- what else --------------------------------------------------------------------------------

    def wait_end(self, timeout):
        """The next thing the server does while the client says nothing (a disconnect, the
        connection's end), as a reply tuple timed from the connect."""
        return self.reply(self.t0, timeout)

    def close(self):
        self.transport.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def userauth(host, port, tries=3):
    """A Wire with the ssh-userauth service accepted. A connection the server drops before
    its identification line (sshd's MaxStartups, when a probe runs many at once) is tried
    again, up to `tries` times in all."""
    for n in range(tries):
        try:
            w = Wire(host, port)
            break
        except paramiko.SSHException as e:
            if "banner" not in str(e) or n == tries - 1:
                raise
            time.sleep(0.2)
    r = w.service()
    if r[0] != "service_accept":
        w.close()
        raise AssertionError(f"ssh-userauth service request answered {r}")
    return w


# ---------------------------------------------------------------------------------------------
# Probes after the key exchange

def after_kex(host, port):
    """What the key exchange agreed and what the server said after it: its version, the
    ext-info extensions (server-sig-algs among them; a round trip first, for the EXT_INFO
    that follows NEWKEYS to be read) and the algorithms paramiko and it agreed on."""
    with Wire(host, port) as w:
        accept = w.service()
        t = w.transport
        return {"remote_version": t.remote_version, "service": accept[0],
                "server_extensions": {k: (v.decode() if isinstance(v, bytes) else v)
                                      for k, v in t.server_extensions.items()},
                "host_key_type": t.host_key_type, "cipher": t.remote_cipher,
                "mac": t.remote_mac}


def auth_methods(host, port, user="root"):
    """The methods a `none` request's failure lists, in order, and its (kind, seconds)."""
    with userauth(host, port) as w:
        kind, secs, detail = w.none(user)
    if kind != "failure":
        return {"reply": kind, "seconds": secs, "detail": detail}
    return {"reply": kind, "seconds": secs, "methods": detail[0], "partial": detail[1]}


def attempt(host, port, method, user, secret=None, after=0):
    """One request on a fresh connection (after `after` failed passwords): its reply tuple.
    method: "password", "publickey", "publickey-signed", "none", "keyboard-interactive"."""
    with userauth(host, port) as w:
        for _ in range(after):
            w.password(user, "not-the-password")
        return one(w, method, user, secret)


def one(w, method, user, secret=None):
    if method == "password":
        return w.password(user, secret if secret is not None else "not-the-password")
    if method == "publickey":
        return w.publickey(user)
    if method == "publickey-signed":
        return w.publickey(user, signed=True)
    if method == "none":
        return w.none(user)
    if method == "keyboard-interactive":
        return w.keyboard_interactive(user)
    raise ValueError(method)


def delays(host, port, method, user, n, parallel=4, secret=None):
    """The reply times of `n` first attempts, each on its own connection, `parallel` at a
    time: a sorted list of seconds. Any reply other than a failure fails the probe."""
    def run(_):
        r = attempt(host, port, method, user, secret)
        if r[0] != "failure":
            raise AssertionError(f"{method} for {user!r} answered {r}")
        return r[1]
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        return sorted(pool.map(run, range(n)))


def stats(values):
    """min, median, max, mean, n of a list of seconds (rounded to the ms)."""
    v = sorted(values)
    return {"n": len(v), "min": round(v[0], 4), "median": round(statistics.median(v), 4),
            "max": round(v[-1], 4), "mean": round(statistics.fmean(v), 4)}


def until_disconnect(host, port, method="password", user="root", tries=10, secret=None):
    """Failed attempts of `method` on one connection until the server ends it: the list of
    reply tuples, the last a "disconnect" or "closed" one (or the tenth reply if none)."""
    out = []
    with userauth(host, port) as w:
        for _ in range(tries):
            r = one(w, method, user, secret)
            out.append(r)
            if r[0] in ("disconnect", "closed", "timeout"):
                break
    return out


def global_reply(host, port, name="keepalive@openssh.com", login=None, want_reply=True,
                 timeout=15):
    """The reply tuple to a global request (("timeout", None, None) if none comes within
    `timeout` s): before any login (login None), or after logging in with login =
    ("password", user, password) or ("publickey", user, paramiko key)."""
    with Wire(host, port) as w:
        if login is not None:
            r = w.service()
            assert r[0] == "service_accept", r
            how, user, secret = login
            if how == "password":
                r = w.password(user, secret)
            else:
                r = w.publickey(user, secret, signed=True)
            if r[0] != "success":
                raise AssertionError(f"login {how} {user!r} answered {r}")
        return w.global_request(name, want_reply, timeout)


def grace_after_kex(host, port, wait=30):
    """Login grace after the key exchange: the client says nothing more. The reply tuple of
    what the server does (a disconnect or the connection's end), timed from the connect."""
    with Wire(host, port) as w:
        return w.wait_end(wait)
