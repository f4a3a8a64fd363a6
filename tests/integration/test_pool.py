"""The container pool: pre-warmed at start, a pre-warmed container handed to a login, and a
replacement warmed behind it."""

import time

from hermes_helpers import POOL_SIZE, docker_inspect, open_shell


def test_prewarm_allocate_replace(hermes_factory):
    hermes = hermes_factory.start()
    pooled = hermes.wait_count("container.created", POOL_SIZE, timeout=60, pooled=True)
    # Give an overeager pool a moment to show itself before counting.
    time.sleep(1)
    created = hermes.find("container.created")
    assert len(created) == POOL_SIZE, created
    warm_ids = {e["container_id"] for e in pooled}
    assert len(warm_ids) == POOL_SIZE
    for e in pooled:
        assert e["session"] is None
        info = docker_inspect(e["container_id"])
        assert info is not None and info["State"]["Running"] is True
        assert (info["Config"]["Labels"] or {}).get("hermes.role") == "target"
        # The event names the container as Docker knows it (renamed only when allocated).
        assert e["container_name"] == info["Name"].lstrip("/")

    with open_shell(hermes) as sh:
        shell = hermes.wait_event("session.shell", session=sh.sid, timeout=30)
        alloc = hermes.wait_event("container.allocated", session=sh.sid)
        assert alloc["container_id"] in warm_ids
        assert alloc["pooled"] is True
        assert shell["container_id"] == alloc["container_id"]
        assert shell["container_name"].startswith(f"hermes-target-{sh.sid[:8]}-")

        # The replacement: a third container.created, a new container, within 30 s.
        all_created = hermes.wait_count("container.created", POOL_SIZE + 1, timeout=30)
        new = [e for e in all_created if e["container_id"] not in warm_ids]
        assert len(new) == 1, all_created
        assert new[0]["pooled"] is True
        assert docker_inspect(new[0]["container_id"])["State"]["Running"] is True

        sh.send("exit\n")
        sh.exit_status()
    hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    # Releasing does not refill twice: still exactly one replacement.
    assert len(hermes.find("container.created")) == POOL_SIZE + 1
