"""client.kex: the client's KEXINIT read on the wire and its HASSH, for real clients whose
algorithm lists we can learn independently (paramiko's own attributes, `ssh -G`), for a
hand-made KEXINIT, and for an opening that is not one."""

import hashlib
import socket
import subprocess

from hermes_helpers import open_shell, ssh_env, ssh_exec, ssh_options
from stealth_probe import packet, ssh_string

# What OpenSSH adds to its kex list on the wire, beyond the configured algorithms.
OPENSSH_MARKERS = {"ext-info-c", "kex-strict-c-v00@openssh.com"}


def hassh(kex, ciphers, macs, compression):
    return hashlib.md5(";".join([kex, ciphers, macs, compression]).encode()).hexdigest()


def check_hassh(ev):
    assert ev["hassh"] == hassh(ev["kex_algorithms"], ev["ciphers_cs"], ev["macs_cs"],
                                ev["compression_cs"])
    assert ev["hassh_algorithms"] == ";".join(
        [ev["kex_algorithms"], ev["ciphers_cs"], ev["macs_cs"], ev["compression_cs"]])


def test_paramiko_lists_and_hassh(hermes):
    with open_shell(hermes) as sh:
        t = sh.transport
        kex = ",".join(list(t.preferred_kex) + ["ext-info-c"])
        ciphers = ",".join(t.preferred_ciphers)
        macs = ",".join(t.preferred_macs)
        comp = ",".join(t.preferred_compression)
        ev = hermes.wait_event("client.kex", session=sh.sid, timeout=30)
    assert ev["kex_algorithms"] == kex
    assert ev["host_key_algorithms"] == ",".join(t.preferred_keys)
    assert (ev["ciphers_cs"], ev["ciphers_sc"]) == (ciphers, ciphers)
    assert (ev["macs_cs"], ev["macs_sc"]) == (macs, macs)
    assert (ev["compression_cs"], ev["compression_sc"]) == (comp, comp)
    assert (ev["languages_cs"], ev["languages_sc"]) == ("", "")
    assert ev["first_kex_follows"] is False
    assert ev["hassh"] == hassh(kex, ciphers, macs, comp)
    check_hassh(ev)
    # Before the login, after the version.
    types = [e["event"] for e in hermes.session_events(sh.sid)]
    assert types.index("client.version") < types.index("client.kex") < \
        types.index("login.success"), types


def test_openssh_lists_match_its_config(hermes):
    conf = subprocess.run(["ssh", *ssh_options(hermes.port), "-G", "root@127.0.0.1"],
                          capture_output=True, text=True, timeout=30, env=ssh_env())
    assert conf.returncode == 0, conf.stderr
    opts = dict(line.split(" ", 1) for line in conf.stdout.splitlines() if " " in line)
    mark = hermes.mark()
    r = ssh_exec(hermes.port, "true")
    assert r.returncode == 0, r.stderr
    sid = hermes.wait_new_session(mark)
    ev = hermes.wait_event("client.kex", session=sid, timeout=30)
    kex = ev["kex_algorithms"].split(",")
    assert [k for k in kex if k not in OPENSSH_MARKERS] == opts["kexalgorithms"].split(",")
    assert ev["ciphers_cs"] == opts["ciphers"]
    assert ev["macs_cs"] == opts["macs"]
    check_hassh(ev)


def raw_opening(hermes, data):
    """Connects, sends `data` after the server's banner, reads until the server closes or
    a second passes, and returns the session id."""
    mark = hermes.mark()
    with socket.create_connection(("127.0.0.1", hermes.port), timeout=15) as s:
        banner = s.recv(256)
        assert banner.startswith(b"SSH-2.0-OpenSSH_8.9p1"), banner
        s.sendall(data)
        s.settimeout(1)
        try:
            while s.recv(4096):
                pass
        except (socket.timeout, ConnectionResetError):
            pass
    return hermes.wait_new_session(mark)


def test_handmade_kexinit(hermes):
    lists = ["curve25519-sha256,diffie-hellman-group14-sha1", "ssh-rsa", "aes128-ctr,aes256-cbc",
             "aes128-ctr", "hmac-sha1", "hmac-sha1", "none", "none", "", ""]
    payload = bytes([20]) + bytes(range(16)) + b"".join(ssh_string(x) for x in lists) + \
        b"\x00" + bytes(4)
    sid = raw_opening(hermes, b"SSH-2.0-Go\r\n" + packet(payload))
    ev = hermes.wait_event("client.kex", session=sid, timeout=30)
    assert ev["hassh"] == hassh(lists[0], lists[2], lists[4], lists[6])
    assert ev["hassh"] == hashlib.md5(
        b"curve25519-sha256,diffie-hellman-group14-sha1;aes128-ctr,aes256-cbc;hmac-sha1;none"
    ).hexdigest()
    assert ev["ciphers_sc"] == "aes128-ctr"
    assert ev["host_key_algorithms"] == "ssh-rsa"
    assert hermes.find("client.version", session=sid)[0]["version"] == "SSH-2.0-Go"
    # The client left without finishing the key exchange: the session still ends cleanly.
    hermes.wait_event("session.closed", session=sid, timeout=30)


def test_opening_that_is_not_a_kexinit(hermes):
    # SSH_MSG_NEWKEYS where the KEXINIT belongs.
    sid = raw_opening(hermes, b"SSH-2.0-odd\r\n" + packet(bytes([21])))
    ev = hermes.wait_event("client.kex", session=sid, timeout=30)
    assert ev["error"] == "first packet is not a KEXINIT"
    assert "hassh" not in ev
    hermes.wait_event("session.closed", session=sid, timeout=30)
    # The daemon goes on serving.
    assert ssh_exec(hermes.port, "echo fine").stdout == b"fine\n"
