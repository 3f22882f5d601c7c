"""The migration container's own lines: where the awslogs driver puts them, and reading them as they arrive.

"Using the awslogs log driver" (Amazon ECS Developer Guide): with ``awslogs-stream-prefix`` the stream
is ``<prefix>/<container name>/<task id>`` in ``awslogs-group``, in ``awslogs-region``. Without a prefix
(EC2 only; Fargate requires one) the stream is named after the Docker container id, which only the
container instance knows.

GetLogEvents (CloudWatch Logs API Reference) reads a stream forward from ``startFromHead`` with
``nextForwardToken``; "if you have reached the end of the stream, it returns the same token you passed
in", so the same token twice means: nothing more for now, ask again later. The call is throttled
("How do I determine throttling in my CloudWatch logs?", AWS Knowledge Center: back off and retry), so
a throttled read waits longer before the next one instead of failing the client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from .aws import ACCESS_DENIED_CODES, error_code, is_transient
from .progress import task_id

# At most about a second behind the container (one GetLogEvents a second is well inside its quota).
POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 16.0
# Pages read in one round before the loop gets a say again (10,000 events or 1 MB a page).
MAX_PAGES_PER_ROUND = 10


@dataclass(frozen=True)
class LogStream:
    group: str
    stream: str
    region: str

    def describe(self) -> str:
        return f"CloudWatch Logs group {self.group}, stream {self.stream} ({self.region})"


def locate(task_definition: dict[str, Any], container: str, task_arn: str, default_region: str) -> LogStream | str:
    """The awslogs stream of ``container`` in the task, or a sentence that says where its lines are not."""
    definitions = task_definition.get("containerDefinitions") or []
    found = next((c for c in definitions if isinstance(c, dict) and c.get("name") == container), None)
    family = f"{task_definition.get('family', '?')}:{task_definition.get('revision', '?')}"
    if found is None:
        return f"container {container} is not in {family}: no log lines to show"
    configuration = found.get("logConfiguration") or {}
    driver = configuration.get("logDriver")
    if not driver:
        return (
            f"container {container} of {family} has no logConfiguration: its lines stay with the container "
            "runtime (Docker's default driver on EC2), not in CloudWatch Logs, so they are not shown here"
        )
    if driver != "awslogs":
        return (
            f"container {container} of {family} logs with the {driver} driver, not awslogs: its lines are not "
            f"in CloudWatch Logs and are not shown here (look for them where {driver} sends them)"
        )
    options = configuration.get("options") or {}
    group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
    if not group:
        return f"container {container} of {family} uses awslogs without awslogs-group: its lines are not shown here"
    if not prefix:
        return (
            f"container {container} of {family} logs to CloudWatch Logs group {group} without "
            "awslogs-stream-prefix: its stream is named after the Docker container id, so its lines are not "
            "shown here (set awslogs-stream-prefix to see them)"
        )
    return LogStream(
        group=group,
        stream=f"{prefix}/{container}/{task_id(task_arn)}",
        region=options.get("awslogs-region") or default_region,
    )


class LogFollower:
    """Reads one stream forward and hands each new line on; never raises (a log line is never worth a failed apply).

    ``emit(at, line)`` gets each line with the moment the container wrote it; ``say(line)`` gets the
    client's own remarks about the stream (one each, at most).
    """

    def __init__(
        self,
        logs: Callable[[str], Any],
        stream: LogStream,
        emit: Callable[[datetime, str], None],
        say: Callable[[str], None],
        every: float = POLL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logs = logs
        self.stream = stream
        self._emit = emit
        self._say = say
        self._every = min(POLL_SECONDS, every)
        self._monotonic = monotonic
        self._token: str | None = None
        self._next_read = 0.0
        self._backoff = 0.0
        self._warned_throttling = False
        self.found = False  # the stream exists (the container started and the driver created it)
        self.stopped = False  # given up for good (access denied, an unexpected error), with one line saying why
        self.lines = 0
        self.last_line = ""

    def due(self) -> float:
        return self._next_read

    def poll(self, final: bool = False) -> None:
        """Read what arrived since the last read (``final``: now, whatever the schedule, to the end)."""
        if self.stopped or (not final and self._monotonic() < self._next_read):
            return
        pages = 0
        while pages < (MAX_PAGES_PER_ROUND * 10 if final else MAX_PAGES_PER_ROUND):
            pages += 1
            try:
                page = self._read()
            except Exception as exc:  # noqa: BLE001 - every error ends in a line or a later retry
                self._failed(exc, final)
                return
            self.found = True
            self._backoff = 0.0
            for event in page.get("events", []):
                self._event(event)
            token, self._token = self._token, page.get("nextForwardToken")
            if not self._token or token == self._token:
                break
        self._next_read = self._monotonic() + self._every

    def _read(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "logGroupName": self.stream.group,
            "logStreamName": self.stream.stream,
            "startFromHead": True,
        }
        if self._token:
            request["nextToken"] = self._token
        return self._logs(self.stream.region).get_log_events(**request)

    def _event(self, event: dict[str, Any]) -> None:
        at = datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, tz=timezone.utc)
        for line in str(event.get("message", "")).rstrip("\r\n").splitlines() or [""]:
            self.lines += 1
            self.last_line = line
            self._emit(at, line)

    def _failed(self, exc: BaseException, final: bool) -> None:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            # No stream yet: the container has not started (the driver creates the stream when it does).
            self._next_read = self._monotonic() + self._every
            return
        if is_transient(exc) and not final:
            self._backoff = min(MAX_BACKOFF_SECONDS, max(POLL_SECONDS, self._backoff * 2))
            self._next_read = self._monotonic() + self._backoff
            if not self._warned_throttling:
                self._warned_throttling = True
                self._say(
                    f"reading the log lines less often for now ({code or type(exc).__name__}); "
                    "none is lost, they arrive late"
                )
            return
        self.stopped = True
        if code in ACCESS_DENIED_CODES:
            self._say(
                f"cannot read the log lines: access denied on logs:GetLogEvents for log group "
                f"{self.stream.group} in {self.stream.region}; grant it to the caller (terraform/README.md). "
                "Following the steps only"
            )
        else:
            self._say(f"stopped reading the log lines ({code or type(exc).__name__}: {exc}); following the steps only")
