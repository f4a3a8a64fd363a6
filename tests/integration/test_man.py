"""The man page (man/hermes.1): groff reads it without a warning, and it names every command
and every option the program's own usage texts name, so that a new option without its line in
the page fails here."""

import re
import shutil
import subprocess
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "man" / "hermes.1"


def usage(binary, *args):
    r = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30)
    return r.stdout + r.stderr


def test_groff_reads_it_cleanly():
    assert shutil.which("groff"), "groff: scripts/install-deps.sh installs groff-base"
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(PAGE)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_it_names_every_command_and_option(hermes_binary):
    text = PAGE.read_text().replace("\\-", "-")
    top = usage(hermes_binary, "--help")
    commands = [c for m in re.findall(r"hermes ([a-z|]+)\s+--config", top)
                for c in m.split("|")]
    assert len(commands) >= 9 and "doctor" in commands, top
    texts = [top] + [usage(hermes_binary, c, "--help") for c in commands]
    options = {o for t in texts for o in re.findall(r"--[a-z][a-z-]*", t)}
    assert {"--config", "--check-config", "--version", "--json"} <= options, options
    missing = sorted(o for o in options if o not in text)
    missing += [c for c in commands if not re.search(rf"^\.(B|BI|TP) {c}\b", text, re.M)]
    assert not missing, missing
    # The version it says is the page's.
    version = usage(hermes_binary, "--version").split()[-1]
    assert f'"hermes {version}"' in text
