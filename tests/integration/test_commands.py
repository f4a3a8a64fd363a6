"""command.input: the lines a shell received, rebuilt from what the client typed (line editing,
history recall, search), checked against what the shell in the container really ran. Exec
commands are logged exactly. All on the shared default instance."""

from hermes_helpers import open_shell, parse_asciicast, ssh_exec, tmux_ssh, wait_shell_reading


def _commands(hermes, sid):
    return [e for e in hermes.find("command.input", session=sid)
            if e.get("source") == "interactive"]


def _flags(ev):
    return {k for k in ("recalled", "unresolved", "completion", "truncated") if ev.get(k)}


def _prompt(sh, after):
    """Waits for the shell's output `after`, then for its prompt: keys typed before readline
    reads again would meet the kernel's line discipline instead."""
    sh.expect(after + r"[\s\S]*# $")


def test_line_editing_and_history_follow_the_shell(hermes):
    with open_shell(hermes, term="xterm", width=120, height=30) as sh:
        sh.expect(r"# $")
        sh.send("echo A-$((40+2))\r")
        _prompt(sh, "A-42")
        sh.send("echo B-onx\x7f\x7fne\r")           # backspace
        _prompt(sh, "B-one")
        sh.send("\x1b[A\x17C-two\r")                # Up, Ctrl-W, new last word
        _prompt(sh, "C-two")
        sh.send("echo NEVER-RUN")                   # Ctrl-C abandons the line
        sh.expect(r"echo NEVER-RUN$")
        wait_shell_reading(hermes, sh.sid)
        sh.send("\x03")
        _prompt(sh, r"NEVER-RUN\^C")
        sh.send("garbage\x15echo D-\x1b[D\x1b[Dx\x05y\r")  # Ctrl-U, Left x2, insert, End
        _prompt(sh, "xD-y")
        sh.send("\x12A-\r")                          # Ctrl-R search, Enter runs the match
        _prompt(sh, "A-42[\\s\\S]*A-42")
        sh.send("echo E-x\t\r")                      # Tab: what bash completed is unknown
        _prompt(sh, "E-x")
        sh.send("exit\r")
        assert sh.exit_status() == 0

    hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    got = _commands(hermes, sh.sid)
    assert [e["command"] for e in got] == [
        "echo A-$((40+2))", "echo B-one", "echo C-two", "echo xD-y", "echo A-$((40+2))",
        "echo E-x", "exit"], got
    assert [_flags(e) for e in got] == [set(), set(), {"recalled"}, set(), {"recalled"},
                                        {"completion"}, set()], got
    assert all(e["tty"] is True and e["channel"] == 0 for e in got), got
    assert "NEVER-RUN" not in str(got)

    # Each line points into the recording: right after the keystroke that entered it.
    shell = hermes.wait_event("session.shell", session=sh.sid)
    _, events = parse_asciicast(open(shell["recording"], encoding="utf-8").read())
    enters = [t for t, code, data in events if code == "i" and "\r" in data]
    assert len(enters) >= len(got)
    for e in got:
        assert any(0 <= e["at"] - t < 1.0 for t in enters), (e, enters)
    assert got == sorted(got, key=lambda e: e["at"])


def test_real_terminal_keys_through_tmux(hermes, tmp_path):
    # tmux turns key names into what a terminal sends: ^? for BSpace, ESC O A for Up once
    # readline has asked for application cursor keys.
    with tmux_ssh(hermes, tmp_path, 100, 30) as (tmux, sid):
        tmux.expect(r"~#")
        keys = [("-l", "echo T-onx"), ("BSpace", "BSpace"), ("-l", "ne"), ("Enter",)]
        for k in keys:
            tmux.run("send-keys", "-t", tmux.target, *k)
        tmux.expect(r"\nT-one")
        keys = [("Up", "C-w"), ("-l", "T-two"), ("Home", "Right", "Right", "Right", "Right"),
                ("-l", "  "), ("Enter",)]
        for k in keys:
            tmux.run("send-keys", "-t", tmux.target, *k)
        tmux.expect(r"\nT-two")
        tmux.send_line("exit")
        closed = hermes.wait_event("session.closed", session=sid, timeout=30)
        assert closed["exit_status"] == 0
    got = [e["command"] for e in _commands(hermes, sid)]
    assert got == ["echo T-one", "echo   T-two", "exit"], got


def test_lines_without_a_terminal(hermes):
    with open_shell(hermes, pty=False) as sh:
        sh.send("echo N-$((1+1))\nid -u\n")
        sh.expect(r"N-2\n0\n")
        sh.send("exit 4")  # no newline: the shell runs it at the end of input
        sh.chan.shutdown_write()
        assert sh.exit_status() == 4
    hermes.wait_event("session.closed", session=sh.sid, timeout=30)
    got = _commands(hermes, sh.sid)
    assert [e["command"] for e in got] == ["echo N-$((1+1))", "id -u", "exit 4"], got
    assert all(e["tty"] is False and not _flags(e) for e in got), got


def test_exec_commands_are_logged_exactly(hermes):
    mark = hermes.mark()
    cmd = "echo X-1;  printf '%s\\n' \"a  b\"\t# tab and spaces kept"
    r = ssh_exec(hermes.port, cmd)
    assert r.returncode == 0 and r.stdout == b"X-1\na  b\n", r
    ev = hermes.wait_event("command.input", since=mark, source="exec")
    assert ev["command"] == cmd and ev["tty"] is False
    # An exec channel's stdin is data, not commands.
    assert not [e for e in hermes.find("command.input", since=mark)
                if e.get("source") == "interactive"]
