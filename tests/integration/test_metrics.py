"""metrics.listen: Prometheus metrics scraped over HTTP from a running Hermes and read with
Prometheus' own parser (python3-prometheus-client); the counters follow real logins; no
address or user name is ever a label; what serves them is hermes-metrics, a child confined
to accept, read and write, never the monitor that holds the Docker socket; bad requests get
an HTTP error and the server goes on; a forbidden call kills it and the monitor starts it
again."""

import os
import pwd
import re
import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hermes_helpers import (PASSWORD, USER, allow_trouble, failed_password_login, free_port,
                            sanitizer_build, ssh_exec, wait_for)
from test_privsep import children, status, syscall_in

SIGSYS = 31


@pytest.fixture(scope="module")
def inst(module_factory):
    port = free_port()
    h = module_factory.start({"metrics": {"listen": f"127.0.0.1:{port}"}})
    h.metrics_port = port
    return h


def scrape_text(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return r.read().decode()


def scrape(port):
    """{(sample name, frozenset of labels): value}, and the families' types."""
    samples, types = {}, {}
    for fam in text_string_to_metric_families(scrape_text(port)):
        types[fam.name] = fam.type
        for s in fam.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def raw_request(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def metrics_child(inst):
    """The pid of the monitor's hermes-metrics."""
    def probe():
        for pid in children(inst.proc.pid):
            try:
                if open(f"/proc/{pid}/comm").read().strip() == "hermes-metrics":
                    return pid
            except FileNotFoundError:
                pass
        return None
    return wait_for(probe, 20, what="hermes-metrics")


def test_the_started_event_names_the_address(inst):
    started = inst.wait_event("hermes.started")
    assert started["metrics"] == f"127.0.0.1:{inst.metrics_port}"


def test_counters_follow_logins(inst):
    before, types = scrape(inst.metrics_port)
    # The families, typed as Prometheus reads them (the parser drops _total from counters).
    for name, kind in [("hermes_ssh_connections", "counter"),
                       ("hermes_ssh_current_connections", "gauge"),
                       ("hermes_ssh_current_sessions", "gauge"),
                       ("hermes_ssh_connections_rejected", "counter"),
                       ("hermes_ssh_connections_closed", "counter"),
                       ("hermes_ssh_session_duration_seconds", "histogram"),
                       ("hermes_auth_success", "counter"), ("hermes_auth_failures", "counter"),
                       ("hermes_boxes", "gauge"), ("hermes_backend_requests", "counter"),
                       ("hermes_backend_errors", "counter"),
                       ("hermes_backend_request_duration_seconds", "histogram"),
                       ("hermes_alerts", "counter"), ("hermes_events", "counter"),
                       ("hermes_events_dropped", "counter"), ("hermes_ssh_bytes", "counter")]:
        assert types.get(name) == kind, (name, types.get(name))
    # The pool was made through Docker before anyone came.
    assert value(before, "hermes_backend_requests_total", operation="containers_create") >= 2
    assert value(before, "hermes_boxes", state="ready") >= 1

    mark = inst.mark()
    failed_password_login(inst.port, "metrics-user")
    r = ssh_exec(inst.port, "echo counted")
    assert r.returncode == 0 and b"counted" in r.stdout, r
    closed = inst.wait_event("session.closed", since=mark, username=USER, timeout=60)
    failed = inst.wait_event("login.failed", since=mark, username="metrics-user")
    inst.wait_event("session.closed", since=mark, session=failed["session"], timeout=60)

    def grown():
        after, _ = scrape(inst.metrics_port)
        done = (value(after, "hermes_ssh_session_duration_seconds_count")
                >= value(before, "hermes_ssh_session_duration_seconds_count") + 2)
        return after if done else None
    after = wait_for(grown, 10, interval=0.5, what="the closed sessions counted")

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)
    assert delta("hermes_ssh_connections_total") == 2
    assert delta("hermes_auth_failures_total", authtype="password") == 1
    assert delta("hermes_auth_success_total", authtype="password") == 1
    assert delta("hermes_ssh_connections_closed_total", result="logged_in",
                 reason=closed["reason"]) == 1
    assert delta("hermes_ssh_connections_closed_total", result="not_logged_in",
                 reason="client_closed") == 1
    assert delta("hermes_ssh_session_duration_seconds_count") == 2
    assert delta("hermes_ssh_session_duration_seconds_sum") >= closed["duration"]
    assert delta("hermes_ssh_bytes_total", direction="out") >= len(b"counted\n")
    assert delta("hermes_events_total", event="session.connect") == 2
    assert value(after, "hermes_ssh_current_sessions") == 0
    # Buckets are cumulative and end at the count.
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                     if k[0] == "hermes_ssh_session_duration_seconds_bucket")
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    assert buckets[-1] == (float("inf"), value(after, "hermes_ssh_session_duration_seconds_count"))

    # No address, user name or password anywhere in a label.
    labels = {v for (_, ls) in after for _, v in ls}
    for secret in ("127.0.0.1", "metrics-user", USER, PASSWORD, "not-the-password"):
        assert secret not in labels, secret


def test_served_by_a_confined_child(inst):
    pid = metrics_child(inst)
    assert pid != inst.proc.pid
    st = status(pid)
    nobody = pwd.getpwnam("nobody")
    assert st["Uid"].split() == [str(nobody.pw_uid)] * 4
    assert st["Gid"].split() == [str(nobody.pw_gid)] * 4
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
    assert st["CapEff"] == "0000000000000000" and st["CapPrm"] == "0000000000000000"
    if not sanitizer_build():
        assert os.readlink(f"/proc/{pid}/root") == "/var/empty"
    # Its descriptors: /dev/null, the daemon's stderr, the listening socket and the
    # monitor's; no other file, nothing of Docker's. (An earlier scrape's connection may
    # still be closing.)
    def fds_now():
        fds = {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}")
               for fd in os.listdir(f"/proc/{pid}/fd")}
        return fds if sorted(fds) == [0, 1, 2, 3, 4] else None
    fds = wait_for(fds_now, 15, what="hermes-metrics' five descriptors")
    assert fds[0] == fds[1] == "/dev/null"
    assert fds[2] == os.readlink(f"/proc/{inst.proc.pid}/fd/2")
    assert fds[3].startswith("socket:") and fds[4].startswith("socket:")
    inode = re.fullmatch(r"socket:\[(\d+)\]", fds[3]).group(1)
    listening = [ln.split() for ln in open("/proc/net/tcp").read().splitlines()[1:]]
    assert any(f[9] == inode and int(f[1].split(":")[1], 16) == inst.metrics_port
               for f in listening)
    # The monitor, for contrast, is the one that talks to Docker, and unfiltered.
    assert status(inst.proc.pid)["Seccomp"] == "0"


@pytest.mark.parametrize("request_bytes, status", [
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405),
    (b"GET / HTTP/1.1\r\n\r\n", 404),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000, 431),
], ids=["post", "not-found", "http2", "tls", "too-long"])
def test_bad_requests_get_an_error_and_it_goes_on(inst, request_bytes, status):
    out = raw_request(inst.metrics_port, request_bytes)
    assert out.startswith(f"HTTP/1.1 {status} ".encode()), out[:80]
    # HEAD: the head only.
    head = raw_request(inst.metrics_port, b"HEAD /metrics HTTP/1.0\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
    assert "hermes_ssh_connections_total" in scrape_text(inst.metrics_port)
    assert inst.running()


def test_many_idle_connections_do_not_stop_it(inst):
    idle = [socket.create_connection(("127.0.0.1", inst.metrics_port)) for _ in range(40)]
    try:
        # Past its 16 at once, the rest are closed at once; a scrape gets through once
        # the idle ones time out (10 s) at the latest.
        def served():
            try:
                return "hermes_build_info" in scrape_text(inst.metrics_port)
            except OSError:
                return False
        wait_for(served, 30, interval=1, what="a scrape while 40 connections idle")
    finally:
        for s in idle:
            s.close()


@pytest.mark.skipif(sanitizer_build(), reason="a sanitizer build keeps a deny-list instead")
@pytest.mark.parametrize("call, args", [
    ("socket", (socket.AF_INET, socket.SOCK_STREAM, 0)),
    ("openat", (-100, "/etc/passwd", 0)),
    (9, (0, 4096, 0x4, 0x22, -1, 0)),  # x86-64 mmap: PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS
    ("execve", ("/bin/sh", 0, 0)),
], ids=["socket", "openat", "mmap-exec", "execve"])
def test_a_forbidden_call_kills_it_and_it_comes_back(inst, call, args):
    pid = metrics_child(inst)
    allow_trouble(r"hermes-metrics killed by signal 31")
    assert syscall_in(pid, call, *args) == "SIGSYS"
    wait_for(lambda: metrics_child(inst) != pid, 20, what="a new hermes-metrics")
    wait_for(lambda: "hermes_build_info" in scrape_text(inst.metrics_port), 20,
             what="metrics served again")
    assert inst.running()
