"""An execution stopped mid-way (Stop in the console, a timeout) never rolls back: the next attempt must
not take the half-finished state for "before", nor start a second migration beside a leftover one."""

from __future__ import annotations

from emulator import Emulator
from workflow_support import DESCRIBE, FAIL_STATE, cause_of, follows


def _abort_while_the_migration_runs(aws: Emulator, document: dict, name: str) -> str:
    arn = aws.start(document, name=name)
    sfn = aws.client("stepfunctions")
    aws.until(lambda: aws.ecs_sim.running_tasks(one_off=True), "the migration task starting")
    sfn.stop_execution(executionArn=arn)
    assert aws.wait(arn).status == "ABORTED"
    return arn


def _abort_and_let_its_task_end(aws: Emulator, document: dict, name: str) -> None:
    """An execution stopped mid-migration, whose migration task then exits 0 by itself."""
    aws.next_migration(exit_code=0, run_seconds=3)
    _abort_while_the_migration_runs(aws, document, name)
    aws.clock.advance(10)
    assert aws.ecs_sim.running_tasks(one_off=True) == []


def test_a_migration_task_left_running_by_an_aborted_execution_blocks_the_next_attempt(
    aws, fleet, fast_input, state_of
):
    # GIVEN an execution stopped while its migration task runs (that task goes on running)
    aws.next_migration(runs_forever=True)
    _abort_while_the_migration_runs(aws, fast_input(), "fleet-fleet-r2")
    left_behind = state_of(fleet)

    # WHEN the next attempt starts
    run = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    # THEN it refuses before changing anything, naming the task
    assert (run.status, run.error) == ("FAILED", "MigrationInProgress")
    cause = cause_of(run)
    assert cause["task_arn"] == aws.ecs_sim.running_tasks(one_off=True)[0]
    assert cause["rolled_back"] is False
    assert follows(run, DESCRIBE, FAIL_STATE["MigrationInProgress"])
    assert state_of(fleet) == left_behind


def test_a_migration_task_still_stopping_after_an_aborted_execution_blocks_the_next_attempt(
    aws, fleet, fast_input, state_of
):
    # GIVEN an aborted execution whose migration task an operator stopped, but which ignores SIGTERM: it runs
    # on until SIGKILL (here an EC2 agent's hour), and ListTasks no longer lists it by startedBy alone
    aws.next_migration(runs_forever=True, exits_on_sigterm_after=None, stop_timeout=3600)
    _abort_while_the_migration_runs(aws, fast_input(), "fleet-fleet-r2")
    (left,) = aws.ecs_sim.running_tasks(one_off=True)
    aws.clock.advance(1)
    aws.client("ecs").stop_task(cluster=fleet.cluster, task=left, reason="stopped by an operator")
    left_behind = state_of(fleet)

    # WHEN the next attempt starts THEN it refuses, naming the task, and changes nothing
    run = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    assert (run.status, run.error) == ("FAILED", "MigrationInProgress")
    assert cause_of(run)["task_arn"] == left
    assert state_of(fleet) == left_behind


def test_the_next_attempt_after_an_aborted_execution_restores_what_was_there_before_it(
    aws, fleet, fast_input, state_of
):
    # GIVEN an execution stopped mid-migration: Fleet left at 0 tasks with autoscaling held at 0..0
    before = state_of(fleet)
    aws.next_migration(exit_code=0, run_seconds=3)
    _abort_while_the_migration_runs(aws, fast_input(), "fleet-fleet-r2")
    assert aws.service_state(fleet.cluster, fleet.service)["desired_count"] == 0
    aws.clock.advance(10)  # its migration task ends by itself
    assert aws.ecs_sim.running_tasks(one_off=True) == []

    # WHEN the next attempt runs, with desired_count and max_capacity left to "what was there before"
    run = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    # THEN "before" is what the aborted execution found, not what it left behind
    assert run.status == "SUCCEEDED", run.cause
    assert {s["name"]: s["desired_count"] for s in run.output["services"]} == {fleet.service: 2, fleet.vuln_service: 1}
    assert state_of(fleet) == before


def test_a_failure_after_an_aborted_execution_rolls_back_to_what_was_there_before_it(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    _abort_and_let_its_task_end(aws, fast_input(), "fleet-fleet-r2")
    aws.next_migration(exit_code=1)

    run = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed")
    assert cause_of(run)["baseline_from"] == "fleet-fleet-r2"
    assert state_of(fleet) == before


def test_capacity_during_migration_above_a_services_count_never_scales_it_up(aws, fleet, fast_input):
    # GIVEN fleet at 2 tasks and the vulnerability service at 1, and capacity_during_migration 2

    # WHEN the migration runs
    run = aws.run(fast_input(capacity_during_migration=2), name="fleet-fleet-r2")

    # THEN no service was ever asked for more tasks than it had
    assert run.status == "SUCCEEDED", run.cause
    asked = [
        (details["service"], details["desired_count"])
        for _, call, details in aws.ecs_sim.call_log
        if call == "UpdateService"
    ]
    assert (fleet.vuln_service, 1) in asked and (fleet.vuln_service, 2) not in asked


def test_each_service_keeps_the_before_of_the_last_execution_that_migrated_it(aws, fleet, fast_input, state_of):
    # GIVEN an aborted migration of both services, then a successful one of the vulnerability service alone
    before = state_of(fleet)
    _abort_and_let_its_task_end(aws, fast_input(), "fleet-fleet-r2")
    vuln_only = {k: v for k, v in fast_input(ecs_service=fleet.vuln_service).items() if k != "vuln_service"}
    assert aws.run(vuln_only, name="fleet-fleet-vuln-processing-r2").status == "SUCCEEDED"

    # WHEN both services are migrated again
    run = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    # THEN fleet's "before" is still what the aborted execution found
    assert run.status == "SUCCEEDED", run.cause
    assert run.output["baseline_from"] == "fleet-fleet-r2"
    assert state_of(fleet) == before


def test_a_service_put_right_by_hand_after_an_abort_keeps_what_the_operator_set(aws, fleet, fast_input, state_of):
    # GIVEN an aborted migration, after which an operator restored the services with other values
    _abort_and_let_its_task_end(aws, fast_input(), "fleet-fleet-r2")
    aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{fleet.cluster}/{fleet.service}",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=3,
        MaxCapacity=20,
        SuspendedState={
            "DynamicScalingInSuspended": False,
            "DynamicScalingOutSuspended": False,
            "ScheduledScalingSuspended": False,
        },
    )
    aws.client("ecs").update_service(cluster=fleet.cluster, service=fleet.service, desiredCount=3)
    aws.client("ecs").update_service(cluster=fleet.cluster, service=fleet.vuln_service, desiredCount=1)
    set_by_hand = state_of(fleet)

    # WHEN the next attempt runs
    run = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    # THEN the live state was "before"
    assert run.status == "SUCCEEDED", run.cause
    assert "baseline_from" not in run.output
    assert state_of(fleet) == set_by_hand
