"""Step Functions' Redrive resumes a stopped execution mid-way, past the guard and its deadlines: every step that
would change or stop something refuses, and the execution fails RedriveNotSupported without rolling back."""

from __future__ import annotations

from emulator import Emulator, ExecutionRun
from workflow_support import FAIL_STATE, ROLLBACK, cause_of, last_state

STOP_BEFORE_ROLLBACK = "Stop the migration task before rolling back"
WATCHED = [
    ("ecs", "UpdateService"),
    ("application-autoscaling", "RegisterScalableTarget"),
    ("ecs", "RunTask"),
    ("ecs", "StopTask"),
]


def _entered_since_the_redrive(run: ExecutionRun) -> list[str]:
    redriven = next(i for i, event in enumerate(run.events) if event["type"] == "ExecutionRedriven")
    return [e["stateEnteredEventDetails"]["name"] for e in run.events[redriven:] if "stateEnteredEventDetails" in e]


def _changes(aws: Emulator) -> list[int]:
    return [aws.faults.calls[call] for call in WATCHED]


def test_an_aborted_execution_redriven_past_its_deadline_fails_changing_nothing(aws, fleet, fast_input, state_of):
    # GIVEN an execution stopped while its migration task runs, now long past its timeout_seconds: a redrive
    # would resume at the poll, which stops the task as timed out and rolls back beside whatever runs now
    before = state_of(fleet)
    aws.next_migration(runs_forever=True)
    arn = aws.start(fast_input(timeout_seconds=5), name="fleet-fleet-r2")
    aws.until(lambda: aws.ecs_sim.running_tasks(one_off=True), "the migration task starting")
    aws.client("stepfunctions").stop_execution(executionArn=arn)
    assert aws.wait(arn).status == "ABORTED"
    aws.clock.advance(60)
    left_behind, task, changes = state_of(fleet), aws.ecs_sim.running_tasks(one_off=True), _changes(aws)

    # WHEN it is redriven
    run = aws.wait(aws.redrive(arn))

    # THEN it fails RedriveNotSupported straight away: no rollback, no StopTask, nothing changed
    assert (run.status, run.error) == ("FAILED", "RedriveNotSupported"), run.cause
    cause = cause_of(run)
    assert "New execution" in cause["message"] and cause["rolled_back"] is False and cause["redrive_count"] == 1
    entered = _entered_since_the_redrive(run)
    assert ROLLBACK not in entered and STOP_BEFORE_ROLLBACK not in entered
    assert last_state(run) == FAIL_STATE["RedriveNotSupported"]
    assert state_of(fleet) == left_behind
    assert aws.ecs_sim.running_tasks(one_off=True) == task
    assert _changes(aws) == changes

    # AND a new execution with the same input, once the leftover task has stopped, puts back what was there before
    aws.client("ecs").stop_task(cluster=fleet.cluster, task=task[0], reason="stopped by an operator")
    aws.clock.advance(60)
    assert aws.ecs_sim.running_tasks(one_off=True) == []
    again = aws.run(fast_input(timeout_seconds=5), name="fleet-fleet-r2-a2")
    assert again.status == "SUCCEEDED", again.cause
    assert again.output["baseline_from"] == "fleet-fleet-r2"
    assert state_of(fleet) == before


def test_a_failed_execution_redriven_fails_again_in_its_fail_state(aws, fleet, fast_input, state_of):
    # GIVEN a migration that failed and was rolled back
    aws.next_migration(exit_code=1)
    failed = aws.run(fast_input(), name="fleet-fleet-r2")
    assert (failed.status, failed.error) == ("FAILED", "MigrationFailed")
    after, changes = state_of(fleet), _changes(aws)

    # WHEN it is redriven
    run = aws.wait(aws.redrive(failed.arn))

    # THEN only its Fail state runs again: the same error and cause, nothing changed
    assert (run.status, run.error, run.cause) == ("FAILED", "MigrationFailed", failed.cause)
    assert _entered_since_the_redrive(run) == [FAIL_STATE["MigrationFailed"]]
    assert state_of(fleet) == after
    assert _changes(aws) == changes
