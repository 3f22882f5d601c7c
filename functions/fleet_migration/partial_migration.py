"""A migration that failed part-way: which migrations it applied, and what the operator can do about it.

``fleet prepare db`` commits each migration on its own and stops at the first that fails, so the earlier ones
stay applied (fleetdm/fleet server/goose/migration.go). Fleet's fork of goose prints, through Go's standard
logger, one line per migration *as it starts it* (``2024/11/20 10:00:00 [2024-11-10] Add Team Identifier ...``)
and ends a failed run with ``FAIL <version>_<Name>.go (<error>), quitting migration.``: every migration printed
before the one that failed was committed, and the failed one was not. Upstream goose prints ``OK
<version>_<name>.go`` once a migration is applied; those lines are read as well. A container stopped mid-way
(a timeout) leaves its last printed migration unfinished: it is named, not counted.

The older Fleet that the rollback brings back only warns on a schema with migrations it does not know ("This
could happen when running an older version of Fleet on a newer migrated database", cmd/fleet/serve.go): Fleet
tolerates it but does not promise it, and some migrations drop or move tables. So the cause names what was
applied and how to return to the recovery point, and ``on_partial_migration`` decides whether the older Fleet
serves meanwhile.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from fleet_migration import manual_restore, outage, snapshot
from fleet_migration.aws import client, error_code
from fleet_migration.models import Migration

# The lines read from the head of the stream, at most: a first install applies a few hundred migrations.
MAX_EVENTS = 10_000
# At most this many names in the cause (the last ones, nearest the failure): it must stay within Step Functions'
# 32,768 characters (ExecutionFailedEventDetails "cause", Step Functions API Reference).
MAX_NAMES = 40

_LOG_PREFIX = r"(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? )?"
_FLEET_LINE = re.compile(_LOG_PREFIX + r"(\[\d{4}-\d\d-\d\d\] \S.*?)\s*$")
_GOOSE_OK = re.compile(_LOG_PREFIX + r"OK\s+(\d+_\S+?\.(?:go|sql))(?:\s+\(.*\))?\s*$")
_GOOSE_FAIL = re.compile(_LOG_PREFIX + r"FAIL (\d+)_(\S+?)\.(?:go|sql) \(")
_COMPLETED = "Migrations completed."


@dataclass
class Applied:
    """What the migration container's lines say it applied."""

    names: list[str] = field(default_factory=list)
    failed: str | None = None  # the migration goose reported FAIL for
    unfinished: str | None = None  # printed as started, then the container was stopped
    note: str | None = None  # why the lines could not be read

    @property
    def partly(self) -> bool:
        return bool(self.names)


def _fleet_name(version: str, name: str) -> str:
    """The line Fleet's goose prints for ``<version>_<Name>.go`` (parseNameAndDate)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return f"[{version[:4]}-{version[4:6]}-{version[6:8]}] {spaced}"


def parse(lines: list[str]) -> Applied:
    """The migrations committed, the one that failed and the one left unfinished, from the container's lines."""
    found = Applied()
    started: list[str] = []
    completed = False
    for line in lines:
        if match := _FLEET_LINE.match(line):
            started.append(match.group(1))
        elif match := _GOOSE_OK.match(line):
            found.names.append(match.group(1))
        elif match := _GOOSE_FAIL.match(line):
            failed = _fleet_name(match.group(1), match.group(2))
            found.failed = f"{match.group(1)}_{match.group(2)}"
            if started and started[-1] == failed:
                started.pop()  # printed as it started, then failed: not applied
        elif line.strip() == _COMPLETED:
            completed = True
    if started and found.failed is None and not completed:
        found.unfinished = started.pop()
    found.names = started + found.names
    return found


def read(migration: Migration) -> Applied:
    """What the migration container applied, from its log stream (best effort: a note says what could not be read)."""
    where, task = migration.task_logs, migration.task
    if task is None:
        return Applied()
    if where is None:
        return Applied(note=migration.log_note or "The migration container's logs cannot be read.")
    stream = where.stream(task.arn)
    logs = client("logs", where.region)
    lines: list[str] = []
    token = None
    try:
        while len(lines) < MAX_EVENTS:
            asked: dict[str, Any] = {"logGroupName": where.group, "logStreamName": stream, "startFromHead": True}
            if token:
                asked["nextToken"] = token
            answer = logs.get_log_events(**asked)
            events = answer.get("events", [])
            lines += [str(e.get("message", "")).rstrip("\n") for e in events]
            if not events or answer.get("nextForwardToken") in (None, token):
                break
            token = answer.get("nextForwardToken")
    except Exception as exc:  # best effort: never let the logs decide the outcome
        code = error_code(exc) if hasattr(exc, "response") else type(exc).__name__
        if code != "ResourceNotFoundException" or lines:
            return Applied(note=f"The log stream {stream} in {where.group} could not be read ({code}).")
    return parse(lines[:MAX_EVENTS])


def details(applied: Applied) -> dict[str, Any]:
    """The cause's fields: ``applied_migrations`` always (the last ``MAX_NAMES``), and what else is known."""
    shown: dict[str, Any] = {"applied_migrations": applied.names[-MAX_NAMES:]}
    if len(applied.names) > MAX_NAMES:
        shown["applied_migrations_count"] = len(applied.names)
    if applied.failed:
        shown["failed_migration"] = applied.failed
    if applied.unfinished:
        shown["unfinished_migration"] = applied.unfinished
    if applied.note:
        shown["applied_migrations_note"] = applied.note
    return shown


def restore_guidance(migration: Migration) -> tuple[str, list[str]]:
    """(a sentence that says how to return to the recovery point, the commands that do it)."""
    taken = migration.snapshot
    found = snapshot.restore_guidance(taken)
    if found is not None:
        return found
    moment = _drained_moment(migration)
    if taken is not None:  # a database was named, yet RDS failed its snapshot and it keeps no automated backups
        return (
            f"this execution has no recovery point: the snapshot {taken.snapshot_identifier} of {taken.identifier} "
            f"is {taken.status}, and {taken.identifier} keeps no automated backups (BackupRetentionPeriod 0) to "
            f"restore it as it was at {moment}, when the services had drained; restore it from a backup of your own",
            [],
        )
    command = (
        "aws rds restore-db-cluster-to-point-in-time --source-db-cluster-identifier <Fleet's Aurora cluster> "
        f"--db-cluster-identifier <new name> --restore-to-time {moment}"
    )
    sentence = (
        f"no snapshot was taken, so restore the database to {moment} (a point-in-time restore to the moment the "
        "services had drained, before the first migration ran) into a new database and point Fleet at it"
    )
    return sentence, [command]


def _drained_moment(migration: Migration) -> str:
    """When nothing wrote to the database any more and no migration had run: the migration task's start."""
    return snapshot.drained_moment(migration.task.wait.started_at if migration.task is not None else 0.0)


def message(applied: Applied, restore: str, serving_previous: bool) -> str:
    """The sentences a partly applied migration adds to the cause's message."""
    shown = ", ".join(applied.names[-5:]) + (" and earlier ones" if len(applied.names) > 5 else "")
    head = (
        f"The schema is partly migrated: {len(applied.names)} migration(s) were applied before the failure "
        f"({shown}); MySQL cannot undo them."
    )
    if serving_previous:
        fleet = (
            " The older Fleet serves on this newer schema, which Fleet tolerates (it warns: 'This could happen when "
            "running an older version of Fleet on a newer migrated database') but does not promise to work: some "
            "migrations drop or move tables."
        )
    else:
        fleet = " Fleet stays down (on_partial_migration is stay_down): the older Fleet would run on a schema it does not know."
    return f"{head}{fleet} To return to the recovery point, {restore}."


def bring_back_commands(migration: Migration) -> list[str]:
    """The commands that bring the older Fleet back once the database is restored: the rollback's by hand, with
    the maintenance page taken down."""
    return manual_restore.commands(
        migration.input.cluster_name,
        migration.services,
        applied=False,
        page=outage.manual_commands(migration.maintenance, migration.page_leftovers),
        execution=migration.execution.name,
        live=True,
    )


_CONTAINER_FAILED = ("MigrationFailed", "MigrationTimeout")


def describe(migration: Migration, error: str, cause: dict[str, Any]) -> Applied | None:
    """When the migration container failed: add what it applied to the cause, and return it (None otherwise)."""
    if error not in _CONTAINER_FAILED or migration.task is None or "applied_migrations" in cause:
        return None
    applied = read(migration)
    cause.update(details(applied))
    return applied


def stays_down(migration: Migration, applied: Applied | None) -> bool:
    """Whether the operator's policy keeps Fleet down: ``stay_down`` and some migrations applied."""
    return applied is not None and applied.partly and migration.input.on_partial_migration == "stay_down"


def say(migration: Migration, applied: Applied | None, cause: dict[str, Any], serving_previous: bool) -> None:
    """Add the partly-migrated sentences and the restore commands to a cause (nothing when nothing was applied)."""
    if applied is None or not applied.partly:
        return
    restore, commands = restore_guidance(migration)
    cause["message"] = f"{str(cause['message']).rstrip()} {message(applied, restore, serving_previous)}"
    cause["restore_commands"] = commands


def kept_down(migration: Migration, error: str, cause: dict[str, Any], applied: Applied) -> dict[str, str]:
    """The end of a ``stay_down`` execution: the services stay held, the page stays up; the cause says how to
    restore the database and then bring the older Fleet back (or to run the migration again once fixed)."""
    held = migration.input.capacity_during_migration
    cause["message"] = (
        f"{str(cause.get('message', error)).rstrip('.')}. Nothing was rolled back: the services stay at {held} "
        "task(s), autoscaling stays held and the maintenance page (if any) stays up."
    )
    say(migration, applied, cause, serving_previous=False)
    cause["message"] += (
        " Then run `commands` in order to bring the older Fleet back; or fix what failed and run the migration "
        "again (a new execution restores what this one captured)."
    )
    cause.update(
        rolled_back=False,
        services=[{"name": s.name, "desired_count": held} for s in migration.services],
        commands=bring_back_commands(migration),
    )
    if migration.baseline_from:
        cause["baseline_from"] = migration.baseline_from
    return {"error": error, "cause": json.dumps(cause, sort_keys=True, default=str)}
