"""AWS misbehaving under the workflow: throttling is retried and the migration still succeeds; a lasting
failure of any step after the scale-down ends in a rollback that puts everything back."""

from __future__ import annotations

import pytest

from fleet_migration.aws import ATTEMPTS
from workflow_support import (
    CHECK_DRAINED,
    CHECK_STABLE,
    DESCRIBE,
    FAIL_STATE,
    POLL_TASK,
    ROLLBACK,
    SUCCEEDED,
    cause_of,
    follows,
    restore_by_hand,
    retried_errors,
)

# (service, action) of every call a step makes, as the emulator's fault injection names them.
THROTTLED = [
    ("ecs", "DescribeClusters"),
    ("ecs", "DescribeServices"),
    ("ecs", "DescribeTaskDefinition"),
    ("stepfunctions", "ListExecutions"),
    ("application-autoscaling", "DescribeScalableTargets"),
    ("application-autoscaling", "RegisterScalableTarget"),
    ("ecs", "UpdateService"),
    ("ecs", "ListTasks"),
    ("ecs", "DescribeTasks"),
    ("ecs", "RunTask"),
]


@pytest.mark.parametrize(("service", "action"), THROTTLED, ids=[action for _, action in THROTTLED])
def test_a_throttled_call_is_retried_and_the_migration_succeeds(aws, fleet, fast_input, state_of, service, action):
    before = state_of(fleet)
    aws.faults.inject(service, action, code="ThrottlingException", times=2)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert aws.faults.hits[(service, action)] == 2
    assert state_of(fleet) == before
    assert len({call["clientToken"] for call in aws.ecs_sim.run_task_calls}) == 1


def test_throttling_that_outlives_the_sdk_retries_is_retried_by_the_state_machine(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    # the SDK makes ATTEMPTS (3) attempts per call; one more throttle lands on the state machine's retry of the step
    aws.faults.inject("ecs", "UpdateService", code="ThrottlingException", times=ATTEMPTS + 1)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert retried_errors(run) == ["AwsThrottled"]
    assert state_of(fleet) == before


def test_a_throttled_lambda_invocation_is_retried_by_the_state_machine(aws, fleet, fast_input):
    aws.faults.inject(
        "lambda",
        "Invoke",
        code="TooManyRequestsException",
        times=1,
        when=lambda call: call.params["FunctionName"] == "RunTaskFunction",
    )

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert retried_errors(run) == ["Lambda.TooManyRequestsException"]
    assert len(aws.ecs_sim.run_task_calls) == 1


def test_throttling_during_the_rollback_is_retried_and_everything_is_restored(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    aws.next_migration(exit_code=3)
    aws.faults.inject("ecs", "UpdateService", code="ThrottlingException", times=3, after=2)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed")
    assert cause_of(run)["rolled_back"] is True
    assert aws.faults.hits[("ecs", "UpdateService")] == 3
    assert state_of(fleet) == before


# A lasting refusal (AccessDenied: neither the SDK nor the state machine retries it) in each step after
# the scale-down. ``after`` lets through the calls the workflow makes before that step: describe makes one
# DescribeServices call; the scale-down one RegisterScalableTarget (fleet) and two UpdateService calls.
# ``after_scale_down`` fails a call only once the scale-down has begun (describe lists and reads the services'
# tasks too, to find the revision they serve). Once the migration was applied, the services are set to their
# new counts rather than rolled back.
LASTING = [
    pytest.param("ecs", "UpdateService", {"times": 1}, "DrainTimeout", id="scale-down-UpdateService"),
    pytest.param(
        "application-autoscaling",
        "RegisterScalableTarget",
        {"times": 1},
        "DrainTimeout",
        id="scale-down-RegisterScalableTarget",
    ),
    pytest.param(
        "ecs", "ListTasks", {"times": None, "after_scale_down": True}, "DrainTimeout", id="check-drained-ListTasks"
    ),
    pytest.param(
        "ecs",
        "DescribeTasks",
        {"times": None, "after_scale_down": True},
        "DrainTimeout",
        id="check-drained-DescribeTasks",
    ),
    pytest.param("ecs", "RunTask", {"times": None}, "TaskFailedToStart", id="run-task-RunTask"),
    pytest.param("ecs", "UpdateService", {"times": 1, "after": 2}, "ServiceNotStable", id="scale-up-UpdateService"),
    pytest.param(
        "application-autoscaling",
        "RegisterScalableTarget",
        {"times": 1, "after": 1},
        "ServiceNotStable",
        id="scale-up-RegisterScalableTarget",
    ),
    pytest.param(
        "ecs", "DescribeServices", {"times": None, "after": 1}, "ServiceNotStable", id="check-stable-DescribeServices"
    ),
]


@pytest.mark.parametrize(("service", "action", "fault", "error"), LASTING)
def test_a_lasting_failure_after_the_scale_down_rolls_everything_back(
    aws, fleet, fast_input, state_of, migration_tasks_left, service, action, fault, error
):
    before = state_of(fleet)
    fault = dict(fault)
    if fault.pop("one_off", False):  # only DescribeTasks on the migration task, not on the services' tasks
        fault["when"] = lambda call: all(aws.ecs_sim.is_one_off(arn) for arn in call.params.get("tasks", []))
    if fault.pop("after_scale_down", False):
        fault["when"] = lambda call: aws.faults.calls[("ecs", "UpdateService")] > 0
    aws.faults.inject(service, action, code="AccessDeniedException", message="not authorized", **fault)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", error), run.cause
    cause = cause_of(run)
    assert cause["rolled_back"] is (error != "ServiceNotStable")
    assert cause["underlying_error"] == "AccessDeniedException"
    assert "not authorized" in cause["message"] and "run the migration again" in cause["message"]
    assert follows(run, ROLLBACK, FAIL_STATE[error])
    assert SUCCEEDED not in run.states_entered
    assert aws.faults.hits[(service, action)] >= 1
    aws.faults.clear()  # the test's own look at the services must get through
    assert state_of(fleet) == before
    assert migration_tasks_left() == []


def test_a_migration_task_that_cannot_be_seen_is_stopped_and_nothing_is_restored_blindly(
    aws, fleet, fast_input, state_of, migration_tasks_left
):
    # GIVEN DescribeTasks on the migration task is refused for good: nobody can tell when it has STOPPED
    before = state_of(fleet)
    aws.faults.inject(
        "ecs",
        "DescribeTasks",
        code="AccessDeniedException",
        message="not authorized",
        times=None,
        when=lambda call: all(aws.ecs_sim.is_one_off(arn) for arn in call.params.get("tasks", [])),
    )

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    # THEN the task is stopped, and the rollback fails with the commands: stop, wait until STOPPED, restore
    assert (run.status, run.error) == ("FAILED", "RollbackFailed"), run.cause
    cause = cause_of(run)
    assert (cause["original_error"], cause["rolled_back"]) == ("MigrationFailed", False)
    assert "not authorized" in cause["message"] and "nothing was restored" in cause["message"]
    assert [c.split()[:4] for c in cause["commands"][:2]] == [
        ["aws", "ecs", "stop-task", "--cluster"],
        ["aws", "ecs", "wait", "tasks-stopped"],
    ]
    assert ROLLBACK not in run.states_entered
    assert migration_tasks_left() == []
    aws.faults.clear()
    restore_by_hand(aws, cause["commands"])
    assert state_of(fleet) == before


# A Lambda-level failure of a read-only step (the function timed out or ran out of memory: Step Functions
# reports Lambda.Unknown; or the Lambda client gave up: Lambda.ClientExecutionTimeoutException) is retried by
# the state machine: looking again is harmless, and rolling back a healthy migration over a hiccup is not.
READ_ONLY = [
    pytest.param("DescribeServiceFunction", DESCRIBE, id="describe"),
    pytest.param("CheckDrainedFunction", CHECK_DRAINED, id="drain-check"),
    pytest.param("PollTaskFunction", POLL_TASK, id="task-poll"),
    pytest.param("CheckStableFunction", CHECK_STABLE, id="stability-check"),
]


@pytest.mark.parametrize(("function", "state"), READ_ONLY)
def test_a_read_only_step_that_times_out_once_is_retried_and_the_migration_succeeds(
    aws, fleet, fast_input, state_of, function, state
):
    before = state_of(fleet)
    aws.lambdas.time_out(function, times=1)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert aws.lambdas.timed_out[function] == 1
    assert retried_errors(run) == ["Lambda.Unknown"]
    assert ROLLBACK not in run.states_entered
    assert state in run.states_entered
    assert state_of(fleet) == before
    assert len(aws.ecs_sim.run_task_calls) == 1


def test_a_read_only_step_whose_invocation_times_out_in_the_lambda_client_is_retried(aws, fleet, fast_input):
    # one step stands for the four: tests/unit/test_asl_graph.py checks that each retries this error
    aws.faults.inject(
        "lambda",
        "Invoke",
        code="ClientExecutionTimeoutException",
        message="Client execution did not complete before the specified timeout configuration",
        times=1,
        when=lambda call: call.params["FunctionName"] == "PollTaskFunction",
    )

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert retried_errors(run) == ["Lambda.ClientExecutionTimeoutException"]
    assert ROLLBACK not in run.states_entered


def test_a_step_that_changes_something_and_times_out_is_not_run_again_but_rolled_back(aws, fleet, fast_input, state_of):
    # Scaling down may have half happened: the rollback, not a blind retry, decides what to put back.
    before = state_of(fleet)
    aws.lambdas.time_out("ScaleDownFunction", times=1)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "DrainTimeout"), run.cause
    assert retried_errors(run) == ["Lambda.Unknown"]
    assert cause_of(run)["rolled_back"] is True
    assert state_of(fleet) == before


def test_the_rollbacks_stop_step_that_times_out_once_is_retried_and_everything_is_restored(
    aws, fleet, fast_input, state_of
):
    before = state_of(fleet)
    aws.next_migration(exit_code=3)
    aws.lambdas.time_out("StopMigrationTaskFunction", times=1)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    assert retried_errors(run) == ["MigrationFailed", "Lambda.Unknown"]  # the poll's error, then the stop step's
    assert cause_of(run)["rolled_back"] is True
    assert state_of(fleet) == before
