"""Artifacts: what a session added, changed or deleted in its container is copied out when it
ends, before the container stops (so the tmpfs mounts /tmp and /dev/shm are still there), stored
once by SHA-256, logged per file and listed in a per-session manifest; size caps log what they
keep out. Root in the box cannot keep a file out silently: not with a name that is not UTF-8,
not under /run/sshd, not behind 5000 junk files; and a link planted in the store is not
trusted."""

import base64
import json
import os
from pathlib import Path

from docker_proxy import DockerProxy
from hermes_helpers import Hermes, scp_upload, sha256_bytes as sha, ssh_exec


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
    # Names that are text are written as they are.
    assert not any("path_b64" in e for e in evs if e["event"].startswith("file.")), evs

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
    # The rest is what the login wrote (the box's sshd: auth.log, wtmp, lastlog; logind and
    # systemd: their state under /run, symlinks among it, which have no size).
    others = sum(e.get("size", 0) for e in evs if e["event"] == "file.created" and e not in kept)
    assert done["bytes"] == 700000 + others

    off = hermes_factory.start({"forensics": {"enabled": False}})
    mark = off.mark()
    assert ssh_exec(off.port, "echo x > /root/x").returncode == 0
    sid = session_of_last(off, mark)
    off.wait_event("container.stopped", since=mark, timeout=60)
    assert not [e for e in off.session_events(sid)
                if e["event"].startswith(("file.", "artifact"))]


def b64(raw):
    return base64.b64encode(raw).decode()


def test_names_not_utf8_are_collected(hermes):
    """Docker's changes list writes U+FFFD for such bytes and its archive endpoint 404s on
    that name: the file is read from its directory's archive, which has the real bytes, and
    logged with the bytes escaped (\\xNN) and in base64."""
    art_dir = Path(hermes.config["forensics"]["artifacts_dir"])
    mark = hermes.mark()
    script = (r"""printf 'evil\n' > "/root/a$(printf '\377')b" && """
              r"""chmod 755 "/root/a$(printf '\377')b" && """
              r"""mkdir "/root/d$(printf '\376')" && """
              r"""printf 'inside\n' > "/root/d$(printf '\376')/in.sh" && """
              r"""printf 'top\n' > "/top$(printf '\377')" && echo DONE""")
    r = ssh_exec(hermes.port, script)
    assert r.returncode == 0 and r.stdout == b"DONE\n", r
    sid = session_of_last(hermes, mark)
    done, evs = collected(hermes, sid)
    created = {e["path"]: e for e in evs if e["event"] == "file.created"}

    evil = created["/root/a\\xffb"]
    assert evil["path_b64"] == b64(b"/root/a\xffb")
    assert evil["sha256"] == sha(b"evil\n") and evil["mode"] == "0755"
    assert (art_dir / evil["sha256"]).read_bytes() == b"evil\n"
    inside = created["/root/d\\xfe/in.sh"]
    assert inside["path_b64"] == b64(b"/root/d\xfe/in.sh")
    assert inside["sha256"] == sha(b"inside\n")
    # Directly under /: no directory with an intact name to read it from. Not silent: skipped,
    # with the name as Docker gave it, saying so.
    skipped = [e for e in evs if e["event"] == "artifact.skipped"
               and e.get("path") == "/top\ufffd"]
    assert len(skipped) == 1, evs
    assert skipped[0]["path_lossy"] is True
    assert skipped[0]["reason"].startswith("name not UTF-8")
    manifest = json.loads(Path(done["manifest"]).read_text())
    by_path = {m["path"]: m for m in manifest["entries"]}
    assert by_path["/root/a\\xffb"]["path_b64"] == b64(b"/root/a\xffb")
    assert by_path["/root/a\\xffb"]["sha256"] == sha(b"evil\n")


def test_tmpfs_name_not_utf8_has_path_and_hash(hermes):
    mark = hermes.mark()
    r = ssh_exec(hermes.port, r"""printf 'tmpdata\n' > "/tmp/t$(printf '\377')" && echo DONE""")
    assert r.returncode == 0 and r.stdout == b"DONE\n", r
    sid = session_of_last(hermes, mark)
    _, evs = collected(hermes, sid)
    tmp = [e for e in evs if e["event"] == "file.created" and e.get("path") == "/tmp/t\\xff"]
    assert len(tmp) == 1, evs
    assert tmp[0]["path_b64"] == b64(b"/tmp/t\xff")
    assert tmp[0]["sha256"] == sha(b"tmpdata\n") and tmp[0]["size"] == 8


def test_run_sshd_and_accounting_files_are_collected(hermes):
    """/run/sshd/ is where the session parent writes its exit reports, and utmp, wtmp and
    lastlog are Hermes's login records: root in the box can write there too, so they are
    collected like anything else."""
    mark = hermes.mark()
    r = ssh_exec(hermes.port, "mkdir -p /run/sshd && printf 'hidden\\n' > /run/sshd/hidden.sh "
                              "&& printf 'forged\\n' >> /var/log/wtmp && echo DONE")
    assert r.returncode == 0 and r.stdout == b"DONE\n", r
    sid = session_of_last(hermes, mark)
    _, evs = collected(hermes, sid)
    files = {e["path"]: e for e in evs if e["event"] in ("file.created", "file.changed")}
    assert files["/run/sshd/hidden.sh"]["sha256"] == sha(b"hidden\n")
    assert files["/var/log/wtmp"]["sha256"], sorted(files)


def test_cap_keeps_what_matters_and_says_what_it_dropped(hermes_factory):
    """5000 junk files under /0/ sort before /root: the cap, taken in name order, dropped
    the real script. It prefers what the path tells (a script, /root), shares what is left
    between directories, lets the archive's headers choose within one (an executable first),
    and says what it dropped in one event."""
    inst = hermes_factory.start()
    mark = inst.mark()
    script = ("mkdir /0 && cd /0 && for i in $(seq 0 4999); do echo junk > $i; done && "
              "printf '#!/bin/sh\\necho run\\n' > /0/zz-run && chmod 755 /0/zz-run && "
              "printf '#!/bin/sh\\necho real\\n' > /root/real.sh && echo DONE")
    r = ssh_exec(inst.port, script, timeout=300)
    assert r.returncode == 0 and r.stdout == b"DONE\n", r
    sid = session_of_last(inst, mark)
    done = inst.wait_event("artifacts.collected", session=sid, timeout=300)
    evs = inst.session_events(sid)
    created = {e["path"]: e for e in evs if e["event"] == "file.created"}

    assert created["/root/real.sh"]["sha256"] == sha(b"#!/bin/sh\necho real\n")
    # Last of /0 by name, first by its header: it runs.
    assert created["/0/zz-run"]["mode"] == "0755"
    cut = [e for e in evs if e["event"] == "artifact.skipped"]
    caps = [e for e in cut if e["reason"] == "too many changes"]
    assert len(caps) == 1, cut[:20]
    cap = caps[0]
    assert cap["path"] == "/" and cap["max"] == 5000
    junk = sum(1 for p in created if p.startswith("/0/"))
    assert cap["size"] >= 1 and junk + cap["size"] == 5001, (junk, cap)
    assert cap["dropped"]["created"] == cap["size"]
    assert cap["dropped"]["dirs"]["/0"] == cap["size"]
    sample = cap["dropped"]["sample"]
    assert 1 <= len(sample) <= 10 and all(p.startswith("/0/") for p in sample), sample
    # Not one event per dropped file.
    assert len(cut) < 10, cut
    manifest = json.loads(Path(done["manifest"]).read_text())
    assert [m for m in manifest["entries"] if m.get("skipped") == "too many changes"] \
        [0]["dropped"]["created"] == cap["size"]


def test_planted_link_in_the_store_is_not_trusted(hermes, tmp_path):
    """A symbolic link at a stored file's name (a file with those bytes already stored, as far
    as its name says) is neither followed nor trusted: a regular file replaces it."""
    art_dir = Path(hermes.config["forensics"]["artifacts_dir"])
    data = b"planted-" + os.urandom(8).hex().encode() + b"\n"
    outside = tmp_path / "outside"
    outside.write_bytes(b"not the artifact\n")
    name = art_dir / sha(data)
    name.symlink_to(outside)
    mark = hermes.mark()
    r = ssh_exec(hermes.port, f"printf '{data.decode()[:-1]}\\n' > /root/planted.txt; echo DONE")
    assert r.returncode == 0 and r.stdout == b"DONE\n", r
    sid = session_of_last(hermes, mark)
    _, evs = collected(hermes, sid)
    art = [e for e in evs if e["event"] == "file.created" and e["path"] == "/root/planted.txt"]
    assert len(art) == 1 and art[0]["sha256"] == sha(data), evs
    assert not name.is_symlink()
    assert name.read_bytes() == data
    assert outside.read_bytes() == b"not the artifact\n"


def test_a_directory_too_large_to_batch_is_not_asked_for_again(tmp_path, hermes_binary,
                                                               docker_ready):
    """Two changes of one directory are read with one archive of it (docs/artifacts.md), but
    the image's /usr/bin is over the bound: the first collection asks for it, gives up and
    reads the two files one archive each; the next box's collection goes to the files at once.
    The engine's calls are seen through a socket proxy."""
    sock = tmp_path / "proxy.sock"
    with DockerProxy(sock) as proxy:
        inst = Hermes(tmp_path / "hermes", {"docker": {"socket_path": str(sock)},
                                            "container_pool": {"size": 1}},
                      name="hermes-big-dir", binary=hermes_binary)
        try:
            inst.start()
            dir_calls, got = [], []
            for name in ("first", "second"):
                mark = inst.mark()
                before = len(proxy.targets)
                r = ssh_exec(inst.port, f"echo {name}-a > /usr/bin/{name}-a && "
                             f"echo {name}-b > /usr/bin/{name}-b", timeout=90)
                assert r.returncode == 0, r.stderr
                _, evs = collected(inst, session_of_last(inst, mark))
                # (A symlink the login's bookkeeping made has no content, so no sha256.)
                got.append({e["path"]: e.get("sha256") for e in evs
                            if e["event"] == "file.created"})
                dir_calls.append([t for m, t in proxy.targets[before:]
                                  if m == "GET" and t.endswith("/archive?path=/usr/bin")])
        finally:
            inst.stop()
            inst.teardown()
    for name, files in zip(("first", "second"), got):
        for x in "ab":
            assert files.get(f"/usr/bin/{name}-{x}") == sha(f"{name}-{x}\n".encode()), files
    assert len(dir_calls[0]) == 1, dir_calls
    assert dir_calls[1] == [], dir_calls
