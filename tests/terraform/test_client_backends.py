"""The client runs where Fleet's addon ran: with boto3, or with only the AWS CLI, the same (issue 24, point 1).

Each behaviour runs twice against the emulator in server mode: once with boto3, once with a Python that
cannot import boto3 and the AWS CLI v1 from PyPI alone on PATH (tests/terraform/client_process.py). With
neither, the client says both fixes before it calls anything. And real Terraform applies the module on a
runner like the addon's: the AWS CLI, and a python3 without boto3.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import Emulator, FleetDeployment
from tests.terraform.client_process import BACKENDS, FAST_WAITS, path_with_only_the_aws_cli, run_client
from tfroot import RESOURCE

CLIENT = {"CLIENT_POLL_SECONDS": "1", "CLIENT_HEARTBEAT_SECONDS": "5"}
LINES = ("Applying table migration 20241110152839", "Migrations completed.")
# The SDK's and the CLI's own retries would hide a throttled call from the client: one attempt each here.
ONE_ATTEMPT = {"AWS_MAX_ATTEMPTS": "1"}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def client(
    aws: Emulator, fleet: FleetDeployment, backend: str, tmp_path: Path, env: dict[str, str] | None = None, **settings
) -> subprocess.CompletedProcess:
    document = fleet.migration_input(**FAST_WAITS)
    return run_client(
        aws.endpoint_url,
        aws.state_machine_arn,
        document,
        backend=backend,
        scratch=tmp_path,
        env=env,
        **{**CLIENT, **settings},
    )


def task_lines(output: str) -> list[str]:
    return [line.split("]  | ", 1)[1] for line in output.splitlines() if "]  | " in line]


def test_a_migration_succeeds_with_its_steps_and_its_container_lines(aws, fleet, backend, tmp_path):
    aws.next_migration(exit_code=0, start_seconds=0.3, run_seconds=1, log_lines=LINES)

    completed = client(aws, fleet, backend, tmp_path)

    assert completed.returncode == 0, completed.stdout
    assert "fleet-migration: started execution fleet-fleet-r2 (attempt 1) for revision 2" in completed.stdout
    assert "] enter  Run the migration task" in completed.stdout
    assert task_lines(completed.stdout) == list(LINES)
    assert "fleet-migration: SUCCEEDED in " in completed.stdout


def test_a_failed_migration_exits_1_with_the_error_its_cause_and_the_next_attempt(aws, fleet, backend, tmp_path):
    aws.next_migration(exit_code=1, start_seconds=0.3, run_seconds=0.5, log_lines=("Error 1146: table missing",))

    completed = client(aws, fleet, backend, tmp_path)

    assert completed.returncode == 1, completed.stdout
    assert ": MigrationFailed (execution fleet-fleet-r2)" in completed.stdout
    assert "rolled back: yes" in completed.stdout
    assert "Error 1146: table missing" in task_lines(completed.stdout)
    assert "it starts attempt 2, fleet-fleet-r2-a2" in completed.stdout


def test_a_running_execution_is_joined_not_started_again(aws, fleet, backend, tmp_path):
    theirs = aws.start(fleet.migration_input(**{**FAST_WAITS, "drain_timeout_seconds": 31}), name="fleet-fleet-r2")

    completed = client(aws, fleet, backend, tmp_path)

    assert completed.returncode == 0, completed.stdout
    assert "fleet-migration: joined execution fleet-fleet-r2" in completed.stdout
    assert "these fields differ from yours: drain_timeout_seconds" in completed.stdout
    [execution] = aws.client("stepfunctions").list_executions(stateMachineArn=aws.state_machine_arn)["executions"]
    assert execution["executionArn"] == theirs


def test_an_execution_that_succeeded_is_reported_and_not_run_again(aws, fleet, backend, tmp_path):
    aws.run(fleet.migration_input(**FAST_WAITS), name="fleet-fleet-r2")

    completed = client(aws, fleet, backend, tmp_path)

    assert completed.returncode == 0, completed.stdout
    assert "execution fleet-fleet-r2 already SUCCEEDED" in completed.stdout


def test_throttled_reads_are_retried_later_and_the_migration_is_followed_to_its_end(aws, fleet, backend, tmp_path):
    aws.next_migration(exit_code=0, start_seconds=0.3, run_seconds=1, log_lines=LINES)
    aws.faults.inject("stepfunctions", "GetExecutionHistory", times=2)

    completed = client(aws, fleet, backend, tmp_path, env=ONE_ATTEMPT)

    assert completed.returncode == 0, completed.stdout
    warnings = [line for line in completed.stdout.splitlines() if "warning:" in line]
    throttled = "fleet-migration: warning: ThrottlingException while following the execution, retrying"
    assert warnings == [throttled] * 2, completed.stdout
    assert aws.faults.hits[("stepfunctions", "GetExecutionHistory")] == 2
    assert "] enter  Run the migration task" in completed.stdout
    assert "fleet-migration: SUCCEEDED in " in completed.stdout


def test_the_role_to_assume_is_assumed_with_the_backend_s_own_credentials(aws, fleet, backend, tmp_path):
    role = "arn:aws:iam::123456789012:role/fleet-migration-deployer"

    completed = client(aws, fleet, backend, tmp_path, ASSUME_ROLE_ARN=role)

    assert completed.returncode == 0, completed.stdout
    assert f"fleet-migration: assumed role {role} (session fleet-migration-r2)" in completed.stdout


def test_an_unknown_state_machine_is_the_same_clear_line_and_exit_code(aws, fleet, backend, tmp_path):
    arn = aws.state_machine_arn.replace(":fleet-migration", ":no-such-machine")

    completed = run_client(
        aws.endpoint_url, arn, fleet.migration_input(**FAST_WAITS), backend=backend, scratch=tmp_path, timeout=60
    )

    assert completed.returncode == 3
    assert completed.stdout.splitlines() == [
        f"fleet-migration: error: state machine {arn} does not exist: deploy the fleet-migration application first, "
        "or fix state_machine_arn (its region and account must match the credentials)"
    ]


def test_missing_credentials_are_the_same_clear_line_and_exit_code(aws, fleet, backend, tmp_path):
    nothing = {key: None for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")}
    nowhere = {**nothing, "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_CONFIG_FILE": "/dev/null"}

    completed = run_client(
        aws.endpoint_url,
        aws.state_machine_arn,
        fleet.migration_input(**FAST_WAITS),
        backend=backend,
        scratch=tmp_path,
        env={**nowhere, "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"},
        timeout=60,
    )

    assert completed.returncode == 3, completed.stdout
    [line] = completed.stdout.splitlines()
    assert line.startswith("fleet-migration: error: no AWS credentials found")


def test_with_neither_boto3_nor_the_aws_cli_one_line_names_both_fixes_before_any_call(aws, fleet, tmp_path):
    completed = run_client(
        aws.endpoint_url, aws.state_machine_arn, fleet.migration_input(), backend="none", scratch=tmp_path, timeout=60
    )

    assert completed.returncode == 3
    [line] = completed.stdout.splitlines()
    assert line.startswith("fleet-migration: error: neither boto3 nor the AWS CLI is available: install the AWS CLI")
    assert "install boto3" in line
    assert aws.client("stepfunctions").list_executions(stateMachineArn=aws.state_machine_arn)["executions"] == []


def test_a_runner_with_the_aws_cli_and_a_python_without_boto3_applies_the_module(aws, fleet, fleet_root, tmp_path):
    # GIVEN a runner that applied Fleet's addon: the AWS CLI on PATH, and a python3 that has no boto3
    venv = tmp_path / "python-without-boto3"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-c", "import boto3"], capture_output=True, timeout=60).returncode != 0
    aws.next_migration(exit_code=0, start_seconds=0.3, run_seconds=1, log_lines=LINES)
    root = fleet_root(python=python)

    # WHEN terraform apply runs
    applied = root.apply(
        env={"PATH": os.pathsep.join([path_with_only_the_aws_cli(tmp_path / "bin"), "/usr/bin", "/bin"])}
    )

    # THEN the migration ran through the AWS CLI, shown step by step with the container's lines
    assert applied.returncode == 0, applied.terminal
    out = "\n".join(applied.provisioner_lines())
    assert "started execution fleet-fleet-r2 (attempt 1)" in out
    assert task_lines(out) == list(LINES)
    assert "fleet-migration: SUCCEEDED in" in out
    assert f"{RESOURCE}: Creation complete after" in applied.stdout
