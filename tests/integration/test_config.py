"""Config validation from the command line: --check-config and --config with a bad file.
No Docker needed: a bad config must stop Hermes before anything starts."""

import subprocess

import pytest

from hermes_helpers import base_config, free_port, write_config


def run_hermes(binary, *args, timeout=30):
    try:
        return subprocess.run([str(binary), *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hermes {' '.join(args)} still runs after {timeout} s")


def error_line(stderr, prefix):
    lines = [ln for ln in stderr.splitlines() if ln.startswith(prefix)]
    assert lines, f"no line starting with {prefix!r} in stderr:\n{stderr}"
    return lines[0]


def test_check_config_accepts_valid_file(hermes_binary, tmp_path):
    path = tmp_path / "good.yaml"
    write_config(path, base_config(tmp_path, free_port()))
    r = run_hermes(hermes_binary, "--check-config", str(path))
    assert r.returncode == 0, r.stderr
    assert f"{path}:" not in r.stderr
    # Checking does not start anything.
    assert not (tmp_path / "logs" / "events.jsonl").exists()


def bad_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "server:\n"                                     # 1
        "  host: 127.0.0.1\n"                           # 2
        "  no_such_key: true\n"                         # 3
        "  max_concurrent_sessions: 5\n"                # 4
        "  port: 70000\n"                               # 5
        "  host_key_path: " + str(tmp_path / "keys" / "ssh_host_rsa_key") + "\n"
        "logging:\n"
        "  output_dir: " + str(tmp_path / "logs") + "\n"
        "recording:\n"
        "  output_dir: " + str(tmp_path / "rec") + "\n")
    return path


def check_bad_file_errors(path, stderr):
    unknown = error_line(stderr, f"{path}:3:")
    assert "no_such_key" in unknown, unknown
    port = error_line(stderr, f"{path}:5: server.port:")
    assert len(port) > len(f"{path}:5: server.port:") + 1, "the message is empty"


def test_check_config_reports_every_error_with_line(hermes_binary, tmp_path):
    path = bad_file(tmp_path)
    r = run_hermes(hermes_binary, "--check-config", str(path))
    assert r.returncode == 2, f"status {r.returncode}; stderr:\n{r.stderr}"
    check_bad_file_errors(path, r.stderr)


def test_config_with_errors_does_not_start(hermes_binary, tmp_path):
    path = bad_file(tmp_path)
    r = run_hermes(hermes_binary, "--config", str(path))
    assert r.returncode == 2, f"status {r.returncode}; stderr:\n{r.stderr}"
    check_bad_file_errors(path, r.stderr)
    assert not (tmp_path / "logs" / "events.jsonl").exists()
    assert not (tmp_path / "keys" / "ssh_host_rsa_key").exists()


MINIMUMS = [
    ("server", "port", 0, 1),
    ("server", "session_timeout", 59, 60),
    ("server", "login_grace_time", 0, 1),
    ("server", "max_concurrent_sessions", 0, 1),
    ("container_pool", "max_session_duration", 59, 60),
    ("container_pool", "size", 0, 1),
    ("container_pool", "spawn_timeout", 4, 5),
]


@pytest.mark.parametrize("section,key,bad,good", MINIMUMS,
                         ids=[f"{s}.{k}" for s, k, _, _ in MINIMUMS])
def test_minimums(hermes_binary, tmp_path, section, key, bad, good):
    def write(value):
        path = tmp_path / f"{key}-{value}.yaml"
        path.write_text("logging:\n"
                        f"  output_dir: {tmp_path / 'logs'}\n"
                        f"{section}:\n"
                        f"  {key}: {value}\n")                 # line 4
        return path

    path = write(bad)
    r = run_hermes(hermes_binary, "--check-config", str(path))
    assert r.returncode == 2, f"{section}.{key}: {bad} accepted; stderr:\n{r.stderr}"
    error_line(r.stderr, f"{path}:4: {section}.{key}:")

    path = write(good)
    r = run_hermes(hermes_binary, "--check-config", str(path))
    assert r.returncode == 0, f"{section}.{key}: {good} refused; stderr:\n{r.stderr}"


def test_wrong_type_names_key_and_line(hermes_binary, tmp_path):
    path = tmp_path / "types.yaml"
    path.write_text("recording:\n"
                    "  enabled: true\n"
                    "server:\n"
                    "  port: twenty-two\n")                    # line 4
    r = run_hermes(hermes_binary, "--check-config", str(path))
    assert r.returncode == 2
    error_line(r.stderr, f"{path}:4: server.port:")
