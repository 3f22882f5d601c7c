"""Run terraform/migrate.py as a separate process, the way the module's local-exec runs it.

main.tf runs ``interpreter = [var.python]`` with ``command = "${path.module}/migrate.py"`` and hands every
value over in the environment; Terraform gives the provisioner one pipe for stdout and stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MIGRATE_PY = Path(__file__).resolve().parents[2] / "terraform" / "migrate.py"


def run_client(
    endpoint_url: str,
    state_machine_arn: str,
    document: dict[str, Any],
    *,
    python: str = sys.executable,
    timeout: float = 120,
    **settings: str,
) -> subprocess.CompletedProcess:
    """``settings``: further FLEET_MIGRATION_* variables, by the name after the prefix (``CLIENT_POLL_SECONDS="0.2"``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLEET_MIGRATION_")}
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "PYTHONUNBUFFERED": "1",
            "FLEET_MIGRATION_STATE_MACHINE_ARN": state_machine_arn,
            "FLEET_MIGRATION_INPUT": json.dumps(document),
            "FLEET_MIGRATION_ASSUME_ROLE_ARN": "",
            "FLEET_MIGRATION_ASSUME_ROLE_SESSION_NAME": "",
            "FLEET_MIGRATION_EXPECTED_MIN_CAPACITY": "",
        }
    )
    env.update({f"FLEET_MIGRATION_{key}": value for key, value in settings.items()})
    return subprocess.run(
        [python, str(MIGRATE_PY)],
        env=env,
        cwd=MIGRATE_PY.parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
