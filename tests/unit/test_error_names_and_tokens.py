"""The pure parts of the steps: reading a caught error, naming it, the RunTask token, the manual restore commands."""

from __future__ import annotations

import json
import shlex

import pytest

from fleet_migration import error_names, manual_restore, migration_task
from fleet_migration.errors import CONTRACT_ERROR_NAMES, MigrationFailed
from fleet_migration.models import Migration, MigrationTask, Poll, ScalableTarget, ServiceSnapshot, SuspendedState

EXECUTION_ID = "arn:aws:states:us-east-1:123456789012:execution:fleet-migration:fleet-fleet-r2"


def snapshot(name: str, desired: int, target: ScalableTarget | None = None) -> ServiceSnapshot:
    return ServiceSnapshot(
        name=name,
        arn=f"arn:aws:ecs:us-east-1:123456789012:service/fleet/{name}",
        desired_count=desired,
        scalable_target=target,
        target_desired_count=desired,
    )


TARGET = ScalableTarget(
    resource_id="service/fleet/fleet",
    min_capacity=2,
    max_capacity=10,
    suspended=SuspendedState(scheduled_scaling_suspended=True),
)


def migration(**fields) -> Migration:
    document = {
        "input": {
            "ecs_cluster": "fleet",
            "ecs_service": "fleet",
            "task_definition": "fleet",
            "task_definition_revision": 2,
            "subnets": ["subnet-1"],
            "security_groups": ["sg-1"],
        },
        "execution": {
            "id": EXECUTION_ID,
            "name": "fleet-fleet-r2",
            "state_machine_arn": "arn:sm",
            "start_time": "2026-01-01T00:00:00+00:00",
        },
        "cluster_arn": "arn:aws:ecs:us-east-1:123456789012:cluster/fleet",
        "task_definition_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:2",
        "services": [snapshot("fleet", 2, TARGET).model_dump()],
        "manual_restore_cause": "{}",
    }
    return Migration.model_validate({**document, **fields})


def lambda_cause(error: str, message: str) -> str:
    """A Catch's Cause for a Lambda function error: the runtime's error payload, as a string."""
    return json.dumps({"errorType": error, "errorMessage": message, "requestId": "r", "stackTrace": []})


TASK = MigrationTask(arn="arn:aws:ecs:us-east-1:123456789012:task/fleet/abc", wait=Poll(started_at=0, deadline=10))


# -- read_caught --------------------------------------------------------------------------------
def test_our_own_error_is_read_back_as_its_json_cause():
    cause = str(MigrationFailed("exited with 3", exit_code=3))
    caught = migration(caught={"Error": "MigrationFailed", "Cause": lambda_cause("MigrationFailed", cause)})

    assert error_names.read_caught(caught) == ("MigrationFailed", {"message": "exited with 3", "exit_code": 3})


def test_a_plain_text_lambda_error_message_becomes_the_message():
    caught = migration(caught={"Error": "KeyError", "Cause": lambda_cause("KeyError", "'taskArn'")})

    assert error_names.read_caught(caught) == ("KeyError", {"message": "'taskArn'"})


def test_a_cause_that_is_not_json_becomes_the_message():
    caught = migration(caught={"Error": "Lambda.ServiceException", "Cause": "Internal error (Service: AWSLambda)"})

    assert error_names.read_caught(caught) == (
        "Lambda.ServiceException",
        {"message": "Internal error (Service: AWSLambda)"},
    )


# -- contract_error -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", CONTRACT_ERROR_NAMES)
def test_a_contract_error_keeps_its_name_and_cause(name):
    assert error_names.contract_error(migration(), name, {"message": "m"}) == (name, {"message": "m"})


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        ({}, "DrainTimeout"),  # failed while scaling down
        ({"drain": Poll(started_at=0, deadline=1).model_dump()}, "DrainTimeout"),  # while draining
        ({"drain": Poll(started_at=0, deadline=1, done=True).model_dump()}, "TaskFailedToStart"),  # starting the task
        ({"task": TASK.model_dump()}, "MigrationFailed"),  # following the task
        (
            {
                "task": {
                    **TASK.model_dump(),
                    "done": True,
                    "last_status": "STOPPED",
                    "exit_code": 0,
                    "stop_code": "EssentialContainerExited",
                }
            },
            "ServiceNotStable",
        ),  # scaling up
        # following the task, which exited 0 only because it was stopped: the migration was not applied
        (
            {
                "task": {
                    **TASK.model_dump(),
                    "done": True,
                    "last_status": "STOPPED",
                    "exit_code": 0,
                    "stop_code": "UserInitiated",
                }
            },
            "MigrationFailed",
        ),
    ],
)
def test_any_other_error_is_named_after_the_phase_it_interrupted(progress, expected):
    error, cause = error_names.contract_error(
        migration(**progress),
        "ClientError",
        {"message": "An error occurred (AccessDeniedException) when calling the ListTasks operation: denied"},
    )

    assert error == expected
    assert cause["underlying_error"] == "AccessDeniedException"
    assert "AccessDeniedException" in cause["message"] and "run the migration again" in cause["message"]


def test_an_error_while_following_the_task_names_the_task():
    _, cause = error_names.contract_error(migration(task=TASK.model_dump()), "Lambda.Unknown", {"message": "boom"})

    assert cause["task_arn"] == TASK.arn


# -- client_token -------------------------------------------------------------------------------
def test_the_runtask_token_is_the_same_for_every_retry_of_one_execution():
    assert migration_task.client_token(EXECUTION_ID) == migration_task.client_token(EXECUTION_ID)


def test_the_runtask_token_differs_between_executions_and_attempts():
    assert migration_task.client_token(EXECUTION_ID) != migration_task.client_token(EXECUTION_ID + "-a2")


def test_the_runtask_token_fits_the_ecs_limit_of_64_characters():
    assert len(migration_task.client_token(EXECUTION_ID + "x" * 200)) <= 64


# -- restore_commands ---------------------------------------------------------------------------
def test_the_manual_restore_commands_put_back_each_count_and_autoscaling_target():
    commands = manual_restore.commands("fleet", [snapshot("fleet", 2, TARGET), snapshot("fleet-vuln", 1)])

    assert commands == [
        "aws ecs update-service --cluster fleet --service fleet --desired-count 2",
        "aws application-autoscaling register-scalable-target --service-namespace ecs --resource-id service/fleet/fleet"
        " --scalable-dimension ecs:service:DesiredCount --min-capacity 2 --max-capacity 10 --suspended-state"
        " DynamicScalingInSuspended=false,DynamicScalingOutSuspended=false,ScheduledScalingSuspended=true",
        "aws ecs update-service --cluster fleet --service fleet-vuln --desired-count 1",
    ]


def test_the_manual_restore_commands_stop_a_migration_task_that_may_still_run():
    commands = manual_restore.commands("fleet", [snapshot("fleet", 2)], TASK)

    assert commands[0] == f"aws ecs stop-task --cluster fleet --task {TASK.arn}"


def test_the_manual_restore_commands_leave_a_finished_task_alone():
    finished = TASK.model_copy(update={"wait": Poll(started_at=0, deadline=10, done=True)})

    assert not any("stop-task" in c for c in manual_restore.commands("fleet", [snapshot("fleet", 2)], finished))


def test_the_manual_restore_commands_quote_names_for_the_shell():
    (command,) = manual_restore.commands("my cluster", [snapshot("fleet;rm", 1)])

    assert shlex.split(command)[4:8] == ["my cluster", "--service", "fleet;rm", "--desired-count"]
