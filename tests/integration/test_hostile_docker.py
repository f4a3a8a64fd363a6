"""Bad input from Docker gets a clear error, never a crash. Between Hermes and the real engine
a proxy (docker_proxy.py) rewrites half of the engine's answers - fields of the wrong type,
garbage, cut short, errors with odd bodies, broken heads, lying lengths, deep nesting, silence -
while attackers keep logging in. Hermes must stay up, end every session it began with a
session.closed, keep its event log whole, and serve real shells again once the engine's answers
are honest."""

import concurrent.futures
import json
import os
import random

from docker_proxy import DockerProxy
from hermes_helpers import Hermes, docker, docker_rm_f, parse_event_lines, ssh_exec, wait_for


def confuse(v, rnd, depth=0):
    """The same JSON with values of the wrong type here and there."""
    if isinstance(v, dict):
        return {k: confuse(x, rnd, depth + 1) for k, x in v.items()}
    if isinstance(v, list):
        return [confuse(x, rnd, depth + 1) for x in v] if rnd.random() < 0.8 else {"0": v}
    if rnd.random() < 0.5:
        return v
    return rnd.choice([None, True, 0, -1, 2 ** 63, 1e308, "", "x" * 70000, "\u0000\u001b[2J",
                       [], {}, [v], {"v": v}, "../../etc/passwd", str(v)])


def answer(status, body, extra=b""):
    return (b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s"
            b"Connection: close\r\n\r\n%s" % (status, len(body), extra, body))


def hostile(seed, rate=0.5):
    rnd = random.Random(seed)
    state = {"on": False}

    def mutate(call, status, body):
        if not state["on"] or rnd.random() >= rate:
            return None
        kind = rnd.randrange(9)
        if kind == 0:  # fields of the wrong type
            try:
                doc = json.loads(body)
            except ValueError:
                doc = {"Id": body.decode("latin-1")}
            return answer(status, json.dumps(confuse(doc, rnd)).encode())
        if kind == 1:  # garbage
            return answer(200, bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 4096))))
        if kind == 2:  # cut short
            whole = answer(status, body)
            return whole[:rnd.randrange(len(whole))]
        if kind == 3:  # an error with an odd body
            return answer(rnd.choice([400, 404, 409, 500, 503]),
                          rnd.choice([b'{"message": 12}', b"<html>oops</html>", b"", b"{"]))
        if kind == 4:  # a broken head
            return rnd.choice([b"HTTP/1.1 abc\r\n\r\n{}", b"SSH-2.0-x\r\n\r\n",
                               b"HTTP/1.1 200 OK\r\nX: " + b"y" * 100000 + b"\r\n\r\n{}"])
        if kind == 5:  # a length that lies
            return answer(status, body)[:-1] if body else answer(status, b"{}")[:-1]
        if kind == 6:  # nesting deeper than any parser should follow
            return answer(status, b"[" * 50000 + b"]" * 50000)
        if kind == 7:  # silence
            return b""
        return answer(status, body, b"Transfer-Encoding: chunked\r\n")  # both framings
    return mutate, state


def ours(inst):
    """{name: state} of every container labelled with inst's hermes.instance."""
    out = docker("ps", "-a", "--filter", f"label=hermes.instance={inst.instance_label}",
                 "--format", "{{.Names}} {{.State}}").stdout.split()
    return dict(zip(out[0::2], out[1::2]))


def test_hermes_survives_a_hostile_engine(tmp_path, hermes_binary, docker_ready):
    sock = tmp_path / "hostile.sock"
    # HERMES_HOSTILE_SEED picks another run of rewrites (to hunt by hand with many seeds).
    mutate, state = hostile(seed=int(os.environ.get("HERMES_HOSTILE_SEED", "5")))
    with DockerProxy(sock, mutate=mutate) as proxy:
        overrides = {"docker": {"socket_path": str(sock)},
                     "container_pool": {"size": 2, "spawn_timeout": 10}}
        inst = Hermes(tmp_path / "hermes", overrides, name="hermes-hostile",
                      binary=hermes_binary)
        try:
            inst.start()  # with honest answers: the start-up check must pass
            state["on"] = True
            # Twelve logins, four at a time: a login whose box the engine's answers keep
            # from being made waits out container_pool.spawn_timeout, and after a few failed
            # creations the pool waits longer and longer before it tries again, so one at a
            # time would be mostly waiting (140 s).
            outcomes = []
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                for wave in range(3):
                    outcomes += [r.returncode for r in pool.map(
                        lambda i: ssh_exec(inst.port, f"echo hostile-{i}", timeout=90),
                        range(wave * 4, wave * 4 + 4))]
                    assert inst.running(), f"Hermes died in wave {wave}\n" + inst.diagnostics()
            assert proxy.mutated, "the proxy rewrote nothing: this test tested nothing"
            state["on"] = False
            # Honest again: real shells come back.

            def served():
                r = ssh_exec(inst.port, "echo honest-again", timeout=90)
                return r.returncode == 0 and r.stdout == b"honest-again\n"
            wait_for(served, 120, interval=2, what="a working shell after the engine is honest")
            assert inst.stop() == 0, inst.diagnostics()
            # Containers the engine made though their answers were lost are Hermes' still:
            # a restart on the same data finds and removes them, and leaves none running.
            again = Hermes(inst.workdir, overrides, name="hermes-hostile-again",
                           binary=hermes_binary)
            again.start(since=inst.mark())
            assert again.stop() == 0, again.diagnostics()
            left = ours(inst)
            assert not [c for c in left if c.startswith("hermes-pool-")], left
            assert not [c for c in left if left[c] == "running"], left
        finally:
            inst.teardown()
            docker_rm_f(list(ours(inst)))
    events = parse_event_lines(inst.events_path.read_bytes())  # every line whole JSON
    opened = {e["session"] for e in events if e["event"] == "session.connect"}
    closed = {e["session"] for e in events if e["event"] == "session.closed"}
    assert opened and opened == closed, (opened - closed, outcomes)
    assert any(e["event"] == "container.error" for e in events), "the bad answers went unreported"


def test_exit_report_is_read_with_a_bound(tmp_path, hermes_binary, docker_ready):
    """Root in the box can put anything at the name of an exec's exit report (a hard link to
    a big file): the monitor reads a report with a bound, says so, and the session goes on.
    Here the engine's answer for the report is 8 MiB."""
    sock = tmp_path / "big-report.sock"
    served = []
    started = {"yes": False}

    # Only once Hermes runs: at start it reads the image's os-release through the same
    # endpoint (docs/stealth.md), and an image it cannot read it refuses to start with.
    def mutate(call, status, body):
        if started["yes"] and call.startswith("GET /containers/") and call.endswith("/archive"):
            served.append(call)
            return answer(200, b"\0" * (8 << 20))
        return None
    with DockerProxy(sock, mutate=mutate):
        overrides = {"docker": {"socket_path": str(sock)},
                     "container_pool": {"size": 1, "agent": False}}
        inst = Hermes(tmp_path / "hermes", overrides, name="hermes-big-report",
                      binary=hermes_binary)
        try:
            inst.start()
            started["yes"] = True
            r = ssh_exec(inst.port, "kill -TERM $$", timeout=90)
            # Without a readable report the code is all there is, as Docker gives it.
            assert r.returncode == 143, (r.returncode, r.stderr, inst.diagnostics())
            assert served, "the exit report was never asked for: this test tested nothing"
            wait_for(lambda: "answer too large" in inst.stderr_tail(200), 20,
                     what="the oversized report refused\n" + inst.diagnostics())
            # The engine itself now and then loses the whole output of an exec this short
            # (moby/moby#27289: exit 0, not a byte on the stream; seen once in CI): a second
            # try, but every try must have run.
            for _ in range(3):
                r = ssh_exec(inst.port, "echo still-here", timeout=90)
                assert r.returncode == 0, (r.returncode, r.stderr, inst.diagnostics())
                if r.stdout == b"still-here\n":
                    break
            assert r.stdout == b"still-here\n", inst.diagnostics()
            assert inst.stop() == 0, inst.diagnostics()
        finally:
            inst.teardown()
            docker_rm_f(list(ours(inst)))
