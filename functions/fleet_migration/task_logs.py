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
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from fleet_migration.aws import client, error_code
from fleet_migration.models import LogSource

# About the last 20 lines, and at most 4 KB of them as JSON: the cause must stay within Step
# Functions' 32,768 characters (ExecutionFailedEventDetails "cause", Step Functions API Reference).
LINES = 20
MAX_BYTES = 4096
MAX_LINE_CHARACTERS = 1000
# How many lines the cause carries (parameter LogTailLines, Terraform log_tail_lines); 0: none. The cause ends up in
# the execution history, the state machine's log group and CI output: the lines are redacted first.
LINES_ENV = "LOG_TAIL_LINES"

REDACTED = "[redacted]"
# An environment value shorter than this is not treated as a secret: redacting "1", "true" or "fleet" everywhere
# would leave lines nobody can read, and such values are not secrets.
MIN_SECRET_CHARACTERS = 6
# user:password@host, as in a DSN or URL (Fleet's MySQL DSN is user:pass@tcp(host:3306)/fleet).
_DSN_PASSWORD = re.compile(r"(?P<keep>[A-Za-z0-9_.%+-]+:)[^\s:@/]+(?=@[A-Za-z0-9(\[])")
# password=..., "token": "...", api_key: ..., secret=...: the value after a name that says it is secret.
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)(?P<keep>[\w.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)"
    r"[\w.-]*[\"']?\s*[=:]\s*[\"']?)[^\s\"',;&]+"
)
# AWS access key ids (IAM User Guide, "Understanding unique ID prefixes": AKIA long-term, ASIA temporary).
_AWS_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_BEARER = re.compile(r"(?i)(?P<keep>\bbearer\s+)[A-Za-z0-9._~+/=-]+")


def lines_wanted(environ: Mapping[str, str] = os.environ) -> int:
    """How many log lines the deployment lets into a cause (0: none)."""
    text = environ.get(LINES_ENV, "").strip()
    return max(0, min(int(text), LINES)) if text else LINES


class Redactor:
    """Takes out of log lines what the task definition says is secret and what looks like a secret anywhere.

    The values of the containers' ``environment`` are known (the task definition carries them in plain text);
    the values of ``secrets`` are not and are never fetched: a line that assigns one by name loses its value.
    """

    def __init__(self, values: Iterable[str] = (), names: Iterable[str] = ()) -> None:
        self.values = sorted({v for v in values if len(v) >= MIN_SECRET_CHARACTERS}, key=len, reverse=True)
        named = sorted({n for n in names if n}, key=len, reverse=True)
        self._named = (
            re.compile(r"(?P<keep>\b(?:" + "|".join(map(re.escape, named)) + r")[\"']?\s*[=:]\s*[\"']?)[^\s\"',;&]+")
            if named
            else None
        )

    @classmethod
    def for_definition(cls, definition: Mapping[str, Any]) -> Redactor:
        containers = definition.get("containerDefinitions", [])
        values = [str(e.get("value", "")) for c in containers for e in c.get("environment", [])]
        names = [str(s.get("name", "")) for c in containers for s in c.get("secrets", [])]
        return cls(values, names)

    def __call__(self, line: str) -> str:
        for value in self.values:
            line = line.replace(value, REDACTED)
        if self._named is not None:
            line = self._named.sub(rf"\g<keep>{REDACTED}", line)
        line = _DSN_PASSWORD.sub(rf"\g<keep>{REDACTED}", line)
        line = _SECRET_ASSIGNMENT.sub(rf"\g<keep>{REDACTED}", line)
        line = _AWS_ACCESS_KEY.sub(REDACTED, line)
        return _BEARER.sub(rf"\g<keep>{REDACTED}", line)


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


def tail(where: LogSource, task_arn: str, redact: Redactor, lines: int = LINES) -> tuple[list[str], str | None]:
    """(the stream's last ``lines`` lines, oldest first, redacted and bounded; a note when they could not be read)."""
    stream = where.stream(task_arn)
    try:
        events = (
            client("logs", where.region)
            .get_log_events(
                logGroupName=where.group,
                logStreamName=stream,
                startFromHead=False,
                limit=lines,
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
    return bounded([redact(str(e.get("message", "")).rstrip("\n")) for e in events]), None


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
