"""The in-container session parent (images/ubuntu/session-parent.c): exit-signal for a process
killed by a signal (Docker alone cannot tell `kill -9 $$` from `exit 137`), and the process tree,
tty and login records a shell sees on a real sshd server. Without the image's label Hermes runs
shells directly and reports exit codes only."""

import os
import subprocess
import uuid

import pytest

from hermes_helpers import IMAGE, ParamikoShell, asyncssh_run, docker, ssh_exec


@pytest.mark.parametrize("command, name", [
    ("kill -9 $$", "KILL"),
    ("kill -TERM $$", "TERM"),
    ("kill -s HUP $$", "HUP"),
    # Signals RFC 4254 has no name for go out as OpenSSH sends them.
    ("kill -s VTALRM $$", "SIG@openssh.com"),
])
def test_killed_command_gets_exit_signal(hermes, command, name):
    (r,) = asyncssh_run(hermes.port, f"echo before; {command}; echo after")
    assert r.stdout == "before\n"
    assert r.exit_signal is not None, (r.exit_status, r.stderr)
    assert r.exit_signal[0] == name
    assert r.exit_signal[1] is False  # no core dumped
    assert r.exit_status == -1  # asyncssh's value when no exit-status came


def test_exit_code_above_128_stays_an_exit_status(hermes):
    r1, r2, r3 = asyncssh_run(hermes.port, "exit 137", "exit 129", "sh -c 'kill -9 $$'; exit $?")
    for r, code in ((r1, 137), (r2, 129), (r3, 137)):
        assert r.exit_signal is None, r.exit_signal
        assert r.exit_status == code


def test_signal_logged_in_events(hermes):
    mark = hermes.mark()
    (r,) = asyncssh_run(hermes.port, "kill -9 $$")
    assert r.exit_signal[0] == "KILL"
    shell = hermes.wait_event("session.shell", since=mark, timeout=30)
    closed = hermes.wait_event("session.channel_closed", session=shell["session"], timeout=30)
    assert closed["exit_signal"] == "KILL"
    assert closed["core_dumped"] is False
    assert closed["exit_status"] is None
    end = hermes.wait_event("session.closed", session=shell["session"], timeout=30)
    assert end["exit_signal"] == "KILL" and end["exit_status"] is None


def test_exec_parent_looks_like_sshd(hermes):
    (r,) = asyncssh_run(hermes.port,
                     'tr "\\0" "|" < /proc/$PPID/cmdline; echo; ps -o comm= -p $PPID; '
                     'readlink /proc/$PPID/exe; echo "[$SSH_TTY]"; '
                     'ps -o sid= -p $$; echo $$')
    assert r.exit_status == 0, r.stderr
    cmdline, comm, exe, tty, sid, pid = r.stdout.splitlines()
    assert cmdline.rstrip("|") == "sshd: root@notty"
    assert (comm, exe, tty) == ("sshd", "/usr/sbin/sshd", "[]")
    assert sid.strip() == pid  # the command leads its own session, as under sshd


def test_tty_shell_has_ssh_tty_utmp_and_login_shell(hermes):
    with ParamikoShell(hermes.port) as sh:
        sh.expect(r"[#$] $")
        sh.send('echo "T=$SSH_TTY"; ps -o args= -p $$; tr "\\0" "|" < /proc/$PPID/cmdline; '
                'echo; who; echo END-$((6*7))\n')
        out = sh.expect(r"END-42\r?\n").string
        tty = sh.expect(r"T=(/dev/pts/\d+)").group(1)
        line = tty[len("/dev/"):]
        assert "\n-bash" in out.replace("\r", "")
        assert f"sshd: root@{line}|" in out
        assert any(ln.split()[:2] == ["root", line] and "(127.0.0.1)" in ln
                   for ln in out.replace("\r", "").splitlines()), out
        sh.send("exit 4\n")
        sh.wait_closed()
        assert sh.chan.recv_exit_status() == 4


def relabelled_image(name, labels):
    """The target image with labels set over its own, tagged hermes-target-NAME:RANDOM; yields
    the tag and removes the image afterwards."""
    tag = f"hermes-target-{name}:{uuid.uuid4().hex[:8]}"
    # The classic builder, as scripts/build-images.sh uses: no buildx needed.
    subprocess.run(["docker", "build", "-q", "-t", tag, "-"], check=True, timeout=120,
                   capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "0"},
                   input=f"FROM {IMAGE}\nLABEL {labels}\n".encode())
    yield tag
    docker("rmi", "-f", tag)


@pytest.fixture
def image_without_parent():
    """The target image with its hermes.session_parent and hermes.agent labels emptied."""
    yield from relabelled_image("noparent", "hermes.session_parent= hermes.agent=")


@pytest.fixture
def image_of_another_agent_protocol():
    """The target image labelled as built with an agent of another protocol version (an image
    built from older sources)."""
    yield from relabelled_image("oldagent", "hermes.agent_protocol=1")


def test_image_with_another_agent_protocol_uses_docker_exec(image_of_another_agent_protocol,
                                                             hermes_factory):
    """A Hermes and an image whose agents do not speak one protocol: said at start, and every
    channel is a docker exec (through the session parent), not a login the agent refuses."""
    inst = hermes_factory.start({"container_pool": {"image": image_of_another_agent_protocol}})
    assert "speaks protocol 1 (label hermes.agent_protocol)" in inst.stderr_tail(200)
    mark = inst.mark()
    r = ssh_exec(inst.port, "echo via-exec")
    assert r.returncode == 0 and r.stdout.strip() == b"via-exec", r.stderr
    sid = inst.wait_new_session(mark)
    assert inst.wait_event("session.shell", session=sid, timeout=30)["transport"] == "exec"


# The image fixture comes first so that it is removed after the daemon and its containers.
def test_image_without_label_runs_shell_directly(image_without_parent, hermes_factory):
    inst = hermes_factory.start({"container_pool": {"image": image_without_parent}})
    assert "has no hermes.session_parent label" in inst.stderr_tail(200)
    r1, r2 = asyncssh_run(inst.port, "exit 5", "ps -o comm= -p $PPID; kill -9 $$")
    assert r1.exit_status == 5
    # Without the parent Docker's code is all there is: 137, as for `exit 137`.
    assert r2.exit_signal is None and r2.exit_status == 137
    assert "sshd" not in r2.stdout
