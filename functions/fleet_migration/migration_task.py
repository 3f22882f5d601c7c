"""The migration task: start it once per execution, follow it, and judge how it ended.

A STOPPED task succeeded only if its essential container exited 0 by itself (``MigrationTask.succeeded``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from fleet_migration import ecs, polling, preflight
from fleet_migration.errors import MigrationFailed, MigrationTimeout, TaskFailedToStart
from fleet_migration.execution_input import MigrationInput, short_name
from fleet_migration.models import ENDED_BY_ITSELF, Migration, MigrationTask, Poll

# How long a task RunTask started may be missing from DescribeTasks before that means it is gone. The
# ECS API "follows an eventual consistency model"; RunTask's reference advises describing a new task with
# backoff "starting with a couple of seconds of wait time" (RunTask, ECS API Reference).
VISIBILITY_GRACE_SECONDS = 60


def run(migration: Migration) -> Migration:
    spec = migration.input
    # Checked again here: this step's input is the state document, which a redrive or a crafted call could change.
    preflight.check_command(spec.command, preflight.allowed_commands())
    task = ecs.run_task(
        cluster=spec.cluster_name,
        task_definition=migration.task_definition_arn,
        container_name=spec.container_name,
        command=spec.command,
        launch=migration.require("launch"),
        client_token=client_token(migration.execution.id),
        started_by=started_by(spec),
        group=task_group(migration.execution.id),
        cpu=spec.task_cpu,
        memory=spec.task_memory,
        container_memory=migration.container_memory,
    )
    migration.task = MigrationTask(
        arn=task["taskArn"],
        last_status=task.get("lastStatus", "PROVISIONING"),
        wait=Poll.start(polling.now(), spec.timeout_seconds, spec.poll_interval),
    )
    return migration


def check(migration: Migration) -> Migration:
    spec, task = migration.input, migration.require("task")
    at = polling.now()
    described = ecs.describe_task(spec.cluster_name, task.arn)
    if described is None:
        if task.wait.age(at) >= VISIBILITY_GRACE_SECONDS:
            raise TaskFailedToStart(
                f"ECS still does not show the migration task {VISIBILITY_GRACE_SECONDS} s after RunTask started it; "
                "look for it in the cluster's stopped tasks, then run the migration again",
                task_arn=task.arn,
            )
        # not visible yet (eventual consistency): look again, within the timeout like any other poll
    else:
        observe(task, described, spec.container_name)
    if task.wait.look(at, "" if task.last_status == "STOPPED" else f"the task {task.last_status}", spec.poll_interval):
        ecs.stop_task(
            spec.cluster_name, task.arn, f"fleet-migration: still running after timeout_seconds={spec.timeout_seconds}"
        )
        raise MigrationTimeout(
            f"The migration task was still {task.last_status} after timeout_seconds={spec.timeout_seconds} and was "
            "stopped; check the database and the task's logs, then raise timeout_seconds if the migration is just slow",
            **_task_details(task),
        )
    if task.done:
        _raise_unless_succeeded(task, spec.container_name)
    return migration


def _raise_unless_succeeded(task: MigrationTask, container_name: str) -> None:
    """A STOPPED task succeeded only if its essential container exited 0 by itself (``MigrationTask.succeeded``)."""
    if task.succeeded:
        return
    details = _task_details(task)
    reasons = "; ".join(f"{name}: {reason}" for name, reason in (task.container_reasons or {}).items())
    stopped_by = (
        ""
        if task.stop_code == ENDED_BY_ITSELF
        else (
            f" after ECS stopped the task ({task.stop_code or 'no stop code'}: {task.stopped_reason or 'no reason given'})"
        )
    )
    if task.stop_code == "TaskFailedToStart" or task.exit_code is None:
        raise TaskFailedToStart(
            f"The migration task stopped before running the command ({task.stop_code or 'no exit code'}: "
            f"{task.stopped_reason or 'no reason given'}{'; ' + reasons if reasons else ''}); check the image, "
            "secrets, subnets and security groups",
            **details,
        )
    if task.exit_code != 0:
        raise MigrationFailed(
            f"The migration command exited with code {task.exit_code}{stopped_by}"
            f"{' (' + reasons + ')' if reasons else ''}; read the {container_name!r} container's logs for the task, "
            "fix the cause and run the migration again",
            **details,
        )
    raise MigrationFailed(
        f"The migration command exited with code 0, but only{stopped_by}: it was interrupted and may not have "
        f"finished{' (' + reasons + ')' if reasons else ''}; check the database schema and run the migration again",
        **details,
    )


def _task_details(task: MigrationTask) -> dict[str, Any]:
    return {
        "task_arn": task.arn,
        "exit_code": task.exit_code,
        "stop_code": task.stop_code,
        "stopped_reason": task.stopped_reason,
        "container_reasons": task.container_reasons or None,
    }


def observe(task: MigrationTask, described: dict[str, Any], container_name: str) -> None:
    """Copy what ECS says of the migration task into the state document."""
    task.last_status = described.get("lastStatus", task.last_status)
    task.stop_code = described.get("stopCode")
    task.stopped_reason = described.get("stoppedReason")
    task.exit_code = ecs.container_exit(described, container_name)
    task.container_reasons = ecs.container_reasons(described) or None


def client_token(execution_id: str) -> str:
    """RunTask's idempotency token: the same for every retry of one execution, different across executions."""
    return hashlib.sha256(execution_id.encode()).hexdigest()[:64]


def task_group(execution_id: str) -> str:
    """RunTask's ``group``: which execution a migration task belongs to, so the rollback can find it unreported."""
    return f"fleet-migration:{client_token(execution_id)[:32]}"


def started_by(spec: MigrationInput) -> str:
    return ecs.migration_started_by(spec.cluster_name, spec.ecs_service)


def family(spec: MigrationInput) -> str:
    return short_name(spec.task_definition)
