#!/usr/bin/python3
"""Benchmark: Hermes as an SSH server next to dropbear (and OpenSSH's sshd where installed), on
what a honeypot is measured by: CPU per brute-force login, time to a shell, and memory per
connection held. Not a test: it prints numbers.

  CPU per failed login   N connections, each: key exchange, one wrong password, close
                         (paramiko); CPU of the server and every child it reaped, per login.
  time to shell          connect, key exchange, password, pty + shell, until the prompt
                         (Hermes only: the others would need a real account's password).
  memory per connection  K connections held open after the key exchange (no login), the
                         servers' PSS summed over their processes, per connection.

usage: bench/ssh_server.py HERMES_BINARY [N] [K]   (run as root, with Docker up and the image built)
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
import paramiko  # noqa: E402
from hermes_helpers import PASSWORD, USER, Hermes, free_port, wait_for  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime + cutime + cstime of pid."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").iterdir():
            todo.extend(int(k) for k in (task / "children").read_text().split())
    return out


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def failed_logins(port, n):
    for i in range(n):
        t = paramiko.Transport(("127.0.0.1", port))
        t.start_client(timeout=30)
        try:
            t.auth_password("root", f"wrong-{i}")
        except paramiko.AuthenticationException:
            pass
        finally:
            t.close()


def cpu_per_login(pid, port, n):
    failed_logins(port, 3)  # warm up
    time.sleep(0.5)
    c0, t0 = cpu_seconds(pid), time.monotonic()
    failed_logins(port, n)
    time.sleep(1)  # the last workers reaped
    return 1000 * (cpu_seconds(pid) - c0) / n, 1000 * (time.monotonic() - t0) / n


def held_connections(pid, port, k):
    """PSS per connection held after its key exchange, over those the server kept (dropbear,
    for one, keeps 5 unauthenticated ones per address)."""
    base = pss_kib(tree(pid))
    held = []
    for _ in range(k):
        t = paramiko.Transport(("127.0.0.1", port))
        try:
            t.start_client(timeout=30)
            held.append(t)
        except (paramiko.SSHException, EOFError, OSError):
            t.close()
    time.sleep(1)
    alive = [t for t in held if t.is_active()]
    total = pss_kib(tree(pid))
    for t in held:
        t.close()
    return (total - base) / max(1, len(alive)), len(alive)


def time_to_shell(port, n):
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect("127.0.0.1", port=port, username=USER, password=PASSWORD,
                       look_for_keys=False, allow_agent=False, timeout=30)
        chan = client.invoke_shell()
        buf = b""
        while not buf.rstrip().endswith((b"#", b"$")):
            buf += chan.recv(4096)
        times.append(1000 * (time.monotonic() - t0))
        client.close()
        time.sleep(0.3)  # let the pool replace the container
    return statistics.median(times), max(times)


def report(name, pid, port, n, k):
    cpu, wall = cpu_per_login(pid, port, n)
    mem, kept = held_connections(pid, port, k)
    print(f"{name:10} CPU per failed login {cpu:6.2f} ms (wall {wall:6.1f} ms), "
          f"memory per held connection {mem:7.0f} KiB (over {kept} held)")


def other(name, argv, port, n, k):
    """Runs another SSH server on port for report()."""
    srv = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: listening(port), 10, what=name)
        report(name, srv.pid, port, n, k)
    finally:
        srv.terminate()
        srv.wait()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    work = Path(tempfile.mkdtemp(prefix="hermes-bench-"))
    inst = Hermes(work / "hermes", {"logging": {"level": "INFO"},
                                    "server": {"max_startups": f"{k + 10}:30:{k + 20}",
                                               "max_sessions_per_ip": k + 10,
                                               "max_concurrent_sessions": k + 10}},
                  name="bench", binary=binary)
    try:
        inst.start()
        report("hermes", inst.proc.pid, inst.port, n, k)
        med, worst = time_to_shell(inst.port, 10)
        print(f"{'hermes':10} time to shell: median {med:.0f} ms, worst {worst:.0f} ms")
    finally:
        inst.teardown()
    if shutil.which("dropbear"):
        key, port = work / "dropbear_ed25519", free_port()
        subprocess.run(["dropbearkey", "-t", "ed25519", "-f", str(key)], capture_output=True,
                       check=True)
        other("dropbear", ["dropbear", "-F", "-E", "-p", f"127.0.0.1:{port}", "-r", str(key),
                           "-K", "0"], port, n, k)
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if sshd:
        key, port = work / "sshd_ed25519", free_port()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        other("sshd", [sshd, "-D", "-e", "-f", "/dev/null", "-p", str(port),
                       "-o", "ListenAddress=127.0.0.1", "-h", str(key),
                       "-o", f"MaxStartups={k + 10}", "-o", "UsePAM=no"], port, n, k)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
