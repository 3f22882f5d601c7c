"""Each step's handler, called directly with a fake Lambda context on the emulator.

The emulator's clock is stepped here: the tests move it (``emu.clock.advance``), so
"the tasks have stopped" or "the deadline has passed" costs no waiting.
"""

from __future__ import annotations

import json

import pytest

import check_drained
import check_migration_task
import check_stable
import describe_service
import rollback
import run_task
import scale_down
import scale_up
import stop_migration_task
from emulator import SEEDED_SUSPENDED_STATE
from emulator.fleet_load_balancer import FLEET_TARGET_GROUP
from fleet_migration.errors import (
    DrainTimeout,
    InvalidInput,
    MigrationFailed,
    MigrationTimeout,
    ResourceNotFound,
    RollbackFailed,
    ServiceNotStable,
    TaskFailedToStart,
)
from fleet_migration.executions import execution_name
from fleet_migration.migration_task import VISIBILITY_GRACE_SECONDS, client_token

HELD = {"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True, "ScheduledScalingSuspended": True}
FREE = SEEDED_SUSPENDED_STATE  # as seeded: scheduled scaling suspended by its owner, dynamic scaling on
SERVICES = ("fleet", "fleet-vuln-processing")


@pytest.fixture
def state_of(emu):
    return lambda: {name: emu.service_state("fleet", name) for name in SERVICES}


@pytest.fixture
def describe(emu, deployment, execution, lambda_context):
    """``describe(**input_overrides)``: the first step's output for a valid input."""

    def call(**overrides):
        document = deployment.migration_input(poll_interval_seconds=1, **overrides)
        # named as the client and the trigger name it: the describe step refuses a name of another migration
        name = execution_name(document["ecs_cluster"], document["ecs_service"], document["task_definition_revision"])
        event = {"input": document, "execution": execution(name)}
        return describe_service.lambda_handler(event, lambda_context)

    return call


@pytest.fixture
def drained(emu, describe, lambda_context):
    """``drained(**input_overrides)``: the state document once the services have drained."""

    def call(**overrides):
        state = scale_down.lambda_handler(describe(**overrides), lambda_context)
        emu.clock.advance(5 + emu.target_group.deregistration_delay)  # Fleet's tasks drain from the load balancer first
        state = check_drained.lambda_handler(state, lambda_context)
        assert state["drain"]["done"]
        return state

    return call


@pytest.fixture
def started(emu, drained, lambda_context):
    """``started(**input_overrides)``: the state document once the migration task has been started."""
    return lambda **overrides: run_task.lambda_handler(drained(**overrides), lambda_context)


@pytest.fixture
def migrated(emu, started, lambda_context):
    """``migrated(**input_overrides)``: the state document once the migration task exited 0."""

    def call(**overrides):
        state = started(**overrides)
        emu.clock.advance(10)
        state = check_migration_task.lambda_handler(state, lambda_context)
        assert state["task"]["wait"]["done"]
        return state

    return call


def caught(error: str, message: str, **details) -> dict:
    payload = json.dumps({"message": message, **details})
    return {"Error": error, "Cause": json.dumps({"errorType": error, "errorMessage": payload})}


@pytest.fixture
def roll_back(emu, lambda_context):
    """``roll_back(state, caught)``: the rollback path as the state machine runs it: stop the migration task,
    wait (on the emulator's clock) until it is STOPPED, then restore. Returns the rollback's ``failure``."""

    def run(state: dict, error: dict) -> dict:
        state = stop_migration_task.lambda_handler({**state, "caught": error}, lambda_context)
        while not state["stopping"]["done"]:
            emu.clock.advance(state["stopping"]["next_poll_seconds"])
            state = stop_migration_task.lambda_handler(state, lambda_context)
        return rollback.lambda_handler(state, lambda_context)["failure"]

    return run


# -- describe -------------------------------------------------------------------------------
def test_describe_captures_what_rollback_restores_and_changes_nothing(describe, state_of):
    before = state_of()

    state = describe()

    fleet, vuln = state["services"]
    assert (fleet["name"], fleet["desired_count"], fleet["target_desired_count"]) == ("fleet", 2, 2)
    assert fleet["scalable_target"] == {
        "resource_id": "service/fleet/fleet",
        "min_capacity": 2,
        "max_capacity": 10,
        "suspended": {
            "dynamic_scaling_in_suspended": False,
            "dynamic_scaling_out_suspended": False,
            "scheduled_scaling_suspended": True,
        },
    }
    assert (vuln["name"], vuln["desired_count"], vuln.get("scalable_target")) == ("fleet-vuln-processing", 1, None)
    assert state["task_definition_arn"].endswith(":task-definition/fleet:2")
    assert state_of() == before


def test_describe_prepares_the_manual_restore_commands_before_anything_changes(describe):
    cause = json.loads(describe()["manual_restore_cause"])

    assert cause["rolled_back"] is False
    assert "aws ecs update-service --cluster fleet --service fleet --desired-count 2" in cause["commands"]


def test_describe_plans_the_requested_count_and_maximum_for_the_main_service_only(describe):
    fleet, vuln = describe(desired_count=3, max_capacity=5)["services"]

    assert (fleet["target_desired_count"], fleet["target_max_capacity"]) == (3, 5)
    assert (vuln["target_desired_count"], vuln.get("target_max_capacity")) == (1, None)


def test_describe_plans_a_lower_count_when_the_new_maximum_is_below_the_current_one(describe):
    fleet, _ = describe(max_capacity=1)["services"]

    assert fleet["target_desired_count"] == 1


def test_describe_refuses_a_desired_count_autoscaling_would_undo(describe, state_of):
    before = state_of()

    with pytest.raises(InvalidInput) as refused:
        describe(desired_count=12)

    assert refused.value.details["fields"] == ["desired_count"]
    assert "max_capacity" in refused.value.message
    assert state_of() == before


def test_describe_reports_an_aws_refusal_as_not_found_and_changes_nothing(emu, describe, state_of):
    before = state_of()
    emu.faults.inject("ecs", "DescribeTaskDefinition", code="AccessDeniedException", message="not allowed")

    with pytest.raises(ResourceNotFound) as refused:
        describe()

    assert refused.value.details["aws_error"] == "AccessDeniedException"
    assert "DescribeTaskDefinition" in refused.value.message and "Nothing was changed" in refused.value.message
    assert state_of() == before


# -- scale down and drain ---------------------------------------------------------------------
def test_scale_down_holds_autoscaling_and_lowers_every_service_to_capacity_during_migration(
    emu, describe, lambda_context, state_of
):
    scale_down.lambda_handler(describe(capacity_during_migration=1), lambda_context)

    assert state_of() == {
        "fleet": {"desired_count": 1, "min_capacity": 1, "max_capacity": 1, "suspended": HELD},
        "fleet-vuln-processing": {"desired_count": 1},
    }


def test_scale_down_holds_autoscaling_before_it_lowers_the_count(emu, describe, lambda_context):
    # GIVEN ECS refuses the count change
    emu.faults.inject("ecs", "UpdateService", code="AccessDeniedException")

    # WHEN scaling down THEN autoscaling was already held, so it could not undo a scale-down
    with pytest.raises(Exception, match="AccessDenied"):
        scale_down.lambda_handler(describe(), lambda_context)
    assert emu.service_state("fleet", "fleet")["suspended"] == HELD


def test_the_services_are_not_drained_while_their_tasks_are_stopping(emu, describe, lambda_context):
    emu.service_behaviour("fleet").stop_seconds = 60
    state = scale_down.lambda_handler(describe(), lambda_context)

    state = check_drained.lambda_handler(state, lambda_context)

    assert state["drain"]["done"] is False
    assert state["drain"]["next_poll_seconds"] == 1
    assert "stopping" in state["drain"]["detail"]


def test_the_services_are_drained_once_their_tasks_have_stopped(emu, describe, lambda_context):
    state = scale_down.lambda_handler(describe(), lambda_context)
    emu.clock.advance(2 + emu.target_group.deregistration_delay)  # drained from the load balancer, then stopped

    assert check_drained.lambda_handler(state, lambda_context)["drain"]["done"] is True


@pytest.mark.fleet(healthy=False, revisions=1)
def test_a_first_deploy_whose_tasks_never_became_healthy_drains(emu, describe, lambda_context):
    assert emu.service_state("fleet", "fleet")["desired_count"] == 2
    assert emu.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"][0]["runningCount"] == 0
    state = scale_down.lambda_handler(describe(task_definition_revision=1), lambda_context)
    emu.clock.advance(2)

    assert check_drained.lambda_handler(state, lambda_context)["drain"]["done"] is True


def test_services_that_do_not_drain_in_time_are_a_drain_timeout(emu, describe, lambda_context):
    emu.service_behaviour("fleet").stop_seconds = 1e9
    state = scale_down.lambda_handler(describe(drain_timeout_seconds=30), lambda_context)
    emu.clock.advance(31)

    with pytest.raises(DrainTimeout, match="drain_timeout_seconds=30") as timed_out:
        check_drained.lambda_handler(state, lambda_context)
    assert "fleet: 0 running or starting, 2 stopping" in timed_out.value.message


# -- the migration task -----------------------------------------------------------------------
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


# -- scale up and stabilize -------------------------------------------------------------------
def test_scale_up_puts_back_the_counts_and_autoscaling_found_before(emu, migrated, lambda_context, state_of):
    before = state_of()

    scale_up.lambda_handler(migrated(), lambda_context)

    assert state_of() == before


def test_scale_up_applies_the_requested_count_and_maximum(emu, migrated, lambda_context, state_of):
    scale_up.lambda_handler(migrated(desired_count=3, max_capacity=5), lambda_context)

    assert state_of() == {
        "fleet": {"desired_count": 3, "min_capacity": 2, "max_capacity": 5, "suspended": FREE},
        "fleet-vuln-processing": {"desired_count": 1},
    }


def test_the_services_are_stable_once_the_desired_count_runs_healthy_behind_the_load_balancer(
    emu, migrated, lambda_context
):
    emu.service_behaviour("fleet").start_seconds = 60
    state = scale_up.lambda_handler(migrated(stable_seconds=0), lambda_context)
    assert check_stable.lambda_handler(state, lambda_context)["stabilize"]["done"] is False
    emu.clock.advance(61)
    state = check_stable.lambda_handler(state, lambda_context)
    assert state["stabilize"]["done"] is False  # running, but the target group's checks have not passed yet
    assert "0 of 2 healthy in target group" in state["stabilize"]["detail"]
    emu.clock.advance(10)  # the tests' target group: healthy after 2 checks 5 s apart

    state = check_stable.lambda_handler(state, lambda_context)

    assert state["stabilize"]["done"] is True
    assert state["result"]["exit_code"] == 0
    assert state["result"]["task_arn"] == state["task"]["arn"]
    assert state["result"]["services"] == [
        {"name": "fleet", "desired_count": 2},
        {"name": "fleet-vuln-processing", "desired_count": 1},
    ]
    assert state["result"]["duration_seconds"] >= 0


def test_one_task_short_of_the_desired_count_is_not_stable(emu, migrated, lambda_context):
    emu.service_behaviour("fleet").capacity = 1  # room for one task only: the other stays PENDING
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=30, stable_seconds=0), lambda_context)
    emu.clock.advance(5)

    state = check_stable.lambda_handler(state, lambda_context)
    assert state["stabilize"]["done"] is False
    assert state["stabilize"]["detail"] == "fleet: 1 of 2 running"
    emu.clock.advance(30)
    with pytest.raises(ServiceNotStable, match="fleet: 1 of 2 running"):
        check_stable.lambda_handler(state, lambda_context)


# The service on the latest revision and ECS's rollout alone (the load balancer's part: test_emulator_elb_targets.py)
@pytest.mark.fleet(service_revision=2, load_balancer=False)
def test_a_service_ecs_moves_back_to_an_older_revision_during_the_scale_up_is_not_stable(emu, migrated, lambda_context):
    # GIVEN the scale-up of the revision migrated
    state = scale_up.lambda_handler(migrated(stable_seconds=0), lambda_context)
    emu.clock.advance(5)
    # WHEN a new PRIMARY deployment on an older revision appears, as ECS's circuit breaker rolls back
    emu.client("ecs").update_service(cluster="fleet", service="fleet", taskDefinition="fleet:1")

    # THEN the older binary serving is not success: the cause names the revision ECS went back to
    with pytest.raises(ServiceNotStable) as unstable:
        check_stable.lambda_handler(state, lambda_context)
    assert unstable.value.details["rolled_back_to"] == "fleet:1"
    assert "ECS rolled fleet back to fleet:1" in unstable.value.message


@pytest.mark.fleet(service_revision=2, load_balancer=False)
def test_a_deployment_ecs_marks_failed_is_not_stable_as_soon_as_it_is_seen(emu, migrated, lambda_context):
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=3600), lambda_context)
    emu.clock.advance(5)
    behaviour = emu.service_behaviour("fleet")
    behaviour.crash_exit_code, behaviour.circuit_breaker = 1, True
    emu.client("ecs").update_service(cluster="fleet", service="fleet", taskDefinition="fleet:1")
    for _ in range(4):  # each failed task is replaced until the circuit breaker trips (3 failures)
        emu.clock.advance(1.5)
        emu.ecs_sim.tick()

    with pytest.raises(ServiceNotStable) as unstable:
        check_stable.lambda_handler(state, lambda_context)

    assert "FAILED: ECS deployment circuit breaker" in unstable.value.message
    assert unstable.value.details["rolled_back"] is False


def test_tasks_that_keep_crashing_after_the_scale_up_are_not_stable_before_the_timeout(emu, migrated, lambda_context):
    emu.service_behaviour("fleet").crash_exit_code = 2
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=3600), lambda_context)

    checks = 0
    with pytest.raises(ServiceNotStable) as unstable:
        for checks in range(1, 11):  # noqa: B007 - read after the loop: which check raised
            emu.clock.advance(1.5)
            state = check_stable.lambda_handler(state, lambda_context)

    # the scale-up's two tasks crash (1 s), their replacements too (2.5 s): at the second check, 4 failed tasks
    # pass the limit of 3 (ECS's circuit breaker threshold); the scale-up's own tasks count
    assert checks == 2
    assert "the tasks of fleet keep crashing: 4 of its tasks failed since the scale-up" in unstable.value.message
    assert "EssentialContainerExited" in unstable.value.message


def test_a_zero_stabilize_timeout_does_not_wait(migrated, lambda_context):
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=0), lambda_context)

    assert state["stabilize"]["done"] is True
    assert state["result"]["exit_code"] == 0


def test_services_short_of_their_count_after_the_timeout_are_not_stable_but_not_rolled_back(
    emu, migrated, lambda_context
):
    emu.service_behaviour("fleet").healthy = False
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=30), lambda_context)
    emu.clock.advance(31)

    with pytest.raises(ServiceNotStable) as unstable:
        check_stable.lambda_handler(state, lambda_context)

    assert unstable.value.details["rolled_back"] is False
    assert unstable.value.details["exit_code"] == 0
    assert unstable.value.details["services"][0] == {"name": "fleet", "desired_count": 2}
    assert "fleet: 0 of 2 running" in unstable.value.message
    assert "stabilize_timeout_seconds=30" in unstable.value.message


# -- rollback -------------------------------------------------------------------------------
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


def test_describe_refuses_an_inactive_task_definition_revision(emu, describe, state_of):
    emu.client("ecs").deregister_task_definition(taskDefinition="fleet:2")
    before = state_of()

    with pytest.raises(ResourceNotFound, match="INACTIVE"):
        describe()

    assert state_of() == before


def test_a_rollback_that_cannot_restore_lists_the_commands_to_finish_by_hand(emu, drained, roll_back):
    state = drained()
    emu.faults.inject("ecs", "UpdateService", code="AccessDeniedException", message="not allowed", times=None)

    with pytest.raises(RollbackFailed) as failed:
        roll_back(state, caught("MigrationFailed", "exited with 3"))

    details = failed.value.details
    assert (details["original_error"], details["rolled_back"]) == ("MigrationFailed", False)
    assert "aws ecs update-service --cluster fleet --service fleet --desired-count 2" in details["commands"]
    assert "not allowed" in failed.value.message


# -- the way back up: fast health checks, the page down when Fleet serves, tasks that must last ----------------


def health_check_of(emu, deployment) -> tuple[int, int, int]:
    group = emu.client("elbv2").describe_target_groups(TargetGroupArns=[deployment.target_group_arn])["TargetGroups"][0]
    return group["HealthCheckIntervalSeconds"], group["HealthCheckTimeoutSeconds"], group["HealthyThresholdCount"]


def until_stable(emu, state, lambda_context, seconds: int = 120) -> dict:
    for _ in range(seconds):
        if state["stabilize"]["done"]:
            return state
        emu.clock.advance(1)
        state = check_stable.lambda_handler(state, lambda_context)
    raise AssertionError(f"not stable after {seconds} s: {state['stabilize']['detail']}")


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_the_scale_up_makes_the_health_checks_fast_and_puts_them_back_once_fleet_serves(
    emu, deployment, migrated, lambda_context
):
    # GIVEN Fleet's own target group: 5 checks 15 s apart, 10 s timeout (75 s to call a new task healthy)
    assert health_check_of(emu, deployment) == (15, 10, 5)

    state = scale_up.lambda_handler(migrated(), lambda_context)

    # THEN while Fleet comes back: 2 checks 5 s apart, the timeout below the interval
    assert health_check_of(emu, deployment) == (5, 4, 2)
    state = until_stable(emu, check_stable.lambda_handler(state, lambda_context), lambda_context)
    assert health_check_of(emu, deployment) == (15, 10, 5)


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_fleet_serves_within_the_fast_health_checks_not_its_own(emu, deployment, migrated, lambda_context):
    state = scale_up.lambda_handler(migrated(stable_seconds=0), lambda_context)

    emu.clock.advance(15)  # tasks RUNNING after about a second, then 2 checks 5 s apart

    assert check_stable.lambda_handler(state, lambda_context)["fleet_serving_at"] is not None


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_null_health_check_settings_leave_the_target_groups_alone(emu, deployment, migrated, lambda_context):
    scale_up.lambda_handler(migrated(health_check_interval_seconds=None, healthy_threshold_count=None), lambda_context)

    assert health_check_of(emu, deployment) == (15, 10, 5)


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_the_rollback_puts_the_health_checks_back(emu, deployment, migrated, roll_back, lambda_context):
    state = scale_up.lambda_handler(migrated(), lambda_context)
    assert health_check_of(emu, deployment) == (5, 4, 2)

    failure = roll_back(state, caught("ServiceNotStable", "could not scale up"))

    assert health_check_of(emu, deployment) == (15, 10, 5)
    restored = json.loads(failure["cause"])["target_groups"]
    assert {
        "target_group": deployment.target_group_arn,
        "health_check": {"interval_seconds": 15, "timeout_seconds": 10, "healthy_threshold_count": 5},
    } in restored


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_the_maintenance_page_comes_down_as_soon_as_fleet_serves_not_when_the_vuln_service_is_stable(
    emu, deployment, migrated, lambda_context
):
    state = scale_up.lambda_handler(migrated(maintenance_page=True, stable_seconds=60), lambda_context)
    assert emu.elb.answer(deployment.listener_arn)[0] == 503

    emu.clock.advance(15)
    state = check_stable.lambda_handler(state, lambda_context)

    assert state["stabilize"]["done"] is False  # the tasks have not run 60 s yet
    assert emu.elb.answer(deployment.listener_arn)[0] == 200


@pytest.mark.fleet(load_balancer=False)
def test_a_service_with_no_load_balancer_is_stable_only_once_its_tasks_have_run_stable_seconds(
    emu, migrated, lambda_context
):
    state = scale_up.lambda_handler(migrated(stable_seconds=30), lambda_context)
    emu.clock.advance(10)
    state = check_stable.lambda_handler(state, lambda_context)
    assert state["stabilize"]["done"] is False
    assert "running for less than 30 s" in state["stabilize"]["detail"]

    emu.clock.advance(25)

    assert check_stable.lambda_handler(state, lambda_context)["stabilize"]["done"] is True


@pytest.mark.fleet(load_balancer=False)
def test_a_crash_loop_with_no_load_balancer_is_never_stable(emu, migrated, lambda_context):
    # GIVEN a schema its binary finds missing migrations in (restored from a backup meanwhile, say): fleet serve
    # reaches RUNNING, then exits 1 about a second later, on every task
    state = migrated(stabilize_timeout_seconds=600)
    emu.fleet_db.reset(0)
    state = scale_up.lambda_handler(state, lambda_context)

    # WHEN the check looks, again and again
    with pytest.raises(ServiceNotStable) as unstable:
        for _ in range(120):
            emu.clock.advance(1)
            state = check_stable.lambda_handler(state, lambda_context)
            assert state["stabilize"]["done"] is False, "called stable between two crashes"

    # THEN it is never called stable: its tasks keep crashing
    assert "keep crashing" in unstable.value.message
