"""The client right after StartExecution: DescribeExecution is eventually consistent (AWS Step Functions API
Reference, DescribeExecution), so an execution just started, or just started by the apply being joined, may
read as ExecutionDoesNotExist for a moment. That is no reason to exit 3 (an AWS problem)."""

from __future__ import annotations

from emulator import Emulator, FleetDeployment
from tests.terraform.client_process import FAST_WAITS, run_client

CLIENT = {"CLIENT_POLL_SECONDS": "0.2", "CLIENT_HEARTBEAT_SECONDS": "5"}
HIDDEN_SECONDS = 10  # emulated: 2 s of real time at the package's speed 5


def test_the_execution_it_started_is_followed_once_visible(aws: Emulator, fleet: FleetDeployment):
    aws.execution_visibility.delay_seconds = HIDDEN_SECONDS

    completed = run_client(aws.endpoint_url, aws.state_machine_arn, fleet.migration_input(**FAST_WAITS), **CLIENT)

    assert completed.returncode == 0, completed.stdout
    assert "started execution fleet-fleet-r2 (attempt 1)" in completed.stdout
    assert "SUCCEEDED" in completed.stdout
    assert aws.execution_visibility.hidden_reads, "the emulator never hid the new execution"


def test_an_execution_another_caller_just_started_is_joined_once_visible(aws: Emulator, fleet: FleetDeployment):
    aws.execution_visibility.delay_seconds = HIDDEN_SECONDS
    theirs = aws.start(fleet.migration_input(**{**FAST_WAITS, "drain_timeout_seconds": 31}), name="fleet-fleet-r2")

    completed = run_client(aws.endpoint_url, aws.state_machine_arn, fleet.migration_input(**FAST_WAITS), **CLIENT)

    assert completed.returncode == 0, completed.stdout
    assert "joined execution fleet-fleet-r2" in completed.stdout
    [execution] = aws.client("stepfunctions").list_executions(stateMachineArn=aws.state_machine_arn)["executions"]
    assert execution["executionArn"] == theirs
