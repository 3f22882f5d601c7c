"""What a Fleet container does when ECS starts it: ``fleet serve`` (a service task) or ``fleet prepare db``.

The schema rules themselves are in emulator/fleet_database.py; this module turns them into a task's fate:
when its container exits, with which code, what it prints, and which migrations it applies when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.ecs.models import Task

from emulator.fleet_database import FleetDatabase, level_of, missing_migrations_banner

# serve.go checks the schema right after connecting to MySQL: the container has been up about a second.
SERVE_EXIT_SECONDS = 1.0
CONNECT_LINE = "Connecting to MySQL at fleet-mysql.cluster-example.us-east-1.rds.amazonaws.com:3306"
FAILURE_LINE = "Error 1061 (42000): Duplicate key name 'idx_host_disks_host_id'"


def container_of(task: Task) -> dict[str, Any] | None:
    """The container that runs the command: the one a command override names, else the first."""
    definition = task._backend.describe_task_definition(task.task_definition_arn)
    overrides = (task.overrides or {}).get("containerOverrides") or []
    wanted = next((o.get("name") for o in overrides if o.get("command")), None)
    containers = definition.container_definitions
    return next((c for c in containers if c.get("name") == wanted), containers[0] if containers else None)


def binary_of(task: Task, container: dict[str, Any]) -> str | None:
    """The Fleet release a container runs: what its image reference named when the task started (a tag pushed
    again since names a newer binary, for the tasks that start afterwards only)."""
    resolved = getattr(task, "resolved_images", None) or {}
    return resolved.get(container.get("name"), container.get("image"))


def command_of(task: Task, container: dict[str, Any]) -> list[str]:
    overrides = (task.overrides or {}).get("containerOverrides") or []
    override = next(
        (o.get("command") for o in overrides if o.get("name") == container.get("name") and o.get("command")), None
    )
    return list(override or container.get("command") or [])


def is_prepare_db(command: list[str]) -> bool:
    """``fleet prepare db`` (with any flags, e.g. ``--no-prompt``)."""
    words = [w for w in command if not w.startswith("-")]
    return words[-2:] == ["prepare", "db"] or words[1:3] == ["prepare", "db"]


@dataclass
class ServeStart:
    """A ``fleet serve`` that exits 1 at start: what it prints, when it exits."""

    lines: list[str]
    exit_seconds: float = SERVE_EXIT_SECONDS


def serve(database: FleetDatabase, task: Task, at: float) -> ServeStart | None:
    """How ``fleet serve`` in ``task`` starts against the schema at ``at``: None when it serves."""
    container = container_of(task)
    if container is None or is_prepare_db(command_of(task, container)):
        return None
    missing = database.missing_for(binary_of(task, container), at)
    return ServeStart(missing_migrations_banner(missing)) if missing else None


def prepare_db_lines(missing: list[str], exit_code: int | None) -> tuple[list[str], int]:
    """(lines ``fleet prepare db`` prints, how many of ``missing`` it applies) for an exit code (prepare.go).

    A failure applies some, not all, of the missing migrations: the first half (rounded down), then the next one
    fails (Fleet runs each migration in its own transaction; MySQL DDL cannot be rolled back anyway)."""
    if exit_code == 0 and not missing:
        return [CONNECT_LINE, "Migrations already completed. Nothing to do."], 0
    head = [CONNECT_LINE, f"Missing migrations: tables=[{' '.join(missing)}], data=[]"]
    if exit_code == 0:
        return head + [f"Applying table migration {m}" for m in missing] + ["Migrations completed."], len(missing)
    applied = len(missing) // 2
    if not missing:
        return [CONNECT_LINE, FAILURE_LINE, "migrating db schema: failed to apply migrations"], 0
    failing = missing[applied]
    lines = head + [f"Applying table migration {m}" for m in missing[: applied + 1]]
    return lines + [FAILURE_LINE, f"failed to apply migrations: applying table migration {failing}"], applied


def prepare_db(
    database: FleetDatabase,
    task: Task,
    exit_code: int | None,
    running_at: float,
    run_seconds: float,
    alive: Callable[[float], bool],
    lines: tuple[str, ...] | None,
) -> tuple[str, ...] | None:
    """Schedule the migrations a ``fleet prepare db`` task applies; return the lines it prints (None: not Fleet's).

    Its lines print evenly over its run (emulator/awslogs.py spreads them so); each migration is applied once the
    line after its "Applying" line prints. With lines of the test's own, they land as its last line prints.
    """
    container = container_of(task)
    if container is None or not is_prepare_db(command_of(task, container)):
        return lines
    image = binary_of(task, container)
    known = level_of(image)
    if known is None:
        return lines
    missing = database.missing_for(image, running_at)
    fleet_lines, applied = prepare_db_lines(missing, exit_code)
    start = known - len(missing)
    if lines is not None:  # the test's own lines: the migrations land as its last line prints
        if applied:
            last = running_at + run_seconds * (len(lines) - 0.5) / len(lines) if lines else running_at
            database.schedule(last, start + applied, alive)
        return lines
    moment = [running_at + run_seconds * (index + 0.5) / len(fleet_lines) for index in range(len(fleet_lines))]
    first_applying = 2  # connect, missing, then one "Applying" line per migration
    for k in range(applied):
        database.schedule(moment[first_applying + k + 1], start + k + 1, alive)
    return tuple(fleet_lines)
