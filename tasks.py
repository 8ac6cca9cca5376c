#!/usr/bin/env python3
"""Set up and run streamtest with nothing but Python: ``python3 tasks.py demo|test``.

Each command creates ``.venv`` beside this file when it is missing, installs the project into it
(again only when pyproject.toml changed), then runs:

    demo   replay a cassette from cassettes/ into a real openai-SDK app, offline, no API key
    test   the whole test suite (pytest, two workers); extra arguments go to pytest
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_env(extras: str) -> None:
    """Create the virtualenv and install ``.[extras]`` unless that exact install is recorded."""
    stamp = VENV / f".installed-{extras or 'base'}"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    print(f"Installing {target} into {VENV} ...", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", target], check=True)
    stamp.write_text(wanted)


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "demo":
        ensure_env("")
        return subprocess.call([str(PYTHON), "-m", "fixtures.apps.quickstart", *rest], cwd=ROOT)
    if command == "test":
        ensure_env("dev")
        # Exit code 5 (no tests collected) is a failure here, as any other non-zero code is.
        return subprocess.call([str(PYTHON), "-m", "pytest", "-n", "2", *rest], cwd=ROOT)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
