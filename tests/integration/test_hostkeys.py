"""Host keys generated on first start and served to clients, and the configured banner."""

import base64
import stat
import subprocess

from hermes_helpers import BANNER, read_server_banner, sha256_fingerprint

KEY_FILES = {"ssh_host_rsa_key": "ssh-rsa", "ssh_host_ecdsa_key": "ecdsa-sha2-",
             "ssh_host_ed25519_key": "ssh-ed25519"}


def _public_blob_of(private_path):
    r = subprocess.run(["ssh-keygen", "-y", "-f", str(private_path)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, f"ssh-keygen cannot read {private_path}: {r.stderr}"
    key_type, blob = r.stdout.split()[:2]
    return key_type, blob


def test_host_key_files_created_private(hermes):
    for name in KEY_FILES:
        path = hermes.keys_dir / name
        assert path.is_file(), f"{path} missing; keys dir has {sorted(hermes.keys_dir.iterdir())}"
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    assert str(hermes.keys_dir / "ssh_host_rsa_key") == hermes.config["server"]["host_key_path"]


def test_keyscan_gets_the_three_keys_from_the_files(hermes):
    r = subprocess.run(["ssh-keyscan", "-T", "15", "-p", str(hermes.port), "-t",
                        "rsa,ecdsa,ed25519", "127.0.0.1"], capture_output=True, text=True,
                       timeout=60)
    served = {}
    for line in r.stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        _host, key_type, blob = line.split()[:3]
        served[key_type] = blob
    assert len(served) == 3, f"ssh-keyscan got {sorted(served)}; stderr: {r.stderr}"

    for name, prefix in KEY_FILES.items():
        key_type, blob = _public_blob_of(hermes.keys_dir / name)
        assert key_type.startswith(prefix), (name, key_type)
        assert served.get(key_type) == blob, \
            f"{name}: served {sha256_fingerprint(base64.b64decode(served.get(key_type, '')))}" \
            f", file has {sha256_fingerprint(base64.b64decode(blob))}"


def test_banner_is_configured_one(hermes):
    assert hermes.config["server"]["banner"] == BANNER
    assert read_server_banner(hermes.port) == "SSH-2.0-" + BANNER
