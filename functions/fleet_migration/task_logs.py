"""The migration container's last log lines, for the cause of a failed migration (``log_tail``).

Where they are comes from the container's ``logConfiguration`` in the revision (the describe step
reads it): the awslogs driver writes to ``awslogs-group`` in ``awslogs-region``, one stream per task
named ``<awslogs-stream-prefix>/<container>/<task id>`` (ECS Developer Guide, "Send Amazon ECS logs to
CloudWatch"). Without a prefix the stream is named after the Docker container id, which the task
does not report, so there is nothing to read.

Reading is best effort: whatever goes wrong here is said in the cause (``log_note``) and never
changes the outcome or holds up the rollback.
"""

from __future__ import annotations

import json
from typing import Any

from fleet_migration.aws import client, error_code
from fleet_migration.models import LogSource

# About the last 20 lines, and at most 4 KB of them as JSON: the cause must stay within Step
# Functions' 32,768 characters (ExecutionFailedEventDetails "cause", Step Functions API Reference).
LINES = 20
MAX_BYTES = 4096
MAX_LINE_CHARACTERS = 1000


def source(definition: dict[str, Any], container: str, region: str) -> tuple[LogSource | None, str | None]:
    """(where the container's awslogs go, or None with a sentence saying why there is nothing to read)."""
    found: dict[str, Any] = next(
        (c for c in definition.get("containerDefinitions", []) if c.get("name") == container), {}
    )
    configuration = found.get("logConfiguration") or {}
    driver, options = configuration.get("logDriver"), configuration.get("options") or {}
    if driver != "awslogs":
        where = f"the {driver!r} log driver's destination" if driver else "the Docker host (no logConfiguration)"
        return None, f"The {container!r} container does not log to CloudWatch Logs (awslogs); its logs are at {where}."
    if not options.get("awslogs-group") or not options.get("awslogs-stream-prefix"):
        return None, (
            f"The {container!r} container's awslogs configuration has no awslogs-group or "
            "awslogs-stream-prefix, so its task's log stream cannot be named; set awslogs-stream-prefix."
        )
    return LogSource(
        group=options["awslogs-group"],
        region=options.get("awslogs-region") or region,
        stream_prefix=options["awslogs-stream-prefix"],
        container=container,
    ), None


def tail(where: LogSource, task_arn: str) -> tuple[list[str], str | None]:
    """(the stream's last lines, oldest first, bounded; a note when they could not be read)."""
    stream = where.stream(task_arn)
    try:
        events = (
            client("logs", where.region)
            .get_log_events(
                logGroupName=where.group,
                logStreamName=stream,
                startFromHead=False,
                limit=LINES,
            )
            .get("events", [])
        )
    except Exception as exc:  # best effort: never let the logs decide the outcome
        code = error_code(exc) if hasattr(exc, "response") else type(exc).__name__
        if code == "ResourceNotFoundException":
            return (
                [],
                f"No log stream {stream} in {where.group}: the container wrote nothing (it may never have started).",
            )
        return [], f"The log stream {stream} in {where.group} could not be read ({code})."
    return bounded([str(e.get("message", "")).rstrip("\n") for e in events]), None


def bounded(lines: list[str]) -> list[str]:
    """The last lines that fit in ``MAX_BYTES`` of JSON, each cut to ``MAX_LINE_CHARACTERS``."""
    kept: list[str] = []
    size = 2  # []
    for line in reversed(lines[-LINES:]):
        if len(line) > MAX_LINE_CHARACTERS:
            line = line[: MAX_LINE_CHARACTERS - 1] + "…"
        cost = len(json.dumps(line).encode()) + (2 if kept else 0)  # json.dumps separates items with ", "
        if size + cost > MAX_BYTES:
            break
        kept.append(line)
        size += cost
    kept.reverse()
    return kept
