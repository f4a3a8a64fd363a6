"""`hermes doctor --config FILE`: with the tests' own config on this machine every check is
ok and it exits 0; each problem an operator meets - a taken port (named with the program that
holds it), a missing image, an engine it cannot reach, a world-writable data directory, a host
key others can read, a workers' root that is not empty, a user that does not exist - is one
FAIL line with what to do, and the exit status says so; a config it cannot read exits 2. It
changes nothing: what is missing is only said to be made at start."""

import os
import re
import socket
import subprocess

import pytest

from hermes_helpers import base_config, deep_merge, free_port, write_config


def doctor(binary, tmp_path, overrides=None, name="hermes.yaml"):
    cfg = deep_merge(base_config(tmp_path, free_port()), overrides or {})
    path = tmp_path / name
    write_config(path, cfg)
    r = subprocess.run([str(binary), "doctor", "--config", str(path)], capture_output=True,
                       text=True, timeout=120)
    lines = r.stdout.splitlines()
    # Every line is a check, a fix under a problem, or the verdict.
    for ln in lines[:-1]:
        assert re.match(r"(ok|warn|FAIL)  +\S+: |      fix: ", ln), ln
    return r.returncode, lines


def fails(lines):
    """{what: the problem's line and its fix} of every FAIL."""
    out = {}
    for i, ln in enumerate(lines):
        m = re.match(r"FAIL  (\S+): (.*)", ln)
        if m:
            fix = lines[i + 1] if i + 1 < len(lines) and "fix:" in lines[i + 1] else ""
            assert fix, f"no fix under {ln!r}"
            out[m.group(1)] = m.group(2) + " / " + fix
    return out


def test_all_well(hermes_binary, docker_ready, tmp_path):
    rc, lines = doctor(hermes_binary, tmp_path)
    text = "\n".join(lines)
    assert rc == 0, text
    assert lines[-1].startswith("ready: 0 problems"), text
    for what in ("server.worker_user", "server.worker_chroot", "hermes-worker", "server.host_key_path",
                 "logging.output_dir", "disk", "server.port", "docker", "container_pool.image",
                 "hermes.agent_protocol", "stealth.profile"):
        assert re.search(rf"^ok +{re.escape(what)}: ", text, re.M), (what, text)
    # Nothing was made: keys and directories are only said to be made at start.
    assert "made at first start" in text
    assert not (tmp_path / "keys").exists() and not (tmp_path / "logs").exists()


def test_each_problem_is_named_with_its_fix(hermes_binary, docker_ready, tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    (keys / "ssh_host_rsa_key").write_text("not a key\n")
    os.chmod(keys / "ssh_host_rsa_key", 0o644)
    logs = tmp_path / "logs"
    logs.mkdir()
    os.chmod(logs, 0o777)
    root = tmp_path / "worker-root"
    root.mkdir(mode=0o755)
    (root / "left-over").write_text("x")
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        rc, lines = doctor(hermes_binary, tmp_path, {
            "server": {"port": port, "worker_chroot": str(root)},
            "container_pool": {"image": "hermes-no-such-image:latest"},
        })
    finally:
        holder.close()
    found = fails(lines)
    assert rc == 1, lines
    assert re.match(r"not ready: 5 problems", lines[-1]), lines
    assert f"port {port} is taken by python3" in found["server.port"], found
    assert "does not exist" in found["container_pool.image"]
    assert "build-images.sh" in found["container_pool.image"]
    assert "writable by everyone" in found["logging.output_dir"]
    assert "chmod o-w" in found["logging.output_dir"]
    assert "readable by others" in found["server.host_key_path"] and "chmod 600" in found["server.host_key_path"]
    assert "not empty" in found["server.worker_chroot"]
    # It changed nothing it looked at.
    assert (root / "left-over").exists()
    assert oct(os.stat(keys / "ssh_host_rsa_key").st_mode & 0o777) == "0o644"


def test_an_engine_it_cannot_reach_and_a_missing_user(hermes_binary, tmp_path):
    rc, lines = doctor(hermes_binary, tmp_path, {
        "server": {"worker_user": "hermes-no-such-user"},
        "docker": {"socket_path": str(tmp_path / "no-docker.sock")},
    })
    found = fails(lines)
    assert rc == 1, lines
    assert "cannot use the engine" in found["docker"] and "docker group" in found["docker"]
    assert "no such user" in found["server.worker_user"]
    assert "useradd" in found["server.worker_user"]
    # Without an engine, nothing is said of the image.
    assert not any("container_pool.image" in ln for ln in lines)


@pytest.mark.parametrize("text", ["server: {port: seventy}\n", "server: [\n"])
def test_a_config_it_cannot_read(hermes_binary, tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    r = subprocess.run([str(hermes_binary), "doctor", "--config", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stdout.startswith("FAIL  config: ") and "fix:" in r.stdout
    assert str(path) in r.stderr  # the config's own messages, FILE:LINE: ...


def test_usage(hermes_binary):
    r = subprocess.run([str(hermes_binary), "doctor"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and "usage: hermes doctor --config FILE" in r.stderr
