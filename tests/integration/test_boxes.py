"""One box per attacker (container_pool.sticky_ttl, an hour by default): every connection from one
source address, at once or coming back, lands in the same box; another address gets its own;
each session's artifacts are what it changed; an unused box is stopped when the ttl runs out."""

import subprocess
import threading
import time

import pytest

from hermes_helpers import docker_inspect, scp_upload, ssh_exec

TTL = 6


@pytest.fixture(scope="module")
def boxes(module_factory):
    # The default (3600) is what is tested; a short ttl only for the expiry test's own address.
    return module_factory.start(overrides={"container_pool": {"sticky_ttl": 3600}})


@pytest.fixture(scope="module")
def short_ttl(module_factory):
    return module_factory.start(overrides={"container_pool": {"sticky_ttl": TTL}})


def from_addr(addr):
    """OpenSSH options that connect from addr (scp takes -b only as an ssh option)."""
    return ["-o", f"BindAddress={addr}"]


def allocated(hermes, since):
    sid = hermes.wait_new_session(since)
    return sid, hermes.wait_event("container.allocated", session=sid, timeout=60)


def test_upload_then_run_at_once_finds_the_file(boxes, tmp_path):
    """The usual bot: scp a script, then run it in the next connection, right away (the first
    connection's box is still having its artifacts collected)."""
    script = tmp_path / "x.sh"
    script.write_text("#!/bin/sh\necho RAN-$(hostname)\n")
    script.chmod(0o755)
    mark = boxes.mark()
    r = scp_upload(boxes.port, script, "x.sh", options=from_addr("127.0.0.11"))
    assert r.returncode == 0, r.stderr
    first = boxes.wait_new_session(mark)
    mark = boxes.mark()
    r = ssh_exec(boxes.port, "./x.sh", options=from_addr("127.0.0.11"))
    assert r.returncode == 0, r.stderr
    assert b"RAN-" in r.stdout
    second, a2 = allocated(boxes, mark)
    a1 = boxes.wait_event("container.allocated", session=first)
    assert a2["container_id"] == a1["container_id"]
    assert a2["returning"] is True and a2["previous_session"] == first
    # Each session's artifacts are its own: the upload is the first's, not the second's.
    boxes.wait_event("artifacts.collected", session=second, timeout=60)
    created2 = [e["path"] for e in boxes.session_events(second) if e["event"] == "file.created"]
    assert "/root/x.sh" not in created2
    created1 = [e["path"] for e in boxes.session_events(first) if e["event"] == "file.created"]
    assert "/root/x.sh" in created1


def test_two_connections_at_once_share_one_box_and_another_address_gets_its_own(boxes):
    mark = boxes.mark()
    results = {}

    def run(name, addr, command):
        results[name] = ssh_exec(boxes.port, command, options=from_addr(addr))

    # The first holds its box while the second looks into it.
    holder = threading.Thread(target=run, args=(
        "holder", "127.0.0.12", "echo held > /root/shared-now; sleep 6; echo DONE"))
    holder.start()
    time.sleep(3)
    run("peer", "127.0.0.12", "cat /root/shared-now; pgrep -x sleep >/dev/null && echo SLEEPING")
    run("other", "127.0.0.13", "test -e /root/shared-now && echo SEEN || echo NOT-SEEN")
    holder.join(30)
    assert results["holder"].returncode == 0 and b"DONE" in results["holder"].stdout
    assert results["peer"].stdout.split() == [b"held", b"SLEEPING"], results["peer"]
    assert results["other"].stdout.strip() == b"NOT-SEEN"

    sessions = {}
    for e in boxes.events(since=mark):
        if e["event"] == "container.allocated":
            sessions[e["src_ip"], e["session"]] = e
    same = [e for (ip, _), e in sessions.items() if ip == "127.0.0.12"]
    other = [e for (ip, _), e in sessions.items() if ip == "127.0.0.13"]
    assert len(same) == 2 and len(other) == 1
    assert same[0]["container_id"] == same[1]["container_id"]
    assert any(e.get("shared") is True for e in same)
    assert other[0]["container_id"] != same[0]["container_id"]


def test_an_unused_box_is_stopped_after_the_ttl_and_the_next_login_gets_a_fresh_one(short_ttl):
    mark = short_ttl.mark()
    r = ssh_exec(short_ttl.port, "echo one > /root/one", options=from_addr("127.0.0.14"))
    assert r.returncode == 0, r.stderr
    first, a1 = allocated(short_ttl, mark)
    short_ttl.wait_event("artifacts.collected", session=first, timeout=60)
    assert docker_inspect(a1["container_id"])["State"]["Running"]
    stopped = short_ttl.wait_event("container.stopped", container_id=a1["container_id"],
                                   timeout=TTL + 40)
    assert stopped
    mark = short_ttl.mark()
    r = ssh_exec(short_ttl.port, "test -e /root/one || echo FRESH",
                 options=from_addr("127.0.0.14"))
    assert r.stdout.strip() == b"FRESH"
    _, a2 = allocated(short_ttl, mark)
    assert a2["container_id"] != a1["container_id"] and "returning" not in a2


def test_loopback_source_addresses_work_here():
    """The tests above bind 127.0.0.x source addresses; a failure here says the machine
    cannot, rather than that Hermes is wrong."""
    r = subprocess.run(["python3", "-c", "import socket; s=socket.socket(); "
                        "s.bind(('127.0.0.12', 0)); print('ok')"], capture_output=True)
    assert r.stdout.strip() == b"ok"
