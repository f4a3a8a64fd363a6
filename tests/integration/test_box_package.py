"""The box's openssh-server as the distribution installed it, as far as anyone inside can tell
(issue 16): the package is installed and verifies clean though its /usr/sbin/sshd is the session
agent, and the agent answers `sshd -V`, `-T`, `-t` and bad command lines as the distribution's own
binary does.

The reference is that binary itself: the image's sshd-reference stage (the target's packages with
the real sshd in place, host keys and /run/sshd), tagged by scripts/build-images.sh and named by
the target's label hermes.sshd-reference. Each command runs, the same text, in a Hermes session as
root in a box and in a throwaway container of the reference, and the two must agree byte for byte
(stdout, stderr, exit status). Facts that do not depend on the reference are checked as well, so
that a reference gone wrong cannot make the test pass: the package is `ii`, `dpkg -V` is silent,
the version texts carry the package's version, the dump is the stock config's.
"""

import re
import subprocess
import uuid

import pytest

from hermes_helpers import IMAGE, asyncssh_run, docker

pytestmark = pytest.mark.box

# Each command starts from the state it needs: the box has no host keys until one makes them; the
# reference has some. The last one leaves the box as it was.
NO_KEYS = "rm -f /etc/ssh/ssh_host_*; "
KEYS = "ssh-keygen -A >/dev/null; "
COMMANDS = {
    "dpkg -l": "dpkg -l openssh-server",
    "dpkg -V": "dpkg -V openssh-server",
    "version": "dpkg-query -W -f '${Version}' openssh-server",
    "-V": "sshd -V",
    "-V late": "/usr/sbin/sshd -t -V -d",
    "unknown option": "/usr/sbin/sshd -Z",
    "--help": "sshd --help",
    "missing argument": "/usr/sbin/sshd -T -f",
    "extra argument": "/usr/sbin/sshd -T extra",
    "relative daemon": "sshd -D -e",
    "bad -C": "/usr/sbin/sshd -T -C user=root,bogus",
    "bad -C port": "/usr/sbin/sshd -T -C lport=ssh",
    "-C without -T": "/usr/sbin/sshd -t -C user=root",
    "no config": "/usr/sbin/sshd -t -f /etc/ssh/none",
    "-T no keys": NO_KEYS + "sshd -T",
    "-t no keys": NO_KEYS + "/usr/sbin/sshd -t",
    "-t no keys -q": NO_KEYS + "/usr/sbin/sshd -t -q",
    "-T": KEYS + "/usr/sbin/sshd -T",
    "-T | head": KEYS + "/usr/sbin/sshd -T | head",
    "-T -C": KEYS + "sshd -T -C user=root,host=example.org,addr=192.0.2.7",
    "-T -q": KEYS + "/usr/sbin/sshd -q -T",
    "-t": KEYS + "/usr/sbin/sshd -t",
    "-T as a user": KEYS + "setpriv --reuid=admin --regid=admin --clear-groups /usr/sbin/sshd -T",
    "-t no /run/sshd": KEYS + "mv /run/sshd /run/sshd.hold; /usr/sbin/sshd -t; r=$?; "
                       "mv /run/sshd.hold /run/sshd; exit $r",
    "-i no /run/sshd": KEYS + "mv /run/sshd /run/sshd.hold; /usr/sbin/sshd -t -i; r=$?; "
                       "mv /run/sshd.hold /run/sshd; exit $r",
    "cleanup": NO_KEYS + "true",
}


def reference_image():
    r = docker("image", "inspect", "-f", '{{ index .Config.Labels "hermes.sshd-reference" }}',
               IMAGE)
    ref = r.stdout.strip() if r.returncode == 0 else ""
    if not ref or ref == "<no value>":
        pytest.fail(f"{IMAGE} names no sshd reference image (label hermes.sshd-reference): "
                    "build it with scripts/build-images.sh", pytrace=False)
    if docker("image", "inspect", ref).returncode != 0:
        pytest.fail(f"the sshd reference {ref} named by {IMAGE} is missing: rebuild with "
                    "scripts/build-images.sh --force", pytrace=False)
    return ref


@pytest.fixture(scope="module")
def answers(hermes):
    """{name: ((stdout, stderr, status) in the box, the same in the reference)}."""
    ref = reference_image()
    name = f"hermes-sshd-reference-{uuid.uuid4().hex[:12]}"
    r = docker("run", "-d", "--network", "none", "--name", name, ref, "sleep", "600")
    assert r.returncode == 0, r.stderr
    try:
        real = {}
        for key, command in COMMANDS.items():
            # Bytes, decoded as asyncssh decodes: text mode would turn sshd's CR LF into LF.
            e = subprocess.run(["docker", "exec", name, "bash", "-c", command],
                               capture_output=True, timeout=60)
            real[key] = (e.stdout.decode(), e.stderr.decode(), e.returncode)
    finally:
        docker("rm", "-f", name)
    results = asyncssh_run(hermes.port, *COMMANDS.values())
    box = {key: (r.stdout, r.stderr, r.exit_status) for key, r in zip(COMMANDS, results)}
    return {key: (box[key], real[key]) for key in COMMANDS}


@pytest.mark.parametrize("key", [k for k in COMMANDS if k != "cleanup"])
def test_box_answers_as_the_real_sshd(answers, key):
    box, real = answers[key]
    assert box == real, f"{COMMANDS[key]!r}: box {box!r}, real sshd {real!r}"


def test_package_installed_and_verified(answers):
    (listing, _, status), _ = answers["dpkg -l"]
    assert status == 0
    assert re.search(r"^ii  openssh-server\s", listing, re.M), listing
    out, err, status = answers["dpkg -V"][0]
    assert (out, status) == ("", 0), (out, err)
    assert "/usr/sbin/sshd" not in err


def test_version_texts_carry_the_package_version(answers):
    """`sshd -V` names the upstream version; the usage text after a bad option names it with
    the distribution's revision, as the package is versioned (1:9.2p1-2+deb12u10 gives
    "OpenSSH_9.2p1 Debian-2+deb12u10")."""
    version = answers["version"][0][0]
    upstream, revision = version.split(":", 1)[-1].split("-", 1)
    out, err, status = answers["-V"][0]
    assert out == "" and f"OpenSSH_{upstream.split('p')[0]}" in err, err
    out, err, status = answers["unknown option"][0]
    assert status == 1 and out == ""
    assert err.startswith("unknown option -- Z\r\n"), err
    assert f"OpenSSH_{upstream} " in err and revision in err, err
    assert "usage: sshd [" in err


def test_dump_is_the_stock_config(answers):
    out, err, status = answers["-T"][0]
    assert (err, status) == ("", 0)
    lines = out.splitlines()
    assert lines[0] == "port 22"
    for line in ("usepam yes", "kbdinteractiveauthentication no", "x11forwarding yes",
                 "printmotd no", "subsystem sftp /usr/lib/openssh/sftp-server",
                 "hostkey /etc/ssh/ssh_host_ed25519_key"):
        assert line in lines, line
    assert answers["-T | head"][0] == ("\n".join(lines[:10]) + "\n", "", 0)
    assert answers["-t"][0] == ("", "", 0)


def test_no_host_keys_and_no_root_fail_as_sshd_does(answers):
    no_keys = ("", "sshd: no hostkeys available -- exiting.\r\n", 1)
    assert answers["-T no keys"][0] == no_keys
    assert answers["-t no keys"][0] == no_keys
    assert answers["-T as a user"][0] == no_keys
    assert answers["-t no keys -q"][0] == ("", "", 1)
    assert answers["-t no /run/sshd"][0] == (
        "", "Missing privilege separation directory: /run/sshd\r\n", 255)
