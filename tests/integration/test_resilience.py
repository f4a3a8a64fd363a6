"""What survives trouble: Hermes killed outright mid-session (the recording and the event log
stay valid, the worker goes too, and the next start cleans up what it left), and a pool that
runs dry (containers made on demand)."""

import signal
import threading

from docker_proxy import DockerProxy
from hermes_helpers import IMAGE, POOL_SIZE, Hermes, asciinema_cat, docker, docker_inspect, \
    open_shell, parse_asciicast, parse_event_lines, ssh_exec, tail_text, wait_for


def test_sigkill_mid_session_leaves_valid_records(hermes_factory):
    hermes = hermes_factory.start()
    sh = open_shell(hermes)
    try:
        shell = hermes.wait_event("session.shell", session=sh.sid, timeout=30)
        sh.send("echo KILLED-$((40+2))\n")
        sh.expect(r"KILLED-42")
        cast = shell["recording"]
        wait_for(lambda: "KILLED-42" in open(cast, encoding="utf-8").read(), 10,
                 what="the output in the recording")

        hermes.signal(signal.SIGKILL)
        hermes.proc.wait(timeout=10)

        # The worker notices its monitor is gone and ends the connection.
        wait_for(lambda: sh.transport.is_active() is False, 15,
                 what="the client connection to be closed after the monitor died")
    finally:
        sh.close()

    # Every line written so far is whole: the recording plays, the log parses.
    with open(cast, encoding="utf-8") as f:
        header, events = parse_asciicast(f.read())
    assert header["version"] == 2
    assert any("KILLED-42" in data for _, code, data in events if code == "o")
    played = asciinema_cat(cast)
    assert played.returncode == 0, played.stderr
    assert b"KILLED-42" in played.stdout
    data = hermes.events_path.read_bytes()
    assert data.endswith(b"\n")
    evs = parse_event_lines(data)
    assert any(e["event"] == "session.shell" and e["session"] == sh.sid for e in evs)


def test_empty_pool_creates_on_demand(hermes_factory):
    hermes = hermes_factory.start({"container_pool": {"size": 1}})
    hermes.wait_count("container.created", 1, timeout=60, pooled=True)

    # Three logins at once against one ready container: the others cannot wait for a
    # replacement that is not there yet, so containers are made for them on demand.
    shells, errors = [], []

    def login():
        try:
            sh = open_shell(hermes)
            shells.append(sh)
            hermes.wait_event("session.shell", session=sh.sid, timeout=60)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=login) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not errors, errors
        assert len(shells) == 3
        allocs = [hermes.wait_event("container.allocated", session=sh.sid) for sh in shells]
        assert len({a["container_id"] for a in allocs}) == 3, allocs
        assert any(a["pooled"] is False for a in allocs), allocs
        assert "pool empty" in tail_text(hermes.stderr_path, 400)
        for sh in shells:
            sh.send("echo ONDEMAND-$((1+1))\n")
            sh.expect(r"ONDEMAND-2")
    finally:
        for sh in shells:
            sh.close()


def test_restart_after_sigkill_reconciles_what_it_left(hermes_factory):
    """A Hermes killed outright leaves its containers running; the next start on the same data
    stops the session's (kept as evidence) and removes the unused pre-warmed ones, and leaves
    other instances' containers alone."""
    other = hermes_factory.start()  # another instance on the same engine: not ours to touch
    first = hermes_factory.start()
    with open_shell(first) as sh:
        shell = first.wait_event("session.shell", session=sh.sid, timeout=30)
        sh.send("printf 'stage2\\n' > /tmp/implant.sh; echo left > /root/left.txt; "
                "echo BEFORE-KILL\n")
        sh.expect(r"BEFORE-KILL")
        session_cid = shell["container_id"]
        # The replacement is up too, so that every container the kill leaves is known.
        first.wait_count("container.created", POOL_SIZE + 1, timeout=60)
        first.signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
    pooled = {e["container_id"] for e in first.find("container.created")} - {session_cid}
    assert pooled and docker_inspect(session_cid)["State"]["Running"]
    others = {e["container_id"] for e in other.find("container.created")}
    # A start killed while it read the image (docs/stealth.md) leaves the container it read it
    # through: named and labelled as the instance's unused boxes, so removed with them.
    instance = first.instance_label
    r = docker("create", "--name", f"hermes-pool-probe-{instance}-1", "--label",
               "hermes.role=probe", "--label", f"hermes.instance={instance}",
               "--network", "none", IMAGE, "/bin/true", timeout=60)
    assert r.returncode == 0, r
    pooled.add(r.stdout.strip())

    # The same data directory is the same instance, and the same log.
    mark = first.mark()
    second = Hermes(first.workdir, name="hermes-restarted", binary=first.binary)
    hermes_factory.instances.append(second)
    second.start(since=mark)
    ev = second.wait_event("pool.reconciled", timeout=30, since=mark)
    assert ev["stopped"] == 1, ev
    assert ev["removed"] == len(pooled), (ev, pooled)
    wait_for(lambda: not docker_inspect(session_cid)["State"]["Running"], 30,
             what="the killed session's container to be stopped")
    assert docker_inspect(session_cid) is not None  # kept, not removed
    # Before it stopped, what the killed session left was collected under its own id - the
    # tmpfs too, which a stop would have emptied.
    done = second.wait_event("artifacts.collected", session=sh.sid, since=mark, timeout=60)
    assert done["container_id"] == session_cid
    created = {e["path"] for e in second.find("file.created", session=sh.sid, since=mark)}
    assert {"/tmp/implant.sh", "/root/left.txt"} <= created, created
    wait_for(lambda: all(docker_inspect(c) is None for c in pooled), 30,
             what="the unused pre-warmed containers to be removed")
    assert all(docker_inspect(c)["State"]["Running"] for c in others)
    # And the restarted instance serves.
    with open_shell(second) as sh:
        sh.send("echo AFTER-RESTART\n")
        sh.expect(r"AFTER-RESTART")


def test_dead_pool_containers_are_replaced(hermes_factory):
    """A restart of dockerd kills every container; the ready ones the pool holds are then dead.
    A login that is handed one gets another instead, and says so in the events."""
    import subprocess
    hermes = hermes_factory.start()
    ready = [e["container_id"] for e in hermes.wait_count("container.created", POOL_SIZE,
                                                          timeout=60)]
    subprocess.run(["docker", "kill", *ready], check=True, capture_output=True, timeout=60)
    with open_shell(hermes) as sh:
        sh.send("echo ALIVE-$((20+1))\n")
        sh.expect(r"ALIVE-21", timeout=60)
        shell = hermes.wait_event("session.shell", session=sh.sid, timeout=30)
    assert shell["container_id"] not in ready
    gone = hermes.find("container.error", session=sh.sid, operation="exec")
    assert gone and {e["container_id"] for e in gone} <= set(ready)


def test_logins_go_on_while_docker_does_not_answer(hermes_factory):
    """With dockerd frozen (SIGSTOP), the monitor still accepts and logs logins - no Docker
    call blocks it - and once dockerd answers again shells work."""
    import os
    import subprocess
    import time
    from hermes_helpers import PASSWORD, USER, paramiko_transport
    hermes = hermes_factory.start()
    hermes.wait_count("container.created", POOL_SIZE, timeout=60)
    pid = int(subprocess.run(["pidof", "-s", "dockerd"], capture_output=True, text=True,
                             check=True).stdout)
    os.kill(pid, signal.SIGSTOP)
    try:
        mark = hermes.mark()
        t = paramiko_transport(hermes.port)
        try:
            t.auth_password(USER, PASSWORD)
            assert t.is_authenticated()
            sid = hermes.session_for_port(t.sock.getsockname()[1], since=mark)
            assert hermes.wait_event("login.success", session=sid, timeout=10)
        finally:
            t.close()
        time.sleep(1)
    finally:
        os.kill(pid, signal.SIGCONT)
    with open_shell(hermes) as sh:
        sh.send("echo THAWED\n")
        sh.expect(r"THAWED", timeout=90)


def test_a_full_disk_is_said_loudly_and_survived(hermes_factory, tmp_path):
    """The event log and the recordings on a file system that fills up: the daemon says so in
    its own log and keeps serving; once there is room again, events are written again."""
    import subprocess
    data = tmp_path / "small"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(data)], check=True)
    try:
        hermes = hermes_factory.start({"logging": {"output_dir": str(data / "logs")},
                                       "recording": {"output_dir": str(data / "rec")}})
        filler = data / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        before = hermes.events_path.stat().st_size
        # Sessions go on with nowhere to write: logins, shells, output.
        for n in range(2):
            r = ssh_exec(hermes.port, f"echo FULL-{n}; head -c 300000 /dev/zero | tr '\\0' y")
            assert r.returncode == 0 and r.stdout.startswith(f"FULL-{n}\n".encode()), r
        assert hermes.running()
        wait_for(lambda: "cannot write event log" in hermes.stderr_tail(400), 20,
                 what="the daemon to say it cannot write its event log")
        # What still fit in the file's last page went in, whole lines only; then nothing.
        assert hermes.events_path.stat().st_size <= before + 4096
        parse_event_lines(hermes.events_path.read_bytes())
        # Room again: the next session is logged, whole lines only.
        filler.unlink()
        mark = hermes.mark()
        r = ssh_exec(hermes.port, "echo ROOM")
        assert r.returncode == 0 and r.stdout == b"ROOM\n"
        hermes.wait_event("session.closed", since=mark, timeout=30)
        parse_event_lines(hermes.events_path.read_bytes())  # every line whole
    finally:
        for inst in hermes_factory.instances:
            inst.teardown()
        subprocess.run(["umount", "-l", str(data)], check=False)


def test_a_login_after_failed_creations_does_not_wait_out_the_backoff(hermes_factory, tmp_path):
    """After failed creations the pool waits longer and longer (2 s doubling to a minute)
    before it tries again; a login meanwhile gets a creation of its own at once, so once the
    engine makes containers again the next attacker gets a shell, not a refusal at
    spawn_timeout while the pool's timer runs."""
    refusing = threading.Event()

    def policy(call):
        return not (refusing.is_set() and call == "POST /containers/create")
    with DockerProxy(tmp_path / "engine.sock", policy=policy) as proxy:
        hermes = hermes_factory.start({"docker": {"socket_path": str(tmp_path / "engine.sock")},
                                       "container_pool": {"size": 1, "spawn_timeout": 10}})
        try:
            refusing.set()
            with open_shell(hermes) as first:  # takes the ready box: the pool refills
                first.send("echo FIRST\n")
                first.expect(r"FIRST")
                # Four failed containers (a creation and its one retry each) leave the pool
                # waiting 16 s before its next try, longer than spawn_timeout.
                wait_for(lambda: len(proxy.refused) >= 8, 60, interval=0.2,
                         what="eight refused creations")
                refusing.clear()
                mark = hermes.mark()
                r = ssh_exec(hermes.port, "echo BACK", timeout=60)
                assert r.returncode == 0 and r.stdout == b"BACK\n", \
                    (r, hermes.stderr_tail(40))
                sid = hermes.wait_event("session.closed", since=mark)["session"]
                alloc = hermes.wait_event("container.allocated", session=sid)
                assert alloc["pooled"] is False, alloc
        finally:
            hermes.stop()
