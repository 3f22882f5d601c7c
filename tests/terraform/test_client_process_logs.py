"""The client process shows the migration container's own lines, and never goes quiet (issue 9, points 1 and 3).

One emulator in server mode for the module (real time, quick ECS), two migrations run by the client
exactly as Terraform's local-exec runs it: one whose container logs with awslogs, one without.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from emulator import Emulator, FleetDeployment, ServiceBehaviour
from tests.terraform.client_process import FAST_WAITS, run_client

LINES = (
    "Connecting to MySQL at fleet-mysql:3306",
    "Missing migrations: tables=[20241110152839], data=[]",
    "Applying table migration 20241110152839",
    "Migrations completed.",
)
CLIENT = {"CLIENT_POLL_SECONDS": "0.2", "CLIENT_HEARTBEAT_SECONDS": "0.5"}


@pytest.fixture(scope="module")
def served() -> Iterator[Emulator]:
    with Emulator(speed=1, server=True) as emulator:
        emulator.ecs_sim.default_service = ServiceBehaviour(start_seconds=0.2, stop_seconds=0.2)
        yield emulator


@pytest.fixture(scope="module")
def fleet(served: Emulator) -> FleetDeployment:
    return served.seed_fleet()


@pytest.fixture(scope="module")
def with_awslogs(served: Emulator, fleet: FleetDeployment) -> tuple[subprocess.CompletedProcess, str]:
    """A migration whose container prints LINES over 3 s to its awslogs stream: (the client's run, the task id)."""
    served.next_migration(exit_code=0, start_seconds=0.3, run_seconds=3, log_lines=LINES)
    completed = run_client(served.endpoint_url, served.state_machine_arn, fleet.migration_input(**FAST_WAITS), **CLIENT)
    task_arns = [call[2]["task_arn"] for call in served.ecs_sim.call_log if call[1] == "RunTask"]
    return completed, task_arns[-1].rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def without_awslogs(served: Emulator, fleet: FleetDeployment, with_awslogs) -> subprocess.CompletedProcess:
    """A migration to a new revision whose container has no logConfiguration (after the first one: one at a time)."""
    ecs = served.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=f"{fleet.task_definition}:{fleet.latest_revision}")
    definition = definition["taskDefinition"]
    containers = [{k: v for k, v in c.items() if k != "logConfiguration"} for c in definition["containerDefinitions"]]
    revision = ecs.register_task_definition(
        family=definition["family"],
        networkMode="awsvpc",
        requiresCompatibilities=definition["requiresCompatibilities"],
        cpu=definition["cpu"],
        memory=definition["memory"],
        executionRoleArn=definition["executionRoleArn"],
        taskRoleArn=definition["taskRoleArn"],
        containerDefinitions=containers,
    )["taskDefinition"]["revision"]
    served.next_migration(exit_code=0, start_seconds=0.3, run_seconds=1, log_lines=LINES)
    document = fleet.migration_input(task_definition_revision=revision, **FAST_WAITS)
    return run_client(served.endpoint_url, served.state_machine_arn, document, **CLIENT)


def task_lines(output: str) -> list[str]:
    return [line.split("]  | ", 1)[1] for line in output.splitlines() if "]  | " in line]


def test_the_client_prints_every_line_of_the_container_in_order_marked_as_the_tasks(with_awslogs):
    completed, _ = with_awslogs

    assert completed.returncode == 0, completed.stdout
    assert task_lines(completed.stdout) == list(LINES)


def test_the_client_says_which_stream_the_lines_come_from(with_awslogs):
    completed, task_id = with_awslogs

    assert (
        f"logs   container fleet writes to CloudWatch Logs group fleet, stream fleet/fleet/{task_id} (us-east-1)"
        in completed.stdout
    )


def test_the_last_line_is_printed_before_the_verdict(with_awslogs):
    lines = with_awslogs[0].stdout.splitlines()

    last = max(i for i, line in enumerate(lines) if line.endswith("]  | Migrations completed."))
    verdict = next(i for i, line in enumerate(lines) if line.startswith("fleet-migration: SUCCEEDED"))
    assert last < verdict


def test_a_quiet_wait_prints_where_it_stands_with_the_last_log_line(with_awslogs):
    waits = [line for line in with_awslogs[0].stdout.splitlines() if "] wait   " in line]

    assert any("Check the migration task" in line and "so far" in line and "last log line: " in line for line in waits)


def test_a_container_without_awslogs_gets_one_line_saying_where_its_lines_are_not(without_awslogs):
    assert without_awslogs.returncode == 0, without_awslogs.stdout
    notes = [line for line in without_awslogs.stdout.splitlines() if "] logs   " in line]
    assert len(notes) == 1 and "container fleet of fleet:" in notes[0] and "has no logConfiguration" in notes[0]
    assert task_lines(without_awslogs.stdout) == []
