"""Several channels on one connection (OpenSSH ControlMaster) share its container and run at
once; and flow control: a slow reader or a stalled consumer never makes the worker buffer
without bound (its RSS is sampled from /proc while hundreds of MB go by)."""

import os
import subprocess
import threading
import time

import pytest

from hermes_helpers import (PASSWORD, USER, ControlMaster, paramiko_transport, ssh_env, ssh_exec,
                            ssh_options)


def test_controlmaster_channels_share_the_container(hermes, tmp_path):
    with ControlMaster(hermes.port, tmp_path) as cm:
        base = ["ssh", *ssh_options(hermes.port), *cm.client, "-T", f"{USER}@127.0.0.1"]
        mark = hermes.mark()
        # The first channel can only print the flag if the second one runs while it waits.
        waiter = subprocess.Popen([*base, "for i in $(seq 600); do [ -e /root/flag ] && break; "
                                          "sleep 0.1; done; cat /root/flag"],
                                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=ssh_env())
        hermes.wait_event("session.shell", since=mark, timeout=30)
        r = subprocess.run([*base, "echo shared > /root/flag"], capture_output=True,
                           env=ssh_env(), timeout=60)
        assert r.returncode == 0, r.stderr
        out, _ = waiter.communicate(timeout=90)
        assert out == b"shared\n"
        shells = hermes.wait_count("session.shell", 2, since=mark, timeout=30)
        assert len({e["session"] for e in shells}) == 1
        assert len({e["container_id"] for e in shells}) == 1
        assert len({e["channel"] for e in shells}) == 2


def worker_pids(hermes):
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == hermes.proc.pid:
            pids.append(int(p))
    return pids


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssWatch:
    """Samples the RSS of the daemon's workers; `samples` says how many were read, so that a
    watch that never found a worker cannot pass for a flat one."""

    def __init__(self, hermes):
        self.hermes, self.peak, self.samples, self.stop = hermes, 0, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for pid in worker_pids(self.hermes):
                try:
                    self.peak = max(self.peak, rss_kb(pid))
                    self.samples += 1
                except OSError:
                    pass
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


CHANNEL_TIMEOUT = 120  # a stalled transfer fails the test instead of hanging the suite


def read_all(ch, size=65536, pace=0.0):
    """Reads a channel to its EOF (sleeping `pace` s per read: a slow reader); bytes read."""
    ch.settimeout(CHANNEL_TIMEOUT)
    got = 0
    while True:
        d = ch.recv(size)
        if not d:
            return got
        got += len(d)
        if pace:
            time.sleep(pace)


def push_mib(t, command, mib):
    """Runs `command`, sends it `mib` MiB of zeros and EOF; (exit status, its output)."""
    ch = t.open_session()
    ch.settimeout(CHANNEL_TIMEOUT)
    ch.exec_command(command)
    chunk = bytes(1 << 20)
    for _ in range(mib):
        ch.sendall(chunk)
    ch.shutdown_write()
    out = b""
    while True:
        d = ch.recv(4096)
        if not d:
            break
        out += d
    return ch.recv_exit_status(), out


LIMIT_KB = 40 * 1024  # a worker is a few MB; unbounded buffering would be hundreds


@pytest.mark.rss
def test_slow_reader_and_stalled_consumer_keep_worker_memory_flat(hermes):
    size = 1000 * 1000 * 1000  # 1 GB
    t = paramiko_transport(hermes.port)
    try:
        t.auth_password(USER, PASSWORD)
        with RssWatch(hermes) as watch:
            ch = t.open_session()
            ch.exec_command(f"head -c {size} /dev/zero")
            got = read_all(ch, 32768, pace=0.0005)  # a slow reader
            assert ch.recv_exit_status() == 0
        assert got == size
        assert watch.samples > 0 and watch.peak > 0, "no worker was measured"
        assert watch.peak < LIMIT_KB, f"worker RSS peaked at {watch.peak} kB"

        with RssWatch(hermes) as watch:
            # The command reads nothing for 3 s while the client pushes as fast as it can.
            status, out = push_mib(t, "sleep 3; wc -c", 100)
            assert status == 0
        assert out.strip() == str(100 << 20).encode()
        assert watch.samples > 0 and watch.peak > 0, "no worker was measured"
        assert watch.peak < LIMIT_KB, f"worker RSS peaked at {watch.peak} kB"
    finally:
        t.close()


def count_rekeys(stderr):
    """Key re-exchanges in an `ssh -v` transcript: NEWKEYS received after the first."""
    return stderr.count(b"SSH2_MSG_NEWKEYS received") - 1


def test_no_bytes_lost_across_key_reexchanges(hermes):
    """libssh takes nothing while keys are re-exchanged; a pump that took that for a failure
    dropped data (seen at paramiko's rekey after 512 MiB). OpenSSH re-keys every MiB here, both
    ways. (Not paramiko: its transport thread, answering a channel CLOSE that arrives while its
    own re-key is under way, waits for that re-key and so deadlocks itself for 30 s.)"""
    size = 50 * 1000 * 1000
    rekey = ["-v", "-o", "RekeyLimit=1M"]
    down = ssh_exec(hermes.port, f"head -c {size} /dev/zero", options=rekey,
                    timeout=CHANNEL_TIMEOUT)
    assert down.returncode == 0, down.stderr[-2000:]
    got, zeros = len(down.stdout), down.stdout.count(0)
    assert got == size and zeros == size, f"{got} bytes, {zeros} of them zeros"
    assert count_rekeys(down.stderr) >= 40, f"only {count_rekeys(down.stderr)} re-keys"

    up = ssh_exec(hermes.port, "wc -c", stdin=bytes(50 << 20), options=rekey,
                  timeout=CHANNEL_TIMEOUT)
    assert up.returncode == 0, up.stderr[-2000:]
    assert up.stdout.strip() == str(50 << 20).encode()
    assert count_rekeys(up.stderr) >= 40, f"only {count_rekeys(up.stderr)} re-keys"
