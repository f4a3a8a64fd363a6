"""Bots are written with every SSH library there is: the same server must work for PuTTY's plink,
dropbear's dbclient, libssh2 (through curl's sftp:// and scp://) and paramiko's exec."""

import subprocess

from hermes_helpers import PASSWORD, USER, paramiko_transport, sha256_bytes, \
    ssh_keygen_fingerprint


def host_key_fingerprints(hermes):
    return [ssh_keygen_fingerprint(hermes.keys_dir / (name + ".pub"))[0]
            for name in ("ssh_host_ed25519_key", "ssh_host_ecdsa_key", "ssh_host_rsa_key")]


def test_plink_exec_exit_status(hermes):
    pins = [arg for fp in host_key_fingerprints(hermes) for arg in ("-hostkey", fp)]
    r = subprocess.run(["plink", "-batch", "-ssh", "-P", str(hermes.port), "-pw", PASSWORD,
                        *pins, f"{USER}@127.0.0.1", "echo PLINK-$((2*3)); exit 6"],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 6, r
    assert r.stdout == b"PLINK-6\n"


def test_dbclient_exec_exit_status(hermes):
    r = subprocess.run(["dbclient", "-y", "-y", "-p", str(hermes.port), f"{USER}@127.0.0.1",
                        "echo DB-$((3+4)); exit 7"], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL,
                       env={"DROPBEAR_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 7, r
    assert r.stdout == b"DB-7\n"


def test_curl_libssh2_sftp_and_scp(hermes, tmp_path):
    for scheme in ("sftp", "scp"):
        r = subprocess.run(["curl", "-sSk", "-u", f"{USER}:{PASSWORD}",
                            f"{scheme}://127.0.0.1:{hermes.port}/etc/hostname"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, (scheme, r.stderr)
        assert r.stdout == b"prod-web-01\n", scheme
    up = tmp_path / "curl-up.txt"
    up.write_bytes(b"uploaded by curl\n")
    mark = hermes.mark()
    r = subprocess.run(["curl", "-sSk", "-u", f"{USER}:{PASSWORD}", "-T", str(up),
                        f"sftp://127.0.0.1:{hermes.port}/root/curl-up.txt"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # Each curl call is a connection (and container) of its own: the upload is checked in
    # what that session left behind.
    moved = hermes.wait_event("file.transfer", since=mark, timeout=30)
    assert (moved["direction"], moved["path"], moved["bytes"]) == \
        ("upload", "/root/curl-up.txt", len(up.read_bytes()))
    hermes.wait_event("artifacts.collected", session=moved["session"], timeout=60)
    kept = hermes.find("file.created", session=moved["session"], path="/root/curl-up.txt")
    assert [e["sha256"] for e in kept] == [sha256_bytes(up.read_bytes())]


def test_paramiko_exec_streams(hermes):
    t = paramiko_transport(hermes.port)
    try:
        t.auth_password(USER, PASSWORD)
        ch = t.open_session()
        ch.settimeout(60)
        ch.exec_command("cat; echo err >&2; exit 9")
        ch.sendall(b"through stdin\n")
        ch.shutdown_write()
        out, err = b"", b""
        while True:
            d = ch.recv(65536)
            if not d:
                break
            out += d
        while ch.recv_stderr_ready() or not ch.exit_status_ready():
            d = ch.recv_stderr(65536)
            if not d:
                break
            err += d
        assert ch.recv_exit_status() == 9
        assert out == b"through stdin\n"
        assert err == b"err\n"
    finally:
        t.close()


def test_asyncssh_exec_and_sftp(hermes, tmp_path):
    import asyncio

    import asyncssh

    async def main():
        async with asyncssh.connect("127.0.0.1", hermes.port, username=USER,
                                    password=PASSWORD, known_hosts=None) as conn:
            r = await conn.run("echo ASYNC-$((5*5)); exit 5", input="")
            assert r.exit_status == 5
            assert r.stdout == "ASYNC-25\n"
            async with conn.start_sftp_client() as sftp:
                src = tmp_path / "a.txt"
                src.write_text("asyncssh upload\n")
                await sftp.put(str(src), "/root/a.txt")
                back = tmp_path / "b.txt"
                await sftp.get("/root/a.txt", str(back))
                assert back.read_text() == "asyncssh upload\n"

    asyncio.run(asyncio.wait_for(main(), 120))
