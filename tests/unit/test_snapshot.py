"""The recovery point: its name, the describe step's checks, the snapshot steps, and the emulator's RDS timeline.

The emulator runs at real speed and the tests move its clock, so "the snapshot became available" or
"snapshot_timeout_seconds passed" costs no waiting.
"""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

import check_snapshot
import describe_service
import take_snapshot
from emulator.fleet import DROP
from fleet_migration.errors import InvalidInput, ResourceNotFound, TaskFailedToStart
from fleet_migration.models import DatabaseSnapshot, Execution
from fleet_migration.snapshot import restore_guidance, snapshot_identifier

# The documented rule, written out independently: letters, digits, hyphens; a letter first; no "--"; no "-" last.
RDS_RULE = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-))*(?<!-)")
ARN = "arn:aws:states:us-east-1:123456789012:execution:fleet-migration:"


def execution_named(name: str) -> Execution:
    return Execution(id=ARN + name, name=name, state_machine_arn=ARN, start_time="2026-01-01T00:00:00+00:00")


@pytest.mark.parametrize("name", ["fleet-fleet-r2", "Prod_Cluster-fleet-r12-a2", "x" * 80, "9-lives--r3", "a_-_b"])
@pytest.mark.parametrize("kind", ["cluster", "instance"])
def test_the_snapshot_is_named_after_the_execution_within_rds_rules(name, kind):
    identifier = snapshot_identifier(execution_named(name), kind)

    assert RDS_RULE.fullmatch(identifier), identifier
    assert identifier == identifier.lower() and identifier.startswith("fleet-migration-")
    assert len(identifier) <= {"cluster": 63, "instance": 255}[kind]


def test_two_executions_never_share_a_snapshot_name():
    first = snapshot_identifier(execution_named("fleet-fleet-r2"), "cluster")
    other_stack = snapshot_identifier(
        Execution(
            id="arn:aws:states:us-east-1:123456789012:execution:staging:fleet-fleet-r2",
            name="fleet-fleet-r2",
            state_machine_arn="x",
            start_time="x",
        ),
        "cluster",
    )

    assert first.startswith("fleet-migration-fleet-fleet-r2-") and first != other_stack


@pytest.fixture
def describe(emu, deployment, execution, lambda_context):
    def call(**overrides):
        event = {
            "input": deployment.migration_input(**{"poll_interval_seconds": 1, **overrides}),
            "execution": execution(),
        }
        return describe_service.lambda_handler(event, lambda_context)

    return call


@pytest.mark.fleet(databases=True)
def test_describe_plans_the_cluster_snapshot_with_its_restore_command(describe):
    planned = describe(db_cluster_identifier="fleet")["snapshot"]

    assert (planned["type"], planned["identifier"], planned["status"]) == ("cluster", "fleet", "planned")
    assert planned["arn"] == f"arn:aws:rds:us-east-1:123456789012:cluster-snapshot:{planned['snapshot_identifier']}"
    assert planned["restore_command"].startswith(
        f"aws rds restore-db-cluster-from-snapshot --db-cluster-identifier fleet-restored --snapshot-identifier "
        f"{planned['snapshot_identifier']} --engine aurora-mysql"
    )
    assert "create-db-instance" in planned["restore_note"]
    # Fleet's own restore tool (fleetdm/fleet-terraform tools/rds-db-restore), a dry run first
    fleet_tool = f"db-restore.sh --restore-snapshot {planned['snapshot_identifier']}"
    note = planned["restore_note"]
    assert "tools/rds-db-restore" in note and "fleetdm/fleet-terraform" in note
    assert note.index(f"`{fleet_tool} --dry-run`") < note.index(f"`{fleet_tool} --confirm`")


@pytest.mark.fleet(databases=True)
def test_the_cause_prepared_for_a_rollback_that_cannot_run_names_the_snapshot_to_check(describe):
    state = describe(db_cluster_identifier="fleet")

    shown = json.loads(state["manual_restore_cause"])["snapshot"]
    assert shown["status"] == "unknown" and shown["restore_command"] == state["snapshot"]["restore_command"]
    assert shown["check_command"] == (
        "aws rds describe-db-cluster-snapshots --db-cluster-snapshot-identifier "
        + state["snapshot"]["snapshot_identifier"]
    )


@pytest.mark.fleet(databases=True)
def test_describe_plans_the_instance_snapshot_with_its_restore_command(describe):
    planned = describe(db_instance_identifier="fleet-mysql")["snapshot"]

    assert planned["type"] == "instance"
    assert planned["restore_command"] == (
        "aws rds restore-db-instance-from-db-snapshot --db-instance-identifier fleet-mysql-restored "
        f"--db-snapshot-identifier {planned['snapshot_identifier']} --db-instance-class db.t4g.medium "
        f"--db-subnet-group-name fleet --vpc-security-group-ids {planned['restore_command'].split()[-1]}"
    )
    assert "Aurora cluster snapshots only" in planned["restore_note"]  # Fleet's tool is not for an RDS instance


@pytest.mark.fleet(databases=True)
@pytest.mark.parametrize("field", ["db_cluster_identifier", "db_instance_identifier"])
def test_describe_refuses_a_database_that_does_not_exist(describe, field):
    with pytest.raises(ResourceNotFound) as caught:
        describe(**{field: "nowhere"})

    assert caught.value.details["fields"] == [field]
    assert "'nowhere' was not found" in caught.value.message


@pytest.mark.fleet(databases=True)
def test_describe_refuses_an_aurora_instance_named_as_an_rds_instance(describe):
    with pytest.raises(InvalidInput) as caught:
        describe(db_instance_identifier="fleet-1")

    assert "set db_cluster_identifier to 'fleet'" in caught.value.message


@pytest.fixture
def drained(describe):
    """The state document as the snapshot step gets it (the drain itself is not what these tests look at)."""
    return lambda **overrides: describe(**overrides)


@pytest.mark.fleet(databases=True)
def test_the_snapshot_wait_starts_fast_like_every_other_wait(emu, drained, lambda_context):
    emu.next_snapshot(creating_seconds=120)

    state = take_snapshot.lambda_handler(
        drained(db_cluster_identifier="fleet", poll_interval_seconds=DROP), lambda_context
    )

    # poll_interval_seconds left out: 1 s first, as the drain, the task and the stability waits do
    assert state["snapshot"]["wait"]["next_poll_seconds"] == 1


@pytest.mark.fleet(databases=True)
def test_a_snapshot_wait_uses_a_poll_interval_that_was_set_from_the_first_look(emu, drained, lambda_context):
    emu.next_snapshot(creating_seconds=120)

    state = take_snapshot.lambda_handler(
        drained(db_cluster_identifier="fleet", poll_interval_seconds=7), lambda_context
    )

    assert state["snapshot"]["wait"]["next_poll_seconds"] == 7


@pytest.mark.fleet(databases=True)
def test_a_snapshot_is_creating_until_rds_finishes_it(emu, drained, lambda_context):
    emu.next_snapshot(creating_seconds=120)
    state = take_snapshot.lambda_handler(drained(db_cluster_identifier="fleet"), lambda_context)

    assert (state["snapshot"]["status"], state["snapshot"]["wait"]["done"]) == ("creating", False)
    emu.clock.advance(60)
    state = check_snapshot.lambda_handler(state, lambda_context)
    assert (state["snapshot"]["status"], state["snapshot"]["wait"]["done"]) == ("creating", False)
    emu.clock.advance(61)
    state = check_snapshot.lambda_handler(state, lambda_context)
    assert (state["snapshot"]["status"], state["snapshot"]["wait"]["done"]) == ("available", True)


@pytest.mark.fleet(databases=True)
def test_the_snapshot_carries_the_execution_that_took_it(emu, drained, lambda_context, execution):
    state = take_snapshot.lambda_handler(drained(db_instance_identifier="fleet-mysql"), lambda_context)

    described = emu.client("rds").describe_db_snapshots(DBSnapshotIdentifier=state["snapshot"]["snapshot_identifier"])
    assert described["DBSnapshots"][0]["TagList"] == [{"Key": "fleet-migration:execution", "Value": execution()["id"]}]


@pytest.mark.fleet(databases=True)
def test_a_retried_snapshot_step_adopts_the_snapshot_its_first_attempt_started(emu, drained, lambda_context):
    state = drained(db_cluster_identifier="fleet")
    take_snapshot.lambda_handler(dict(state), lambda_context)

    again = take_snapshot.lambda_handler(dict(state), lambda_context)

    assert again["snapshot"]["status"] == "creating"
    assert len(emu.rds_sim.call_log) == 1


@pytest.mark.fleet(databases=True)
def test_a_snapshot_still_creating_at_snapshot_timeout_seconds_ends_the_wait_said_as_no_recovery_point_yet(
    emu, drained, lambda_context
):
    emu.next_snapshot(creating_seconds=10_000)
    state = take_snapshot.lambda_handler(
        drained(db_cluster_identifier="fleet", snapshot_timeout_seconds=60), lambda_context
    )
    emu.clock.advance(61)

    state = check_snapshot.lambda_handler(state, lambda_context)

    shown = state["snapshot"]
    assert (shown["status"], shown["wait"]["done"]) == ("creating", True)
    assert "snapshot_timeout_seconds=60" in shown["message"] and "not a recovery point" in shown["message"]
    assert shown["check_command"].startswith("aws rds describe-db-cluster-snapshots")


@pytest.mark.fleet(databases=True)
def test_a_snapshot_that_fails_while_the_migration_runs_ends_the_wait_without_its_restore_command(
    emu, drained, lambda_context
):
    emu.next_snapshot(creating_seconds=5, fails=True)
    state = take_snapshot.lambda_handler(drained(db_instance_identifier="fleet-mysql"), lambda_context)
    state["result"] = {"task_arn": "arn:task", "exit_code": 0, "services": [], "duration_seconds": 1.0}
    emu.clock.advance(6)

    state = check_snapshot.lambda_handler(state, lambda_context)

    shown = state["result"]["snapshot"]
    assert shown["status"] == "failed" and "ended 'failed'" in shown["message"]
    assert "restore_command" not in shown and "restore_note" not in shown
    # the drained moment stays a recovery point: automated backups keep it
    assert shown["point_in_time_restore_command"].endswith(
        f"--restore-time {shown['restore_time']} --db-instance-class db.t4g.medium --db-subnet-group-name fleet "
        f"--vpc-security-group-ids {shown['point_in_time_restore_command'].split()[-1]}"
    )


@pytest.mark.fleet(databases=True)
def test_the_output_gets_the_snapshot_as_it_ended(emu, drained, lambda_context):
    emu.next_snapshot(creating_seconds=5)
    state = take_snapshot.lambda_handler(drained(db_cluster_identifier="fleet"), lambda_context)
    state["result"] = {"task_arn": "arn:task", "exit_code": 0, "services": [], "duration_seconds": 1.0}
    emu.clock.advance(6)

    state = check_snapshot.lambda_handler(state, lambda_context)

    shown = state["result"]["snapshot"]
    assert shown["status"] == "available" and "message" not in shown and "check_command" not in shown
    assert shown["restore_command"].startswith("aws rds restore-db-cluster-from-snapshot")


@pytest.mark.fleet(databases=True)
def test_the_drained_moment_is_a_point_in_time_restore_target_with_fleets_tool_and_the_aws_cli(
    emu, drained, lambda_context
):
    state = take_snapshot.lambda_handler(drained(db_cluster_identifier="fleet"), lambda_context)

    shown = state["snapshot"]
    moment = shown["restore_time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", moment)
    assert shown["point_in_time_restore_command"].startswith(
        "aws rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier fleet "
        f"--db-cluster-identifier fleet-restored --restore-to-time {moment} --db-subnet-group-name fleet"
    )
    note = shown["point_in_time_note"]
    assert f"db-restore.sh --restore-time {moment} --dry-run" in note
    assert note.index("--dry-run") < note.index(f"db-restore.sh --restore-time {moment} --confirm")


@pytest.mark.fleet(databases=True)
def test_a_database_without_automated_backups_offers_no_point_in_time_restore(emu, describe, lambda_context):
    emu.client("rds").modify_db_instance(DBInstanceIdentifier="fleet-mysql", BackupRetentionPeriod=0)

    state = take_snapshot.lambda_handler(describe(db_instance_identifier="fleet-mysql"), lambda_context)

    assert "restore_time" not in state["snapshot"] and "point_in_time_restore_command" not in state["snapshot"]


@pytest.mark.fleet(databases=True)
def test_a_snapshot_rds_fails_at_once_fails_the_start(emu, drained, lambda_context):
    emu.next_snapshot(creating_seconds=0, fails=True)

    with pytest.raises(TaskFailedToStart) as caught:
        take_snapshot.lambda_handler(drained(db_cluster_identifier="fleet"), lambda_context)

    assert "did not accept" in caught.value.message and "did not start" in caught.value.message
    assert caught.value.details["snapshot"]["status"] == "failed"
    assert "restore_command" not in caught.value.details["snapshot"]


@pytest.mark.fleet(databases=True)
def test_rds_refusing_the_snapshot_fails_the_start_naming_the_aws_error(emu, drained, lambda_context):
    state = drained(db_cluster_identifier="fleet")
    emu.client("rds").stop_db_cluster(DBClusterIdentifier="fleet")

    with pytest.raises(TaskFailedToStart) as caught:
        take_snapshot.lambda_handler(state, lambda_context)

    assert caught.value.details["underlying_error"] == "InvalidDBClusterStateFault"
    assert "is in stopped state" in caught.value.message


@pytest.mark.fleet(databases=True)
def test_the_emulator_refuses_a_cluster_snapshot_identifier_rds_refuses(emu, deployment):
    codes = {}
    for identifier in ["1-starts-with-a-digit", "two--hyphens", "ends-with-", "x" * 64, "under_score"]:
        with pytest.raises(ClientError) as caught:
            emu.client("rds").create_db_cluster_snapshot(
                DBClusterIdentifier="fleet", DBClusterSnapshotIdentifier=identifier
            )
        codes[identifier] = caught.value.response["Error"]["Code"]

    assert set(codes.values()) == {"InvalidParameterValue"}


@pytest.mark.fleet(databases=True)
def test_the_emulator_refuses_a_snapshot_of_a_database_that_is_not_available(emu, deployment):
    rds = emu.client("rds")
    rds.stop_db_instance(DBInstanceIdentifier="fleet-mysql")

    with pytest.raises(ClientError) as caught:
        rds.create_db_snapshot(DBInstanceIdentifier="fleet-mysql", DBSnapshotIdentifier="before")

    assert caught.value.response["Error"]["Code"] == "InvalidDBInstanceState"


@pytest.mark.fleet(databases=True)
@pytest.mark.parametrize(
    ("database", "snapshot"),
    [
        ({"DBClusterIdentifier": "fleet"}, {"DBClusterSnapshotIdentifier": "before"}),
        ({"DBInstanceIdentifier": "fleet-mysql"}, {"DBSnapshotIdentifier": "before"}),
    ],
)
def test_the_emulator_refuses_a_snapshot_describe_naming_the_database_too(emu, deployment, database, snapshot):
    # RDS API Reference, DescribeDBClusterSnapshots / DescribeDBSnapshots: the database's identifier "can't be
    # used in conjunction with" the snapshot's.
    rds = emu.client("rds")
    cluster = "DBClusterIdentifier" in database
    if cluster:
        rds.create_db_cluster_snapshot(**database, **snapshot)
    else:
        rds.create_db_snapshot(**database, **snapshot)
    describe = rds.describe_db_cluster_snapshots if cluster else rds.describe_db_snapshots

    with pytest.raises(ClientError) as caught:
        describe(**database, **snapshot)

    assert caught.value.response["Error"]["Code"] == "InvalidParameterCombination"
    key, name = (
        ("DBClusterSnapshots", "DBClusterSnapshotIdentifier") if cluster else ("DBSnapshots", "DBSnapshotIdentifier")
    )
    assert [found[name] for found in describe(**snapshot)[key]] == ["before"]
    assert "before" in [found[name] for found in describe(**database)[key]]  # each alone is fine


@pytest.mark.fleet(databases=True)
@pytest.mark.parametrize("field", ["db_cluster_identifier", "db_instance_identifier"])
def test_the_snapshot_check_reads_the_snapshot_by_its_identifier_alone(emu, drained, lambda_context, field):
    emu.next_snapshot(creating_seconds=10)
    state = take_snapshot.lambda_handler(
        drained(**{field: "fleet" if "cluster" in field else "fleet-mysql"}), lambda_context
    )
    emu.clock.advance(11)

    state = check_snapshot.lambda_handler(state, lambda_context)

    assert (state["snapshot"]["status"], state["snapshot"]["wait"]["done"]) == ("available", True)


def a_taken_cluster_snapshot(status: str) -> DatabaseSnapshot:
    return DatabaseSnapshot(
        type="cluster",
        identifier="fleet",
        snapshot_identifier="fleet-migration-fleet-fleet-r2-0123abcd",
        status=status,
        restore_command="aws rds restore-db-cluster-from-snapshot ...",
        restore_time="2026-01-01T12:00:05Z",
        point_in_time_restore_command="aws rds restore-db-cluster-to-point-in-time ... --restore-to-time 2026-01-01T12:00:05Z",
    )


def test_the_restore_guidance_gives_the_snapshot_and_the_point_in_time_commands():
    sentence, commands = restore_guidance(a_taken_cluster_snapshot("available"))

    assert commands == [
        "db-restore.sh --restore-snapshot fleet-migration-fleet-fleet-r2-0123abcd --dry-run",
        "db-restore.sh --restore-snapshot fleet-migration-fleet-fleet-r2-0123abcd --confirm",
        "aws rds restore-db-cluster-from-snapshot ...",
        "db-restore.sh --restore-time 2026-01-01T12:00:05Z --dry-run",
        "db-restore.sh --restore-time 2026-01-01T12:00:05Z --confirm",
        "aws rds restore-db-cluster-to-point-in-time ... --restore-to-time 2026-01-01T12:00:05Z",
    ]
    assert "as it was at 2026-01-01T12:00:05Z, when the services had drained" in sentence


def test_the_restore_guidance_of_a_failed_snapshot_gives_only_the_point_in_time_commands():
    sentence, commands = restore_guidance(a_taken_cluster_snapshot("failed"))

    assert "snapshot" not in " ".join(commands) and "restore the snapshot" not in sentence
    assert commands[-1].startswith("aws rds restore-db-cluster-to-point-in-time")


def test_the_restore_guidance_of_a_snapshot_still_creating_says_it_is_not_available_yet():
    sentence, _ = restore_guidance(a_taken_cluster_snapshot("creating"))

    assert "once it is available (it was creating: check_command)" in sentence


@pytest.mark.fleet(databases=True)
@pytest.mark.parametrize(
    ("create", "database", "key"),
    [
        ("create_db_cluster_snapshot", {"DBClusterIdentifier": "fleet"}, "DBClusterSnapshotIdentifier"),
        ("create_db_snapshot", {"DBInstanceIdentifier": "fleet-mysql"}, "DBSnapshotIdentifier"),
    ],
)
def test_the_emulators_rds_copies_for_a_configurable_time_and_can_fail_a_snapshot(
    emu, deployment, create, database, key
):
    emu.next_snapshot(creating_seconds=30, fails=True)

    getattr(emu.client("rds"), create)(**database, **{key: "before"})

    ((started, _, _),) = emu.rds_sim.call_log
    timeline = [emu.rds_sim.status_at("before", started + seconds) for seconds in (-1, 0, 29, 30)]
    assert timeline == ["none", "creating", "creating", "failed"]
