"""A migration that fails part-way: ``fleet prepare db`` commits each migration on its own, so the ones before the
failure stay applied. The cause names them and says how to restore the recovery point; ``on_partial_migration``
decides whether the older Fleet serves meanwhile (``serve_previous``) or Fleet stays down (``stay_down``)."""

from __future__ import annotations

from emulator import Emulator, FleetDeployment
from emulator.elb import UNAVAILABLE
from emulator.fleet.database import level_of
from test_workflow_fleet import assert_fleet_serves, service_revision
from workflow_support import cause_of, restore_by_hand


def schema_of(fleet: FleetDeployment, revision: int) -> int:
    """How many migrations revision ``revision``'s Fleet knows."""
    return level_of(fleet.images[revision]) or 0


def logs_of(aws: Emulator, task_arn: str) -> list[str]:
    stream = f"fleet/fleet/{task_arn.rsplit('/', 1)[-1]}"
    events = aws.client("logs").get_log_events(logGroupName="fleet", logStreamName=stream, startFromHead=True)
    return [event["message"] for event in events["events"]]


def serving_task(aws: Emulator, fleet: FleetDeployment) -> str:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=fleet.service)["taskArns"]
    return next(t["taskArn"] for t in ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"])


def test_a_migration_that_fails_before_applying_anything_says_none_were_applied(aws, fleet, fast_input):
    aws.next_migration(fails_at_migration=1)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    cause = cause_of(run)
    assert cause["applied_migrations"] == [] and cause["rolled_back"] is True
    assert "partly migrated" not in cause["message"]


def test_a_migration_that_fails_part_way_lists_the_migrations_it_applied(aws, fleet, fast_input):
    aws.next_migration(fails_at_migration=3)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    cause = cause_of(run)
    assert cause["applied_migrations"] == [
        "[2024-11-10] Add Team Identifier To Host Software Installed Paths",
        "[2024-11-16] Add Slot Key To Host Disk Encryption Keys",
    ]
    assert cause["failed_migration"] == "20241121111624_AddPKICertificatesTable"
    assert "partly migrated" in cause["message"] and "does not promise" in cause["message"]
    assert "point-in-time restore" in cause["message"] and cause["restore_commands"]


def test_serve_previous_rolls_back_and_the_older_fleet_serves_on_the_partly_migrated_schema(aws, fleet, fast_input):
    # GIVEN Fleet's Terraform order: the service already points at revision 2, whose tasks exit 1
    aws.deploy_revision(2)
    aws.clock.advance(10)
    aws.next_migration(fails_at_migration=2)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    cause = cause_of(run)
    assert cause["rolled_back"] is True and len(cause["applied_migrations"]) == 1
    assert aws.fleet_db.level == schema_of(fleet, 1) + 1
    # THEN revision 1's Fleet serves again on the newer schema, with Fleet's own warning
    assert service_revision(aws, fleet) == "fleet:1"
    assert_fleet_serves(aws, fleet, "fleet:1")
    printed = "\n".join(logs_of(aws, serving_task(aws, fleet)))
    assert "running an older version of Fleet on a newer migrated database." in printed


def test_stay_down_keeps_fleet_down_with_the_page_up_and_autoscaling_held(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    aws.next_migration(fails_at_migration=2)

    run = aws.run(fast_input(on_partial_migration="stay_down", maintenance_page=True), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    cause = cause_of(run)
    assert cause["rolled_back"] is False and len(cause["applied_migrations"]) == 1
    assert "stay_down" in cause["message"] and cause["restore_commands"] and cause["commands"]
    # THEN nothing came back: the services held at 0, autoscaling still held, the page still answering
    aws.clock.advance(30)
    after = state_of(fleet)
    for name, state in after.items():
        assert state["desired_count"] == 0, name
        if "min_capacity" in before[name]:
            assert (state["min_capacity"], state["max_capacity"]) == (0, 0)
            assert all(state["suspended"].values())
    status, _, body = aws.elb.answer(fleet.listener_arn)
    assert status == 503 and body != UNAVAILABLE[2], "the maintenance page answers, not an empty target group"
    # AND the commands of the cause bring the older Fleet back (once the database is restored)
    aws.fleet_db.reset(schema_of(fleet, 1))
    restore_by_hand(aws, cause["commands"])
    assert state_of(fleet) == before
    assert_fleet_serves(aws, fleet, "fleet:1")


def test_stay_down_with_nothing_applied_rolls_back_as_usual(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    aws.next_migration(fails_at_migration=1)

    run = aws.run(fast_input(on_partial_migration="stay_down"), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    assert cause_of(run)["rolled_back"] is True and run.cause["applied_migrations"] == []
    assert state_of(fleet) == before


def test_after_stay_down_and_a_restore_the_next_attempt_migrates_and_fleet_serves(aws, fleet, fast_input, state_of):
    # GIVEN Fleet's Terraform order, and an execution that stayed down after a partial migration
    aws.deploy_revision(2)
    aws.clock.advance(10)
    before = state_of(fleet)
    aws.next_migration(fails_at_migration=2)
    first = aws.run(fast_input(on_partial_migration="stay_down", maintenance_page=True), name="fleet-fleet-r2")
    assert (first.error, cause_of(first)["rolled_back"]) == ("MigrationFailed", False)
    # AND the operator restored the database to the recovery point
    aws.fleet_db.reset(schema_of(fleet, 1))

    # WHEN the next attempt runs (a new terraform apply, or a console rerun after the fix)
    second = aws.run(fast_input(on_partial_migration="stay_down", maintenance_page=True), name="fleet-fleet-r2-a2")

    # THEN it inherits what the first captured, migrates, and Fleet serves at the counts from before
    assert second.status == "SUCCEEDED", (second.error, second.cause)
    assert second.output["baseline_from"] == "fleet-fleet-r2"
    assert aws.fleet_db.level == schema_of(fleet, 2)
    assert state_of(fleet) == before
    assert_fleet_serves(aws, fleet, "fleet:2")


def test_a_partly_applied_migration_with_a_snapshot_says_to_restore_it_with_fleets_db_restore_tool(aws):
    fleet = aws.seed_fleet(databases=True)
    aws.next_migration(fails_at_migration=2)

    run = aws.run(
        fleet.migration_input(poll_interval_seconds=5, db_cluster_identifier=fleet.db_cluster), name="fleet-fleet-r2"
    )

    cause = cause_of(run)
    name = cause["snapshot"]["snapshot_identifier"]
    assert cause["restore_commands"][:2] == [
        f"db-restore.sh --restore-snapshot {name} --dry-run",
        f"db-restore.sh --restore-snapshot {name} --confirm",
    ]
    assert f"tools/rds-db-restore/db-restore.sh --restore-snapshot {name}" in cause["message"]
