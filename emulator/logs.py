"""The awslogs log driver for the simulated migration task: its lines reach CloudWatch Logs as it runs.

What the driver does, after "Using the awslogs log driver" (Amazon ECS Developer Guide):
- it writes to ``awslogs-group`` in ``awslogs-region``, in the stream
  ``<awslogs-stream-prefix>/<container name>/<task id>`` (without a prefix, the Docker container id);
- it creates the stream when the container starts, so a task that fails to start writes nothing;
- the log group must exist unless ``awslogs-create-group`` is ``true``: otherwise the container cannot
  start and the task stops with ``TaskFailedToStart``, ``ResourceInitializationError: failed to validate
  logger args: ... The specified log group does not exist``;
- a line reaches the stream when the container prints it, so a task stopped early (StopTask on a
  timeout) has only the lines it printed before.

The lines live here with the moment each is printed (spread over the task's run time) and are written
into moto's CloudWatch Logs lazily, when anyone reads logs, like the ECS simulator's tick: a reader
sees exactly the lines printed up to the emulator's clock.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from moto.ecs.models import Task
from moto.logs.models import LogsBackend, logs_backends

from emulator.clock import Clock
from emulator.fleet.database import goose_failure, goose_line
from emulator.patching import Patches

# What `fleet prepare db --no-prompt` prints for a task that is not one of the catalogue's Fleet images (those print
# what emulator/fleet/process.py works out from the schema): goose's line per migration, then prepare.go's verdict.
_PRINTED_AT = 1732096800.0  # 2024/11/20 10:00:00 UTC
MIGRATION_LINES = (
    *(goose_line(m, _PRINTED_AT + i) for i, m in enumerate(("20241110152839", "20241116233322", "20241121111624"))),
    "Migrations completed.",
)
FAILED_MIGRATION_LINES = (
    goose_line("20241110152839", _PRINTED_AT),
    goose_line("20241116233322", _PRINTED_AT + 1),
    goose_failure(
        "20241116233322", "Error 1205 (HY000): Lock wait timeout exceeded; try restarting transaction", _PRINTED_AT + 2
    ),
)
MISSING_GROUP_REASON = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
    "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist."
)


def default_lines(exit_code: int | None) -> tuple[str, ...]:
    return MIGRATION_LINES if exit_code == 0 else FAILED_MIGRATION_LINES


@dataclass
class _Stream:
    account: str
    region: str
    group: str
    stream: str
    create_group: bool
    opens_at: float  # the container starts: the driver creates the stream
    lines: list[tuple[float, str]]
    alive: Callable[[float], bool]  # whether the container still ran at a moment (the ECS simulator's word)
    opened: bool = False
    written: int = 0


def awslogs_options(task: Task) -> tuple[str, dict[str, str]] | None:
    """(container name, awslogs options) of the container the migration runs in, if it logs with awslogs."""
    definition = task._backend.describe_task_definition(task.task_definition_arn)
    overrides = (task.overrides or {}).get("containerOverrides") or []
    wanted = next((o.get("name") for o in overrides if o.get("command")), None)
    containers = definition.container_definitions
    container = next((c for c in containers if c.get("name") == wanted), containers[0] if containers else None)
    configuration = (container or {}).get("logConfiguration") or {}
    if configuration.get("logDriver") != "awslogs":
        return None
    return container["name"], dict(configuration.get("options") or {})


class AwsLogsDriver:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._streams: list[_Stream] = []

    # -- the ECS simulator's hooks ---------------------------------------------------------------
    def starting(self, task: Task, outcome: Any) -> Any:
        """The outcome a task really has: a container whose log group is missing cannot start."""
        found = awslogs_options(task)
        if found is None or outcome.fails_to_start:
            return outcome
        options = found[1]
        if options.get("awslogs-create-group", "").lower() == "true":
            return outcome
        if options.get("awslogs-group") not in self._backend(task, options).groups:
            return replace(outcome, fails_to_start=True, stopped_reason=MISSING_GROUP_REASON)
        return outcome

    def started(self, task: Task, outcome: Any, running_at: float | None, alive: Callable[[float], bool]) -> None:
        """A migration task whose container starts at ``running_at`` prints its lines over its run time."""
        if running_at is None or outcome.fails_to_start:
            return
        lines = tuple(outcome.log_lines) if outcome.log_lines is not None else default_lines(outcome.exit_code)
        self.prints(task, lines, running_at, outcome.run_seconds, alive)

    def prints(
        self,
        task: Task,
        lines: tuple[str, ...] | list[str],
        running_at: float,
        run_seconds: float,
        alive: Callable[[float], bool],
    ) -> None:
        """A container that starts at ``running_at`` prints ``lines`` evenly over ``run_seconds``."""
        found = awslogs_options(task)
        if found is None or not lines:
            return
        container, options = found
        prefix = options.get("awslogs-stream-prefix")
        task_id = task.task_arn.rsplit("/", 1)[-1]
        stream = f"{prefix}/{container}/{task_id}" if prefix else uuid.uuid4().hex + uuid.uuid4().hex
        # Evenly over the run, the last one just before the container exits.
        moments = [running_at + run_seconds * (index + 0.5) / len(lines) for index in range(len(lines))]
        with self._lock:
            self._streams.append(
                _Stream(
                    account=task._account_id,
                    region=options.get("awslogs-region") or task.region_name,
                    group=options.get("awslogs-group", ""),
                    stream=stream,
                    create_group=options.get("awslogs-create-group", "").lower() == "true",
                    opens_at=running_at,
                    lines=list(zip(moments, lines, strict=True)),
                    alive=alive,
                )
            )

    # -- writing into moto ---------------------------------------------------------------------
    def flush(self) -> None:
        """Write every line printed up to now (while its container still ran) into CloudWatch Logs."""
        at = self.clock.now()
        with self._lock:
            for stream in self._streams:
                if at < stream.opens_at or not stream.alive(stream.opens_at):
                    continue
                backend = logs_backends[stream.account][stream.region]
                if stream.group not in backend.groups and not stream.create_group:
                    continue  # deleted while the task ran: the driver can no longer write
                if not stream.opened:
                    if stream.group not in backend.groups:
                        backend.create_log_group(stream.group, {})
                    backend.ensure_log_stream(stream.group, stream.stream)
                    stream.opened = True
                due = []
                for moment, text in stream.lines[stream.written :]:
                    if moment > at:
                        break
                    if not stream.alive(moment):  # stopped before printing it, and everything after
                        stream.lines = stream.lines[: stream.written + len(due)]
                        break
                    due.append((moment, text))
                if due:
                    backend.put_log_events(
                        stream.group,
                        stream.stream,
                        [{"timestamp": int(moment * 1000), "message": text} for moment, text in due],
                    )
                    stream.written += len(due)

    @staticmethod
    def _backend(task: Task, options: dict[str, str]) -> LogsBackend:
        return logs_backends[task._account_id][options.get("awslogs-region") or task.region_name]

    def install(self) -> Patches:
        """Reads of CloudWatch Logs see the lines printed so far; the returned ``Patches`` puts moto's back on exit."""
        patches = Patches()
        for name in ("get_log_events", "filter_log_events", "describe_log_streams"):
            patches.wrap(LogsBackend, name, self._reading)
        return patches

    def _reading(self, original: Any, backend: LogsBackend, *args: Any, **kwargs: Any) -> Any:
        self.flush()
        return original(backend, *args, **kwargs)
