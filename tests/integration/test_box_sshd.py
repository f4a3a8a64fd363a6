"""The box's own sshd as the session agent (docs/agent-protocol.md), through Hermes with real
clients: no docker exec in the attacker's path, and a login that looks like sshd and PAM made it
(process tree, environment, limits, loginuid, utmp/wtmp/lastlog, auth.log, btmp, MOTD), signals
delivered, and docker exec again when the operator turns the agent off."""

import calendar
import re
import secrets
import time

import paramiko
import pytest

from hermes_helpers import (PASSWORD, USER, ParamikoShell, asyncssh_run, exec_after_a_wrong_password,
                            open_shell, ssh_exec)


def agent_shell_event(hermes, sid):
    ev = hermes.wait_event("session.shell", session=sid, timeout=30)
    assert ev["transport"] == "agent", ev
    return ev


def test_process_tree_is_sshd_under_init(hermes):
    with open_shell(hermes) as sh:
        sh.expect(r"[#$] $")
        sh.send("p=$PPID; for i in 1 2 3; do ps -o pid=,ppid=,args= -p $p; "
                "p=$(ps -o ppid= -p $p | tr -d ' '); done; echo TREE-$((1+1))END\n")
        sh.expect(r"TREE-2END\r?\n")
        text = sh.output.replace("\r", "")
        rows = [ln.split(None, 2) for ln in text.splitlines()
                if re.match(r"^\s*\d+\s+\d+\s+\S", ln)]
        parent, listener, init = rows[-3:]
        assert re.fullmatch(r"sshd: root@pts/\d+", parent[2]), rows
        assert parent[1] == listener[0]
        assert listener[2].startswith("sshd: /usr/sbin/sshd -D [listener]"), rows
        assert listener[1] == init[0] == "1", rows
        sh.send("exit\n")
        sh.exit_status()
    agent_shell_event(hermes, sh.sid)


def test_login_is_a_logind_session(hermes_factory):
    """As pam_systemd makes it on a server: the login's connection process (`sshd: root@...`)
    leads a logind session of service sshd from the client's address, the shell is in its
    session-N.scope with XDG_SESSION_ID N, logind logs the new session, root's user manager
    runs, and no unit fails. The manager ran before the login (root lingers in the image): so
    logind answered at once rather than after starting it. The session ends with the
    connection (seen from the next login, which the sticky box gives the same box)."""
    hermes = hermes_factory.start({"container_pool": {"sticky_ttl": 120}})
    with open_shell(hermes) as sh:
        sh.expect(r"[#$] $")
        sh.send("echo SID=$XDG_SESSION_ID; grep name=systemd /proc/self/cgroup | sed 's/^/CG=/'; "
                "echo LEADER=$PPID; loginctl show-session $XDG_SESSION_ID -p Leader -p Service "
                "-p Remote -p RemoteHost -p Type -p Class -p Name -p State "
                "-p TimestampMonotonic; echo MGR=$(systemctl is-active user@0.service); "
                "echo MGRAT=$(systemctl show -p ActiveEnterTimestampMonotonic --value "
                "user@0.service); "
                "echo FAILED=$(systemctl --failed --no-legend | wc -l); echo END-$((6*7))\n")
        sh.expect(r"END-42\r?\n")
        got = dict(re.findall(r"^([A-Za-z]+)=(.*?)\r?$", sh.output.replace("\r", ""), re.M))
        sid = got["SID"]
        assert sid.isdigit(), got
        scope = f"/user.slice/user-0.slice/session-{sid}.scope"
        assert got["CG"].endswith(f":name=systemd:{scope}"), got
        assert got["Leader"] == got["LEADER"], got  # the shell's parent, sshd: root@pts/N
        remote = (got["Service"], got["Remote"], got["RemoteHost"])
        assert remote == ("sshd", "yes", "127.0.0.1"), got
        assert (got["Type"], got["Class"], got["Name"]) == ("tty", "user", "root"), got
        assert got["State"] in ("active", "online"), got
        assert got["MGR"] == "active", got
        assert 0 < int(got["MGRAT"]) < int(got["TimestampMonotonic"]), got
        assert got["FAILED"] == "0", got
        sh.send("exit\n")
        sh.exit_status()
    agent_shell_event(hermes, sh.sid)
    # The connection closed its session's descriptor: logind ends it.
    for _ in range(50):
        r = ssh_exec(hermes.port, f"loginctl show-session {sid} -p State 2>&1; "
                     f"grep -c 'systemd-logind\\[[0-9]*\\]: New session {sid} of user root\\.' "
                     "/var/log/auth.log")
        out = r.stdout.decode()
        if "State=active" not in out and "State=online" not in out:
            break
        time.sleep(0.2)
    assert "State=active" not in out and "State=online" not in out, out
    assert out.strip().splitlines()[-1] == "1", out


def test_a_stopped_bus_costs_a_login_its_session_not_the_login(hermes_factory):
    """Root in the box may stop dbus-daemon: the next login waits for logind at most its few
    seconds, then goes on without a session (its shell in ssh.service's cgroup, the listener's
    own XDG_SESSION_ID), as a server's sshd goes on when pam_systemd gets no answer."""
    hermes = hermes_factory.start({"container_pool": {"sticky_ttl": 120}})
    r = ssh_exec(hermes.port, "kill -STOP $(pidof dbus-daemon) && echo STOPPED")
    assert r.returncode == 0 and r.stdout == b"STOPPED\n", r
    try:
        r = ssh_exec(hermes.port, "grep name=systemd /proc/self/cgroup | sed 's/^/CG=/'; "
                     "echo SID=$XDG_SESSION_ID", timeout=30)
    finally:
        ssh_exec(hermes.port, "kill -CONT $(pidof dbus-daemon)")
    assert r.returncode == 0, r
    got = dict(re.findall(r"^([A-Z]+)=(.*)$", r.stdout.decode(), re.M))
    assert got["CG"].endswith(":name=systemd:/system.slice/ssh.service"), got
    assert got["SID"].isdigit(), got


def test_environment_limits_and_loginuid_are_a_pam_login(hermes):
    mark = hermes.mark()
    r = ssh_exec(hermes.port, 'echo "C=$SSH_CONNECTION"; echo "CL=$SSH_CLIENT"; '
                 'echo "H=$(printenv HOSTNAME || echo unset)"; echo "X=$XDG_SESSION_ID"; echo "U=$USER"; '
                 'echo "M=$MAIL"; echo "N=$(ulimit -n)"; echo "L=$(cat /proc/self/loginuid)"; '
                 'echo "T=${SSH_TTY-none}"')
    assert r.returncode == 0, r.stderr
    out = dict(ln.split("=", 1) for ln in r.stdout.decode().splitlines())
    sid = hermes.wait_new_session(mark)
    connect = hermes.wait_event("session.connect", session=sid)
    src_port = connect["src_port"]
    assert out["C"].split()[:2] == ["127.0.0.1", str(src_port)]
    assert out["CL"].split()[:2] == ["127.0.0.1", str(src_port)]
    assert out["H"] == "unset"
    assert out["X"].isdigit()
    assert out["U"] == USER and out["M"] == f"/var/mail/{USER}"
    assert out["N"] == "1024"
    assert out["L"] == "0"
    assert out["T"] == "none"
    agent_shell_event(hermes, sid)


def test_login_records_auth_log_btmp_lastlog_and_motd(hermes_factory):
    # One box for the address (the default), so that logins see each other's records.
    hermes = hermes_factory.start({"container_pool": {"sticky_ttl": 3600}})
    # A connection that only fails (a user the box lacks): its box's sshd logs it at the next
    # login from this address, as a real server's would have at once.
    mark = hermes.mark()
    t = paramiko.Transport(("127.0.0.1", hermes.port))
    t.start_client(timeout=15)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("oracle", "oracle")
    t.close()
    hermes.wait_event("session.closed", since=mark, timeout=30)
    # A wrong password first, then the right one, on one connection (paramiko), then a shell.
    assert exec_after_a_wrong_password(hermes.port, "true") == (0, b"")
    # Two logins: the second is told about the first.
    for _ in range(2):
        with ParamikoShell(hermes.port) as sh:
            sh.expect(r"[#$] $")
            sh.send("tail -n 30 /var/log/auth.log; echo AUTH-END; last -n 3; lastb -n 3; "
                    "echo LAST-$((0+1))END\n")
            sh.expect(r"LAST-1END\r?\n")
            text = sh.output.replace("\r", "")
            sh.send("exit\n")
            sh.exit_status()
    assert re.search(r"sshd\[\d+\]: Accepted password for root from 127\.0\.0\.1 port \d+ ssh2",
                     text), text
    assert "pam_unix(sshd:session): session opened for user root" in text
    assert re.search(r"sshd\[\d+\]: Failed password for root from 127\.0\.0\.1 port \d+ ssh2",
                     text), text
    assert re.search(r"Failed password for invalid user oracle from 127\.0\.0\.1 port \d+ ssh2",
                     text), text
    assert "Last login: " in text and " from 127.0.0.1" in text
    assert re.search(r"^root\s+pts/\d+\s+127\.0\.0\.1", text, re.M), text
    assert re.search(r"^root\s+ssh:notty\s+127\.0\.0\.1", text, re.M), text  # lastb
    # The box's own MOTD, printed before the shell, as pam_motd does.
    with open_shell(hermes) as sh:
        sh.expect(r"[#$] $")
        banner = sh.output
        sh.send("exit\n")
        sh.exit_status()
    assert "Last login:" in banner and "prod-web-01" in banner
    # Four sessions of one box are collected one after another (seconds each with its /run):
    # the last one's before the instance is stopped, so that shutdown waits for none of them.
    hermes.wait_event("artifacts.collected", session=sh.sid, timeout=60)


def stamp_seconds(line):
    """A line of auth.log's stamp, rsyslog's RFC 3339 or the traditional one, as Unix seconds
    (the boxes' clocks are UTC)."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?([+-])(\d\d):(\d\d) ", line)
    if m:
        y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
        off = (int(m[8]) * 60 + int(m[9])) * 60 * (1 if m[7] == "+" else -1)
        return calendar.timegm((y, mo, d, h, mi, s)) - off
    m = re.match(r"([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) ", line)
    if m:
        tm = time.strptime(f"{time.gmtime().tm_year} {m[1]} {m[2].strip()} {m[3]}:{m[4]}:{m[5]}",
                           "%Y %b %d %H:%M:%S")
        return calendar.timegm(tm)
    return None


def fail_once(hermes, user):
    """One connection that fails one password for user and closes: (its client port, the
    failure's time as Hermes logged it)."""
    mark = hermes.mark()
    t = paramiko.Transport(("127.0.0.1", hermes.port))
    t.start_client(timeout=15)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password(user, "not-it")
    port = t.sock.getsockname()[1]
    t.close()
    sid = hermes.wait_new_session(mark)
    failed = hermes.wait_event("login.failed", session=sid, timeout=30)
    hermes.wait_event("session.closed", session=sid, timeout=30)
    when = calendar.timegm(time.strptime(failed["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
    return port, when + int(failed["timestamp"][20:26]) / 1e6


def test_earlier_connections_failures_are_logged_at_their_time(hermes):
    """A brute-force run's failures reach the box only at the login that follows; the box's
    auth.log has them as a server's sshd wrote them: each at its own time among the file's other
    lines, with its connection's port and a PID of that connection's (lower than the next's, and
    no live process's), and the connection's close."""
    users = [f"scan{secrets.token_hex(3)}" for _ in range(2)]
    first = fail_once(hermes, users[0])
    time.sleep(2.2)
    second = fail_once(hermes, users[1])
    time.sleep(2.2)
    mark = hermes.mark()
    # This connection's own lines reach auth.log through syslog, a moment after the login.
    r = ssh_exec(hermes.port, "for i in $(seq 100); do grep -q 'Accepted password' "
                 "/var/log/auth.log && break; sleep 0.1; done; cat /var/log/auth.log; "
                 "echo LIVE $(ps -e -o pid=)")
    assert r.returncode == 0, r
    lines = r.stdout.decode().splitlines()
    live = {int(p) for p in lines.pop().split()[1:]}
    pids = []
    for user, (port, when) in zip(users, (first, second)):
        mine = [ln for ln in lines if user in ln]
        texts = [re.sub(r"^.*? sshd\[\d+\]: ", "", ln) for ln in mine]
        assert texts == [f"Invalid user {user} from 127.0.0.1 port {port}",
                         f"Failed password for invalid user {user} from 127.0.0.1 port {port} ssh2",
                         f"Connection closed by invalid user {user} 127.0.0.1 port {port} [preauth]"
                         ], mine
        # pam_unix's two lines, just before the failure, carry no name.
        at = lines.index(mine[1])
        assert "check pass; user unknown" in lines[at - 2] and "rhost=127.0.0.1" in lines[at - 1]
        for ln in mine + lines[at - 2:at]:  # stamped to the second the failure was in
            assert -0.5 < when - stamp_seconds(ln) < 1.5, (ln, when)
        conn_pids = {re.search(r" sshd\[(\d+)\]: ", ln)[1] for ln in mine + lines[at - 2:at]}
        assert len(conn_pids) == 1, mine
        pids.append(int(conn_pids.pop()))
    accepted = [ln for ln in lines if "Accepted password for" in ln][-1]
    pids.append(int(re.search(r" sshd\[(\d+)\]: ", accepted)[1]))
    assert pids[0] < pids[1] < pids[2], pids
    # Gone connections: no live process holds their PIDs.
    assert not live & set(pids[:2]), (pids, sorted(live))
    # The file reads in time order, to the second, from its first line to the login, but
    # where the earlier connections' lines begin: they never go into what Hermes compares the
    # log with (its part at the box's ready, test_agent.py), and where the box became ready
    # after a failure they follow the box's boot.
    stamps = [stamp_seconds(ln) for ln in lines]
    assert None not in stamps, [ln for ln, s in zip(lines, stamps) if s is None][:3]
    first = min(i for i, ln in enumerate(lines) if users[0] in ln or users[1] in ln)
    for part in (range(first), range(first, len(lines))):
        assert all(stamps[i] <= stamps[i + 1] for i in part[:-1]), [
            (lines[i], lines[i + 1]) for i in part[:-1] if stamps[i] > stamps[i + 1]]
    # Nothing the collection compares with was rewritten: no alteration is reported.
    sid = hermes.wait_new_session(mark)
    hermes.wait_event("artifacts.collected", session=sid, timeout=120)
    assert not [e for e in hermes.find(session=sid) if "alert" in e], hermes.find(session=sid)


def test_signal_request_reaches_the_process(hermes):
    import asyncio

    import asyncssh

    async def main():
        async with asyncssh.connect("127.0.0.1", hermes.port, username=USER,
                                    password=PASSWORD, known_hosts=None) as conn:
            proc = await conn.create_process("echo started; exec sleep 60")
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line == "started\n"
            proc.send_signal("INT")
            await asyncio.wait_for(proc.wait_closed(), 20)
            return proc.exit_signal, proc.exit_status

    sig, status = asyncio.run(asyncio.wait_for(main(), 60))
    assert sig is not None and sig[0] == "INT", (sig, status)


def test_sshd_listens_on_port_22_in_the_box(hermes):
    (r,) = asyncssh_run(hermes.port, "ss -Htlnp 'sport = :22'")
    assert r.exit_status == 0, r.stderr
    assert "sshd" in r.stdout and ":22" in r.stdout


def test_agent_off_falls_back_to_docker_exec(hermes_factory):
    inst = hermes_factory.start({"container_pool": {"agent": False}})
    mark = inst.mark()
    r = ssh_exec(inst.port, "echo via-exec")
    assert r.returncode == 0 and r.stdout.strip() == b"via-exec", r.stderr
    sid = inst.wait_new_session(mark)
    assert inst.wait_event("session.shell", session=sid, timeout=30)["transport"] == "exec"


def test_root_killing_the_box_sshd_ends_nothing_else(hermes_factory):
    """Root in the box stops its sshd's listener: the session it came from goes on, and the
    next connection to that box is served by docker exec (the box's sshd cannot be reached)."""
    hermes = hermes_factory.start({"container_pool": {"sticky_ttl": 3600}})
    with open_shell(hermes) as sh:
        sh.expect(r"[#$] $")
        sh.send("kill $(pgrep -f 'sshd: /usr/sbin/sshd -D') && echo KILLED-$((1+1))\n")
        sh.expect(r"KILLED-2")
        mark = hermes.mark()
        r = ssh_exec(hermes.port, "echo second")
        assert r.returncode == 0 and r.stdout.strip() == b"second", r.stderr
        sid = hermes.wait_new_session(mark)
        assert hermes.wait_event("session.shell", session=sid, timeout=30)["transport"] == "exec"
        err = hermes.wait_event("container.error", session=sid, timeout=30)
        assert err["operation"] == "agent"
        sh.send("echo still-$((2+2))\n")
        sh.expect(r"still-4")
        sh.send("exit\n")
        assert sh.exit_status() == 0
