"""Fixtures of the Hermes integration suite: preflight checks, the daemon factory, the shared
default instance, the check of every daemon's stderr and exit after each test, and a report
hook that shows a failed test's daemon stderr and events.

Preflight failures (no binary, no Docker engine, no target image) fail the tests with a clear
message instead of skipping them: a suite that silently skips hides breakage.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from hermes_helpers import (IMAGE, Hermes, HermesStartError, base_config, hermes_bin,
                            new_trouble)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: takes more than a minute (timeouts); runs by default, "
        "deselect with -m 'not slow'")
    config.addinivalue_line(
        "markers", "rss: measures the daemon's memory; meaningless under ASan (its quarantine "
        "and shadow memory), so the ASan run deselects it")
    config.addinivalue_line(
        "markers", "heap: looks for what freed memory still holds; ASan's allocator keeps "
        "freed blocks intact in its quarantine, so the ASan run deselects it")
    config.addinivalue_line(
        "markers", "box: looks at what the box shows from inside (its files, services, "
        "kernel); the daemon's part is an ordinary session, which the rest of the ASan run "
        "goes through hundreds of times, so the ASan run deselects it")
    config.addinivalue_line(
        "markers", "timing: holds the daemon's answer times to a stock sshd's (a timing "
        "fingerprint); the sanitizers' slowdown is not the release build's, so the ASan run "
        "deselects it")


# ---------------------------------------------------------------------------------------------
# Preflight

@pytest.fixture(scope="session")
def hermes_binary():
    path = hermes_bin()
    if not path.is_file():
        pytest.fail(f"Hermes binary not found at {path}: build it first "
                    f"(or point HERMES_BIN at it)", pytrace=False)
    if not (path.stat().st_mode & 0o111):
        pytest.fail(f"{path} is not executable", pytrace=False)
    return path


@pytest.fixture(scope="session")
def docker_ready():
    try:
        r = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.fail("the docker CLI is not installed", pytrace=False)
    except subprocess.TimeoutExpired:
        pytest.fail("`docker info` did not answer within 60 s", pytrace=False)
    if r.returncode != 0:
        pytest.fail("no Docker engine answers (`docker info` failed: "
                    f"{r.stderr.strip()[-500:]}); start one, e.g. scripts/docker-up.sh",
                    pytrace=False)
    r = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        pytest.fail(f"the target image {IMAGE} is missing; build it from images/ubuntu "
                    f"(docker build -t {IMAGE} images/ubuntu)", pytrace=False)
    return True


# ---------------------------------------------------------------------------------------------
# Daemons

HOST_KEY_TYPES = (("rsa", "3072"), ("ecdsa", "256"), ("ed25519", None))


def shared_host_keys(tmp_path_factory):
    """One set of host keys for the run, made with ssh-keygen the first time it is asked for:
    an instance that would make its own spends a second or more on the RSA key, and some 80
    instances start in a pass. The shared default instance still makes its own, which is what
    test_hostkeys.py checks."""
    keys = tmp_path_factory.getbasetemp() / "shared-host-keys"
    if not (keys / "ssh_host_rsa_key").exists():
        staging = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
        for kind, bits in HOST_KEY_TYPES:
            subprocess.run(["ssh-keygen", "-q", "-t", kind, *(["-b", bits] if bits else []),
                            "-N", "", "-C", "", "-f", str(staging / f"ssh_host_{kind}_key")],
                           check=True, capture_output=True, timeout=60)
        staging.rename(keys)
    return keys


class HermesFactory:
    """Starts Hermes instances and tears all of them down at the end of its scope. Unless told
    otherwise, an instance whose config keeps the default key path starts with the run's
    shared host keys in place (shared_host_keys)."""

    def __init__(self, tmp_path_factory, binary, prefix, shared_keys=True):
        self._tmp = tmp_path_factory
        self._binary = binary
        self._prefix = prefix
        self._shared_keys = shared_keys
        self.instances = []

    def start(self, overrides=None, name=None, timeout=120):
        name = name or f"{self._prefix}{len(self.instances)}"
        workdir = self._tmp.mktemp(name)
        inst = Hermes(workdir, overrides, name=name, binary=self._binary)
        default_path = base_config(workdir, 0)["server"]["host_key_path"]
        if self._shared_keys and inst.config["server"]["host_key_path"] == default_path:
            inst.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            for f in shared_host_keys(self._tmp).iterdir():
                shutil.copy2(f, inst.keys_dir / f.name)
        self.instances.append(inst)
        try:
            inst.start(timeout=timeout)
            return inst
        except HermesStartError as e:
            error = str(e)
        # A session-scoped fixture that fails never reaches its teardown: clean up now.
        inst.teardown()
        pytest.fail(error, pytrace=False)

    def close(self):
        for inst in reversed(self.instances):
            inst.teardown()
        # A shared instance ends after its last test's own check: look once more.
        fail_on_trouble()


@pytest.fixture
def hermes_factory(tmp_path_factory, hermes_binary, docker_ready):
    """factory.start(overrides) -> a running Hermes for this test only."""
    factory = HermesFactory(tmp_path_factory, hermes_binary, "hermes-own")
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def module_factory(request, tmp_path_factory, hermes_binary, docker_ready):
    """factory.start(overrides) -> a running Hermes shared by the tests of one module."""
    prefix = "hermes-" + request.module.__name__.removeprefix("test_").replace("_", "-")
    factory = HermesFactory(tmp_path_factory, hermes_binary, prefix)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def hermes(tmp_path_factory, hermes_binary, docker_ready):
    """The default instance, shared by every test that does not need its own config."""
    factory = HermesFactory(tmp_path_factory, hermes_binary, "hermes-default", shared_keys=False)
    inst = factory.start(name="hermes-default")
    yield inst
    factory.close()


# ---------------------------------------------------------------------------------------------
# What no test may let pass

def fail_on_trouble():
    trouble = new_trouble()
    if trouble:
        shown = "\n".join(trouble[:60]) + (f"\n... {len(trouble) - 60} more"
                                           if len(trouble) > 60 else "")
        pytest.fail("a daemon's stderr or exit says something went wrong (a sanitizer's "
                    "report, a worker or the indexer ending badly, a non-zero exit):\n"
                    + shown, pytrace=False)


@pytest.fixture(autouse=True)
def no_daemon_trouble():
    """After every test (at teardown, after its own daemons are stopped): fails it if any
    daemon's stderr got a sanitizer's report - the monitor's or a worker's - or the monitor's
    word on a worker or the indexer that died or exited non-zero, or if a daemon stopped by
    the fixtures did not exit 0. A test that provokes such a line says so with
    hermes_helpers.allow_trouble()."""
    yield
    fail_on_trouble()


# ---------------------------------------------------------------------------------------------
# Failure reports

def _instances_of(item):
    found = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Hermes):
            found.append(value)
        elif isinstance(value, HermesFactory):
            found.extend(value.instances)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # In the call phase the daemons are still alive and their files complete.
    if report.when == "call" and report.failed:
        for inst in _instances_of(item):
            report.sections.append((f"{inst.name} stderr (tail)", inst.stderr_tail(80)))
            try:
                text = inst.events_text(300)
            except Exception as e:  # never let the report hook mask the failure
                text = f"<cannot read events: {e}>"
            report.sections.append((f"{inst.name} events.jsonl (last 300)", text))
