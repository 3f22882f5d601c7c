"""Run terraform/migrate.py as a separate process, the way the module's local-exec runs it.

main.tf runs ``interpreter = [var.python]`` with ``command = "${path.module}/migrate.py"`` and hands every
value over in the environment; Terraform gives the provisioner one pipe for stdout and stderr.

``backend="aws-cli"`` runs it where Fleet's addon ran: a Python that cannot import boto3 (``-I -S``: no
site-packages, no PYTHONPATH) and the AWS CLI on PATH, alone (the one `make` installs from PyPI).
``backend="none"``: neither boto3 nor the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MIGRATE_PY = Path(__file__).resolve().parents[2] / "terraform" / "migrate.py"
AWS_CLI = Path(sys.executable).parent / "aws"
BACKENDS = ("boto3", "aws-cli")
# The shortest waits a whole migration the client follows allows: an execution input's overrides.
FAST_WAITS = {
    "poll_interval_seconds": 1,
    "drain_timeout_seconds": 30,
    "timeout_seconds": 60,
    "stabilize_timeout_seconds": 30,
    # tasks count as stable after 1 s (emulated), not the default 30 s that would take the whole timeout
    "stable_seconds": 1,
}


def path_with_only_the_aws_cli(directory: Path) -> str:
    """A PATH holding the AWS CLI and nothing else (``directory`` gets a link to it)."""
    assert AWS_CLI.is_file(), f"no AWS CLI at {AWS_CLI}: `make` installs it (requirements-dev.txt)"
    link = directory / "aws"
    if not link.exists():
        directory.mkdir(parents=True, exist_ok=True)
        link.symlink_to(AWS_CLI)
    return str(directory)


def run_client(
    endpoint_url: str,
    state_machine_arn: str,
    document: dict[str, Any],
    *,
    python: str = sys.executable,
    timeout: float = 120,
    backend: str = "boto3",
    scratch: Path | None = None,
    env: dict[str, str | None] | None = None,
    **settings: str,
) -> subprocess.CompletedProcess:
    """``settings``: further FLEET_MIGRATION_* variables, by the name after the prefix (``CLIENT_POLL_SECONDS="0.2"``);
    ``env``: other variables (None: unset); ``scratch``: a directory for the CLI's PATH (backend "aws-cli" or "none")."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FLEET_MIGRATION_")}
    environment.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "PYTHONUNBUFFERED": "1",
            "FLEET_MIGRATION_STATE_MACHINE_ARN": state_machine_arn,
            "FLEET_MIGRATION_INPUT": json.dumps(document),
            "FLEET_MIGRATION_ASSUME_ROLE_ARN": "",
            "FLEET_MIGRATION_ASSUME_ROLE_SESSION_NAME": "",
        }
    )
    environment.update({f"FLEET_MIGRATION_{key}": value for key, value in settings.items()})
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    argv = [python, str(MIGRATE_PY)]
    if backend != "boto3":
        assert scratch is not None, "the AWS CLI's PATH needs a scratch directory"
        argv = [python, "-I", "-S", str(MIGRATE_PY)]
        bare = scratch / "bin-empty"
        bare.mkdir(parents=True, exist_ok=True)
        environment["PATH"] = path_with_only_the_aws_cli(scratch / "bin") if backend == "aws-cli" else str(bare)
    return subprocess.run(
        argv,
        env=environment,
        cwd=MIGRATE_PY.parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
