"""The client's error paths: one clear line, non-zero (its output: tests/unit/test_client_output.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emulator.terraform import MODULE_DIR, render_local_exec, run_local_exec

NOWHERE = "http://127.0.0.1:9"  # nothing listens: these tests must fail before any call


def one_line(completed: subprocess.CompletedProcess) -> str:
    lines = completed.stderr.splitlines()
    assert completed.stdout == "" and len(lines) == 1, completed.stdout + completed.stderr
    assert lines[0].startswith("fleet-migration: error: ")
    return lines[0]


def test_an_unknown_state_machine_is_one_clear_line(aws, fleet, fleet_variables):
    arn = aws.state_machine_arn.replace(":fleet-migration", ":no-such-machine")

    completed = run_local_exec(render_local_exec(fleet_variables(state_machine_arn=arn)), aws.endpoint_url,
                               separate_stderr=True, timeout=30)

    assert completed.returncode == 3
    line = one_line(completed)
    assert f"state machine {arn} does not exist" in line and "state_machine_arn" in line


def test_missing_credentials_are_one_clear_line(good_variables):
    local_exec = render_local_exec({**good_variables, "python": sys.executable})
    no_credentials = {key: None for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}

    completed = run_local_exec(local_exec, NOWHERE, extra_env=no_credentials, separate_stderr=True, timeout=30)

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
def test_bad_settings_are_one_clear_line(good_variables, env, words):
    local_exec = render_local_exec({**good_variables, "python": sys.executable})

    completed = run_local_exec(local_exec, NOWHERE, extra_env=env, separate_stderr=True, timeout=30)

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
