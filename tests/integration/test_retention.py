"""Retention: old recordings and stored files are removed as configured, by the daemon's
pruner child at start and by `hermes prune` (whose --now is the fake clock); files that are not
Hermes' own and files inside their time are never touched; with no rule nothing is removed."""

import json
import os
import subprocess
import time
from pathlib import Path

from hermes_helpers import Hermes, base_config, deep_merge, free_port, hermes_bin, write_config

DAY = 86400
SID_OLD = "0123456789abcdef0123456789abcdef"
SID_NEW = "fedcba9876543210fedcba9876543210"
SHA_OLD = "a" * 64
SHA_NEW = "b" * 64


def plant(path, size, days_old, now=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    t = (now or time.time()) - days_old * DAY
    os.utime(path, (t, t))
    return path


def plant_tree(rec, art, now=None):
    return {
        "old_cast": plant(rec / f"{SID_OLD}.cast", 100, 10, now),
        "old_sidecar": plant(rec / f"{SID_OLD}.json", 10, 10, now),
        "new_cast": plant(rec / f"{SID_NEW}.cast", 100, 1, now),
        "foreign": plant(rec / "operator-notes.txt", 10, 400, now),
        "old_file": plant(art / SHA_OLD, 1000, 10, now),
        "new_file": plant(art / SHA_NEW, 1000, 1, now),
        "old_manifest": plant(art / "sessions" / f"{SID_OLD}.json", 50, 10, now),
    }


def prune(config_path, *args):
    r = subprocess.run([str(hermes_bin()), "prune", "--config", str(config_path), *args],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout


def test_the_daemon_prunes_at_start(tmp_path, hermes_binary, docker_ready):
    inst = Hermes(tmp_path, {"recording": {"retention_days": 7},
                             "forensics": {"retention_days": 7}},
                  name="hermes-retention", binary=hermes_binary)
    files = plant_tree(inst.rec_dir, Path(inst.config["forensics"]["artifacts_dir"]))
    try:
        inst.start()
        ev = inst.wait_event("retention.pruned", timeout=30)
        assert (ev["recordings_removed"], ev["recordings_bytes"]) == (2, 110)
        assert (ev["artifacts_removed"], ev["artifacts_bytes"]) == (2, 1050)
        assert ev["budget_removed"] == 0 and ev["errors"] == 0
        gone = {k for k, p in files.items() if not p.exists()}
        assert gone == {"old_cast", "old_sidecar", "old_file", "old_manifest"}
    finally:
        inst.teardown()


def test_prune_command_with_a_fake_clock(tmp_path):
    cfg = deep_merge(base_config(tmp_path, free_port()),
                     {"recording": {"retention_days": 30},
                      "forensics": {"retention_days": 5, "disk_budget": "2k"}})
    config_path = tmp_path / "hermes.yaml"
    write_config(config_path, cfg)
    now = 1_800_000_000
    files = plant_tree(Path(cfg["recording"]["output_dir"]),
                       Path(cfg["forensics"]["artifacts_dir"]), now=now)
    # 20 days on, a dry run says what would go and removes nothing.
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 2 * DAY))
    r = json.loads(prune(config_path, "--now", later, "--dry-run", "--json"))
    assert r["dry_run"] is True and r["artifacts_removed"] == 2
    assert all(p.exists() for p in files.values())
    r = json.loads(prune(config_path, "--now", later, "--json"))
    # Stored files over 5 days go for their age; recordings are within their 30 days, and
    # what is left (1210 bytes) is within the 2 KiB budget.
    assert (r["artifacts_removed"], r["recordings_removed"], r["budget_removed"]) == (2, 0, 0)
    assert not files["old_file"].exists() and files["new_file"].exists()
    assert files["old_cast"].exists()
    # A tighter budget (1 KiB) then takes the oldest first until under it: both old
    # recording files, then the newer stored file; the newest recording stays.
    cfg["forensics"]["disk_budget"] = "1k"
    write_config(config_path, cfg)
    out = prune(config_path, "--now", later).decode()
    assert str(files["old_cast"]) in out.splitlines()
    assert not files["old_cast"].exists() and not files["old_sidecar"].exists()
    assert not files["new_file"].exists() and files["new_cast"].exists()
    assert files["foreign"].exists()
    # With no rule set nothing is removed, whatever the clock says.
    cfg["recording"].pop("retention_days")
    cfg["forensics"] = {k: v for k, v in cfg["forensics"].items()
                        if k not in ("retention_days", "disk_budget")}
    write_config(config_path, cfg)
    far = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3650 * DAY))
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    out = prune(config_path, "--now", far).decode()
    assert "no rule is set" in out
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == before
