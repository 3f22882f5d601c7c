"""The migration task itself: a recovery point before it runs, its size, and its last words in a failure's cause.

Whole executions on the emulator: snapshots take time to become available (emulator/rds.py),
and the migration container prints its lines to its awslogs stream ``fleet/fleet/<task id>`` as it runs
(emulator/logs.py).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from emulator import Emulator
from workflow_support import CHECK_DRAINED, CHECK_STABLE, FAIL_STATE, ROLLBACK, RUN_TASK, SUCCEEDED, cause_of, follows

TAKE, CHECK = "Take a snapshot of the database", "Check the snapshot"


@pytest.fixture
def aws():
    with Emulator(simulated=True) as emulator:
        yield emulator


@pytest.fixture
def fleet(aws):
    return aws.seed_fleet(databases=True)


def assert_restored(run, error: str, before: dict, after: dict) -> dict:
    assert (run.status, run.error) == ("FAILED", error), run.cause
    cause = cause_of(run)
    assert cause["rolled_back"] is True and after == before
    assert follows(run, ROLLBACK, FAIL_STATE[error])
    return cause


def test_the_migration_runs_while_rds_copies_the_snapshot_and_the_execution_succeeds_once_it_is_available(
    aws, fleet, fast_input
):
    aws.next_snapshot(creating_seconds=60)

    run = aws.run(fast_input(db_cluster_identifier=fleet.db_cluster), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", run.cause
    assert follows(run, CHECK_DRAINED, TAKE, RUN_TASK, CHECK_STABLE, CHECK, SUCCEEDED)
    ((created_at, call, name),) = aws.rds_sim.call_log
    run_task_at = next(at for at, what, _ in aws.ecs_sim.call_log if what == "RunTask")
    assert call == "CreateDBClusterSnapshot" and created_at <= run_task_at
    assert aws.rds_sim.status_at(name, run_task_at) == "creating"
    # Fleet served before the snapshot was done: the execution looked at it again until it was
    assert [checked(event) for event in run.events if _exited(event, CHECK)][-2:] == ["creating", "available"]
    snapshot = run.output["snapshot"]
    assert (snapshot["type"], snapshot["identifier"], snapshot["status"]) == ("cluster", "fleet", "available")
    assert snapshot["snapshot_identifier"] == name and "message" not in snapshot
    described = aws.client("rds").describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=name)["DBClusterSnapshots"]
    assert described[0]["Status"] == "available" and described[0]["DBClusterSnapshotArn"] == snapshot["arn"]


def _exited(event: dict, state: str) -> bool:
    return event["type"] == "TaskStateExited" and event["stateExitedEventDetails"]["name"] == state


def checked(event: dict) -> str:
    """The snapshot's status as a "Check the snapshot" state handed it on."""
    return json.loads(event["stateExitedEventDetails"]["output"])["snapshot"]["status"]


def test_the_drained_moment_comes_with_the_snapshot_as_a_point_in_time_restore_target(aws, fleet, fast_input):
    run = aws.run(fast_input(db_cluster_identifier=fleet.db_cluster), name="fleet-fleet-r2")

    snapshot = run.output["snapshot"]
    assert f"--restore-to-time {snapshot['restore_time']}" in snapshot["point_in_time_restore_command"]
    assert f"db-restore.sh --restore-time {snapshot['restore_time']}" in snapshot["point_in_time_note"]


def test_an_rds_instance_snapshot_comes_with_its_restore_command(aws, fleet, fast_input):
    run = aws.run(fast_input(db_instance_identifier=fleet.db_instance), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", run.cause
    snapshot = run.output["snapshot"]
    assert snapshot["type"] == "instance" and snapshot["arn"].endswith(f":snapshot:{snapshot['snapshot_identifier']}")
    assert snapshot["restore_command"].startswith(
        "aws rds restore-db-instance-from-db-snapshot --db-instance-identifier fleet-mysql-restored "
        f"--db-snapshot-identifier {snapshot['snapshot_identifier']}"
    )


def test_without_a_database_no_snapshot_step_runs(aws, fleet, fast_input):
    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", run.cause
    assert TAKE not in run.states_entered and "snapshot" not in run.output
    assert aws.rds_sim.call_log == []


def test_a_snapshot_still_creating_at_its_timeout_after_fleet_serves_is_not_claimed_as_a_recovery_point(
    aws, fleet, fast_input
):
    aws.next_snapshot(creating_seconds=1e9)

    execution = aws.start(
        fast_input(db_cluster_identifier=fleet.db_cluster, snapshot_timeout_seconds=60), name="fleet-fleet-r2"
    )
    aws.until(lambda: aws.rds_sim.call_log, "the snapshot call")
    aws.clock.advance(61)
    run = aws.wait(execution)

    assert run.status == "SUCCEEDED", run.cause
    snapshot = run.output["snapshot"]
    assert snapshot["status"] == "creating" and "snapshot_timeout_seconds=60" in snapshot["message"]
    assert "not a recovery point" in snapshot["message"] and "check_command" in snapshot


def test_a_snapshot_that_fails_after_fleet_serves_is_said_and_no_restore_command_is_given_for_it(
    aws, fleet, fast_input
):
    aws.next_snapshot(creating_seconds=60, fails=True)

    run = aws.run(fast_input(db_instance_identifier=fleet.db_instance), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", run.cause
    assert follows(run, RUN_TASK, CHECK_STABLE, CHECK, SUCCEEDED)
    snapshot = run.output["snapshot"]
    assert snapshot["status"] == "failed" and "there is no snapshot to restore" in snapshot["message"]
    assert "restore_command" not in snapshot and "restore_note" not in snapshot
    assert snapshot["point_in_time_restore_command"].startswith("aws rds restore-db-instance-to-point-in-time")


def test_a_snapshot_rds_fails_at_once_ends_the_migration_before_it_starts_restored(aws, fleet, fast_input, state_of):
    before, level = state_of(fleet), aws.fleet_db.level
    aws.next_snapshot(creating_seconds=0, fails=True)

    run = aws.run(fast_input(db_instance_identifier=fleet.db_instance), name="fleet-fleet-r2")

    cause = assert_restored(run, "TaskFailedToStart", before, state_of(fleet))
    assert "did not accept" in cause["message"] and cause["snapshot"]["status"] == "failed"
    assert RUN_TASK not in run.states_entered and aws.ecs_sim.run_task_calls == []
    assert aws.fleet_db.level == level


def test_rds_refusing_the_snapshot_ends_the_migration_before_it_starts_restored(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    aws.client("rds").stop_db_cluster(DBClusterIdentifier=fleet.db_cluster)

    run = aws.run(fast_input(db_cluster_identifier=fleet.db_cluster), name="fleet-fleet-r2")

    cause = assert_restored(run, "TaskFailedToStart", before, state_of(fleet))
    assert cause["underlying_error"] == "InvalidDBClusterStateFault"
    assert RUN_TASK not in run.states_entered and aws.ecs_sim.run_task_calls == []


def test_a_failed_migration_cause_carries_the_log_tail_and_the_snapshot(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    aws.next_migration(
        exit_code=2,
        log_lines=(*(f"Migrating step {n}" for n in range(30)), "Error 1146: Table 'fleet.hosts' doesn't exist"),
    )

    run = aws.run(fast_input(db_cluster_identifier=fleet.db_cluster), name="fleet-fleet-r2")

    cause = assert_restored(run, "MigrationFailed", before, state_of(fleet))
    assert len(cause["log_tail"]) == 20
    assert cause["log_tail"][-1] == "Error 1146: Table 'fleet.hosts' doesn't exist"
    assert cause["log_tail"][0] == "Migrating step 11"
    assert cause["snapshot"]["status"] == "available"
    assert cause["snapshot"]["restore_command"].startswith("aws rds restore-db-cluster-from-snapshot")
    assert len(json.dumps(run.cause)) < 32768


def test_the_rollback_after_a_failed_migration_does_not_wait_for_the_snapshot_and_says_its_status(
    aws, fleet, fast_input, state_of
):
    before = state_of(fleet)
    aws.next_snapshot(creating_seconds=1e9)
    aws.next_migration(exit_code=2)

    run = aws.run(fast_input(db_cluster_identifier=fleet.db_cluster), name="fleet-fleet-r2")

    cause = assert_restored(run, "MigrationFailed", before, state_of(fleet))
    snapshot = cause["snapshot"]
    assert snapshot["status"] == "creating" and "not a recovery point until it is available" in snapshot["message"]
    assert snapshot["check_command"].startswith("aws rds describe-db-cluster-snapshots")
    assert f"--restore-to-time {snapshot['restore_time']}" in snapshot["point_in_time_restore_command"]
    assert CHECK not in run.states_entered


def test_services_not_stable_after_the_migration_still_name_the_snapshot(aws, fleet, fast_input):
    aws.service_behaviour("fleet").healthy = False

    run = aws.run(
        fast_input(db_instance_identifier=fleet.db_instance, stabilize_timeout_seconds=3), name="fleet-fleet-r2"
    )

    assert run.error == "ServiceNotStable"
    snapshot = cause_of(run)["snapshot"]
    assert snapshot["status"] == "available" and snapshot["restore_command"].startswith("aws rds restore-db-instance")
    assert "log_tail" not in cause_of(run)


def test_a_timed_out_migration_cause_carries_the_lines_it_printed_before_it_was_stopped(
    aws, fleet, fast_input, state_of
):
    before = state_of(fleet)
    aws.next_migration(runs_forever=True, log_lines=("Running migration 20240101000000_add_hosts_index",))

    run = aws.run(fast_input(timeout_seconds=2), name="fleet-fleet-r2")

    cause = assert_restored(run, "MigrationTimeout", before, state_of(fleet))
    assert cause["log_tail"] == ["Running migration 20240101000000_add_hosts_index"]
    assert "snapshot" not in cause


def test_a_task_that_never_logged_says_so_instead_of_a_log_tail(aws, fleet, fast_input):
    aws.next_migration(fails_to_start=True, stopped_reason="CannotPullContainerError: pull access denied")

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    cause = cause_of(run)
    assert run.error == "TaskFailedToStart"
    assert cause["log_tail"] == [] and "No log stream fleet/fleet/" in cause["log_note"]


def test_the_logs_being_unreadable_changes_neither_the_outcome_nor_the_rollback(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    aws.next_migration(exit_code=3)
    aws.faults.inject("logs", "GetLogEvents", code="AccessDeniedException", message="not authorized", times=None)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    cause = assert_restored(run, "MigrationFailed", before, state_of(fleet))
    assert cause["exit_code"] == 3 and cause["log_tail"] == []
    assert "could not be read (AccessDeniedException)" in cause["log_note"]


def test_the_task_size_reaches_runtask_as_overrides(aws, fleet, fast_input):
    run = aws.run(fast_input(task_cpu="2048", task_memory="8192"), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", run.cause
    overrides = aws.ecs_sim.run_task_calls[-1]["overrides"]
    assert (overrides["cpu"], overrides["memory"]) == ("2048", "8192")


def test_a_cpu_override_that_does_not_fit_the_revisions_memory_is_refused_before_anything_changes(
    aws, fleet, fast_input, state_of
):
    before = state_of(fleet)

    run = aws.run(fast_input(task_cpu="4096"), name="fleet-fleet-r2")  # the revision has 1024 MiB

    assert (run.status, run.error) == ("FAILED", "InvalidInput")
    assert "task_memory" in cause_of(run)["message"] and '"8192" to "30720"' in cause_of(run)["message"]
    assert state_of(fleet) == before and aws.ecs_sim.run_task_calls == []


def test_the_emulator_refuses_a_fargate_task_size_ecs_has_no_configuration_for(aws, fleet):
    with pytest.raises(ClientError) as caught:
        aws.client("ecs").run_task(
            cluster=fleet.cluster,
            taskDefinition=f"{fleet.task_definition}:1",
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": fleet.subnets}},
            overrides={"cpu": "1024", "memory": "16384"},
        )

    assert caught.value.response["Error"]["Code"] == "ClientException"
    assert "No Fargate configuration exists" in caught.value.response["Error"]["Message"]
