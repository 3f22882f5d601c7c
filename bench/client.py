"""The Terraform module's client: how long after the execution closes does it exit?

Runs terraform/migrate.py as the module's local-exec does (its FLEET_MIGRATION_* environment, no
Terraform around it: what is measured is the client), against the emulator served over HTTP, with the
client's default settings.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.scenario import Timeline, lane
from bench.table import render
from emulator import DROP, Emulator, FleetDeployment
from fleet_migration.executions import execution_arn, execution_name

MODULE_DIR = Path(__file__).resolve().parent.parent / "terraform"


def _client_default_poll_seconds() -> float:
    """The client's own default (the module does not set it), read from the client itself."""
    spec = importlib.util.spec_from_file_location(
        "fleet_migration_client", MODULE_DIR / "migrate_client" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DEFAULT_POLL_SECONDS


DEFAULT_POLL_SECONDS = _client_default_poll_seconds()


@dataclass
class ClientRun:
    exit_code: int
    after_close: float  # seconds from the execution's stop date to the process exiting
    total: float  # seconds from starting the process to its exit


def measure(
    aws: Emulator, fleet: FleetDeployment, *, runs: int, timeline: Timeline, seed: int, interval: int | None = None
) -> list[ClientRun]:
    """``runs`` clients at once, each on its own services; ``interval`` None: the module's default (null)."""
    rng = random.Random(seed)
    lanes = [lane(aws, fleet, f"client-{i}", timeline, rng) for i in range(runs)]
    for each in lanes:
        aws.next_migration(**each.task)

    def one(service: str, vuln_service: str) -> ClientRun:
        document = fleet.migration_input(
            ecs_service=service, vuln_service=vuln_service, poll_interval_seconds=DROP if interval is None else interval
        )
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": aws.endpoint_url,
            "AWS_DEFAULT_REGION": aws.region,
            "FLEET_MIGRATION_STATE_MACHINE_ARN": aws.state_machine_arn,
            "FLEET_MIGRATION_INPUT": json.dumps(document),
        }
        started = time.time()
        process = subprocess.Popen(
            [sys.executable, str(MODULE_DIR / "migrate.py")],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        process.communicate(timeout=900)
        exited = time.time()
        arn = execution_arn(aws.state_machine_arn, execution_name(fleet.cluster, service, fleet.latest_revision))
        stopped = aws.client("stepfunctions").describe_execution(executionArn=arn)["stopDate"].timestamp()
        return ClientRun(process.returncode, exited - stopped, exited - started)

    with ThreadPoolExecutor(max_workers=max(1, runs)) as pool:
        return list(pool.map(lambda each: one(each.service, each.vuln_service), lanes))


def report(results: list[ClientRun], *, markdown: bool = False) -> str:
    after = [r.after_close for r in results]
    rows = [["execution closed → client exited", f"{statistics.median(after):.2f}", f"{max(after):.2f}"]]
    codes = sorted({r.exit_code for r in results})
    notes = [
        f"{len(results)} runs of terraform/migrate.py with the local-exec's environment, with the client's default "
        f"settings (it reads the execution every {DEFAULT_POLL_SECONDS:g} s); exit codes {codes}"
    ]
    return render("Client (s)", ["", "median", "max"], rows, markdown=markdown, notes=notes)
