"""The running kernel's files in the box (issue 16, docs/stealth.md "The kernel's files"): a
box reports the host's kernel, so the image carries what a server of that kernel has -
/lib/modules/RELEASE and /boot's image, config and System.map - copied from the host by
scripts/stage-kernel.sh when the image is built, where a distribution's package installed them
(never a kernel built on the host, never its initrd). The script is checked on a root of its own
(a Debian server's layout, another release beside it); the box against this host."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from hermes_helpers import ssh_exec

pytestmark = pytest.mark.box

ROOT = Path(__file__).resolve().parents[2]
STAGE = ROOT / "scripts" / "stage-kernel.sh"
RELEASE = "6.1.0-28-amd64"


def _server_root(base):
    """A Debian 12 server's kernel files for RELEASE and an older one."""
    root = base / "root"
    for rel in (RELEASE, "6.1.0-27-amd64"):
        mod = root / "usr/lib/modules" / rel
        (mod / "kernel/fs/ext4").mkdir(parents=True)
        (mod / "kernel/fs/ext4/ext4.ko").write_bytes(b"\x7fELF" + rel.encode())
        (mod / "modules.dep").write_text("kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko\n")
        (mod / "build").symlink_to(f"/usr/src/linux-headers-{rel}")
        boot = root / "boot"
        boot.mkdir(exist_ok=True)
        for f in ("vmlinuz", "initrd.img", "config", "System.map"):
            (boot / f"{f}-{rel}").write_text(f"{f} {rel}\n")
        os.chmod(boot / f"System.map-{rel}", 0o600)
        os.utime(boot / f"vmlinuz-{rel}", (1731000000, 1731000000))
    (root / "lib").symlink_to("usr/lib")
    (root / "vmlinuz").symlink_to(f"boot/vmlinuz-{RELEASE}")
    (root / "initrd.img").symlink_to(f"boot/initrd.img-{RELEASE}")
    (root / "vmlinuz.old").symlink_to("boot/vmlinuz-6.1.0-27-amd64")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\n")
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    for rel in (RELEASE, "6.1.0-27-amd64"):
        (info / f"linux-image-{rel}.list").write_text("".join(
            f"{p}\n" for p in ("/.", "/boot", f"/boot/System.map-{rel}", f"/boot/config-{rel}",
                               f"/boot/vmlinuz-{rel}", "/lib", "/lib/modules",
                               f"/lib/modules/{rel}", f"/lib/modules/{rel}/kernel")))
    (info / "bash.list").write_text("/.\n/bin\n/bin/bash\n")
    return root


def _tree(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


def test_stage_copies_the_release_files_only(tmp_path):
    root = _server_root(tmp_path)
    dest = tmp_path / "kernel"
    subprocess.run([str(STAGE), str(dest), str(root), RELEASE], check=True)
    # Not the initrd (the host made it, with its keys) nor its link.
    assert _tree(dest) == sorted([
        "boot", f"boot/System.map-{RELEASE}", f"boot/config-{RELEASE}",
        f"boot/vmlinuz-{RELEASE}", "usr", "usr/lib",
        "usr/lib/modules", f"usr/lib/modules/{RELEASE}", f"usr/lib/modules/{RELEASE}/build",
        f"usr/lib/modules/{RELEASE}/kernel", f"usr/lib/modules/{RELEASE}/kernel/fs",
        f"usr/lib/modules/{RELEASE}/kernel/fs/ext4",
        f"usr/lib/modules/{RELEASE}/kernel/fs/ext4/ext4.ko",
        f"usr/lib/modules/{RELEASE}/modules.dep", "vmlinuz"])
    # As they are: content, modes, times, links.
    ko = dest / f"usr/lib/modules/{RELEASE}/kernel/fs/ext4/ext4.ko"
    assert ko.read_bytes() == b"\x7fELF" + RELEASE.encode()
    assert stat.S_IMODE((dest / f"boot/System.map-{RELEASE}").stat().st_mode) == 0o600
    assert (dest / f"boot/vmlinuz-{RELEASE}").stat().st_mtime == 1731000000
    assert os.readlink(dest / "vmlinuz") == f"boot/vmlinuz-{RELEASE}"
    assert os.readlink(dest / f"usr/lib/modules/{RELEASE}/build") == \
        f"/usr/src/linux-headers-{RELEASE}"


def test_stage_of_a_kernel_built_here_gives_nothing(tmp_path):
    # Its files in place, but no package installed them: a kernel of the host's own, whose
    # exact binary and symbols would help an exploit against it.
    root = _server_root(tmp_path)
    for f in (root / "var/lib/dpkg/info").glob("linux-image-*.list"):
        f.unlink()
    dest = tmp_path / "kernel"
    subprocess.run([str(STAGE), str(dest), str(root), RELEASE], check=True)
    assert dest.is_dir() and _tree(dest) == []


def test_stage_of_a_kernel_without_files_gives_nothing(tmp_path):
    # A microVM's kernel: no modules, no /boot (this machine's). A link to another release's
    # image is not taken either.
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "vmlinuz").symlink_to("boot/vmlinuz-5.10.0-9-amd64")
    dest = tmp_path / "kernel"
    subprocess.run([str(STAGE), str(dest), str(root), RELEASE], check=True)
    assert dest.is_dir() and _tree(dest) == []


@pytest.mark.parametrize("bad", ["", "../etc", ".hidden", "a/b"])
def test_stage_refuses_a_release_that_is_a_path(tmp_path, bad):
    r = subprocess.run([str(STAGE), str(tmp_path / "k"), str(tmp_path), bad],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "not a kernel release" in r.stderr, r
    assert not (tmp_path / "k").exists()


def test_box_has_the_kernel_files_the_host_has(hermes):
    release = os.uname().release
    files = [f"/lib/modules/{release}"] + \
        [f"/boot/{f}-{release}" for f in ("vmlinuz", "config", "System.map")]
    r = ssh_exec(hermes.port, "uname -r; for f in " + " ".join(files) + "; do "
                 "if [ -d $f ]; then echo $f dir; elif [ -e $f ]; then echo $f $(stat -c %s $f); "
                 "else echo $f none; fi; done")
    assert r.returncode == 0, r
    lines = r.stdout.decode().splitlines()
    assert lines[0] == release, lines

    def packaged(f):
        return subprocess.run(["dpkg", "-S", f], capture_output=True).returncode == 0

    def host(f):
        if not packaged(f):
            return f"{f} none"
        if os.path.isdir(f):
            return f"{f} dir"
        return f"{f} {os.stat(f).st_size if os.path.exists(f) else 'none'}"
    assert lines[1:] == [host(f) for f in files], lines
