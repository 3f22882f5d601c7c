"""Start-or-join (docs/execution-names.md) against the emulated Step Functions: real executions, moto's real errors.

The Terraform client and the trigger Lambda both decide with ``start_or_join`` (terraform/executions.py is a
byte-identical copy). A race (another caller starts the execution between our DescribeExecution and our
StartExecution) is staged by hiding the execution from our first look, so StartExecution meets moto's
own ``ExecutionAlreadyExists`` and the decision rests on what the execution really is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.responses import get_backend

from emulator import Emulator, FleetDeployment
from fleet_migration.executions import execution_name, start_or_join

NAME = "fleet-fleet-r2"


@pytest.fixture
def aws() -> Iterator[Emulator]:
    """Overrides the package's server-mode, real-time emulator: nothing here runs in another process, so time can
    be simulated."""
    with Emulator(simulated=True) as emulator:
        yield emulator


class LateToLook:
    """A Step Functions client whose first DescribeExecution of ``hidden`` finds nothing: the execution
    that really exists was started (and perhaps even ended) by someone else after our look."""

    def __init__(self, sfn: Any, hidden: str) -> None:
        self._sfn, self._hidden = sfn, hidden
        self.exceptions = sfn.exceptions
        self.started: list[str] = []

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        if executionArn.endswith(f":{self._hidden}"):
            self._hidden = ""
            raise self._sfn.exceptions.ExecutionDoesNotExist(
                {"Error": {"Code": "ExecutionDoesNotExist", "Message": executionArn}}, "DescribeExecution"
            )
        return self._sfn.describe_execution(executionArn=executionArn)

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs["name"])
        return self._sfn.start_execution(**kwargs)


def decide(aws: Emulator, fleet: FleetDeployment, sfn: Any, **input_overrides: Any):
    document = json.dumps(fleet.migration_input(poll_interval_seconds=5, **input_overrides))
    return start_or_join(sfn, aws.state_machine_arn, document, fleet.cluster, fleet.service, fleet.latest_revision)


def set_status(aws: Emulator, arn: str, status: ExecutionStatus) -> None:
    """moto has no RedriveExecution: put an execution in the state AWS shows while a redrive is under way."""
    get_backend(arn.split(":")[4], aws.region).describe_execution(arn).exec_status = status


def test_a_finished_badly_execution_found_only_when_starting_is_followed_by_the_next_attempt(aws, fleet):
    aws.next_migration(exit_code=3)
    failed = aws.run(fleet.migration_input(poll_interval_seconds=5), name=NAME)
    assert (failed.status, failed.error) == ("FAILED", "MigrationFailed")
    sfn = LateToLook(aws.client("stepfunctions"), hidden=NAME)

    decision = decide(aws, fleet, sfn)

    assert (decision.action, decision.name, decision.attempt) == ("started", f"{NAME}-a2", 2)
    assert sfn.started == [NAME, f"{NAME}-a2"]  # the first start met ExecutionAlreadyExists
    assert aws.wait(decision.execution_arn).status == "SUCCEEDED"


def test_a_succeeded_execution_found_only_when_starting_is_reported_not_joined(aws, fleet):
    done = aws.run(fleet.migration_input(poll_interval_seconds=5), name=NAME)
    assert done.status == "SUCCEEDED"
    sfn = LateToLook(aws.client("stepfunctions"), hidden=NAME)

    decision = decide(aws, fleet, sfn)

    assert (decision.action, decision.execution_arn) == ("succeeded", done.arn)
    assert sfn.started == [NAME]


def test_a_running_execution_with_another_input_found_only_when_starting_is_joined(aws, fleet):
    # the EventBridge trigger's input differs from Terraform's, so StartExecution is not idempotent here
    running = aws.start(fleet.migration_input(poll_interval_seconds=5, drain_timeout_seconds=20), name=NAME)
    sfn = LateToLook(aws.client("stepfunctions"), hidden=NAME)

    decision = decide(aws, fleet, sfn)

    assert (decision.action, decision.execution_arn) == ("joined", running)
    assert sfn.started == [NAME]
    assert aws.wait(running).status == "SUCCEEDED"


def test_an_execution_being_redriven_is_joined_not_started_again(aws, fleet):
    aws.next_migration(exit_code=3)
    failed = aws.run(fleet.migration_input(poll_interval_seconds=5), name=NAME)
    set_status(aws, failed.arn, ExecutionStatus.PENDING_REDRIVE)
    sfn = aws.client("stepfunctions")

    decision = decide(aws, fleet, sfn)

    assert (decision.action, decision.execution_arn) == ("joined", failed.arn)
    listed = sfn.list_executions(stateMachineArn=aws.state_machine_arn)["executions"]
    assert [execution["name"] for execution in listed] == [NAME]


def test_without_a_race_each_status_is_decided_from_the_first_look(aws, fleet):
    sfn = aws.client("stepfunctions")

    started = decide(aws, fleet, sfn)
    joined = decide(aws, fleet, sfn, drain_timeout_seconds=20)
    assert (started.action, joined.action, joined.execution_arn) == ("started", "joined", started.execution_arn)
    assert aws.wait(started.execution_arn).status == "SUCCEEDED"

    assert decide(aws, fleet, sfn).action == "succeeded"
    assert started.name == execution_name(fleet.cluster, fleet.service, fleet.latest_revision) == NAME
