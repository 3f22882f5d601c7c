"""Reading which migrations ``fleet prepare db`` applied from its lines (Fleet's goose: a line as each migration
starts, ``FAIL ... quitting migration.`` when one fails), and what the cause then says."""

from __future__ import annotations

from fleet_migration.execution_input import MigrationInput
from fleet_migration.models import DatabaseSnapshot, Execution, Migration
from fleet_migration.partial_migration import MAX_NAMES, Applied, details, message, parse, restore_guidance

REQUIRED = {
    "ecs_cluster": "fleet",
    "ecs_service": "fleet",
    "task_definition": "fleet",
    "task_definition_revision": 2,
}
FIRST = "2024/11/20 10:00:00 [2024-11-10] Add Team Identifier To Host Software Installed Paths"
SECOND = "2024/11/20 10:00:01 [2024-11-16] Add Slot Key To Host Disk Encryption Keys"
THIRD = "2024/11/20 10:00:02 [2024-11-21] Add PKI Certificates Table"
FAIL_THIRD = (
    "2024/11/20 10:00:03 FAIL 20241121111624_AddPKICertificatesTable.go (failed to create pki_certificates table: "
    "Error 1050 (42S01): Table 'pki_certificates' already exists), quitting migration."
)


def test_the_migrations_printed_before_the_one_that_failed_are_the_applied_ones():
    found = parse([FIRST, SECOND, THIRD, FAIL_THIRD])

    assert found.names == [FIRST[20:], SECOND[20:]]
    assert (found.failed, found.unfinished) == ("20241121111624_AddPKICertificatesTable", None)


def test_a_failure_at_the_first_migration_applied_none():
    found = parse([THIRD, FAIL_THIRD])

    assert found.names == [] and not found.partly


def test_a_run_that_completed_applied_every_migration_it_printed():
    assert parse([FIRST, SECOND, "Migrations completed."]).names == [FIRST[20:], SECOND[20:]]


def test_a_container_stopped_mid_migration_names_the_one_it_had_started_without_counting_it():
    found = parse([FIRST, SECOND])

    assert found.names == [FIRST[20:]] and found.unfinished == SECOND[20:]


def test_upstream_goose_ok_lines_count_as_applied():
    found = parse(["2024/01/01 00:00:00 OK   20240101000000_add_things.sql (12.3ms)", "other output"])

    assert found.names == ["20240101000000_add_things.sql"]


def test_a_failure_that_printed_no_migration_line_applied_nothing():
    found = parse(["Failed to start: retrieving migration status: dial tcp 10.0.1.25:3306: connect: refused"])

    assert found.names == [] and found.failed is None and found.unfinished is None


def test_the_cause_always_has_applied_migrations_and_keeps_the_last_ones_when_there_are_many():
    many = Applied(names=[f"[2024-01-01] Migration {i}" for i in range(MAX_NAMES + 10)])

    shown = details(many)

    assert details(Applied())["applied_migrations"] == []
    assert (
        shown["applied_migrations"] == many.names[-MAX_NAMES:] and shown["applied_migrations_count"] == MAX_NAMES + 10
    )


def test_the_message_says_the_schema_is_partly_migrated_and_what_fleet_tolerates():
    said = message(Applied(names=[FIRST[20:]]), "restore the snapshot s", serving_previous=True)

    assert "partly migrated" in said and "tolerates" in said and "does not promise" in said
    assert said.endswith("To return to the recovery point, restore the snapshot s.")


# -- how to return to the recovery point ---------------------------------------------------------------------------


def failed_migration(snapshot: DatabaseSnapshot | None, **given) -> Migration:
    return Migration(
        input=MigrationInput.parse({**REQUIRED, **given}),
        execution=Execution(
            id="arn:execution", name="e", state_machine_arn="arn:sm", start_time="2026-01-01T00:00:00+00:00"
        ),
        cluster_arn="c",
        task_definition_arn="t",
        services=[],
        manual_restore_cause="",
        snapshot=snapshot,
    )


def a_snapshot(**fields) -> DatabaseSnapshot:
    return DatabaseSnapshot(
        type="cluster",
        identifier="fleet",
        snapshot_identifier="fleet-migration-e",
        restore_command="aws rds restore-db-cluster-from-snapshot ...",
        **fields,
    )


def test_a_failed_snapshot_of_a_database_without_automated_backups_is_said_to_leave_no_recovery_point():
    sentence, commands = restore_guidance(failed_migration(a_snapshot(status="failed"), db_cluster_identifier="fleet"))

    assert sentence.startswith("this execution has no recovery point") and "fleet-migration-e" in sentence
    assert "no automated backups" in sentence
    assert commands == []  # no point-in-time restore to a moment the database cannot be restored to


def test_a_failed_snapshot_of_a_database_with_automated_backups_leaves_the_point_in_time_restore():
    taken = a_snapshot(
        status="failed",
        restore_time="2026-01-01T00:05:00Z",
        point_in_time_restore_command="aws rds restore-db-cluster-to-point-in-time ...",
    )

    sentence, commands = restore_guidance(failed_migration(taken, db_cluster_identifier="fleet"))

    assert "point-in-time restore" in sentence and "2026-01-01T00:05:00Z" in sentence
    assert commands[-1] == "aws rds restore-db-cluster-to-point-in-time ..."


def test_without_a_database_named_the_guidance_is_a_point_in_time_restore_to_fill_in():
    sentence, commands = restore_guidance(failed_migration(None))

    assert sentence.startswith("no snapshot was taken")
    assert "<Fleet's Aurora cluster>" in commands[0]
