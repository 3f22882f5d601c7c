"""The code reads one way: ruff's rules (pyproject.toml, import order included) and its formatter find nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_ruff_finds_nothing():
    completed = ruff("check")

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_formatter_would_change_nothing():
    completed = ruff("format", "--check")

    assert completed.returncode == 0, completed.stdout + completed.stderr
