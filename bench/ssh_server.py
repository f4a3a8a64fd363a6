#!/usr/bin/python3
"""Benchmark: Hermes as an SSH server next to dropbear, on what a honeypot is measured by: CPU
per brute-force login, time to a shell, and memory per connection held. Not a test: it prints
numbers. Its functions serve versus_sshd.py too, which sets Hermes beside a stock OpenSSH sshd
(`make bench`).

  CPU per failed login   N connections, each: key exchange, one wrong password, close
                         (paramiko); CPU of the server's whole process tree, per login.
  time to shell          connect, key exchange, password, pty + shell, until the prompt
                         (Hermes only: the others would need a real account's password).
  memory per connection  K connections held open after the key exchange (no login), the
                         servers' PSS summed over their processes, per connection.

usage: bench/ssh_server.py HERMES_BINARY [N] [K]   (as root, with Docker up and the image built)
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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
    """pid and every descendant alive now (one that exits while we look is left out)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(k) for task in Path(f"/proc/{p}/task").iterdir()
                    for k in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        out.append(p)
        todo.extend(kids)
    return out


def tree_cpu_seconds(pid):
    """CPU of pid's whole tree: each live process's own and its reaped children's. A child
    alive at one reading and reaped by the next is counted once either way, so the difference
    of two readings is what the tree used in between (long-lived children included)."""
    total = 0.0
    for p in tree(pid):
        try:
            total += cpu_seconds(p)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


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


def failed_logins(port, n, parallel=1):
    """n connections, each: key exchange, one wrong password for root, close; `parallel` at
    once (sshd's PAM sleeps 2 s after a wrong password: one at a time takes too long). Returns
    how many got as far as the refusal (a server may drop some, as MaxStartups does)."""
    done = []

    def run(count):
        for i in range(count):
            t = paramiko.Transport(("127.0.0.1", port))
            try:
                t.start_client(timeout=30)
                t.auth_password("root", f"wrong-{i}")
            except paramiko.AuthenticationException:
                done.append(1)
            except (paramiko.SSHException, EOFError, OSError):
                pass
            finally:
                t.close()

    threads = [threading.Thread(target=run, args=(n // parallel + (k < n % parallel),))
               for k in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(done)


def cpu_per_login(pid, port, n, parallel=1):
    """(ms of the server's CPU per failed-login connection, ms of wall time per connection,
    connections refused) over n connections, `parallel` at once."""
    failed_logins(port, 3)  # warm up
    time.sleep(0.5)
    c0, t0 = tree_cpu_seconds(pid), time.monotonic()
    done = failed_logins(port, n, parallel)
    wall = time.monotonic() - t0
    time.sleep(1)  # the last workers reaped
    return 1000 * (tree_cpu_seconds(pid) - c0) / max(1, done), 1000 * wall / max(1, done), done


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


def shell_timing(port, user=USER, password=PASSWORD, timeout=30):
    """(ms to the first byte of shell output, ms to the prompt), both from the start of the TCP
    connect: key exchange, password, pty-req and shell on one paramiko transport."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        transport.auth_password(user, password)
        chan = transport.open_session(timeout=timeout)
        chan.settimeout(timeout)
        chan.get_pty(term="xterm", width=80, height=24)
        chan.invoke_shell()
        buf = chan.recv(4096)
        first = time.monotonic()
        while not buf.rstrip().endswith((b"#", b"$")):
            data = chan.recv(4096)
            if not data or time.monotonic() > deadline:
                raise EOFError(f"no prompt from port {port}; got {buf[-200:]!r}")
            buf += data
        prompt = time.monotonic()
    finally:
        transport.close()
    return 1000 * (first - t0), 1000 * (prompt - t0)


def time_to_shell(port, n):
    times = []
    for _ in range(n):
        times.append(shell_timing(port)[1])
        time.sleep(0.3)  # let the pool replace the container
    return statistics.median(times), max(times)


def report(name, pid, port, n, k):
    cpu, wall, _ = cpu_per_login(pid, port, n)
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
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
