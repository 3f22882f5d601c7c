"""The oldest Python this machine has (3.9 or 3.10, CPython or PyPy), with boto3, to run the Terraform client on.

    python tools/oldest_python.py          # builds <venv>/oldest-python from it (make does), or says there is none
    python tools/oldest_python.py --path   # prints that venv's interpreter, or nothing

The client runs where Terraform runs, on Python 3.9+ (terraform/README.md);
tests/terraform/test_client_python39.py runs a whole migration with it when this venv exists. Debian 12
has no CPython older than 3.11, but its ``pypy3`` (with ``pypy3-venv``) implements Python 3.9.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

VENV = Path(sys.prefix) / "oldest-python"
CANDIDATES = ("python3.9", "pypy3.9", "pypy3", "python3.10", "pypy3.10")
OLDEST, NEWEST = (3, 9), (3, 10)


def _version(interpreter: str) -> tuple[int, int] | None:
    try:
        text = subprocess.run(
            [interpreter, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    major, minor = (int(part) for part in text.split())
    return major, minor


def oldest_interpreter() -> tuple[str, tuple[int, int]] | None:
    found = [
        (version, path)
        for path in {shutil.which(name) for name in CANDIDATES}
        if path
        for version in [_version(path)]
        if version and OLDEST <= version <= NEWEST
    ]
    return (min(found)[1], min(found)[0]) if found else None


def interpreter() -> Path | None:
    """The venv's interpreter, when it exists and has boto3."""
    python = VENV / "bin" / "python"
    if not python.exists():
        return None
    ok = subprocess.run([str(python), "-c", "import boto3"], capture_output=True, timeout=60).returncode == 0
    return python if ok else None


def build() -> int:
    if interpreter() is not None:
        print(f"oldest-python: {VENV} is ready")
        return 0
    found = oldest_interpreter()
    if found is None:
        print(
            "oldest-python: no Python 3.9 or 3.10 here (CPython or PyPy): the Terraform client is checked with "
            "ruff's 3.9 target and the 3.9 grammar only"
        )
        return 0
    path, version = found
    try:
        subprocess.run([path, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True, timeout=300)
        subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "boto3"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"oldest-python: could not build {VENV} from {path} ({exc}); the client test on it will be skipped")
        return 0
    print(f"oldest-python: {VENV} runs Python {version[0]}.{version[1]} ({path}) with boto3")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--path"]:
        found = interpreter()
        print(found or "")
        sys.exit(0)
    sys.exit(build())
