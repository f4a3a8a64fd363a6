"""Inside the box, as an implant would look (issue 16, docs/stealth.md): what Hermes gives every
box before it is ready - the server's own host keys in /etc/ssh, a machine id of its own, no
/.dockerenv - is there and consistent with what a client sees, and it is not reported as the
attacker's files unless the attacker changes it."""

import re
from pathlib import Path

from hermes_helpers import HOSTNAME, ssh_exec

CHECKS = (
    "test -e /.dockerenv && echo DOCKERENV=yes || echo DOCKERENV=no; "
    "echo MACHINE=$(cat /etc/machine-id); "
    "for t in rsa ecdsa ed25519; do f=/etc/ssh/ssh_host_${t}_key; "
    "echo KEY-$t=$(stat -c %a-%U $f)-$(stat -c %a $f.pub)-"
    "$(ssh-keygen -y -f $f | cut -d' ' -f2 | cut -c1-40); echo PUB-$t=$(cat $f.pub); done; "
    "sshd -t; echo SSHD_T=$?; echo HOSTKEYS=$(sshd -T | grep -c '^hostkey ')")


def run_checks(hermes):
    r = ssh_exec(hermes.port, CHECKS)
    assert r.returncode == 0, r
    out = r.stdout.decode()
    return dict(re.findall(r"^([A-Z_a-z0-9-]+)=(.*)$", out, re.M))


def test_box_looks_like_its_server(hermes):
    got = run_checks(hermes)
    assert got["DOCKERENV"] == "no", got
    assert re.fullmatch(r"[0-9a-f]{32}", got["MACHINE"]), got
    for t in ("rsa", "ecdsa", "ed25519"):
        # The public key a client is shown by Hermes, with the comment a key made on that
        # server has; the private key readable by root only, and the two a pair.
        served = Path(hermes.keys_dir, f"ssh_host_{t}_key.pub").read_text().split()
        kind, blob, comment = got[f"PUB-{t}"].split()
        assert (kind, blob) == (served[0], served[1]), (t, got[f"PUB-{t}"], served)
        assert comment == f"root@{HOSTNAME}"
        assert got[f"KEY-{t}"] == f"600-root-644-{blob[:40]}", (t, got[f"KEY-{t}"])
    # The box's sshd (the agent) finds its keys, as the distribution's would.
    assert got["SSHD_T"] == "0", got
    assert got["HOSTKEYS"] == "3", got


def test_each_box_its_own_machine_id(hermes):
    # The tests' config gives every session a box of its own (sticky_ttl 0).
    first, second = run_checks(hermes)["MACHINE"], run_checks(hermes)["MACHINE"]
    assert first != second


def test_prepared_files_are_not_the_attackers(hermes):
    mark = hermes.mark()
    r = ssh_exec(hermes.port, "echo 0123456789abcdef0123456789abcdef > /etc/machine-id; "
                 "echo implant > /root/.implant; true")
    assert r.returncode == 0, r
    # This session's, found by its command: an earlier test's session.closed may come after
    # the mark (a slow build writes it late).
    cmd = hermes.wait_event(lambda e: e.get("event") == "command.input" and
                            "implant" in e.get("command", ""), since=mark, timeout=60)
    closed = hermes.wait_event("session.closed", session=cmd["session"], timeout=60)
    done = hermes.wait_event("artifacts.collected", session=closed["session"], timeout=120)
    # Left as Hermes made them: the five keys' files of three kinds and /.dockerenv's removal.
    assert done["prepared"] >= 7, done
    created = {e["path"] for e in hermes.find("file.created", session=closed["session"])}
    changed = {e["path"] for e in hermes.find("file.changed", session=closed["session"])}
    deleted = {e["path"] for e in hermes.find("file.deleted", session=closed["session"])}
    assert not any(p.startswith("/etc/ssh/") for p in created | changed), created | changed
    assert "/.dockerenv" not in deleted, deleted
    # What the attacker changed is theirs, a prepared path too.
    assert "/root/.implant" in created, created
    assert "/etc/machine-id" in created | changed, (created, changed)
