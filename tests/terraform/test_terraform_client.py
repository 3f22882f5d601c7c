"""The client's error paths: one clear line, non-zero (its output: tests/unit/test_client_output.py).

The client runs with the environment real Terraform gave the module's local-exec (recorded once, see
``LocalExec``), so these tests need no Terraform of their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tfroot import MODULE_DIR, NOWHERE


def one_line(completed: subprocess.CompletedProcess) -> str:
    lines = completed.stderr.splitlines()
    assert completed.stdout == "" and len(lines) == 1, completed.stdout + completed.stderr
    assert lines[0].startswith("fleet-migration: error: ")
    return lines[0]


def test_an_unknown_state_machine_is_one_clear_line(aws, local_exec):
    arn = aws.state_machine_arn.replace(":fleet-migration", ":no-such-machine")

    completed = local_exec.run(aws.endpoint_url, {"FLEET_MIGRATION_STATE_MACHINE_ARN": arn}, timeout=30)

    assert completed.returncode == 3
    line = one_line(completed)
    assert f"state machine {arn} does not exist" in line and "state_machine_arn" in line


def test_every_wait_has_a_deadline_after_which_the_client_gives_up_and_leaves_the_execution_alone(
    aws, fleet, local_exec
):
    aws.next_migration(runs_forever=True)
    document = json.dumps(fleet.migration_input(poll_interval_seconds=1))

    completed = local_exec.run(
        aws.endpoint_url, {"FLEET_MIGRATION_INPUT": document, "FLEET_MIGRATION_CLIENT_MAX_WAIT_SECONDS": "1"}
    )

    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "gave up waiting after 1.0s; the execution fleet-fleet-r2 still runs" in completed.stdout + completed.stderr
    sfn = aws.client("stepfunctions")
    [execution] = sfn.list_executions(stateMachineArn=aws.state_machine_arn)["executions"]
    assert execution["status"] == "RUNNING"
    # let it end before the emulator does: stop its migration task once RunTask has started it
    deadline = time.monotonic() + 60
    while not (tasks := aws.ecs_sim.running_tasks(one_off=True)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for task in tasks:
        aws.client("ecs").stop_task(cluster=fleet.cluster, task=task, reason="end of the test")
    aws.wait(execution["executionArn"])


def test_missing_credentials_are_one_clear_line(local_exec):
    no_credentials = {key: None for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}

    completed = local_exec.run(NOWHERE, no_credentials, timeout=30)

    assert completed.returncode == 3
    assert "no AWS credentials found" in one_line(completed)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"FLEET_MIGRATION_INPUT": ""}, "no execution input"),
        ({"FLEET_MIGRATION_INPUT": "{not json"}, "not valid JSON"),
        ({"FLEET_MIGRATION_INPUT": '{"ecs_cluster": "fleet", "ecs_service": "fleet"}'}, "task_definition_revision"),
        ({"FLEET_MIGRATION_STATE_MACHINE_ARN": ""}, "no state machine"),
        (
            {"FLEET_MIGRATION_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:m:alias"},
            "not a state machine ARN",
        ),
        ({"FLEET_MIGRATION_CLIENT_POLL_SECONDS": "soon"}, "poll seconds must be a number"),
    ],
)
def test_bad_settings_are_one_clear_line(local_exec, env, words):
    completed = local_exec.run(NOWHERE, env, timeout=30)

    assert completed.returncode == 2
    assert words in one_line(completed)


def test_the_client_is_usable_by_hand_with_flags_that_mirror_the_environment():
    completed = subprocess.run(
        [sys.executable, str(MODULE_DIR / "migrate.py"), "--help"], capture_output=True, text=True, timeout=30
    )

    assert completed.returncode == 0
    for flag, env in (
        ("--state-machine-arn", "FLEET_MIGRATION_STATE_MACHINE_ARN"),
        ("--input", "FLEET_MIGRATION_INPUT"),
        ("--assume-role-arn", "FLEET_MIGRATION_ASSUME_ROLE_ARN"),
        ("--assume-role-session-name", "FLEET_MIGRATION_ASSUME_ROLE_SESSION_NAME"),
        ("--region", "FLEET_MIGRATION_REGION"),
        ("--poll-seconds", "FLEET_MIGRATION_CLIENT_POLL_SECONDS"),
        ("--max-wait-seconds", "FLEET_MIGRATION_CLIENT_MAX_WAIT_SECONDS"),
    ):
        assert flag in completed.stdout and env in completed.stdout


def test_an_execution_under_the_revisions_name_that_migrates_something_else_stops_the_client(
    aws, fleet, local_exec, monkeypatch
):
    # GIVEN an execution under revision 2's name whose input is revision 1 (skipped in seconds: SUCCEEDED), as
    # anyone with states:StartExecution could start before the describe step refused such names
    import fleet_migration.executions

    monkeypatch.setattr(fleet_migration.executions, "misnamed", lambda *args: None)
    older = fleet.migration_input(task_definition_revision=1, poll_interval_seconds=1)
    assert aws.run(older, name="fleet-fleet-r2").status == "SUCCEEDED"
    monkeypatch.undo()
    document = json.dumps(fleet.migration_input(poll_interval_seconds=1))

    # WHEN Terraform's client runs for revision 2
    completed = local_exec.run(aws.endpoint_url, {"FLEET_MIGRATION_INPUT": document}, timeout=60)

    # THEN it does not report that execution's success as revision 2's: one clear line naming it and what it migrates
    assert completed.returncode == 1, completed.stdout + completed.stderr
    line = one_line(completed)
    assert "fleet-fleet-r2" in line and "task definition fleet:1" in line and "not this revision's migration" in line
    executions = aws.client("stepfunctions").list_executions(stateMachineArn=aws.state_machine_arn)["executions"]
    assert [e["name"] for e in executions] == ["fleet-fleet-r2"]
