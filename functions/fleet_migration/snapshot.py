"""The recovery point: a snapshot of Fleet's database after the drain, before the migration task runs.

``db_cluster_identifier`` (Aurora: CreateDBClusterSnapshot) or ``db_instance_identifier`` (RDS:
CreateDBSnapshot). The describe step checks the database exists and plans the snapshot; the create
step starts it; the check step looks once whether it is available (the state machine waits between
looks). A snapshot that fails or outlives ``snapshot_timeout_seconds`` ends the migration before it
starts, as ``TaskFailedToStart``: the migration task never ran, and the services are rolled back.
"""

from __future__ import annotations

import hashlib
import re
import shlex
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
    command, note = _restore(kind, identifier, name, database)
    # arn:<partition>:rds:<region>:<account>:cluster-snapshot:<name> (or snapshot:<name>), beside the database's own
    database_arn = database.get("DBClusterArn") or database.get("DBInstanceArn", "")
    prefix = database_arn.rsplit(":", 2)[0]
    arn = f"{prefix}:{'cluster-snapshot' if kind == 'cluster' else 'snapshot'}:{name}" if prefix else None
    return DatabaseSnapshot(
        type=kind, identifier=identifier, snapshot_identifier=name, arn=arn, restore_command=command, restore_note=note
    )


def _restore(kind: str, identifier: str, name: str, database: dict[str, Any]) -> tuple[str, str]:
    """The AWS CLI command that restores the snapshot into a new database next to the old one."""
    restored = f"{identifier}-restored"[:63].rstrip("-")
    groups = [g["VpcSecurityGroupId"] for g in database.get("VpcSecurityGroups", [])]
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
        subnet_group = database.get("DBSubnetGroup")
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
        if database.get("DBInstanceClass"):
            words += ["--db-instance-class", database["DBInstanceClass"]]
        subnet_group = (database.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
        note = (
            "Then point Fleet's database address at the new instance's endpoint (Fleet's own restore tool, "
            "fleetdm/fleet-terraform tools/rds-db-restore, restores Aurora cluster snapshots only)."
        )
    if subnet_group:
        words += ["--db-subnet-group-name", subnet_group]
    if groups:
        words += ["--vpc-security-group-ids", *groups]
    return shlex.join(words), note


def unknown(snapshot: DatabaseSnapshot) -> dict[str, Any]:
    """The planned snapshot as a cause prepared in advance shows it: it may or may not have been taken since."""
    kind = (
        "describe-db-cluster-snapshots --db-cluster-snapshot-identifier"
        if snapshot.type == "cluster"
        else "describe-db-snapshots --db-snapshot-identifier"
    )
    return {
        **snapshot.public(),
        "status": "unknown",
        "check_command": f"aws rds {kind} {shlex.quote(snapshot.snapshot_identifier)}",
    }


def _failed(snapshot: DatabaseSnapshot, message: str, **details: Any) -> TaskFailedToStart:
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
            # and the check step reads how it is doing.
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


def take(migration: Migration) -> Migration:
    """Start the snapshot (the services have drained: nothing writes to the database any more)."""
    spec, snapshot = migration.input, migration.snapshot
    if snapshot is None:
        return migration
    try:
        _observe(snapshot, _create(snapshot, migration.execution))
    except ClientError as exc:
        raise _failed(
            snapshot,
            f"RDS refused the snapshot of {snapshot.identifier!r} ({error_code(exc)}: {error_message(exc)})",
            underlying_error=error_code(exc),
        ) from exc
    started = polling.now()
    snapshot.wait = Poll.start(started, spec.snapshot_timeout_seconds, spec.poll_interval)
    return _settle(migration, started)


def check(migration: Migration) -> Migration:
    """Look once whether the snapshot is available."""
    snapshot = migration.snapshot
    if snapshot is None:
        return migration
    try:
        _observe(snapshot, _describe(snapshot))
    except ClientError as exc:
        raise _failed(
            snapshot,
            f"The snapshot {snapshot.snapshot_identifier!r} could not be read "
            f"({error_code(exc)}: {error_message(exc)})",
            underlying_error=error_code(exc),
        ) from exc
    return _settle(migration, polling.now())


def _settle(migration: Migration, at: float) -> Migration:
    spec, snapshot = migration.input, migration.snapshot
    if snapshot is None or snapshot.wait is None:
        raise MigrationError("The state document has no started snapshot; the state machine definition is out of order")
    if snapshot.status != "available" and snapshot.status not in IN_PROGRESS:
        raise _failed(
            snapshot,
            f"The snapshot {snapshot.snapshot_identifier!r} of {snapshot.identifier!r} ended "
            f"{snapshot.status!r}; look at the RDS events of {snapshot.identifier!r}, then run "
            "the migration again (or without a snapshot)",
        )
    waiting_for = "" if snapshot.status == "available" else f"snapshot {snapshot.snapshot_identifier} {snapshot.status}"
    if snapshot.wait.look(at, waiting_for, spec.poll_interval):
        raise _failed(
            snapshot,
            f"The snapshot {snapshot.snapshot_identifier!r} of {snapshot.identifier!r} was still "
            f"{snapshot.status!r} after snapshot_timeout_seconds={spec.snapshot_timeout_seconds}; "
            "it may still become available: raise snapshot_timeout_seconds for a large database",
        )
    return migration
