"""The rollback: stop every migration task of the execution, wait until it is STOPPED, then put every
service back (old Fleet must never run beside a migration still writing the schema)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from fleet_migration import (
    autoscaling,
    aws,
    ecs,
    error_names,
    manual_restore,
    migration_task,
    outage,
    partial_migration,
    polling,
    serving,
    snapshot,
    task_definitions,
    task_logs,
)
from fleet_migration.errors import CONTRACT_ERROR_NAMES, MigrationError, RollbackFailed, migration_not_applied
from fleet_migration.models import Migration, Poll, ServiceSnapshot

# Rollback waits this long for a stopped migration task to reach STOPPED. StopTask sends SIGTERM and SIGKILL
# after the container's stopTimeout: 30 s by default, at most 120 s on Fargate (StopTask; ContainerDefinition
# stopTimeout, ECS API Reference); the rest leaves time for the task's network interface to be released.
STOP_DEADLINE_SECONDS = 300


def stop_migration_tasks(migration: Migration) -> Migration:
    """Rollback's first step: make sure no migration task of this execution still runs. Looks once.

    StopTask only starts a stop: SIGTERM, then SIGKILL after the container's stop timeout (StopTask, ECS
    API Reference). Until the task is STOPPED the migration may still be writing the schema, so the
    services are restored only once ``stopping.done``. A task that already ended is read to learn how
    (exit 0 by itself means the migration was applied). StopTask is sent once, to tasks still meant to run.
    """
    spec = migration.input
    at = polling.now()
    stopping = migration.stopping or Poll.start(at, STOP_DEADLINE_SECONDS, spec.poll_interval)
    migration.stopping = stopping
    try:
        left = _unstopped_tasks_of_this_execution(migration, at)
    except ClientError as exc:
        # What we cannot see we cannot know to be STOPPED: stop what we know of and leave the rest to a person.
        error, cause = error_names.contract_error(migration, *error_names.read_caught(migration))
        if migration.task is not None and not migration.task.done:
            ecs.stop_task(spec.cluster_name, migration.task.arn, f"fleet-migration: rolling back after {error}")
        arns = [migration.task.arn] if migration.task is not None and not migration.task.done else []
        raise _not_stopped(
            migration,
            error,
            cause,
            arns,
            f"AWS refused {exc.operation_name} ({aws.error_code(exc)}: {aws.error_message(exc)}), so "
            "the migration task cannot be seen to have STOPPED and nothing was restored",
        ) from exc
    error, cause = error_names.contract_error(
        migration, *error_names.read_caught(migration)
    )  # once ECS said how the task ended
    for task in left:
        if task.meant_to_run and task.arn:  # not one ECS does not show yet: StopTask would not find it
            ecs.stop_task(spec.cluster_name, task.arn, f"fleet-migration: rolling back after {error}")
    if stopping.look(at, ", ".join(map(str, left)), spec.poll_interval):
        raise _not_stopped(
            migration,
            error,
            cause,
            [t.arn for t in left if t.arn],
            f"The migration task did not stop within {STOP_DEADLINE_SECONDS} s after rolling back "
            f"began ({stopping.detail}), so nothing was restored",
        )
    return migration


def _not_stopped(migration: Migration, error: str, cause: dict[str, Any], arns: list[str], why: str) -> RollbackFailed:
    """Nothing restored: old Fleet must not run beside a migration. The commands stop, wait, then restore."""
    cluster = migration.input.cluster_name
    waits = (
        [shlex.join(["aws", "ecs", "wait", "tasks-stopped", "--cluster", cluster, "--tasks", *arns])] if arns else []
    )
    return RollbackFailed(
        f"{why}: old Fleet must not run beside a migration; once the task is STOPPED, run these commands",
        original_error=error,
        original_cause=cause,
        rolled_back=False,
        task_arn=arns[0] if arns else None,
        commands=[shlex.join(["aws", "ecs", "stop-task", "--cluster", cluster, "--task", arn]) for arn in arns]
        + waits
        + manual_restore.commands(
            cluster,
            migration.services,
            applied=error_names.migration_applied(migration, error),
            page=outage.manual_commands(migration.maintenance, migration.page_leftovers),
            execution=migration.execution.name,
        ),
    )


@dataclass(frozen=True)
class Unstopped:
    """A migration task of this execution that ECS does not show STOPPED yet."""

    arn: str | None  # None: RunTask may have started one it never reported, that ECS does not list yet
    last_status: str | None = None  # None: ECS does not show it yet (eventual consistency)
    meant_to_run: bool = False  # desiredStatus RUNNING: nobody has told it to stop yet

    @classmethod
    def described(cls, task: dict[str, Any]) -> Unstopped:
        return cls(task["taskArn"], task.get("lastStatus"), task.get("desiredStatus") == "RUNNING")

    def __str__(self) -> str:
        return f"{self.arn or 'a task RunTask may have started unreported'} {self.last_status or 'not visible yet'}"


def _unstopped_tasks_of_this_execution(migration: Migration, at: float) -> list[Unstopped]:
    """The migration tasks of this execution not yet STOPPED, as ECS describes them.

    The one the document knows, or, when RunTask may have started one before its step failed, any task of
    this execution's ``group``. A task ECS may not show yet (eventual consistency) counts as not stopped
    (without ``lastStatus``) until the visibility grace has passed: for an unreported one, unless RunTask
    said it started nothing.
    """
    spec, task = migration.input, migration.task
    if task is not None:
        if task.done:
            return []
        described = ecs.describe_task(spec.cluster_name, task.arn)
        if described is None:
            return [Unstopped(task.arn)] if task.wait.age(at) < migration_task.VISIBILITY_GRACE_SECONDS else []
        migration_task.observe(task, described, spec.container_name)
        task.wait.done = task.last_status == "STOPPED"
        return [] if task.done else [Unstopped.described(described)]
    if migration.drain is not None and migration.drain.done:
        group = migration_task.task_group(migration.execution.id)
        found = [
            t
            for t in ecs.unstopped_migration_tasks(
                spec.cluster_name, migration_task.started_by(spec), migration_task.family(spec)
            )
            if t.get("group") == group
        ]
        stopping = migration.require("stopping")
        if (
            not found
            and _may_have_started_unreported(migration)
            and stopping.age(at) < migration_task.VISIBILITY_GRACE_SECONDS
        ):
            return [Unstopped(None)]
        return [Unstopped.described(t) for t in found]
    return []


def _may_have_started_unreported(migration: Migration) -> bool:
    """Whether the failed step may have died after RunTask started a task (a Lambda timeout, a crash).

    Our own errors and AWS's error codes are raised once RunTask has answered (a refusal, or ``failures``:
    with count 1, no task) or before it was called; only the runtime's errors and unexpected exceptions are
    not.
    """
    error = error_names.read_caught(migration)[0]
    answered = (
        error in CONTRACT_ERROR_NAMES
        or error in ("AwsThrottled", "ClientError")
        or (error.endswith("Exception") and "." not in error)
    )
    return not answered


def restore(migration: Migration) -> dict[str, str]:
    """Put every service where it belongs, once no migration task runs any more. Safe to run twice.

    Before the migration was applied that is what was captured (a rollback). Once it was applied,
    going back would run the old counts against the new schema for nothing: the services are set
    to the counts the migration was bringing them to instead. Returns ``{"error", "cause"}`` for the
    state machine's Fail states: the original error, with a cause that says what was done.
    """
    spec = migration.input
    stopping = migration.require("stopping")
    if not stopping.done:
        raise MigrationError(
            "Rollback ran before the migration task was STOPPED; the state machine definition is out of order"
        )
    snapshot.refresh(migration)  # its status as it is now: the rollback does not wait for it
    error, cause = error_names.contract_error(migration, *error_names.read_caught(migration))
    applied = error_names.migration_applied(migration, error)
    partly = partial_migration.describe(migration, error, cause)
    if partly is not None and partial_migration.stays_down(migration, partly):
        _add_recovery_details(migration, error, cause)
        return partial_migration.kept_down(migration, error, cause, partly)
    placed = []
    copies: dict[str, str] = {}  # the copies registered, for the by-hand commands if the rest fails
    try:
        for service in reversed(migration.services):
            count, min_capacity, max_capacity = service.destination(applied)
            back = _serving_again(service.revision_back(applied), migration.execution.name)
            if back and back.copy_of:
                copies[service.name] = back.arn
            ecs.set_desired_count(spec.cluster_name, service.name, count, back.arn if back else None)
            if service.scalable_target:
                autoscaling.restore(service.scalable_target, min_capacity, max_capacity)
            placed.append(_service_summary(service, applied, back))
        delays = outage.restore_delays(migration.services) + outage.restore_health_checks(migration.services)
        outage.take_down_maintenance_page(migration)
    except Exception as exc:
        reason = exc.message if isinstance(exc, MigrationError) else str(exc)
        _add_recovery_details(migration, error, cause)
        raise RollbackFailed(
            f"Rolling back after {error} failed ({reason}); run these commands to restore the services by hand",
            original_error=error,
            original_cause=cause,
            rolled_back=False,
            restored=placed,
            commands=manual_restore.commands(
                spec.cluster_name,
                migration.services,
                migration.task,
                applied=applied,
                page=outage.manual_commands(migration.maintenance, migration.page_leftovers),
                execution=migration.execution.name,
                live=True,
                copies=copies,
            ),
            snapshot=migration.snapshot_shown(),
        ) from exc
    _add_recovery_details(migration, error, cause)
    placed.reverse()
    summary = ", ".join(f"{s['name']} to {s['desired_count']} task(s)" for s in placed)
    outcome = (
        f"The migration was applied, so nothing was rolled back: the services were set to their new counts: {summary}."
        if applied
        else f"The services were rolled back to what they were before: {summary}.{_revisions_restored(placed)}"
    )
    cause.update(
        message=f"{str(cause.get('message', error)).rstrip('.')}. {outcome}", rolled_back=not applied, services=placed
    )
    partial_migration.say(migration, partly, cause, serving_previous=True)
    if delays:
        cause["target_groups"] = delays
    if migration.baseline_from:
        cause["baseline_from"] = migration.baseline_from
    return {"error": error, "cause": json.dumps(cause, sort_keys=True, default=str)}


def _add_recovery_details(migration: Migration, error: str, cause: dict[str, Any]) -> None:
    """What the operator needs next: the snapshot taken, and why the migration task failed in its own words.

    The caught cause may already carry a fresher ``snapshot`` (the snapshot step's own failure): it wins.
    """
    shown = migration.snapshot_shown()
    if shown is not None:
        cause.setdefault("snapshot", shown)
    task = migration.task
    if not migration_not_applied(error) or task is None or "log_tail" in cause:
        return
    if migration.task_logs is None:
        if migration.log_note:
            cause["log_note"] = migration.log_note
        return
    wanted = task_logs.lines_wanted()
    if wanted == 0:
        cause["log_note"] = "This deployment keeps the migration container's log lines out of causes (LogTailLines 0)."
        return
    try:
        redact = task_logs.Redactor.for_definition(task_definitions.describe(migration.task_definition_arn))
    except Exception as exc:  # best effort: never let the logs decide the outcome
        cause["log_note"] = (
            f"The migration container's log lines are left out: its task definition could not be read to redact "
            f"them ({type(exc).__name__})."
        )
        return
    lines, note = task_logs.tail(migration.task_logs, task.arn, redact, wanted)
    cause["log_tail"] = lines
    if note:
        cause["log_note"] = note


def _revisions_restored(placed: list[dict[str, Any]]) -> str:
    """The sentence that says which revision serves again, and what moves the service forward later."""
    moved = [s for s in placed if s.get("replaced_task_definition")]
    if not moved:
        return ""
    back = "; ".join(
        f"{s['name']} runs {s['task_definition']}"
        + (f" (a copy of {s['copy_of']}, which had been deregistered)" if s.get("copy_of") else " again")
        + f" instead of {s['replaced_task_definition']}"
        for s in moved
    )
    return (
        f" The Fleet that was serving serves again: {back} (the new revision cannot start before its migration). "
        "The next `terraform apply` or deploy moves the service forward again."
    )


@dataclass(frozen=True)
class RevisionBack:
    """The revision a service is put back on: the one that served, or an ACTIVE copy of it."""

    arn: str
    copy_of: str | None = None  # the deregistered revision it copies


def _serving_again(revision: str | None, execution: str) -> RevisionBack | None:
    """An ACTIVE revision that runs what served. UpdateService refuses an INACTIVE one ("you can't update an
    existing service to reference an INACTIVE task definition", DeregisterTaskDefinition, ECS API Reference), and
    Fleet's Terraform deregisters the revision it replaces: then the same definition is registered again, once
    per execution, marked so the trigger never migrates it."""
    if revision is None:
        return None
    definition = task_definitions.describe(revision)
    if definition.get("status", "ACTIVE") == "ACTIVE":
        return RevisionBack(revision)
    return RevisionBack(task_definitions.register_copy(revision, execution), copy_of=revision)


def _service_summary(service: ServiceSnapshot, applied: bool, back: RevisionBack | None) -> dict[str, Any]:
    count, min_override, max_override = service.destination(applied)
    summary: dict[str, Any] = {"name": service.name, "desired_count": count}
    if back:
        summary.update(
            task_definition=serving.revision_name(back.arn),
            replaced_task_definition=serving.revision_name(service.task_definition),
        )
        if back.copy_of:
            summary["copy_of"] = serving.revision_name(back.copy_of)
    if service.scalable_target:
        low, high = autoscaling.bounds_after(service.scalable_target, min_override, max_override)
        summary.update(
            min_capacity=low,
            max_capacity=high,
            suspended_state=service.scalable_target.suspended.to_api(),
        )
    return summary
