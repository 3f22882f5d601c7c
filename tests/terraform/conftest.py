"""Fixtures for the Terraform module: its parsed form, and the emulator served over HTTP for the client.

The client runs as a separate process, exactly as ``terraform apply`` runs the module's local-exec
(emulator/terraform.py renders it from main.tf), so the emulator runs in server mode at real speed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from subprocess import CompletedProcess, Popen
from typing import Any

import pytest

from emulator import Emulator, FleetDeployment, ServiceBehaviour, TaskOutcome
from emulator.terraform import Module, popen_local_exec, render_local_exec, run_local_exec

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration"
# How often the client reads the history in these tests (the default is 2 s).
CLIENT_POLL_SECONDS = "0.2"
FAST_MIGRATION = {"start_seconds": 0.1, "run_seconds": 0.3}


@pytest.fixture(scope="session")
def module() -> Module:
    return Module()


@pytest.fixture
def good_variables() -> dict[str, Any]:
    """Valid values for every required variable, without AWS behind them."""
    return {
        "state_machine_arn": STATE_MACHINE_ARN,
        "ecs_cluster": "fleet",
        "ecs_service": "fleet",
        "task_definition": "fleet",
        "task_definition_revision": 42,
        "subnets": ["subnet-0a1b2c3d"],
        "security_groups": ["sg-0a1b2c3d"],
    }


@pytest.fixture
def aws() -> Iterator[Emulator]:
    """Overrides the package-wide fixture: real time, served over HTTP for the client process, and
    ECS tasks that start and stop quickly, so that a workflow takes about 3 s (its Wait states last
    poll_interval_seconds=1)."""
    with Emulator(speed=1, server=True) as emulator:
        emulator.ecs_sim.default_service = ServiceBehaviour(start_seconds=0.2, stop_seconds=0.2)
        emulator.ecs_sim.default_migration = TaskOutcome(**FAST_MIGRATION)
        yield emulator


@pytest.fixture
def fleet_variables(aws: Emulator, fleet: FleetDeployment) -> Callable[..., dict[str, Any]]:
    """The module's variables for the seeded deployment with the fastest timings: ``fleet_variables(**overrides)``."""

    def build(**overrides: Any) -> dict[str, Any]:
        variables = {
            "state_machine_arn": aws.state_machine_arn,
            "ecs_cluster": fleet.cluster,
            "ecs_service": fleet.service,
            "vuln_service": fleet.vuln_service or "",
            "task_definition": fleet.task_definition,
            "task_definition_revision": fleet.latest_revision,
            "subnets": fleet.subnets,
            "security_groups": fleet.security_groups,
            "python": sys.executable,
            "poll_interval_seconds": 1,
            "drain_timeout_seconds": 30,
            "timeout_seconds": 60,
            "stabilize_timeout_seconds": 30,
        }
        variables.update(overrides)
        return variables

    return build


@pytest.fixture
def apply(aws: Emulator) -> Callable[..., CompletedProcess]:
    """Run the module's local-exec for these variables as ``terraform apply`` would, against the emulator."""

    def run(variables: dict[str, Any], extra_env: dict[str, str | None] | None = None, **options: Any) -> CompletedProcess:
        env = {"FLEET_MIGRATION_CLIENT_POLL_SECONDS": CLIENT_POLL_SECONDS, **(extra_env or {})}
        return run_local_exec(render_local_exec(variables), aws.endpoint_url, extra_env=env, timeout=60, **options)

    return run


@pytest.fixture
def start_apply(aws: Emulator) -> Callable[..., Popen]:
    """Like ``apply`` but returns the running process (stdout and stderr in one text pipe)."""

    def start(variables: dict[str, Any]) -> Popen:
        env = {"FLEET_MIGRATION_CLIENT_POLL_SECONDS": CLIENT_POLL_SECONDS}
        return popen_local_exec(render_local_exec(variables), aws.endpoint_url, extra_env=env)

    return start
