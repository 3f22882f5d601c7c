"""The recovery point: a snapshot of Fleet's database after the drain, off the outage's critical path.

``db_cluster_identifier`` (Aurora: CreateDBClusterSnapshot) or ``db_instance_identifier`` (RDS:
CreateDBSnapshot). The describe step checks the database exists and plans the snapshot; the create
step starts it right after the drain and records the drained moment as a point-in-time restore target.
The migration task runs as soon as RDS has accepted the snapshot ("creating"): a snapshot captures the
database as of its start (Aurora at the storage layer, RDS crash-consistently; RDS User Guide, "Creating
a DB snapshot" / Aurora User Guide, "Creating a DB cluster snapshot"), so the migration's writes are not in
it. RDS refusing the snapshot ends the migration before it starts, as ``TaskFailedToStart`` (the migration
task never ran, the services are rolled back). After Fleet serves again the check step looks whether it is
available, once per poll, until ``snapshot_timeout_seconds`` after its start; a snapshot that failed or is
still not available then is said in the output's ``snapshot`` (status, message) and no restore command for
it is given: the execution has migrated and Fleet serves, and the client's exit status says it.
"""

from __future__ import annotations

import hashlib
import math
import re
import shlex
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from fleet_migration import polling
from fleet_migration.aws import client, error_code, error_message, throttling_is_retried
from fleet_migration.errors import InvalidInput, MigrationError, ResourceNotFound, TaskFailedToStart
from fleet_migration.execution_input import MigrationInput
from fleet_migration.models import DatabaseSnapshot, Execution, Migration, Poll

PREFIX = "fleet-migration-"
# The tag that says which execution took a snapshot (CreateDBClusterSnapshot/CreateDBSnapshot Tags).
EXECUTION_TAG = "fleet-migration:execution"
# Snapshot identifiers (RDS API Reference): letters, digits and hyphens, the first a letter, no two
# hyphens in a row, not ending in one; at most 63 characters for CreateDBClusterSnapshot's
# DBClusterSnapshotIdentifier, 255 for CreateDBSnapshot's DBSnapshotIdentifier. RDS stores them lowercase.
IDENTIFIER_LIMIT = {"cluster": 63, "instance": 255}
# RDS statuses of a snapshot still being made; "available" is done, anything else did not work.
IN_PROGRESS = frozenset({"creating", "pending"})


def _rds() -> Any:
    return client("rds")


def snapshot_identifier(execution: Execution, kind: str) -> str:
    """``fleet-migration-<execution name>-<8 hex of its ARN>``: named after the execution, unique across
    state machines, within the identifier rules (lowercase, hyphens only, cut to fit)."""
    name = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", execution.name.lower())).strip("-")
    suffix = "-" + hashlib.sha256(execution.id.encode()).hexdigest()[:8]
    room = IDENTIFIER_LIMIT[kind] - len(PREFIX) - len(suffix)
    return f"{PREFIX}{name[:room].rstrip('-') or 'x'}{suffix}"


@throttling_is_retried
def find_database(spec: MigrationInput) -> dict[str, Any] | None:
    """The cluster or instance the input names, described; None when it names none."""
    try:
        if spec.db_cluster_identifier:
            return _rds().describe_db_clusters(DBClusterIdentifier=spec.db_cluster_identifier)["DBClusters"][0]
        if spec.db_instance_identifier:
            instance = _rds().describe_db_instances(DBInstanceIdentifier=spec.db_instance_identifier)["DBInstances"][0]
            if instance.get("DBClusterIdentifier"):
                # CreateDBSnapshot refuses an Aurora cluster's instance: its storage belongs to the cluster.
                raise InvalidInput(
                    f"db_instance_identifier: {spec.db_instance_identifier!r} is an instance of the Aurora cluster "
                    f"{instance['DBClusterIdentifier']!r}; set db_cluster_identifier to "
                    f'{instance["DBClusterIdentifier"]!r} and db_instance_identifier to ""',
                    fields=["db_instance_identifier"],
                )
            return instance
    except ClientError as exc:
        if error_code(exc) in ("DBClusterNotFoundFault", "DBInstanceNotFound"):
            field = "db_cluster_identifier" if spec.db_cluster_identifier else "db_instance_identifier"
            kind = "Aurora DB cluster" if spec.db_cluster_identifier else "RDS DB instance"
            raise ResourceNotFound(
                f"{field}: {kind} {getattr(spec, field)!r} was not found in this account and region; check the "
                f'identifier, or set {field} to "" to migrate without a snapshot',
                fields=[field],
            ) from exc
        raise
    return None


def plan(spec: MigrationInput, execution: Execution, database: dict[str, Any] | None) -> DatabaseSnapshot | None:
    """The snapshot this execution will take, with the command that restores it (nothing is created yet)."""
    if database is None:
        return None
    kind: Literal["cluster", "instance"] = "cluster" if spec.db_cluster_identifier else "instance"
    name = snapshot_identifier(execution, kind)
    identifier = spec.db_cluster_identifier or spec.db_instance_identifier
    options = _restore_options(kind, database)
    command, note = _restore(kind, identifier, name, database, options)
    # arn:<partition>:rds:<region>:<account>:cluster-snapshot:<name> (or snapshot:<name>), beside the database's own
    database_arn = database.get("DBClusterArn") or database.get("DBInstanceArn", "")
    prefix = database_arn.rsplit(":", 2)[0]
    arn = f"{prefix}:{'cluster-snapshot' if kind == 'cluster' else 'snapshot'}:{name}" if prefix else None
    describe = (
        "describe-db-cluster-snapshots --db-cluster-snapshot-identifier"
        if kind == "cluster"
        else "describe-db-snapshots --db-snapshot-identifier"
    )
    return DatabaseSnapshot(
        type=kind,
        identifier=identifier,
        snapshot_identifier=name,
        arn=arn,
        restore_command=command,
        restore_note=note,
        # A point-in-time restore needs automated backups: BackupRetentionPeriod 0 turns them off for an RDS
        # instance (an Aurora cluster always keeps at least 1 day; RDS User Guide, "Introduction to backups").
        point_in_time_options=options if database.get("BackupRetentionPeriod", 1) else None,
        check_command=f"aws rds {describe} {shlex.quote(name)}",
    )


def _restore_options(kind: str, database: dict[str, Any]) -> list[str]:
    """What a database restored next to this one needs to be reachable as this one is: its network and size."""
    groups = [g["VpcSecurityGroupId"] for g in database.get("VpcSecurityGroups", [])]
    words = []
    if kind == "cluster":
        subnet_group = database.get("DBSubnetGroup")
    else:
        if database.get("DBInstanceClass"):
            words += ["--db-instance-class", database["DBInstanceClass"]]
        subnet_group = (database.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
    if subnet_group:
        words += ["--db-subnet-group-name", subnet_group]
    if groups:
        words += ["--vpc-security-group-ids", *groups]
    return words


def _restored(identifier: str) -> str:
    return f"{identifier}-restored"[:63].rstrip("-")


def _restore(kind: str, identifier: str, name: str, database: dict[str, Any], options: list[str]) -> tuple[str, str]:
    """The AWS CLI command that restores the snapshot into a new database next to the old one."""
    restored = _restored(identifier)
    if kind == "cluster":
        words = [
            "aws",
            "rds",
            "restore-db-cluster-from-snapshot",
            "--db-cluster-identifier",
            restored,
            "--snapshot-identifier",
            name,
            "--engine",
            database.get("Engine", "aurora-mysql"),
        ]
        if database.get("EngineVersion"):
            words += ["--engine-version", database["EngineVersion"]]
        # fleetdm/fleet-terraform tools/rds-db-restore/db-restore.sh restores an Aurora cluster snapshot into the
        # Terraform state of Fleet's example layout (--restore-snapshot <id|arn>; --dry-run prints the plan,
        # --confirm runs it; --rollback --fleet-image <tag> puts the older Fleet image back as well).
        fleet_tool = f"db-restore.sh --restore-snapshot {shlex.quote(name)}"
        note = (
            f"Deployed with fleetdm/fleet-terraform? Restore with Fleet's own tool (tools/rds-db-restore/"
            f"db-restore.sh in fleetdm/fleet-terraform), from your environment directory: first `{fleet_tool} "
            f"--dry-run`, then `{fleet_tool} --confirm` (add --rollback --fleet-image <the Fleet version that "
            "ran before> to go back to the older Fleet too). Otherwise use restore_command; a restored Aurora "
            f"cluster has no DB instances: add one with aws rds create-db-instance --db-cluster-identifier "
            f"{restored} --db-instance-identifier {restored}-1 --engine {database.get('Engine', 'aurora-mysql')} "
            f"--db-instance-class <the class of {identifier}'s writer>, then point Fleet's database address at "
            "the new cluster's endpoint."
        )
    else:
        words = [
            "aws",
            "rds",
            "restore-db-instance-from-db-snapshot",
            "--db-instance-identifier",
            restored,
            "--db-snapshot-identifier",
            name,
        ]
        note = (
            "Then point Fleet's database address at the new instance's endpoint (Fleet's own restore tool, "
            "fleetdm/fleet-terraform tools/rds-db-restore, restores Aurora cluster snapshots only)."
        )
    return shlex.join(words + options), note


def _point_in_time(snapshot: DatabaseSnapshot, moment: str) -> tuple[str, str]:
    """The AWS CLI command that restores the database as it was at ``moment`` into a new one, and a note."""
    options = snapshot.point_in_time_options or []
    restored = _restored(snapshot.identifier)
    # RestoreDBClusterToPointInTime / RestoreDBInstanceToPointInTime (RDS API Reference): a UTC time no later
    # than the database's LatestRestorableTime, within its backup retention period.
    if snapshot.type == "cluster":
        words = [
            "aws", "rds", "restore-db-cluster-to-point-in-time", "--source-db-cluster-identifier",
            snapshot.identifier, "--db-cluster-identifier", restored, "--restore-to-time", moment,
        ]  # fmt: skip
        fleet_tool = f"db-restore.sh --restore-time {moment}"
        how = (
            f"with fleetdm/fleet-terraform, its tools/rds-db-restore/{fleet_tool} --dry-run, then {fleet_tool} "
            "--confirm; otherwise point_in_time_restore_command (then add a DB instance to the restored cluster, "
            "as restore_note says)"
        )
    else:
        words = [
            "aws", "rds", "restore-db-instance-to-point-in-time", "--source-db-instance-identifier",
            snapshot.identifier, "--target-db-instance-identifier", restored, "--restore-time", moment,
        ]  # fmt: skip
        how = "point_in_time_restore_command creates a new instance to point Fleet's database address at"
    note = (
        f"{moment} is the moment the services had drained, before the migration ran: {snapshot.identifier} can be "
        f"restored as it was then from its automated backups ({how}). RDS can restore to it once the database's "
        "LatestRestorableTime has passed it (usually within 5 minutes) and for as long as it keeps its backups."
    )
    return shlex.join(words + options), note


def unknown(snapshot: DatabaseSnapshot) -> dict[str, Any]:
    """The planned snapshot as a cause prepared in advance shows it: it may or may not have been taken since."""
    return {**snapshot.public(), "status": "unknown", "check_command": snapshot.check_command}


def _refused(snapshot: DatabaseSnapshot, message: str, **details: Any) -> TaskFailedToStart:
    return TaskFailedToStart(f"{message}; the migration task did not start", snapshot=snapshot.public(), **details)


@throttling_is_retried
def _create(snapshot: DatabaseSnapshot, execution: Execution) -> dict[str, Any]:
    tags = [{"Key": EXECUTION_TAG, "Value": execution.id}]
    try:
        if snapshot.type == "cluster":
            return _rds().create_db_cluster_snapshot(
                DBClusterIdentifier=snapshot.identifier,
                DBClusterSnapshotIdentifier=snapshot.snapshot_identifier,
                Tags=tags,
            )["DBClusterSnapshot"]
        return _rds().create_db_snapshot(
            DBInstanceIdentifier=snapshot.identifier,
            DBSnapshotIdentifier=snapshot.snapshot_identifier,
            Tags=tags,
        )["DBSnapshot"]
    except ClientError as exc:
        if error_code(exc) in ("DBClusterSnapshotAlreadyExistsFault", "DBSnapshotAlreadyExists"):
            # The name is this execution's alone: a retried step finds the snapshot its first attempt started,
            # which RDS accepted then; the check after the migration reads how it ended.
            return {"Status": "creating"}
        raise


@throttling_is_retried
def _describe(snapshot: DatabaseSnapshot) -> dict[str, Any]:
    # The snapshot identifier alone: the database's identifier "can't be used in conjunction with" it (RDS API
    # Reference, DescribeDBClusterSnapshots and DescribeDBSnapshots); the name is unique to the execution anyway.
    if snapshot.type == "cluster":
        return _rds().describe_db_cluster_snapshots(
            DBClusterSnapshotIdentifier=snapshot.snapshot_identifier,
        )["DBClusterSnapshots"][0]
    return _rds().describe_db_snapshots(DBSnapshotIdentifier=snapshot.snapshot_identifier)["DBSnapshots"][0]


def _observe(snapshot: DatabaseSnapshot, described: dict[str, Any]) -> None:
    snapshot.arn = described.get("DBClusterSnapshotArn") or described.get("DBSnapshotArn") or snapshot.arn
    snapshot.status = str(described.get("Status", "creating")).lower()


def drained_moment(at: float) -> str:
    """``at`` as a restore time: UTC ISO 8601, rounded up to the second so that it is never before the drain."""
    return datetime.fromtimestamp(math.ceil(at), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def take(migration: Migration) -> Migration:
    """Start the snapshot (the services have drained: nothing writes to the database any more) and record the
    drained moment. The migration may run once this returns: RDS has accepted the snapshot."""
    spec, snapshot = migration.input, migration.snapshot
    if snapshot is None:
        return migration
    started = polling.now()
    try:
        _observe(snapshot, _create(snapshot, migration.execution))
    except ClientError as exc:
        raise _refused(
            snapshot,
            f"RDS refused the snapshot of {snapshot.identifier!r} ({error_code(exc)}: {error_message(exc)})",
            underlying_error=error_code(exc),
        ) from exc
    if snapshot.point_in_time_options is not None:
        snapshot.restore_time = drained_moment(started)
        snapshot.point_in_time_restore_command, snapshot.point_in_time_note = _point_in_time(
            snapshot, snapshot.restore_time
        )
    if snapshot.status != "available" and snapshot.status not in IN_PROGRESS:
        raise _refused(
            snapshot,
            f"RDS did not accept the snapshot {snapshot.snapshot_identifier!r} of {snapshot.identifier!r}: it is "
            f"{snapshot.status!r}; look at the RDS events of {snapshot.identifier!r}, then run the migration "
            "again (or without a snapshot)",
        )
    snapshot.wait = Poll.start(started, spec.snapshot_timeout_seconds, spec.poll_interval)
    return migration


def refresh(migration: Migration) -> Migration:
    """Read the snapshot's status once, without waiting, so that a cause says it as it is now (a rollback, a
    service that did not become stable). An unreadable snapshot keeps the status last seen."""
    snapshot = migration.snapshot
    if snapshot is None or snapshot.status == "planned":
        return migration
    try:
        _observe(snapshot, _describe(snapshot))
    except (ClientError, IndexError):
        return migration
    _explain(snapshot, spec=migration.input, timed_out=False)
    return migration


def check(migration: Migration) -> Migration:
    """After Fleet serves again: look once whether the snapshot is available. Its end (available, failed, still
    creating at its deadline, unreadable) ends the wait; the output's ``snapshot`` then says it."""
    spec, snapshot = migration.input, migration.snapshot
    if snapshot is None:
        return migration
    wait = snapshot.wait
    if wait is None:
        raise MigrationError("The state document has no started snapshot; the state machine definition is out of order")
    at = polling.now()
    try:
        _observe(snapshot, _describe(snapshot))
    except ClientError as exc:
        snapshot.status = "unknown"
        snapshot.message = (
            f"The snapshot {snapshot.snapshot_identifier!r} could not be read ({error_code(exc)}: "
            f"{error_message(exc)}): run check_command to see whether it is available before relying on it"
        )
        wait.look(at, "", spec.poll_interval)
    else:
        settled = snapshot.status not in IN_PROGRESS
        timed_out = wait.look(
            at, "" if settled else f"snapshot {snapshot.snapshot_identifier} {snapshot.status}", spec.poll_interval
        )
        if timed_out:
            wait.done = True
        _explain(snapshot, spec, timed_out)
    if wait.done:
        _finish(migration, at)
    return migration


def _explain(snapshot: DatabaseSnapshot, spec: MigrationInput, timed_out: bool) -> None:
    """The snapshot's ``message`` whenever it is not (yet) a recovery point: nobody may take it for one."""
    point_in_time = (
        f"; the point-in-time target {snapshot.restore_time} remains (point_in_time_restore_command)"
        if snapshot.point_in_time_restore_command
        else ""
    )
    if snapshot.status == "available":
        snapshot.message = None
    elif snapshot.status in IN_PROGRESS:
        snapshot.message = (
            f"The snapshot {snapshot.snapshot_identifier!r} of {snapshot.identifier!r} was still "
            f"{snapshot.status!r} after snapshot_timeout_seconds={spec.snapshot_timeout_seconds}: it is not a "
            "recovery point until it is available (check_command)" + point_in_time
            if timed_out
            else f"The snapshot {snapshot.snapshot_identifier!r} is still {snapshot.status!r}: it is not a "
            "recovery point until it is available (check_command)" + point_in_time
        )
    else:
        snapshot.message = (
            f"The snapshot {snapshot.snapshot_identifier!r} of {snapshot.identifier!r} ended {snapshot.status!r}: "
            f"there is no snapshot to restore; look at the RDS events of {snapshot.identifier!r}" + point_in_time
        )


def _finish(migration: Migration, at: float) -> None:
    """The output the execution ends with carries the snapshot as it ended."""
    snapshot = migration.require("snapshot")
    if migration.result is not None:
        migration.result["snapshot"] = snapshot.public()
        migration.result["duration_seconds"] = round(at - migration.execution.started_at, 1)


def restore_guidance(taken: DatabaseSnapshot | None) -> tuple[str, list[str]] | None:
    """(a sentence, the commands) that return the database to the recovery point: the snapshot where RDS has not
    failed it, and the drained moment by point-in-time restore where automated backups keep it. None: neither."""
    if taken is None or taken.status == "planned":
        return None
    sentences, commands = [], []
    if taken.status != "failed":
        name = taken.snapshot_identifier
        tool = f"db-restore.sh --restore-snapshot {shlex.quote(name)}"
        pending = "" if taken.status == "available" else f" once it is available (it was {taken.status}: check_command)"
        sentences.append(
            f"restore the snapshot {name} taken before the migration{pending}: with fleetdm/fleet-terraform, run its "
            f"tools/rds-db-restore/{tool} --dry-run, then {tool} --confirm; otherwise restore_command creates a "
            "database from it to point Fleet at (see snapshot.restore_note)"
            if taken.type == "cluster"
            else f"restore the snapshot {name} taken before the migration{pending}: restore_command creates a "
            "database from it to point Fleet at (see snapshot.restore_note)"
        )
        commands += [f"{tool} --dry-run", f"{tool} --confirm"] if taken.type == "cluster" else []
        commands.append(taken.restore_command)
    if taken.point_in_time_restore_command and taken.restore_time:
        moment = taken.restore_time
        tool = f"db-restore.sh --restore-time {moment}"
        sentences.append(
            f"restore the database as it was at {moment}, when the services had drained, by point-in-time restore"
            + (
                f" (with fleetdm/fleet-terraform: {tool} --dry-run, then {tool} --confirm)"
                if taken.type == "cluster"
                else ""
            )
        )
        commands += [f"{tool} --dry-run", f"{tool} --confirm"] if taken.type == "cluster" else []
        commands.append(taken.point_in_time_restore_command)
    if not sentences:
        return None
    return "; or ".join(sentences), commands
