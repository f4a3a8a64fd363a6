"""A Docker engine of a test's own, for a test that stops the engine (test_dockerd_restart.py)
and must not touch the machine's, nor the containers of the tests running on it.

A dockerd and a containerd, everything of theirs in one temporary directory: the API socket,
--data-root, --exec-root, --pidfile, an empty --config-file (not the machine's daemon.json),
and a containerd started here with its own root, state and socket (dockerd would otherwise use
a system containerd it finds at the default address, shared with the machine's engine).
The dockerd runs in a network namespace of its own (unshare --net): a dockerd with --bridge=none
deletes any docker0 it finds at start, which in the machine's namespace would be the machine's
engine's bridge. --iptables=false, --ip-masq=false and --ip-forward=false leave firewall rules
and sysctls alone too; the boxes have no network anyway.

close() ends everything it started, by pid - dockerd, containerd, and what a dockerd that did
not stop cleanly left (the shims of this containerd, the processes in the cgroups of this
engine's containers) -, unmounts whatever is still mounted under the directory and removes it.
Not for: anything but these tests (no TLS, no userns, no registry)."""

import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
from pathlib import Path

from hermes_helpers import IMAGE, tail_text, wait_for


class OwnEngine:
    def __init__(self, log):
        # Short: a unix socket's path holds at most 107 bytes, and containerd's go deeper.
        self.dir = Path(tempfile.mkdtemp(prefix="hermes-engine-"))
        self.log = Path(log)
        self.sock = self.dir / "docker.sock"
        self.host = f"unix://{self.sock}"
        self.containerd_sock = self.dir / "containerd" / "containerd.sock"
        self.dockerd = None
        self.containerd = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self):
        self._start_containerd()
        self.start_dockerd()

    def _spawn(self, argv):
        with open(self.log, "ab") as out:
            # Own session: a signal for pytest's process group never reaches it.
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True, close_fds=True)

    def _up(self, proc, name, probe, timeout):
        def ready():
            if proc.poll() is not None:
                raise AssertionError(f"the test's {name} exited ({proc.returncode}); its log:\n"
                                     + tail_text(self.log, 40))
            return probe()
        wait_for(ready, timeout, interval=0.5, what=lambda: f"the test's {name} to answer; "
                 f"its log:\n{tail_text(self.log, 40)}")

    def _start_containerd(self):
        d = self.dir / "containerd"
        d.mkdir()
        config = d / "config.toml"
        config.write_text(textwrap.dedent(f"""\
            version = 2
            root = "{d / 'root'}"
            state = "{d / 'state'}"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "{self.containerd_sock}"
            [ttrpc]
              address = "{self.containerd_sock}.ttrpc"
            """))
        self.containerd = self._spawn(["containerd", "--config", str(config)])
        self._up(self.containerd, "containerd", self.containerd_sock.is_socket, 60)

    def start_dockerd(self):
        """Starts (again) the engine's dockerd and waits until it answers."""
        assert self.dockerd is None or self.dockerd.poll() is not None, "dockerd is running"
        config = self.dir / "daemon.json"
        config.write_text("{}\n")
        self.dockerd = self._spawn([
            "unshare", "--net", "--", "dockerd", "--host", self.host, "--config-file", str(config),
            "--data-root", str(self.dir / "data"), "--exec-root", str(self.dir / "exec"),
            "--pidfile", str(self.dir / "dockerd.pid"),
            "--containerd", str(self.containerd_sock),
            "--bridge", "none", "--iptables=false", "--ip-masq=false", "--ip-forward=false"])
        self._up(self.dockerd, "dockerd", lambda: self.docker("info").returncode == 0, 90)

    def stop_dockerd(self, timeout=90):
        """SIGTERM to this engine's dockerd (which stops its containers on the way out), and
        waits for it to exit. Its containerd runs on, as a system containerd does."""
        self.dockerd.send_signal(signal.SIGTERM)
        self.dockerd.wait(timeout=timeout)

    def close(self):
        errors = []
        if self.dockerd is not None and self.dockerd.poll() is None:
            # Whatever still runs first, while the engine can say what it is.
            ids = self.docker("ps", "-q").stdout.split()
            if ids:
                self.docker("kill", *ids)
            self._end(self.dockerd, 90, errors, "dockerd")
        if self.containerd is not None:
            self._end(self.containerd, 30, errors, "containerd")
        self._kill_leftovers()
        self._unmount_all(errors)
        shutil.rmtree(self.dir, onerror=lambda f, p, e: errors.append(f"rm {p}: {e[1]}"))
        if errors:
            raise AssertionError("cleaning up the test's engine: " + "; ".join(errors[:10]))

    @staticmethod
    def _end(proc, timeout, errors, name):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
                return
            except subprocess.TimeoutExpired:
                errors.append(f"{name} still running {timeout} s after SIGTERM: killed")
                proc.kill()
        proc.wait(timeout=30)

    def _kill_leftovers(self):
        """What a dockerd that did not stop its containers leaves: the shims of this containerd
        (their command line names its socket) and the processes of this engine's containers
        (in the cgroups named after them)."""
        pids = set()
        address = str(self.containerd_sock).encode()
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                if address in (p / "cmdline").read_bytes():
                    pids.add(int(p.name))
            except OSError:
                continue
        containers = self.dir / "data" / "containers"
        ids = [c.name for c in containers.iterdir()] if containers.is_dir() else []
        cgroups = Path("/sys/fs/cgroup")  # v1 (a tree per controller) or v2; cgroupfs driver
        for procs in [*cgroups.glob("*/docker/*/cgroup.procs"),
                      *cgroups.glob("docker/*/cgroup.procs")]:
            if procs.parent.name in ids:
                pids.update(int(x) for x in procs.read_text().split())
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _unmount_all(self, errors):
        """Unmounts (lazily, deepest first) anything still mounted under the directory."""
        root = str(self.dir) + "/"
        points = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4].replace("\\040", " ")
                if point.startswith(root):
                    points.append(point)
        for point in sorted(set(points), key=len, reverse=True):
            r = subprocess.run(["umount", "-l", point], capture_output=True, text=True)
            if r.returncode != 0:
                errors.append(f"umount {point}: {r.stderr.strip()}")

    # -- Docker -------------------------------------------------------------------------------

    def docker(self, *args, timeout=60, **kw):
        """The docker CLI on this engine (-H wins over DOCKER_HOST)."""
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True,
                              text=True, timeout=timeout, **kw)

    def load_image(self, image=IMAGE):
        """Copies `image` from the machine's engine (the one the environment names) into
        this one, and fails if it did not arrive."""
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        try:
            load = subprocess.run(["docker", "-H", self.host, "load"], stdin=save.stdout,
                                  capture_output=True, text=True, timeout=600)
        finally:
            save.stdout.close()
            save.wait(timeout=600)
        assert save.returncode == 0 and load.returncode == 0, (save.returncode, load.stderr)
        r = self.docker("image", "inspect", image)
        assert r.returncode == 0, f"{image} not in the test's engine: {r.stderr}"

    def has_container(self, ref):
        return self.docker("container", "inspect", ref).returncode == 0
