"""The rest of what SSH clients and bots do besides shells: file transfer (sftp, OpenSSH 9's
SFTP-based scp, legacy scp -O, both directions), keyboard-interactive logins, env requests, and
port forwarding: -L channels accepted but connected to nothing, their first bytes logged;
-R refused."""

import base64
import os
import socket
import subprocess
import time

from hermes_helpers import PASSWORD, USER, ControlMaster, sha256_file, ssh_env, ssh_options, \
    wait_for


def run(argv, timeout=120, stdin=None):
    return subprocess.run(["sshpass", "-p", PASSWORD, *argv], capture_output=True,
                          timeout=timeout, env=ssh_env(), input=stdin)


def test_sftp_put_rename_get_remove_100mb(hermes, tmp_path):
    src = tmp_path / "payload.bin"
    src.write_bytes(os.urandom(100 * 1000 * 1000))
    back = tmp_path / "back.bin"
    batch = (f"put {src} /root/payload.bin\nrename /root/payload.bin /root/moved.bin\n"
             f"get /root/moved.bin {back}\nrm /root/moved.bin\nls /root\n")
    mark = hermes.mark()
    # -b implies BatchMode, which would keep sshpass from answering the prompt.
    r = run(["sftp", *ssh_options(hermes.port, "sftp"), "-o", "BatchMode=no", "-b", "-",
             f"{USER}@127.0.0.1"],
            stdin=batch.encode(), timeout=300)
    assert r.returncode == 0, r.stderr
    assert sha256_file(back) == sha256_file(src)
    assert b"moved.bin" not in r.stdout.split(b"ls /root", 1)[1]
    shell = hermes.wait_event("session.shell", since=mark, timeout=30)
    assert (shell["kind"], shell["subsystem"], shell["tty"]) == ("subsystem", "sftp", False)
    sid = shell["session"]
    hermes.wait_event("session.closed", session=sid, timeout=30)
    moved = {(e["direction"], e["path"], e["bytes"], e["status"])
             for e in hermes.find("file.transfer", session=sid)}
    size = src.stat().st_size
    assert ("upload", "/root/payload.bin", size, 0) in moved, moved
    assert ("download", "/root/moved.bin", size, 0) in moved, moved
    ops = {(e["op"], e["path"], e.get("path2"), e["status"])
           for e in hermes.find("file.operation", session=sid)}
    assert ("rename", "/root/payload.bin", "/root/moved.bin", 0) in ops, ops
    assert ("remove", "/root/moved.bin", None, 0) in ops, ops


def test_scp_both_protocols_both_directions_100mb(hermes, tmp_path):
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(100 * 1000 * 1000))
    # One master connection, so that the download finds the upload in the same container.
    with ControlMaster(hermes.port, tmp_path) as cm:
        for legacy in (False, True):
            flags = ["-O"] if legacy else []
            remote = f"/root/up-{int(legacy)}.bin"
            r = subprocess.run(["scp", *flags, *ssh_options(hermes.port, "scp"), *cm.client,
                                str(src), f"{USER}@127.0.0.1:{remote}"], capture_output=True,
                               timeout=300, env=ssh_env())
            assert r.returncode == 0, (legacy, r.stderr)
            down = tmp_path / f"down-{int(legacy)}.bin"
            r = subprocess.run(["scp", *flags, *ssh_options(hermes.port, "scp"), *cm.client,
                                f"{USER}@127.0.0.1:{remote}", str(down)], capture_output=True,
                               timeout=300, env=ssh_env())
            assert r.returncode == 0, (legacy, r.stderr)
            assert sha256_file(down) == sha256_file(src), legacy
            down.unlink()
    cmds = [e["command"] for e in hermes.find("command.input")]
    assert any(c.startswith("scp") and "-t" in c and "/root/up-1.bin" in c for c in cmds), cmds
    moves = {(e["direction"], e["path"]) for e in hermes.find("file.transfer")
             if e["protocol"] == "scp"}
    assert {("upload", "/root/up-1.bin"), ("download", "/root/up-1.bin")} <= moves, moves


def test_keyboard_interactive_follows_the_policy(hermes):
    mark = hermes.mark()
    # ssh keeps the first value of an option: replace the helpers' preference.
    opts = [o if not o.startswith("PreferredAuthentications=") else
            "PreferredAuthentications=keyboard-interactive" for o in ssh_options(hermes.port)]
    r = run(["ssh", *opts, "-T", f"{USER}@127.0.0.1", "echo KBD-OK"])
    assert r.returncode == 0 and r.stdout == b"KBD-OK\n", r
    ok = hermes.wait_event("login.success", since=mark)
    assert (ok["method"], ok["username"], ok["password"]) == \
        ("keyboard-interactive", USER, PASSWORD)


def test_env_requests_logged_and_filtered(hermes):
    mark = hermes.mark()
    env = dict(ssh_env(), LANG="de_DE.UTF-8", LC_HERMES="yes")
    r = subprocess.run(["sshpass", "-p", PASSWORD, "ssh", *ssh_options(hermes.port), "-T",
                        "-o", "SendEnv=LANG LC_*", "-o", "SetEnv=EVIL=1",
                        f"{USER}@127.0.0.1", "echo $LANG/$LC_HERMES/${EVIL:-unset}"],
                       capture_output=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"de_DE.UTF-8/yes/unset\n"
    names = {e["name"]: e["value"] for e in hermes.find("session.env", since=mark)}
    assert names.get("LANG") == "de_DE.UTF-8" and names.get("EVIL") == "1", names


def test_forwarding_logged_and_refused(hermes):
    mark = hermes.mark()
    listen = socket.socket()
    listen.bind(("127.0.0.1", 0))
    lport = listen.getsockname()[1]
    listen.close()
    proc = subprocess.Popen(["sshpass", "-p", PASSWORD, "ssh", *ssh_options(hermes.port), "-N",
                             "-L", f"127.0.0.1:{lport}:10.9.8.7:25", f"{USER}@127.0.0.1"],
                            env=ssh_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        sock = wait_for(lambda: _try_connect(lport), 20, what="the local forward to listen")
        sock.settimeout(20)
        sent = b"EHLO spam.example\r\nMAIL FROM:<x@y>\r\n"
        sock.sendall(sent)
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == b""  # nothing ever answers; the far end just hangs up
        ev = hermes.wait_event("forward.request", since=mark, timeout=10)
        assert (ev["kind"], ev["dst_host"], ev["dst_port"]) == ("direct-tcpip", "10.9.8.7", 25)
        data = hermes.wait_event("forward.data", since=mark, timeout=20)
        assert base64.b64decode(data["data_b64"]) == sent
        assert (data["bytes"], data["truncated"], data["forward"]) == \
            (len(sent), False, ev["forward"])
    finally:
        proc.kill()
        proc.wait()
    r = run(["ssh", *ssh_options(hermes.port), "-o", "ExitOnForwardFailure=yes", "-N",
             "-R", "8080:localhost:80", f"{USER}@127.0.0.1"], timeout=30)
    assert r.returncode != 0 and b"remote port forwarding failed" in r.stderr, r
    ev = hermes.wait_count("forward.request", 2, since=mark, timeout=10)[-1]
    assert (ev["kind"], ev["bind_port"]) == ("tcpip-forward", 8080)


def _try_connect(port):
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        time.sleep(0.2)
        return None


def test_agent_and_x11_requests_logged(hermes, tmp_path):
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        wait_for(sock.exists, 10, what="ssh-agent's socket")
        mark = hermes.mark()
        env = dict(ssh_env(), SSH_AUTH_SOCK=str(sock), DISPLAY=":99")
        r = subprocess.run(["sshpass", "-p", PASSWORD, "ssh", *ssh_options(hermes.port), "-T", "-A",
                            "-Y", f"{USER}@127.0.0.1", "echo forwarded"],
                           capture_output=True, timeout=60, env=env)
        assert r.returncode == 0 and r.stdout == b"forwarded\n", r
        assert b"X11 forwarding request failed" in r.stderr  # what sshd without xauth says
        kinds = [e["kind"] for e in hermes.find("forward.request", since=mark)]
        assert "auth-agent" in kinds and "x11" in kinds, kinds
    finally:
        agent.kill()
        agent.wait()


def test_keyboard_interactive_can_be_switched_off(hermes_factory):
    hermes = hermes_factory.start({"authentication": {"keyboard_interactive": False}})
    opts = [o if not o.startswith("PreferredAuthentications=") else
            "PreferredAuthentications=keyboard-interactive" for o in ssh_options(hermes.port)]
    opts = [o if o != "LogLevel=ERROR" else "LogLevel=DEBUG" for o in opts]
    r = run(["ssh", *opts, "-T", f"{USER}@127.0.0.1", "true"], timeout=60)
    assert r.returncode == 255, r
    # The method list a scanner sees is Ubuntu's default sshd's.
    assert b"Authentications that can continue: publickey,password\r\n" in r.stderr or \
        b"Authentications that can continue: publickey,password\n" in r.stderr, r.stderr[-600:]
