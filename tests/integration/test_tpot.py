"""The T-Pot drop-in (packaging/tpot/): its socket proxy, the real HAProxy with the shipped
haproxy.cfg in front of this machine's engine, passes a whole Hermes session (pool, shell,
exec, an upload collected, shutdown) and refuses every other call, path tricks included; the
compose file takes Cowrie's place (port 22, Cowrie's log directory, no Docker socket for
Hermes, the proxy's address in Hermes's config, which checks); and the image it runs, built
here from the Debian base, serves a login and writes the Cowrie stream where T-Pot's logstash
reads it."""

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from docker_proxy import engine_socket
from hermes_helpers import (IMAGE, PASSWORD, REPO_ROOT, USER, Hermes, docker, docker_rm_f,
                            failed_password_login, free_port, implant_session, open_shell,
                            ssh_exec, wait_for)

TPOT = REPO_ROOT / "packaging" / "tpot"


class HAProxy:
    """haproxy -f packaging/tpot/haproxy.cfg on a loopback port, in front of the engine."""

    def __init__(self, tmp_path):
        assert shutil.which("haproxy"), "haproxy: scripts/install-deps.sh installs it"
        self.port = free_port()
        self.log = tmp_path / "haproxy.log"
        env = dict(os.environ, HERMES_PROXY_BIND=f"127.0.0.1:{self.port}",
                   HERMES_DOCKER_SOCKET=str(engine_socket()))
        self.out = open(self.log, "wb")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(TPOT / "haproxy.cfg")],
                                     env=env, stdout=self.out, stderr=subprocess.STDOUT)
        wait_for(self.listening, 20, what="haproxy")

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def call(self, method, path, body=b""):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(f"{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return int(out.split(b" ", 2)[1])

    def requests(self):
        """(status, method, path) of every request it logged."""
        self.out.flush()
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            m = re.search(r' (\d{3}) .*"([A-Z]+) (\S+) HTTP/1\.1"', line)
            if m:
                found.append((int(m.group(1)), m.group(2), m.group(3)))
        return found

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


@pytest.fixture
def proxy(tmp_path, docker_ready):
    p = HAProxy(tmp_path)
    yield p
    p.close()


REFUSED = [
    ("GET", "/v1.41/system/df"),
    ("POST", "/v1.41/containers/abc/kill"),
    ("GET", "/v1.41/containers/abc/logs"),
    ("POST", "/v1.41/containers/abc/update"),
    ("PUT", "/v1.41/containers/abc/resize"),
    ("PUT", "/v1.41/volumes/abc/archive"),
    ("POST", "/v1.41/images/create?fromImage=alpine"),
    ("POST", "/v1.41/build"),
    ("GET", "/v1.41/secrets"),
    ("POST", "/v1.41/volumes/create"),
    ("DELETE", "/v1.41/images/hermes-target-ubuntu:latest"),
    ("GET", "/v1.42/containers/json"),          # another API version: not what Hermes speaks
    ("GET", "/containers/json"),
    ("POST", "/v1.41/containers/create/../abc/kill"),
    ("POST", "/v1.41/containers/%2e%2e/abc/kill"),
    ("GET", "/v1.41/images/..%2fcontainers/abc/json"),
    ("POST", "/v1.41/containers/./abc/start"),
    ("GET", "/v1.41/containers/.hidden/json"),
]


def test_the_proxy_refuses_all_but_hermess_calls(proxy):
    for method, path in REFUSED:
        assert proxy.call(method, path) == 403, (method, path)
    # and passes what is on its list, to the engine
    assert proxy.call("GET", "/v1.41/info") == 200
    assert proxy.call("GET", "/v1.41/version") == 200
    assert proxy.call("GET", f"/v1.41/images/{IMAGE}/json") == 200
    assert proxy.call("GET", "/v1.41/containers/no-such-box/json") == 404


def test_a_whole_session_through_the_proxy(proxy, tmp_path, hermes_binary):
    inst = Hermes(tmp_path / "hermes", {
        "docker": {"base_url": f"tcp://127.0.0.1:{proxy.port}"},
        "container_pool": {"size": 1},
    }, name="hermes-tpot-proxy", binary=hermes_binary)
    try:
        inst.start()
        with open_shell(inst) as sh:
            sh.send("echo $((7*6))-PROXIED\n")
            sh.expect(r"42-PROXIED")
            sh.send("exit\n")
            sh.wait_closed(30)
        implant_session(inst, tmp_path)
    finally:
        inst.stop()
        inst.teardown()
    calls = proxy.requests()
    assert calls, proxy.log.read_text()[-2000:]
    refused = [c for c in calls if c[0] == 403]
    assert refused == [], refused
    # All of it went through the proxy: the pool, the exec streams, the artifacts, shutdown.
    seen = {f"{m} {re.sub(r'[?].*', '', p)}" for _, m, p in calls}
    for call in (r"POST /v1\.41/containers/create", r"POST /v1\.41/exec/\S+/start",
                 r"GET /v1\.41/containers/\S+/changes", r"GET /v1\.41/containers/\S+/archive",
                 r"PUT /v1\.41/containers/\S+/archive",
                 r"POST /v1\.41/containers/\S+/stop", r"DELETE /v1\.41/containers/\S+"):
        assert any(re.fullmatch(call, c) for c in seen), (call, sorted(seen))


def test_the_compose_service_takes_cowries_place(hermes_binary):
    compose = yaml.safe_load((TPOT / "docker-compose.yml").read_text())
    svc, prx = compose["services"]["hermes"], compose["services"]["hermes_proxy"]
    assert svc["ports"] == ["22:22"]
    volumes = dict(v.split(":")[:2] for v in svc["volumes"])
    # Cowrie's log directory in T-Pot, where its logstash pipeline reads cowrie.json.
    cowrie_dir = volumes["${TPOT_DATA_PATH}/cowrie/log"]
    config = yaml.safe_load((TPOT / "hermes.yaml").read_text())
    assert Path(config["logging"]["cowrie_json"]) == Path(cowrie_dir) / "cowrie.json"
    # Hermes's data on the host, every path of its config inside that volume.
    data = Path(volumes["${TPOT_DATA_PATH}/hermes"])
    for key in (("server", "host_key_path"), ("recording", "output_dir"),
                ("forensics", "artifacts_dir"), ("forensics", "database"),
                ("logging", "output_dir")):
        assert data in Path(config[key[0]][key[1]]).parents, key
    # Hermes never holds the Docker socket; the proxy does, and Hermes's config names it.
    assert not any("docker.sock" in v for v in svc["volumes"])
    assert any(v.startswith("/var/run/docker.sock:") for v in prx["volumes"])
    port = prx["environment"]["HERMES_PROXY_BIND"].rsplit(":", 1)[1]
    assert config["docker"]["base_url"] == f"tcp://{prx['container_name']}:{port}"
    assert any(v.startswith("./hermes/haproxy.cfg:") for v in prx["volumes"])
    assert set(svc["networks"]) == set(prx["networks"])
    # The config checks.
    r = subprocess.run([str(hermes_binary), "--check-config", str(TPOT / "hermes.yaml")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def base_image():
    for ref in (os.environ.get("HERMES_BASE_IMAGE"), "hermes-base:bookworm", "debian:12"):
        if ref and docker("image", "inspect", ref).returncode == 0:
            return ref
    return None


@pytest.mark.slow  # builds Hermes in an image
def test_the_image_serves_a_login_and_writes_cowries_log(proxy, tmp_path, docker_ready):
    base = base_image()
    if base is None:
        pytest.skip("no Debian 12 base image here (scripts/build-images.sh makes "
                    "hermes-base:bookworm where no registry answers)")
    tag = "hermes-tpot-test:latest"
    r = subprocess.run(["docker", "build", "-q", "-t", tag, "--build-arg", f"BASE={base}",
                        "-f", str(TPOT / "Dockerfile"), str(REPO_ROOT)],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    data, cowrie = tmp_path / "data-hermes", tmp_path / "data-cowrie-log"
    data.mkdir()
    cowrie.mkdir()
    port = free_port()
    config = yaml.safe_load((TPOT / "hermes.yaml").read_text())
    # Here, not in T-Pot: host networking on a free port, the proxy on loopback, this
    # machine's test image and credential.
    config["server"].update({"host": "127.0.0.1", "port": port})
    config["docker"]["base_url"] = f"tcp://127.0.0.1:{proxy.port}"
    config["container_pool"].update({"image": IMAGE, "size": 1})
    config["authentication"]["static_credentials"] = [{"username": USER,
                                                        "password": PASSWORD}]
    config["stealth"] = {"auth_delay": False}
    (tmp_path / "hermes.yaml").write_text(yaml.safe_dump(config))
    name = f"hermes-tpot-{port}"
    run = docker("run", "-d", "--name", name, "--network", "host", "--read-only",
                 "--tmpfs", "/tmp", "--security-opt", "no-new-privileges:true",
                 "-v", f"{cowrie}:/data/cowrie/log", "-v", f"{data}:/data/hermes",
                 "-v", f"{tmp_path / 'hermes.yaml'}:/etc/hermes/hermes.yaml:ro", tag)
    assert run.returncode == 0, run.stderr
    kept = []
    try:
        events = data / "log" / "events.jsonl"

        def started():
            if docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip() != "true":
                raise AssertionError(docker("logs", name).stderr[-3000:])
            return events.exists() and '"hermes.started"' in events.read_text()
        wait_for(started, 120, what="Hermes in its container")
        failed_password_login(port, "tpot-user")
        r = ssh_exec(port, "echo in-tpot")
        assert r.returncode == 0 and b"in-tpot" in r.stdout, r

        def cowrie_lines():
            path = cowrie / "cowrie.json"
            if not path.exists():
                return None
            lines = [json.loads(ln) for ln in path.read_text().splitlines()]
            done = sum(ln["eventid"] == "cowrie.session.closed" for ln in lines) >= 2
            return lines if done else None
        lines = wait_for(cowrie_lines, 60, what="the Cowrie stream")
        ids = [ln["eventid"] for ln in lines]
        assert "cowrie.login.failed" in ids and "cowrie.login.success" in ids, ids
        assert any(ln["eventid"] == "cowrie.command.input" and ln["input"] == "echo in-tpot"
                   for ln in lines)
        kept = [json.loads(ln).get("container_name") for ln in events.read_text().splitlines()
                if '"session.closed"' in ln]
    finally:
        docker("stop", "-t", "20", name)
        logs = docker("logs", name).stderr
        docker("rm", "-f", name)
        docker_rm_f(kept)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)
    assert "CRITICAL" not in logs, logs[-3000:]
    # It reached the engine through the proxy, and nothing it asked was refused.
    calls = proxy.requests()
    assert any(m == "POST" and p.startswith("/v1.41/containers/create") for _, m, p in calls)
    refused = [c for c in calls if c[0] == 403]
    assert refused == [], refused

