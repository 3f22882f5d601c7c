"""The rollback ("Stop the migration task before rolling back", "Restore the services, or roll forward if the
migration was applied"): handlers stop_migration_task.py and rollback.py, phase rollback.py.

Each handler is called directly with a fake Lambda context on the emulator, whose clock the tests step; the
fixtures that bring a migration to each step are in conftest.py.
"""

from __future__ import annotations

import json

import pytest
from step_support import caught

import rollback
import run_task
import stop_migration_task
from emulator import SEEDED_SUSPENDED_STATE
from fleet_migration.errors import ResourceNotFound, RollbackFailed


def test_rollback_restores_every_captured_value_and_reports_the_original_error(emu, drained, roll_back, state_of):
    before = state_of()
    state = drained()

    failure = roll_back(state, caught("MigrationFailed", "exited with 3.", exit_code=3))

    assert state_of() == before
    cause = json.loads(failure["cause"])
    assert failure["error"] == "MigrationFailed"
    assert cause["rolled_back"] is True and cause["exit_code"] == 3
    assert cause["message"].startswith("exited with 3. The services were rolled back")
    assert [(s["name"], s["desired_count"]) for s in cause["services"]] == [("fleet", 2), ("fleet-vuln-processing", 1)]


def test_rollback_is_safe_to_run_twice(emu, drained, roll_back, state_of):
    before = state_of()
    state, error = drained(), caught("DrainTimeout", "did not drain")

    first = roll_back(state, error)
    second = roll_back(state, error)

    assert first == second
    assert state_of() == before


def test_rollback_stops_a_migration_task_that_may_still_run(emu, started, roll_back):
    emu.next_migration(runs_forever=True)
    state = started()

    roll_back(state, caught("MigrationTimeout", "still running"))

    assert emu.ecs_sim.running_tasks(one_off=True) == []


def test_rollback_stops_a_migration_task_whose_start_was_never_reported(emu, drained, lambda_context, roll_back):
    # GIVEN RunTask started the task, but its step failed before the state document learnt of it
    emu.next_migration(runs_forever=True)
    state = drained()
    run_task.lambda_handler(dict(state), lambda_context)
    assert len(emu.ecs_sim.running_tasks(one_off=True)) == 1

    # WHEN the rollback runs on the document without the task
    roll_back(state, caught("TaskFailedToStart", "lost"))

    # THEN the task found by its startedBy and group is stopped
    assert emu.ecs_sim.running_tasks(one_off=True) == []


def test_rollback_stops_an_unreported_migration_task_that_ecs_does_not_show_yet(
    emu, drained, lambda_context, roll_back
):
    # GIVEN RunTask started the task, its step failed before reporting it, and ECS does not list it for 10 s
    emu.ecs_sim.visibility_delay_seconds = 10
    emu.next_migration(runs_forever=True)
    state = drained()
    run_task.lambda_handler(dict(state), lambda_context)

    # WHEN the rollback runs on the document without the task THEN it looks again until it finds and stops it
    roll_back(state, {"Error": "Lambda.Unknown", "Cause": "the run-task step timed out"})

    assert emu.ecs_sim.running_tasks(one_off=True) == []


def test_rollback_after_runtask_refused_does_not_wait_for_a_task(emu, drained, lambda_context):
    state = stop_migration_task.lambda_handler(
        {**drained(), "caught": caught("TaskFailedToStart", "no capacity", failures=[{"reason": "RESOURCE:MEMORY"}])},
        lambda_context,
    )

    assert state["stopping"]["done"] is True


def test_a_stopped_migration_task_is_waited_for_until_it_is_stopped(emu, started, lambda_context, state_of):
    # GIVEN a migration task that ignores SIGTERM: StopTask ends it only with SIGKILL, after the 30 s stop timeout
    emu.next_migration(runs_forever=True, exits_on_sigterm_after=None)
    state = {**started(), "caught": caught("MigrationTimeout", "still running")}
    emu.clock.advance(1)  # it runs
    held = state_of()

    # WHEN the rollback's first step stops it
    state = stop_migration_task.lambda_handler(state, lambda_context)
    emu.clock.advance(29)
    state = stop_migration_task.lambda_handler(state, lambda_context)

    # THEN it is still stopping, nothing is restored yet, and the step asks to look again later
    assert state["stopping"]["done"] is False and state["stopping"]["next_poll_seconds"] == 1
    assert emu.ecs_sim.running_tasks(one_off=True) == [state["task"]["arn"]]
    assert state_of() == held
    emu.clock.advance(2)
    assert stop_migration_task.lambda_handler(state, lambda_context)["stopping"]["done"] is True


def test_rollback_refuses_to_restore_before_the_migration_task_has_stopped(emu, started, lambda_context, state_of):
    emu.next_migration(runs_forever=True, exits_on_sigterm_after=None)
    state = started()
    emu.clock.advance(1)  # it runs
    state = stop_migration_task.lambda_handler({**state, "caught": caught("MigrationTimeout", "slow")}, lambda_context)
    held = state_of()

    with pytest.raises(Exception, match="before the migration task was STOPPED"):
        rollback.lambda_handler(state, lambda_context)
    assert state_of() == held


def test_a_migration_task_that_never_stops_is_rollback_failed_with_nothing_restored(
    emu, started, lambda_context, state_of
):
    # GIVEN an EC2 container agent whose stop timeout is an hour, and a task that ignores SIGTERM
    emu.next_migration(runs_forever=True, exits_on_sigterm_after=None, stop_timeout=3600)
    state = started()
    emu.clock.advance(1)  # it runs
    state = stop_migration_task.lambda_handler({**state, "caught": caught("MigrationTimeout", "slow")}, lambda_context)
    held = state_of()
    emu.clock.advance(301)

    with pytest.raises(RollbackFailed) as failed:
        stop_migration_task.lambda_handler(state, lambda_context)

    details = failed.value.details
    assert (details["original_error"], details["rolled_back"]) == ("MigrationTimeout", False)
    assert details["commands"][1] == f"aws ecs wait tasks-stopped --cluster fleet --tasks {state['task']['arn']}"
    assert "aws ecs update-service --cluster fleet --service fleet --desired-count 2" in details["commands"]
    assert "nothing was restored" in failed.value.message
    assert state_of() == held


def test_rollback_after_the_migration_was_applied_sets_the_new_counts(emu, migrated, roll_back, state_of):
    state = migrated(desired_count=3, max_capacity=6)

    failure = roll_back(state, caught("ServiceNotStable", "could not scale up"))

    cause = json.loads(failure["cause"])
    assert (failure["error"], cause["rolled_back"]) == ("ServiceNotStable", False)
    fleet = state_of()["fleet"]
    assert (fleet["desired_count"], fleet["min_capacity"], fleet["max_capacity"]) == (3, 2, 6)
    assert fleet["suspended"] == SEEDED_SUSPENDED_STATE


def test_the_autoscaling_minimum_after_the_migration_is_min_capacity(emu, migrated, roll_back, state_of):
    # GIVEN the seeded minimum 2, and min_capacity 3 in the input
    state = migrated(min_capacity=3, desired_count=3)

    roll_back(state, caught("ServiceNotStable", "could not scale up"))

    fleet = state_of()["fleet"]
    assert (fleet["desired_count"], fleet["min_capacity"], fleet["max_capacity"]) == (3, 3, 10)


def test_rollback_before_the_migration_applied_puts_back_the_minimum_found(emu, started, roll_back, state_of):
    state = started(min_capacity=3, desired_count=3)

    roll_back(state, caught("MigrationFailed", "exit 1"))

    assert state_of()["fleet"]["min_capacity"] == 2


def test_rollback_after_a_failed_poll_of_a_task_that_exited_0_sets_the_new_counts(emu, started, roll_back, state_of):
    # GIVEN the poll step failed (a Lambda error) after the migration task had exited 0
    state = started(desired_count=3)
    emu.clock.advance(10)

    # WHEN the rollback runs on the poll step's input, where the task is not yet known to be done
    failure = roll_back(state, {"Error": "Lambda.ServiceException", "Cause": "Lambda is unavailable"})

    # THEN the migration counts as applied: the services go to their new counts, nothing is rolled back
    cause = json.loads(failure["cause"])
    assert (failure["error"], cause["rolled_back"]) == ("ServiceNotStable", False)
    assert state_of()["fleet"]["desired_count"] == 3


def test_rollback_after_a_failed_poll_of_a_task_that_exited_non_zero_is_a_migration_failure(
    emu, started, roll_back, state_of
):
    before = state_of()
    emu.next_migration(exit_code=2)
    state = started(desired_count=3)
    emu.clock.advance(10)

    failure = roll_back(state, {"Error": "Lambda.ServiceException", "Cause": "Lambda is unavailable"})

    assert (failure["error"], json.loads(failure["cause"])["rolled_back"]) == ("MigrationFailed", True)
    assert state_of() == before


def test_errors_before_anything_changed_say_nothing_was_rolled_back(describe):
    with pytest.raises(ResourceNotFound) as failed:
        describe(ecs_service="no-such-service")

    assert json.loads(str(failed.value))["rolled_back"] is False


def test_a_rollback_that_cannot_restore_lists_the_commands_to_finish_by_hand(emu, drained, roll_back):
    state = drained()
    emu.faults.inject("ecs", "UpdateService", code="AccessDeniedException", message="not allowed", times=None)

    with pytest.raises(RollbackFailed) as failed:
        roll_back(state, caught("MigrationFailed", "exited with 3"))

    details = failed.value.details
    assert (details["original_error"], details["rolled_back"]) == ("MigrationFailed", False)
    assert "aws ecs update-service --cluster fleet --service fleet --desired-count 2" in details["commands"]
    assert "not allowed" in failed.value.message
