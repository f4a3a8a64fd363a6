"""Artifacts: what a session added, changed or deleted in its container is copied out when it
ends, before the container stops (so the tmpfs mounts /tmp and /dev/shm are still there), stored
once by SHA-256, logged per file and listed in a per-session manifest; size caps log what they
keep out."""

import json
import os
from pathlib import Path

from hermes_helpers import scp_upload, sha256_bytes as sha, ssh_exec


def session_of_last(hermes, mark):
    return hermes.wait_event("session.shell", since=mark, timeout=30)["session"]


def collected(hermes, sid):
    done = hermes.wait_event("artifacts.collected", session=sid, timeout=60)
    evs = hermes.session_events(sid)
    return done, evs


def test_files_created_changed_deleted_and_stored(hermes):
    art_dir = Path(hermes.config["forensics"]["artifacts_dir"])
    mark = hermes.mark()
    script = ("mkdir -p /root/.x && printf 'payload-one\\n' > /root/.x/bot.sh && "
              "chmod 755 /root/.x/bot.sh && printf 'payload-one\\n' > /root/copy.sh && "
              "echo 'evil motd' >> /etc/motd && rm /usr/bin/wget && "
              "printf 'in-tmp\\n' > /tmp/t.sh && chmod 700 /tmp/t.sh && "
              "printf 'shm\\n' > /dev/shm/s && ln -s /etc/shadow /root/sh-link && "
              "head -c 12000000 /dev/zero > /root/big.bin && echo DONE")
    r = ssh_exec(hermes.port, script)
    assert r.returncode == 0 and r.stdout == b"DONE\n", r
    sid = session_of_last(hermes, mark)
    done, evs = collected(hermes, sid)

    created = {e["path"]: e for e in evs if e["event"] == "file.created"}
    changed = {e["path"]: e for e in evs if e["event"] == "file.changed"}
    deleted = [e["path"] for e in evs if e["event"] == "file.deleted"]
    skipped = {e["path"]: e for e in evs if e["event"] == "artifact.skipped"}

    one = sha(b"payload-one\n")
    assert created["/root/.x/bot.sh"]["sha256"] == one
    assert created["/root/.x/bot.sh"]["mode"] == "0755"
    assert created["/root/.x/bot.sh"]["size"] == len(b"payload-one\n")
    assert created["/root/copy.sh"]["sha256"] == one
    assert created["/tmp/t.sh"]["sha256"] == sha(b"in-tmp\n")
    assert created["/tmp/t.sh"]["mode"] == "0700"
    assert created["/dev/shm/s"]["sha256"] == sha(b"shm\n")
    assert created["/root/sh-link"]["type"] == "symlink"
    assert created["/root/sh-link"]["link"] == "/etc/shadow"
    motd = changed["/etc/motd"]
    stored = (art_dir / motd["sha256"]).read_bytes()
    assert stored.endswith(b"evil motd\n") and sha(stored) == motd["sha256"]
    assert "/usr/bin/wget" in deleted
    assert skipped["/root/big.bin"]["reason"] == "max_file_size"
    # Stored once however often seen, by name = SHA-256 of the contents.
    assert (art_dir / one).read_bytes() == b"payload-one\n"
    # The session parent's own files are not the attacker's.
    paths = set(created) | set(changed)
    assert not any(p.startswith("/run/sshd") or p in ("/run/utmp", "/var/log/wtmp")
                   for p in paths), paths

    manifest = json.loads(Path(done["manifest"]).read_text())
    assert manifest["session"] == sid
    by_path = {m["path"]: m for m in manifest["entries"]}
    assert by_path["/root/.x/bot.sh"]["sha256"] == one
    assert by_path["/usr/bin/wget"]["kind"] == "deleted"
    assert by_path["/root/big.bin"]["skipped"] == "max_file_size"
    assert done["files"] == manifest["files"] == len(created) + len(changed)
    assert done["skipped"] >= 1
    # Collected before the stop: the container is stopped only afterwards.
    stopped = hermes.wait_event("container.stopped", container_id=done["container_id"],
                                timeout=60)
    assert stopped["timestamp"] >= done["timestamp"]


def test_upload_is_linked_to_its_transfer(hermes, tmp_path):
    data = os.urandom(50_000)
    src = tmp_path / "drop.bin"
    src.write_bytes(data)
    mark = hermes.mark()
    r = scp_upload(hermes.port, src, "/root/drop.bin")
    assert r.returncode == 0, r.stderr
    sid = hermes.wait_event("file.transfer", since=mark, timeout=30)["session"]
    done, evs = collected(hermes, sid)
    art = [e for e in evs if e["event"] == "file.created" and e["path"] == "/root/drop.bin"]
    assert len(art) == 1, evs
    assert art[0]["sha256"] == sha(data) and art[0]["transfer"] is True
    art_dir = Path(hermes.config["forensics"]["artifacts_dir"])
    assert (art_dir / sha(data)).read_bytes() == data


def test_session_cap_and_disabled(hermes_factory):
    inst = hermes_factory.start({"forensics": {"max_session_size": "1m",
                                               "max_file_size": "1m"}})
    mark = inst.mark()
    r = ssh_exec(inst.port, "head -c 700000 /dev/urandom > /root/a; "
                            "head -c 700000 /dev/urandom > /root/b; echo ok")
    assert r.returncode == 0
    sid = session_of_last(inst, mark)
    done, evs = collected(inst, sid)
    kept = [e for e in evs if e["event"] == "file.created" and e["path"] in ("/root/a", "/root/b")]
    cut = [e for e in evs if e["event"] == "artifact.skipped" and e["path"] in ("/root/a", "/root/b")]
    assert len(kept) == 1 and len(cut) == 1, evs
    assert cut[0]["reason"] == "max_session_size"
    # The rest is what the box's sshd wrote of the login (auth.log, wtmp, lastlog).
    others = sum(e["size"] for e in evs if e["event"] == "file.created" and e not in kept)
    assert done["bytes"] == 700000 + others

    off = hermes_factory.start({"forensics": {"enabled": False}})
    mark = off.mark()
    assert ssh_exec(off.port, "echo x > /root/x").returncode == 0
    sid = session_of_last(off, mark)
    off.wait_event("container.stopped", since=mark, timeout=60)
    assert not [e for e in off.session_events(sid)
                if e["event"].startswith(("file.", "artifact"))]
