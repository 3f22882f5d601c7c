"""The client runs where Terraform runs: Python 3.9 and later (issue 8, point 5).

Three checks, from the cheapest: ruff reads terraform/ as 3.9 code (pyproject.toml's per-file target
version), so newer syntax or a "fix" only a newer Python accepts fails here; every file parses with
the 3.9 grammar; and a whole migration runs with the client on the oldest Python this machine has
(tools/oldest_python.py builds it; `make` does), which catches what no parser sees (``int | None``
evaluated at run time, a 3.10 library call).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import Emulator, ServiceBehaviour
from tests.terraform.client_process import run_client
from tools import oldest_python

ROOT = Path(__file__).resolve().parents[2]
CLIENT_FILES = sorted((ROOT / "terraform").rglob("*.py"))


def ruff(*args: str, source: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *args],
        cwd=ROOT,
        input=source,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_client_is_the_package_and_its_entry_point():
    names = {path.relative_to(ROOT / "terraform").as_posix() for path in CLIENT_FILES}

    assert {"migrate.py", "executions.py", "migrate_client/run.py", "migrate_client/logs.py"} <= names


def test_ruff_finds_nothing_in_the_client_read_as_python_39():
    completed = ruff("terraform/")

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_ruff_refuses_newer_syntax_in_the_client_and_only_there():
    newer = "def kind(value):\n    match value:\n        case 1:\n            return 'one'\n    return 'other'\n"

    in_client = ruff("--stdin-filename", "terraform/migrate_client/kind.py", "-", source=newer)
    elsewhere = ruff("--stdin-filename", "functions/fleet_migration/kind.py", "-", source=newer)

    assert in_client.returncode == 1 and "Cannot use `match` statement on Python 3.9" in in_client.stdout
    assert elsewhere.returncode == 0, elsewhere.stdout


@pytest.mark.parametrize("path", CLIENT_FILES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_client_file_parses_with_the_python_39_grammar(path):
    ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))


@pytest.mark.emulator
def test_a_migration_runs_with_the_client_on_the_oldest_python_here():
    python = oldest_python.interpreter()
    if python is None:
        pytest.skip(
            "no Python 3.9/3.10 with boto3 on this machine (tools/oldest_python.py, which `make` runs, "
            "builds one from python3.9, python3.10 or pypy3): the client was checked with ruff's 3.9 target "
            "and the 3.9 grammar only"
        )
    version = subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version in ("3.9", "3.10")
    with Emulator(speed=1, server=True) as aws:
        aws.ecs_sim.default_service = ServiceBehaviour(start_seconds=0.2, stop_seconds=0.2)
        fleet = aws.seed_fleet()
        aws.next_migration(exit_code=0, start_seconds=0.3, run_seconds=1, log_lines=("Migrations completed.",))
        document = fleet.migration_input(
            poll_interval_seconds=1,
            drain_timeout_seconds=30,
            timeout_seconds=60,
            stabilize_timeout_seconds=30,
            stable_seconds=1,  # stable after 1 s, not the default 30 s that would take the whole timeout
        )

        completed = run_client(
            aws.endpoint_url,
            aws.state_machine_arn,
            document,
            python=str(python),
            CLIENT_POLL_SECONDS="0.2",
            CLIENT_HEARTBEAT_SECONDS="0.5",
        )

    assert completed.returncode == 0, completed.stdout
    assert "]  | Migrations completed." in completed.stdout
    assert "fleet-migration: SUCCEEDED" in completed.stdout
