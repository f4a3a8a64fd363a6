"""Returning attackers (container_pool.sticky_ttl): a second login from the same address within
the ttl gets the first session's container back, still running what the first left there; the
events link the two sessions; once the ttl runs out the container is stopped and the next
login gets a fresh one. Without the key every session gets its own container."""

import json
import time

import pytest

from hermes_helpers import docker_inspect, open_shell

TTL = 8


@pytest.fixture(scope="module")
def sticky(module_factory):
    return module_factory.start(overrides={"container_pool": {"sticky_ttl": TTL}})


def shell_session(hermes, commands, expect):
    with open_shell(hermes) as sh:
        sh.send(commands)
        m = sh.expect(expect)
        sh.send("exit\n")
        sh.exit_status()
    hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    return sh.sid, m


def allocated(hermes, sid):
    return hermes.wait_event("container.allocated", session=sid, timeout=30)


def test_second_stage_finds_its_implant_then_the_container_expires(sticky):
    first, _ = shell_session(
        sticky, "echo stage1 > /root/.implant; (sleep 900 &); echo STAGED\n", r"STAGED")
    a1 = allocated(sticky, first)
    assert "returning" not in a1
    # Collected, then kept running rather than stopped.
    sticky.wait_event("artifacts.collected", session=first, timeout=60)
    time.sleep(1)
    assert docker_inspect(a1["container_id"])["State"]["Running"]
    assert not sticky.find("container.stopped", container_id=a1["container_id"])

    second, m = shell_session(
        sticky, "cat /root/.implant; echo two > /root/stage2; "
                "pgrep -c -x sleep | sed 's/^/SLEEPERS=/'\n",
        r"SLEEPERS=(\d+)")
    assert int(m.group(1)) >= 1
    a2 = allocated(sticky, second)
    assert a2["container_id"] == a1["container_id"]
    assert a2["returning"] is True and a2["previous_session"] == first
    assert 0 < a2["kept_for"] < TTL
    closed = sticky.wait_event("session.closed", session=second)
    assert closed["previous_session"] == first
    # The second session's artifacts are what it did; what the first left is only listed.
    done = sticky.wait_event("artifacts.collected", session=second, timeout=60)
    created = [e["path"] for e in sticky.session_events(second) if e["event"] == "file.created"]
    assert "/root/stage2" in created and "/root/.implant" not in created
    assert done["unchanged"] >= 1
    with open(done["manifest"]) as f:
        entries = {e["path"]: e for e in json.load(f)["entries"]}
    assert entries["/root/.implant"]["unchanged"] is True
    assert "unchanged" not in entries["/root/stage2"]
    first_done = sticky.wait_event("artifacts.collected", session=first)
    assert "unchanged" not in first_done
    assert "previous_session" not in sticky.wait_event("session.closed", session=first)

    # Parked again after the second session, then stopped when the ttl runs out.
    stopped = sticky.wait_event("container.stopped", container_id=a1["container_id"],
                                timeout=TTL + 40)
    assert stopped["container_id"] == a1["container_id"]
    assert not docker_inspect(a1["container_id"])["State"]["Running"]

    third, _ = shell_session(sticky, "test -e /root/.implant || echo FRESH\n", r"FRESH")
    a3 = allocated(sticky, third)
    assert a3["container_id"] != a1["container_id"] and "returning" not in a3


def test_sticky_ttl_zero_every_session_gets_its_own(hermes):
    # The test instances' base config sets sticky_ttl: 0 (the default is an hour).
    first, _ = shell_session(hermes, "echo one > /root/one; echo ONE\n", r"ONE")
    second, _ = shell_session(hermes, "test -e /root/one || echo NEW\n", r"NEW")
    assert allocated(hermes, first)["container_id"] != allocated(hermes, second)["container_id"]
    assert "returning" not in allocated(hermes, second)
