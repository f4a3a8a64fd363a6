"""Interactive shells through real clients: OpenSSH with -tt and -T, tmux as a real terminal
(including a resize), and paramiko. All on the shared default instance."""

import re

from hermes_helpers import HOSTNAME, clean_tty_text, open_shell, run_ssh, tmux_ssh


def _lines(text):
    return [ln.strip() for ln in clean_tty_text(text).splitlines()]


def test_openssh_tty_shell_exit_status(hermes):
    mark = hermes.mark()
    r = run_ssh(hermes.port, "echo HELLO-$((6*7)); hostname; id -u; pwd; exit 3\n", tty=True)
    out = clean_tty_text(r.stdout)
    lines = _lines(r.stdout)
    assert "HELLO-42" in lines, f"stdout:\n{out}\nstderr:\n{r.stderr.decode(errors='replace')}"
    assert HOSTNAME in lines, out
    assert "0" in lines, out
    assert "/root" in lines, out
    assert r.returncode == 3, f"ssh exited {r.returncode}; stderr: {r.stderr!r}"

    sid = hermes.wait_new_session(mark)
    closed = hermes.wait_event("session.closed", session=sid, timeout=20)
    assert closed["exit_status"] == 3
    shell = hermes.find("session.shell", session=sid)
    assert shell and shell[0]["tty"] is True


def test_openssh_shell_without_pty(hermes):
    mark = hermes.mark()
    # No exit: the end of stdin has to end the shell.
    r = run_ssh(hermes.port, "echo NOPTY-$((2+3))\nhostname\nid -un\ncd && pwd\n", tty=False)
    out = r.stdout.decode(errors="replace")
    assert out.split()[-4:] == ["NOPTY-5", HOSTNAME, "root", "/root"], \
        f"stdout:\n{out}\nstderr:\n{r.stderr.decode(errors='replace')}"
    # Without a pty nothing is echoed.
    assert "NOPTY-$" not in out
    assert r.returncode == 0

    sid = hermes.wait_new_session(mark)
    shell = hermes.wait_event("session.shell", session=sid)
    assert shell["tty"] is False
    assert not hermes.find("session.pty", session=sid)
    closed = hermes.wait_event("session.closed", session=sid, timeout=20)
    assert closed["exit_status"] == 0


def test_tmux_real_pty_and_resize(hermes, tmp_path):
    # After ssh ends, the pane shows its status.
    with tmux_ssh(hermes, tmp_path, 120, 40, after="echo SSH-EXIT=$?; ") as (tmux, sid):
        pty = hermes.wait_event("session.pty", session=sid)
        assert (pty["width"], pty["height"]) == (120, 40)

        tmux.send_line("stty size | sed 's/^/SZ1=/'")
        m = tmux.expect(r"SZ1=(\d+) (\d+)")
        assert m.groups() == ("40", "120")

        tmux.resize(100, 30)
        assert tmux.size() == "100x30"
        hermes.wait_event("session.resize", session=sid, width=100, height=30, timeout=15)
        # The container's pty follows the event asynchronously: ask until it shows, at most
        # a few times.
        sizes = []
        for n in range(2, 12):
            tmux.send_line(f"stty size | sed 's/^/SZ{n}=/'")
            m = tmux.expect(rf"SZ{n}=(\d+) (\d+)")
            sizes.append(m.groups())
            if m.groups() == ("30", "100"):
                break
        assert sizes[-1] == ("30", "100"), f"stty size answers after resize: {sizes}"

        tmux.send_line("exit")
        m = tmux.expect(r"SSH-EXIT=(\d+)", timeout=20)
        assert m.group(1) == "0", tmux.capture()
        closed = hermes.wait_event("session.closed", session=sid, timeout=20)
        assert closed["exit_status"] == 0


def test_paramiko_shell_exit_status(hermes):
    with open_shell(hermes, term="xterm", width=90, height=20) as sh:
        sh.send("stty size | sed 's/^/SIZE=/'; echo TERM-IS-$TERM; echo P-$((3*5))\n")
        assert sh.expect(r"SIZE=(\d+) (\d+)").groups() == ("20", "90")
        assert sh.expect(r"TERM-IS-([\w-]+)").group(1) == "xterm"
        sh.expect(r"P-15")
        sh.send("exit 7\n")
        assert sh.exit_status() == 7
        sh.wait_closed()

    pty = hermes.wait_event("session.pty", session=sh.sid)
    assert (pty["term"], pty["width"], pty["height"]) == ("xterm", 90, 20)
    closed = hermes.wait_event("session.closed", session=sh.sid, timeout=20)
    assert closed["exit_status"] == 7
    assert closed["reason"] == "client_closed"


def test_sessions_get_distinct_ids_and_containers(hermes):
    ids = []
    containers = []
    for _ in range(2):
        with open_shell(hermes) as sh:
            shell = hermes.wait_event("session.shell", session=sh.sid)
            sh.send("exit\n")
            sh.exit_status()
        ids.append(sh.sid)
        containers.append(shell["container_id"])
    assert all(re.fullmatch(r"[0-9a-f]{32}", s) for s in ids), ids
    assert ids[0] != ids[1]
    # One container per connection, never reused after release.
    assert containers[0] != containers[1]
