"""Bad input from the network gets a clear end, never a crash: connections that send garbage
instead of a banner, endless banners, lying packet lengths, KEXINITs with random bytes flipped
or cut, and garbage after a real key exchange. The daemon stays up, every connection it
accepted has its session.connect and session.closed, no worker dies of a signal (libssh and our
KEXINIT reader both hold), and a real client is still served."""

import random
import socket
import struct

import paramiko

from hermes_helpers import ssh_exec, wait_for
from stealth_probe import packet, ssh_string as name_list

LISTS = ["curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256",
         "ssh-ed25519,rsa-sha2-256", "aes128-ctr,chacha20-poly1305@openssh.com", "aes128-ctr",
         "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""]
KEXINIT = bytes([20]) + bytes(range(16)) + b"".join(name_list(x) for x in LISTS) + bytes(5)


def flipped(rnd, data, n):
    b = bytearray(data)
    for _ in range(n):
        b[rnd.randrange(len(b))] = rnd.randrange(256)
    return bytes(b)


def openings(rnd):
    """(what, bytes to send after the server's banner) for one hostile connection each."""
    yield "garbage for a banner", bytes(rnd.randrange(256) for _ in range(512))
    yield "a banner without end", b"SSH-2.0-" + b"A" * 300000
    yield "lines before the banner", b"hello\r\n" * 2000 + b"SSH-2.0-x\r\n"
    yield "NUL in the banner", b"SSH-2.0-a\x00b\r\n" + packet(KEXINIT)
    yield "a 4 GiB packet", b"SSH-2.0-x\r\n" + struct.pack(">I", 0xFFFFFFFF) + b"\x04" * 64
    yield "a zero-length packet", b"SSH-2.0-x\r\n" + struct.pack(">IB", 0, 0) * 8
    yield "padding longer than the packet", b"SSH-2.0-x\r\n" + struct.pack(">IB", 8, 200) + bytes(8)
    yield "name-list lengths that lie", b"SSH-2.0-x\r\n" + packet(
        bytes([20]) + bytes(16) + struct.pack(">I", 0x7FFFFFFF) + b"curve25519-sha256")
    for i in range(24):
        k = flipped(rnd, KEXINIT, rnd.choice([1, 2, 8, 32]))
        if i % 3 == 0:
            k = k[:rnd.randrange(1, len(k))]
        yield f"KEXINIT mutation {i}", b"SSH-2.0-fuzz\r\n" + packet(k)


def send(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.recv(256)  # the server's banner
        s.settimeout(3)
        try:
            s.sendall(data)
            while s.recv(65536):
                pass
        except (socket.timeout, ConnectionError, BrokenPipeError):
            pass


def garbage_after_kex(port, rnd):
    """A real key exchange (paramiko), then random bytes where encrypted packets belong."""
    t = paramiko.Transport(("127.0.0.1", port))
    t.start_client(timeout=30)
    sock = t.sock
    try:
        sock.sendall(bytes(rnd.randrange(256) for _ in range(4096)))
        sock.settimeout(3)
        while sock.recv(65536):
            pass
    except (socket.timeout, OSError):
        pass
    finally:
        t.close()


def test_hostile_clients(hermes):
    rnd = random.Random(11)
    mark = hermes.mark()
    tried = []
    for what, data in openings(rnd):
        send(hermes.port, data)
        tried.append(what)
        assert hermes.running(), f"Hermes died after: {what}\n" + hermes.diagnostics()
    for _ in range(4):
        garbage_after_kex(hermes.port, rnd)
    assert ssh_exec(hermes.port, "echo still-serving").stdout == b"still-serving\n"
    events = hermes.events(since=mark)
    opened = {e["session"] for e in events if e["event"] == "session.connect"}

    def all_closed():
        closed = {e["session"]: e for e in hermes.events(since=mark)
                  if e["event"] == "session.closed"}
        return closed if opened <= set(closed) else None
    closed = wait_for(all_closed, 150, what="every hostile connection's session.closed")
    assert len(opened) >= len(tried) + 4 + 1, (len(opened), len(tried))
    died = {s: e.get("worker_signal") for s, e in closed.items() if e.get("worker_signal")}
    assert not died, died
