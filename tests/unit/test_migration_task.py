"""The migration task ("Run the migration task", "Check the migration task"): handlers run_task.py and
check_migration_task.py, phase migration_task.py.

Each handler is called directly with a fake Lambda context on the emulator, whose clock the tests step; the
fixtures that bring a migration to each step are in conftest.py.
"""

from __future__ import annotations

import pytest

import check_migration_task
import run_task
from fleet_migration.errors import MigrationFailed, MigrationTimeout, TaskFailedToStart
from fleet_migration.migration_task import VISIBILITY_GRACE_SECONDS, client_token


def test_the_migration_task_runs_the_new_revision_with_the_command_on_the_container(emu, drained, lambda_context):
    state = run_task.lambda_handler(drained(command=["fleet", "prepare", "db"]), lambda_context)

    (call,) = emu.ecs_sim.run_task_calls
    assert call["taskDefinition"].endswith(":task-definition/fleet:2")
    assert call["overrides"] == {"containerOverrides": [{"name": "fleet", "command": ["fleet", "prepare", "db"]}]}
    assert call["clientToken"] == client_token(state["execution"]["id"])
    assert emu.ecs_sim.running_tasks(one_off=True) == [state["task"]["arn"]]


def test_a_retried_run_task_step_does_not_start_a_second_task(emu, drained, lambda_context):
    state = drained()

    first = run_task.lambda_handler(dict(state), lambda_context)
    again = run_task.lambda_handler(dict(state), lambda_context)

    assert first["task"]["arn"] == again["task"]["arn"]
    assert len(emu.ecs_sim.running_tasks(one_off=True)) == 1


def test_runtask_failures_are_task_failed_to_start(emu, drained, lambda_context):
    emu.ecs_sim.run_task_failures.append({"arn": "arn:aws:ecs:us-east-1:123456789012:task/x", "reason": "RESOURCE:CPU"})

    with pytest.raises(TaskFailedToStart, match="RESOURCE:CPU"):
        run_task.lambda_handler(drained(), lambda_context)


def test_a_running_migration_task_is_polled_again_after_the_interval(emu, started, lambda_context):
    emu.next_migration(run_seconds=60)
    state = started()
    emu.clock.advance(5)

    state = check_migration_task.lambda_handler(state, lambda_context)

    assert state["task"]["wait"]["done"] is False
    assert state["task"]["last_status"] == "RUNNING"
    assert state["task"]["wait"]["next_poll_seconds"] == 1


def test_a_migration_task_that_exited_0_is_done(migrated):
    task = migrated()["task"]

    assert (task["wait"]["done"], task["exit_code"], task["last_status"]) == (True, 0, "STOPPED")


def test_a_non_zero_exit_is_a_migration_failure_with_the_exit_code(emu, started, lambda_context):
    emu.next_migration(exit_code=3)
    state = started()
    emu.clock.advance(10)

    with pytest.raises(MigrationFailed) as failed:
        check_migration_task.lambda_handler(state, lambda_context)

    assert failed.value.details == {
        "task_arn": state["task"]["arn"],
        "exit_code": 3,
        "stop_code": "EssentialContainerExited",
        "stopped_reason": "Essential container in task exited",
    }
    assert "exited with code 3" in failed.value.message


def test_a_task_that_never_ran_the_command_failed_to_start(emu, started, lambda_context):
    emu.next_migration(fails_to_start=True, stopped_reason="CannotPullContainerError: pull access denied")
    state = started()
    emu.clock.advance(10)

    with pytest.raises(TaskFailedToStart, match="CannotPullContainerError") as failed:
        check_migration_task.lambda_handler(state, lambda_context)
    assert failed.value.details["task_arn"] == state["task"]["arn"]


def test_a_task_stopped_before_its_container_exited_failed_to_start(emu, started, lambda_context):
    # GIVEN someone stops the migration task while it is still starting: it has no exit code
    emu.next_migration(start_seconds=60)
    state = started()
    emu.client("ecs").stop_task(cluster="fleet", task=state["task"]["arn"], reason="stopped by an operator")
    emu.clock.advance(5)

    with pytest.raises(TaskFailedToStart, match="stopped by an operator") as failed:
        check_migration_task.lambda_handler(state, lambda_context)
    assert "exit_code" not in failed.value.details


def test_a_task_still_running_after_the_timeout_is_stopped_and_a_migration_timeout(emu, started, lambda_context):
    emu.next_migration(runs_forever=True)
    state = started(timeout_seconds=60)
    emu.clock.advance(61)

    with pytest.raises(MigrationTimeout, match="timeout_seconds=60"):
        check_migration_task.lambda_handler(state, lambda_context)

    described = emu.client("ecs").describe_tasks(cluster="fleet", tasks=[state["task"]["arn"]])["tasks"][0]
    assert described["desiredStatus"] == "STOPPED"


def test_a_migration_task_ecs_does_not_show_yet_is_polled_again(emu, drained, lambda_context):
    # GIVEN DescribeTasks does not show the new task for 20 s (eventual consistency after RunTask)
    emu.ecs_sim.visibility_delay_seconds = 20
    emu.next_migration(run_seconds=60)
    state = run_task.lambda_handler(drained(), lambda_context)
    emu.clock.advance(5)

    state = check_migration_task.lambda_handler(state, lambda_context)

    assert state["task"]["wait"]["done"] is False and state["task"]["wait"]["next_poll_seconds"] == 1
    emu.clock.advance(20)
    assert check_migration_task.lambda_handler(state, lambda_context)["task"]["last_status"] == "RUNNING"


def test_a_migration_task_ecs_never_shows_is_task_failed_to_start_after_the_grace_period(emu, drained, lambda_context):
    emu.ecs_sim.visibility_delay_seconds = 1e9
    state = run_task.lambda_handler(drained(), lambda_context)
    emu.clock.advance(VISIBILITY_GRACE_SECONDS)

    with pytest.raises(TaskFailedToStart, match="still does not show") as failed:
        check_migration_task.lambda_handler(state, lambda_context)
    assert failed.value.details["task_arn"] == state["task"]["arn"]


@pytest.mark.parametrize("interruption", ["SpotInterruption", "TerminationNotice", "ServiceSchedulerInitiated"])
def test_a_migration_that_exits_0_after_ecs_interrupted_it_is_a_migration_failure(
    emu, started, lambda_context, interruption
):
    # GIVEN ECS stops the task mid-migration and the process handles SIGTERM by exiting 0
    emu.next_migration(interruption=interruption, run_seconds=2, exit_code_on_sigterm=0)
    state = started()
    emu.clock.advance(10)

    with pytest.raises(MigrationFailed) as failed:
        check_migration_task.lambda_handler(state, lambda_context)

    assert (failed.value.details["exit_code"], failed.value.details["stop_code"]) == (0, interruption)
    assert interruption in failed.value.message and "may not have finished" in failed.value.message


def test_a_migration_that_exits_0_after_someone_stopped_it_is_a_migration_failure(emu, started, lambda_context):
    emu.next_migration(runs_forever=True, exit_code_on_sigterm=0)
    state = started()
    emu.clock.advance(1)
    emu.client("ecs").stop_task(cluster="fleet", task=state["task"]["arn"], reason="stopped by an operator")
    emu.clock.advance(5)

    with pytest.raises(MigrationFailed, match="stopped by an operator") as failed:
        check_migration_task.lambda_handler(state, lambda_context)
    assert (failed.value.details["exit_code"], failed.value.details["stop_code"]) == (0, "UserInitiated")


def test_a_containers_own_reason_is_in_the_failure(emu, started, lambda_context):
    emu.next_migration(exit_code=137, container_reason="OutOfMemoryError: Container killed due to memory usage")
    state = started()
    emu.clock.advance(10)

    with pytest.raises(MigrationFailed, match="OutOfMemoryError") as failed:
        check_migration_task.lambda_handler(state, lambda_context)
    assert failed.value.details["container_reasons"] == {
        "fleet": "OutOfMemoryError: Container killed due to memory usage"
    }
