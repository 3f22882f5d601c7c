"""What a Fleet container does when ECS starts it: ``fleet serve`` (a service task) or ``fleet prepare db``.

The schema rules themselves are in emulator/fleet/database.py; this module turns them into a task's fate:
when its container exits, with which code, what it prints, and which migrations it applies when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.ecs.models import Task

from emulator.fleet.database import (
    FleetDatabase,
    goose_failure,
    goose_line,
    level_of,
    missing_migrations_banner,
    unknown_migrations_banner,
)

# serve.go checks the schema right after connecting to MySQL: the container has been up about a second.
SERVE_EXIT_SECONDS = 1.0
NOTHING_TO_DO = "Migrations already completed. Nothing to do."
COMPLETED = "Migrations completed."
# The MySQL error a failing migration reports in goose's FAIL line (any statement can meet it under load).
MIGRATION_ERROR = "Error 1205 (HY000): Lock wait timeout exceeded; try restarting transaction"
# initFatal's line when prepare db cannot even read the migration status (cmd/fleet/main.go).
STATUS_FAILURE_LINE = (
    "Failed to start: retrieving migration status: dial tcp 10.0.1.25:3306: connect: connection refused"
)


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
    """What ``fleet serve`` prints as it starts, and when it exits (None: it goes on serving)."""

    lines: list[str]
    exit_seconds: float | None = SERVE_EXIT_SECONDS


def serve(database: FleetDatabase, task: Task, at: float) -> ServeStart | None:
    """How ``fleet serve`` in ``task`` starts against the schema at ``at``: None when it serves saying nothing.

    Missing migrations: the banner, then exit 1. Migrations it does not know (an older Fleet on a newer or partly
    migrated schema): the warning, and it serves."""
    container = container_of(task)
    if container is None or is_prepare_db(command_of(task, container)):
        return None
    binary = binary_of(task, container)
    missing = database.missing_for(binary, at)
    if missing:
        return ServeStart(missing_migrations_banner(missing))
    unknown = database.unknown_to(binary, at)
    return ServeStart(unknown_migrations_banner(unknown), exit_seconds=None) if unknown else None


def prepare_db_lines(
    missing: list[str], exit_code: int | None, fails_at: int | None = None, moments: list[float] | None = None
) -> tuple[list[str], int]:
    """(lines ``fleet prepare db --no-prompt`` prints, how many of ``missing`` it applies) for an exit code.

    Each migration's goose line prints as it starts (``moments[i]`` is when line i prints). A failure stops at
    the ``fails_at``-th missing migration (1-based; by default the one after the first half, rounded down): the
    ones before it stay applied (one transaction each), it is not, and goose's FAIL line ends the run."""
    at = list(moments or [])
    at += [0.0] * (len(missing) + 2 - len(at))
    if exit_code == 0 and not missing:
        return [NOTHING_TO_DO], 0
    if exit_code == 0:
        return [goose_line(m, at[i]) for i, m in enumerate(missing)] + [COMPLETED], len(missing)
    if not missing:
        return [STATUS_FAILURE_LINE], 0
    failing = min(fails_at or len(missing) // 2 + 1, len(missing))
    lines = [goose_line(m, at[i]) for i, m in enumerate(missing[:failing])]
    return lines + [goose_failure(missing[failing - 1], MIGRATION_ERROR, at[failing])], failing - 1


def line_count(missing: list[str], exit_code: int | None, fails_at: int | None = None) -> int:
    """How many lines ``prepare_db_lines`` prints (their moments depend on it)."""
    return len(prepare_db_lines(missing, exit_code, fails_at)[0])


def prepare_db(
    database: FleetDatabase,
    task: Task,
    exit_code: int | None,
    running_at: float,
    run_seconds: float,
    alive: Callable[[float], bool],
    lines: tuple[str, ...] | None,
    fails_at: int | None = None,
) -> tuple[str, ...] | None:
    """Schedule the migrations a ``fleet prepare db`` task applies; return the lines it prints (None: not Fleet's).

    Its lines print evenly over its run (emulator/logs.py spreads them so); each migration is applied once the
    line after its own prints (goose prints a migration's line before running it). With lines of the test's own,
    they land as its last line prints. ``fails_at``: the k-th missing migration fails (k-1 stay applied).
    """
    container = container_of(task)
    if container is None or not is_prepare_db(command_of(task, container)):
        return lines
    image = binary_of(task, container)
    known = level_of(image)
    if known is None:
        return lines
    missing = database.missing_for(image, running_at)
    count = line_count(missing, exit_code, fails_at)
    moment = [running_at + run_seconds * (index + 0.5) / count for index in range(count)]
    fleet_lines, applied = prepare_db_lines(missing, exit_code, fails_at, moment)
    start = known - len(missing)
    if lines is not None:  # the test's own lines: the migrations land as its last line prints
        if applied:
            last = running_at + run_seconds * (len(lines) - 0.5) / len(lines) if lines else running_at
            database.schedule(last, start + applied, alive)
        return lines
    for k in range(applied):  # committed as the next line prints
        database.schedule(moment[k + 1], start + k + 1, alive)
    return tuple(fleet_lines)
