"""The client's error paths (one clear line, non-zero) and its output, without whole workflows.

The client runs with the environment real Terraform gave the module's local-exec (recorded once, see
``LocalExec``), so these tests need no Terraform of their own.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from tfroot import MODULE_DIR, NOWHERE


@pytest.fixture(scope="module")
def client():
    """terraform/migrate.py imported as a module (as a file, the way Terraform runs it)."""
    saved = list(sys.path)
    spec = importlib.util.spec_from_file_location("fleet_migration_client", MODULE_DIR / "migrate.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved  # it puts terraform/ first to find its executions.py
    return module


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
        aws, fleet, local_exec):
    aws.next_migration(runs_forever=True)
    document = json.dumps(fleet.migration_input(poll_interval_seconds=1))

    completed = local_exec.run(aws.endpoint_url, {"FLEET_MIGRATION_INPUT": document,
                                                  "FLEET_MIGRATION_CLIENT_MAX_WAIT_SECONDS": "1"})

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


@pytest.mark.parametrize(("env", "words"), [
    ({"FLEET_MIGRATION_INPUT": ""}, "no execution input"),
    ({"FLEET_MIGRATION_INPUT": "{not json"}, "not valid JSON"),
    ({"FLEET_MIGRATION_INPUT": '{"ecs_cluster": "fleet", "ecs_service": "fleet"}'}, "task_definition_revision"),
    ({"FLEET_MIGRATION_STATE_MACHINE_ARN": ""}, "no state machine"),
    ({"FLEET_MIGRATION_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:m:alias"},
     "not a state machine ARN"),
    ({"FLEET_MIGRATION_CLIENT_POLL_SECONDS": "soon"}, "poll seconds must be a number"),
])
def test_bad_settings_are_one_clear_line(local_exec, env, words):
    completed = local_exec.run(NOWHERE, env, timeout=30)

    assert completed.returncode == 2
    assert words in one_line(completed)


def test_the_client_is_usable_by_hand_with_flags_that_mirror_the_environment():
    completed = subprocess.run([sys.executable, str(MODULE_DIR / "migrate.py"), "--help"], capture_output=True,
                               text=True, timeout=30)

    assert completed.returncode == 0
    for flag, env in (("--state-machine-arn", "FLEET_MIGRATION_STATE_MACHINE_ARN"), ("--input", "FLEET_MIGRATION_INPUT"),
                      ("--assume-role-arn", "FLEET_MIGRATION_ASSUME_ROLE_ARN"),
                      ("--assume-role-session-name", "FLEET_MIGRATION_ASSUME_ROLE_SESSION_NAME"),
                      ("--region", "FLEET_MIGRATION_REGION"), ("--poll-seconds", "FLEET_MIGRATION_CLIENT_POLL_SECONDS"),
                      ("--max-wait-seconds", "FLEET_MIGRATION_CLIENT_MAX_WAIT_SECONDS")):
        assert flag in completed.stdout and env in completed.stdout


def _settings(client, **overrides):
    document = {"ecs_cluster": "fleet", "ecs_service": "fleet", "task_definition_revision": 4}
    args = client.parse_args(["--state-machine-arn", "arn:aws:states:eu-west-1:123456789012:stateMachine:fm",
                              "--input", json.dumps(document)])
    for key, value in overrides.items():
        setattr(args, key, value)
    return client.Settings(args)


def test_access_denied_says_which_permissions_are_needed(client):
    settings = _settings(client)
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "StartExecution")

    line = client.explain_aws_error(denied, settings)

    assert "access denied on StartExecution" in line
    assert "states:StartExecution" in line and "states:GetExecutionHistory" in line
    role = _settings(client, assume_role_arn="arn:aws:iam::123456789012:role/x")
    line = client.explain_aws_error(ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole"), role)
    assert "sts:AssumeRole" in line and "trust policy" in line


def test_the_region_comes_from_the_state_machine_arn_unless_given(client):
    assert _settings(client).region == "eu-west-1"
    assert _settings(client, region="eu-central-1").region == "eu-central-1"
    assert _settings(client).session_name == "fleet-migration-r4"
    assert _settings(client).max_wait_seconds == 600 + 3600 + 600 + 900


def test_progress_prints_loops_once_and_again_only_when_something_changed(client):
    started = datetime(2026, 1, 1, tzinfo=timezone.utc)
    lines: list[str] = []
    progress = client.Progress(lines.append, started)
    task = {"arn": "arn:aws:ecs:r:1:task/fleet/abc", "last_status": "RUNNING"}

    def exited(second, status, exit_code=None):
        output = {"input": {}, "task": {**task, "last_status": status, "exit_code": exit_code}}
        return {"id": second * 10 + 1, "type": "TaskStateExited", "timestamp": started + timedelta(seconds=second),
                "stateExitedEventDetails": {"name": "Check the migration task", "output": json.dumps(output)}}

    def entered(second, kind="Task", name="Check the migration task"):
        return {"id": second * 10, "type": f"{kind}StateEntered", "timestamp": started + timedelta(seconds=second),
                "stateEnteredEventDetails": {"name": name}}

    for event in (entered(1), exited(1, "RUNNING"), entered(2, "Wait", "Wait for the migration task"), entered(3),
                  exited(3, "RUNNING"), entered(4), exited(4, "STOPPED", 0), entered(5, "Succeed", "Migration succeeded")):
        progress.event(event)

    assert lines == [
        "[     1.0s] enter  Check the migration task",
        "[     1.0s] leave  Check the migration task (0.0s): task arn:aws:ecs:r:1:task/fleet/abc RUNNING",
        "[     4.0s] update Check the migration task: task arn:aws:ecs:r:1:task/fleet/abc STOPPED, exit code 0",
        "[     5.0s] done   Migration succeeded",
    ]
    assert progress.last_event_id == 50


class _History:
    """A Step Functions that pages the history newest first, as AWS does with reverseOrder."""

    def __init__(self, count: int, page: int) -> None:
        self.events = [{"id": i, "type": "X"} for i in range(1, count + 1)]
        self.page = page
        self.calls = 0

    def get_execution_history(self, executionArn, reverseOrder, maxResults, nextToken=None):
        self.calls += 1
        ordered = list(reversed(self.events)) if reverseOrder else self.events
        start = int(nextToken or 0)
        chunk = ordered[start:start + min(maxResults, self.page)]
        more = start + len(chunk) < len(ordered)
        return {"events": chunk, **({"nextToken": str(start + len(chunk))} if more else {})}


def test_history_is_read_incrementally_newest_first(client):
    sfn = _History(count=250, page=100)

    assert [e["id"] for e in client.read_new_events(sfn, "arn", 0)] == list(range(1, 251))
    assert sfn.calls == 3
    sfn.calls = 0
    sfn.events.extend({"id": i, "type": "X"} for i in range(251, 256))
    assert [e["id"] for e in client.read_new_events(sfn, "arn", 250)] == [251, 252, 253, 254, 255]
    assert sfn.calls == 1


def test_a_failure_verdict_carries_the_error_the_cause_and_the_console_link(client):
    settings = _settings(client)
    out, err = io.StringIO(), io.StringIO()
    decision = client.executions.Decision("started", "arn:aws:states:eu-west-1:123456789012:execution:fm:fleet-fleet-r4",
                                          "fleet-fleet-r4", 1)
    cause = {"message": "Rolling back failed; run these commands", "rolled_back": False,
             "commands": ["aws ecs update-service --cluster fleet --service fleet --desired-count 2"]}
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    described = {"status": "FAILED", "name": "fleet-fleet-r4", "error": "RollbackFailed", "cause": json.dumps(cause),
                 "startDate": start, "stopDate": start + timedelta(seconds=75)}

    code = client.Verdict(settings, lambda s: print(s, file=out), lambda s: print(s, file=err)).report(described, decision)

    assert code == 1 and out.getvalue() == ""
    text = err.getvalue()
    assert text.startswith("fleet-migration: FAILED after 1m15s: RollbackFailed (execution fleet-fleet-r4)")
    assert "Rolling back failed" in text and "rolled back: NO" in text
    assert "    aws ecs update-service --cluster fleet --service fleet --desired-count 2" in text
    assert ("https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/"
            "arn:aws:states:eu-west-1:123456789012:execution:fm:fleet-fleet-r4") in text
    assert "fleet-fleet-r4-a2" in text


def test_an_aborted_execution_is_a_failure_that_warns_nothing_was_rolled_back(client):
    err = io.StringIO()
    decision = client.executions.Decision("joined", "arn:aws:states:eu-west-1:123456789012:execution:fm:fleet-fleet-r4",
                                          "fleet-fleet-r4", 1)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    described = {"status": "ABORTED", "name": "fleet-fleet-r4", "startDate": start, "stopDate": start}

    code = client.Verdict(_settings(client), print, lambda s: print(s, file=err)).report(described, decision)

    assert code == 1
    assert "ABORTED after 0.0s" in err.getvalue() and "does not roll back" in err.getvalue()
