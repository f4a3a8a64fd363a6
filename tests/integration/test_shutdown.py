"""Shutdown on SIGTERM/SIGINT with a live session: clean exit, the session closed with reason
shutdown, its container stopped and kept, the unused pre-warmed containers removed."""

import signal
import time

import pytest

from hermes_helpers import POOL_SIZE, docker_inspect, open_shell


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_with_live_session(hermes_factory, sig):
    hermes = hermes_factory.start()
    sh = open_shell(hermes)
    try:
        shell = hermes.wait_event("session.shell", session=sh.sid, timeout=30)
        cid = shell["container_id"]
        sh.send("echo ALIVE-$((7*7))\n")
        sh.expect(r"ALIVE-49")
        # Let the replacement finish warming so the set of containers is settled.
        hermes.wait_count("container.created", POOL_SIZE + 1, timeout=30)

        t0 = time.monotonic()
        hermes.signal(sig)
        rc = hermes.wait_exit(15)
        assert rc is not None, "Hermes still runs 15 s after the signal"
        assert rc == 0, f"exit status {rc} after {time.monotonic() - t0:.1f} s"
        sh.wait_closed(timeout=5)

        closed = hermes.wait_event("session.closed", session=sh.sid, timeout=1)
        assert closed["reason"] == "shutdown"
        assert closed["container_id"] == cid
        stopped = hermes.find("hermes.stopped")
        assert len(stopped) == 1
        assert isinstance(stopped[0]["reason"], str) and stopped[0]["reason"]
        assert hermes.events()[-1]["event"] == "hermes.stopped"

        created = hermes.created_containers()
        assert cid in {e["container_id"] for e in created}
        unused = {e["container_id"] for e in created} - {cid}
        assert len(unused) == POOL_SIZE
        for e in created:
            info = docker_inspect(e["container_id"])
            if e["container_id"] == cid:
                assert info is not None, "the session's container was removed; keep it"
                assert info["State"]["Running"] is False
            else:
                assert info is None, f"unused pre-warmed {e['container_name']} still exists"
        removed = {e["container_id"] for e in hermes.find("container.removed")}
        assert removed == unused
        assert hermes.find("container.stopped", container_id=cid)
    finally:
        sh.close()
