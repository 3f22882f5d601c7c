"""One execution per failure row of docs/errors.md: the right error, an actionable JSON cause, and
everything put back (or, for ServiceNotStable and RollbackFailed, exactly what the contract says)."""

from __future__ import annotations

import pytest

from emulator import Emulator
from workflow_support import (
    CHECK_STABLE,
    DESCRIBE,
    FAIL_STATE,
    POLL_TASK,
    ROLLBACK,
    RUN_TASK,
    SCALE_DOWN,
    SCALE_UP,
    cause_of,
    follows,
    last_state,
    restore_by_hand,
    retried_errors,
)


def assert_rolled_back(run, error: str, before: dict, after: dict) -> dict:
    """The execution failed with ``error`` after a rollback that restored ``before`` exactly."""
    assert (run.status, run.error) == ("FAILED", error), run.cause
    cause = cause_of(run)
    assert cause["rolled_back"] is True
    assert "The services were rolled back to what they were before: fleet to 2 task(s)" in cause["message"]
    assert [s["name"] for s in cause["services"]] == list(before)
    assert follows(run, ROLLBACK, FAIL_STATE[error])
    assert last_state(run) == FAIL_STATE[error]
    assert after == before
    return cause


def test_services_that_do_not_drain_in_time_are_a_drain_timeout_and_restored(
    aws, fleet, fast_input, state_of, migration_tasks_left
):
    before = state_of(fleet)
    aws.service_behaviour("fleet").stop_seconds = 1e9

    run = aws.run(fast_input(drain_timeout_seconds=3), name="fleet-fleet-r2")

    cause = assert_rolled_back(run, "DrainTimeout", before, state_of(fleet))
    assert "drain_timeout_seconds=3" in cause["message"]
    assert "fleet: 0 running or starting, 2 stopping" in cause["message"]
    assert RUN_TASK not in run.states_entered
    assert aws.ecs_sim.run_task_calls == []
    assert migration_tasks_left() == []


def test_runtask_failures_are_task_failed_to_start_and_restored(aws, fleet, fast_input, state_of, migration_tasks_left):
    before = state_of(fleet)
    aws.ecs_sim.run_task_failures.append(
        {"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/fleet/1", "reason": "RESOURCE:MEMORY"}
    )

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    cause = assert_rolled_back(run, "TaskFailedToStart", before, state_of(fleet))
    assert "RESOURCE:MEMORY" in cause["message"]
    assert cause["failures"] == [
        {"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/fleet/1", "reason": "RESOURCE:MEMORY"}
    ]
    assert POLL_TASK not in run.states_entered
    assert migration_tasks_left() == []


def test_a_task_that_never_runs_the_command_is_task_failed_to_start_and_restored(
    aws, fleet, fast_input, state_of, migration_tasks_left
):
    before = state_of(fleet)
    aws.next_migration(fails_to_start=True, stopped_reason="CannotPullContainerError: pull access denied")

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    cause = assert_rolled_back(run, "TaskFailedToStart", before, state_of(fleet))
    assert "CannotPullContainerError" in cause["message"]
    assert cause["stopped_reason"] == "CannotPullContainerError: pull access denied"
    assert cause["task_arn"].startswith("arn:aws:ecs:")
    assert "exit_code" not in cause
    assert SCALE_UP not in run.states_entered
    assert migration_tasks_left() == []


@pytest.mark.parametrize("exit_code", [1, 2, 3, 137])
def test_a_migration_that_exits_non_zero_is_migration_failed_and_restored(
    aws, fleet, fast_input, state_of, migration_tasks_left, exit_code
):
    before = state_of(fleet)
    aws.next_migration(exit_code=exit_code)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    cause = assert_rolled_back(run, "MigrationFailed", before, state_of(fleet))
    assert (cause["exit_code"], cause["stop_code"]) == (exit_code, "EssentialContainerExited")
    assert cause["task_arn"].startswith("arn:aws:ecs:")
    assert cause["stopped_reason"] == "Essential container in task exited"
    assert f"exited with code {exit_code};" in cause["message"] and "logs" in cause["message"]
    assert SCALE_UP not in run.states_entered
    assert migration_tasks_left() == []


def test_a_migration_that_exits_0_after_a_spot_interruption_is_migration_failed_and_restored(
    aws, fleet, fast_input, state_of
):
    # GIVEN Fargate Spot reclaims the task mid-migration, and the process exits 0 on SIGTERM
    before = state_of(fleet)
    aws.next_migration(interruption="SpotInterruption", run_seconds=1, exit_code_on_sigterm=0)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    cause = assert_rolled_back(run, "MigrationFailed", before, state_of(fleet))
    assert (cause["exit_code"], cause["stop_code"]) == (0, "SpotInterruption")
    assert "SpotInterruption" in cause["message"]
    assert SCALE_UP not in run.states_entered


def test_a_migration_task_ecs_does_not_show_at_first_is_followed_to_its_end(aws, fleet, fast_input):
    # GIVEN DescribeTasks and ListTasks do not show the new task for 10 s (eventual consistency after RunTask)
    aws.ecs_sim.visibility_delay_seconds = 10

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", run.cause
    assert run.output["exit_code"] == 0


def test_after_a_timeout_the_services_come_back_only_once_the_stopped_task_has_stopped():
    # GIVEN a migration that outlives its timeout and ignores SIGTERM: StopTask ends it with SIGKILL after 30 s
    with Emulator(simulated=True) as aws:
        fleet = aws.seed_fleet()
        aws.next_migration(runs_forever=True, exits_on_sigterm_after=None)

        run = aws.run(fleet.migration_input(poll_interval_seconds=5, timeout_seconds=2), name="fleet-fleet-r2")

        assert (run.status, run.error) == ("FAILED", "MigrationTimeout"), run.cause
        (task,) = [moment for moment in aws.ecs_sim.task_moments() if moment["service"] is None]
        restores = [at for at, call, _ in aws.ecs_sim.call_log if call == "UpdateService" and at > task["created"]]
        assert restores and min(restores) >= task["stopped_at"]
        assert follows(run, "Wait for the migration task to stop", ROLLBACK)
        assert cause_of(run)["rolled_back"] is True


def test_a_migration_still_running_after_the_timeout_is_stopped_and_restored(
    aws, fleet, fast_input, state_of, migration_tasks_left
):
    before = state_of(fleet)
    aws.next_migration(runs_forever=True)

    run = aws.run(fast_input(timeout_seconds=2), name="fleet-fleet-r2")

    cause = assert_rolled_back(run, "MigrationTimeout", before, state_of(fleet))
    assert "timeout_seconds=2" in cause["message"] and "was stopped" in cause["message"]
    described = aws.client("ecs").describe_tasks(cluster="fleet", tasks=[cause["task_arn"]])["tasks"][0]
    assert described["desiredStatus"] == "STOPPED"
    assert migration_tasks_left() == []


def test_services_that_do_not_come_back_in_time_are_not_stable_with_the_migration_kept(
    aws, fleet, fast_input, state_of
):
    # GIVEN the tasks started after the scale-down never start
    before = state_of(fleet)
    aws.service_behaviour("fleet").healthy = False

    run = aws.run(fast_input(stabilize_timeout_seconds=3), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "ServiceNotStable")
    cause = cause_of(run)
    assert cause["rolled_back"] is False
    assert cause["exit_code"] == 0 and cause["task_arn"].startswith("arn:aws:ecs:")
    assert cause["services"] == [
        {"name": "fleet", "desired_count": 2},
        {"name": "fleet-vuln-processing", "desired_count": 1},
    ]
    assert "stabilize_timeout_seconds=3" in cause["message"] and "fleet: 0 of 2 running" in cause["message"]
    assert ROLLBACK not in run.states_entered
    assert follows(run, CHECK_STABLE, FAIL_STATE["ServiceNotStable"])
    # the migration is applied and the services are set to the requested count, autoscaling included
    assert state_of(fleet) == before


def test_a_rollback_that_cannot_restore_is_rollback_failed_with_the_commands_to_finish(
    aws, fleet, fast_input, state_of
):
    # GIVEN the migration fails, and every UpdateService after the scale-down's two is refused
    before = state_of(fleet)
    aws.next_migration(exit_code=3)
    aws.faults.inject(
        "ecs", "UpdateService", code="AccessDeniedException", message="not authorized", times=None, after=2
    )

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "RollbackFailed")
    cause = cause_of(run)
    assert cause["rolled_back"] is False
    assert cause["original_error"] == "MigrationFailed"
    assert cause["original_cause"]["exit_code"] == 3
    assert "not authorized" in cause["message"] and "by hand" in cause["message"]
    assert retried_errors(run).count("RollbackFailed") == 3  # the rollback was retried before giving up
    assert last_state(run) == FAIL_STATE["RollbackFailed"]
    # WHEN an operator runs the listed commands THEN everything is back
    aws.faults.clear()
    restore_by_hand(aws, cause["commands"])
    assert state_of(fleet) == before


def test_a_rollback_step_that_cannot_run_at_all_fails_with_the_commands_prepared_up_front(
    aws, fleet, fast_input, state_of
):
    before = state_of(fleet)
    aws.next_migration(exit_code=3)
    aws.faults.inject(
        "lambda",
        "Invoke",
        code="ServiceException",
        message="Lambda is down",
        times=None,
        when=lambda call: call.params["FunctionName"] == "RollbackFunction",
    )

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "RollbackFailed")
    cause = cause_of(run)
    assert cause["rolled_back"] is False
    assert "could not run" in cause["message"]
    assert retried_errors(run).count("Lambda.ServiceException") >= 2
    assert last_state(run) == "The rollback could not run"
    aws.faults.clear()
    restore_by_hand(aws, cause["commands"])
    assert state_of(fleet) == before


def test_a_failure_in_the_scale_down_itself_restores_what_was_already_changed(aws, fleet, fast_input, state_of):
    # GIVEN fleet is scaled down (autoscaling held, count 0) and then ECS refuses the vuln service's update
    before = state_of(fleet)
    aws.faults.inject("ecs", "UpdateService", code="AccessDeniedException", message="not authorized", after=1)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    cause = assert_rolled_back(run, "DrainTimeout", before, state_of(fleet))
    assert cause["underlying_error"] == "AccessDeniedException"
    assert "could not be scaled down" in cause["message"] and "not authorized" in cause["message"]
    assert [name for name in run.states_entered if name in (DESCRIBE, SCALE_DOWN, RUN_TASK)] == [DESCRIBE, SCALE_DOWN]
