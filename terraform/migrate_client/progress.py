"""Execution history events into one line per meaningful event, and the line that says a wait goes on.

Every line starts with the time since the execution started. Lines gathered in one round (history
events, the container's log lines) are printed in the order they happened.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Callable

from .text import elapsed, loads, stamp

TASK_MARK = "  |"  # what sets the migration container's own lines apart from the client's


class Lines:
    """What the follow loop prints. ``flush`` writes a round's lines in time order and remembers when
    the client last said something about the execution itself (the container's lines do not count)."""

    def __init__(
        self, out: Callable[[str], None], started: datetime, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._out = out
        self.started = started
        self._monotonic = monotonic
        self._pending: list[tuple[datetime, int, str, bool]] = []
        self.last_progress = monotonic()

    def seconds(self, at: datetime) -> float:
        return (at - self.started).total_seconds()

    def progress(self, at: datetime, verb: str, text: str) -> None:
        self._pending.append((at, len(self._pending), f"{stamp(self.seconds(at))} {verb:<6} {text}", True))

    def task(self, at: datetime, text: str) -> None:
        self._pending.append((at, len(self._pending), f"{stamp(self.seconds(at))}{TASK_MARK} {text}", False))

    def flush(self) -> None:
        pending, self._pending = sorted(self._pending, key=lambda line: (line[0], line[1])), []
        for _, _, text, is_progress in pending:
            self._out(text)
            if is_progress:
                self.last_progress = self._monotonic()


def task_id(task_arn: str) -> str:
    """The id in ``arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`` (and in the older ``task/<id>``)."""
    return task_arn.rsplit("/", 1)[-1]


def describe_task(task: dict[str, Any]) -> str:
    text = f"task {task.get('arn') or task.get('task_arn')} {task.get('last_status', '')}".rstrip()
    if task.get("exit_code") is not None:
        text += f", exit code {task['exit_code']}"
    return text


def describe_snapshot(snapshot: Any) -> str:
    """A recovery point as the workflow reports it (the keys it may carry, read leniently)."""
    if not isinstance(snapshot, dict):
        return f"snapshot {snapshot}"
    name = next((snapshot[key] for key in ("snapshot_identifier", "identifier", "id", "arn") if snapshot.get(key)), "?")
    status = snapshot.get("status")
    return f"snapshot {name}" + (f" {status}" if status else "")


def summarize(document: Any) -> str:
    """What a step's output says about progress, in a few words (empty when it says nothing new)."""
    if not isinstance(document, dict):
        return ""
    failure: Any = document.get("failure") if isinstance(document.get("failure"), dict) else document
    if "error" in failure and "input" not in failure:
        cause = loads(failure.get("cause"))
        restored = isinstance(cause, dict) and cause.get("rolled_back") is True
        return f"after {failure['error']}" + (": services restored" if restored else "")
    spec: Any = document.get("input") if isinstance(document.get("input"), dict) else {}
    services = [s for s in document.get("services") or [] if isinstance(s, dict)]
    stabilize, task, drain = document.get("stabilize"), document.get("task"), document.get("drain")
    snapshot = document.get("snapshot")
    if isinstance(stabilize, dict):
        if stabilize.get("done"):
            served = "services stable" if stabilize.get("polls") else "desired counts set (not waiting for them)"
            # The migration ran while RDS copied the snapshot: the execution ends once it is available
            if isinstance(snapshot, dict) and isinstance(snapshot.get("wait"), dict) and snapshot["wait"].get("polls"):
                return f"{served}; {describe_snapshot(snapshot)}"
            return served
        if stabilize.get("detail"):
            return f"waiting for {stabilize['detail']}"
        return "scaling up: " + ", ".join(f"{s.get('name')} to {s.get('target_desired_count')}" for s in services)
    if isinstance(task, dict):
        return describe_task(task)
    if snapshot and not (isinstance(snapshot, dict) and snapshot.get("status") == "planned"):
        return describe_snapshot(snapshot)
    if isinstance(drain, dict):
        if drain.get("done"):
            return "drained"
        if drain.get("detail"):
            return f"waiting for {drain['detail']}"
        return f"scaling down to {spec.get('capacity_during_migration', 0)} task(s)"
    if services:
        parts: list[str] = []
        for service in services:
            part = f"{service.get('name')} at {service.get('desired_count')} task(s)"
            target = service.get("scalable_target")
            if isinstance(target, dict):
                part += f", autoscaling {target.get('min_capacity')}..{target.get('max_capacity')}"
            parts.append(part)
        return "; ".join(parts)
    return ""


class Progress:
    """Turns history events into lines, and remembers what the follow loop needs: the phase, the task.

    Loops (wait, look, decide) would print the same states over and over: a state is announced
    the first time it is entered, and a repeated look prints only when what it saw has changed.
    """

    FAILED_EVENTS = (
        "TaskFailed",
        "TaskTimedOut",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
    )

    def __init__(self, lines: Lines) -> None:
        self._lines = lines
        self._entered_at: dict[str, datetime] = {}
        self._announced: set[str] = set()
        self._said: dict[str, str] = {}
        self._current = ""
        self.last_event_id = 0
        self.phase = ""  # the step under way (a Task state; Wait states belong to the step they wait for)
        self.phase_since: datetime | None = None
        self.task: dict[str, Any] = {}  # the migration task as the latest step output described it
        self.task_definition_arn = ""
        self.container_name = ""

    def event(self, event: dict[str, Any]) -> None:
        self.last_event_id = max(self.last_event_id, int(event.get("id", 0)))
        kind, at = event.get("type", ""), event["timestamp"]
        line = self._lines.progress
        if kind.endswith("StateEntered"):
            name = event.get("stateEnteredEventDetails", {}).get("name", "?")
            self._entered_at[name] = at
            self._current = name
            if kind == "TaskStateEntered" and name not in self._announced:
                self._announced.add(name)
                self.phase, self.phase_since = name, at
                line(at, "enter", name)
            elif kind == "FailStateEntered":
                line(at, "fail", name)
            elif kind == "SucceedStateEntered":
                line(at, "done", name)
        elif kind == "TaskStateExited":
            details = event.get("stateExitedEventDetails", {})
            name = details.get("name", "?")
            output = loads(details.get("output"))
            self._remember(output)
            summary = summarize(output)
            if name not in self._said:
                took = (at - self._entered_at.get(name, at)).total_seconds()
                line(at, "leave", f"{name} ({elapsed(took)})" + (f": {summary}" if summary else ""))
            elif summary and summary != self._said[name]:
                line(at, "update", f"{name}: {summary}")
            self._said[name] = summary
        elif kind in self.FAILED_EVENTS:
            details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
            line(at, "error", f"{self._current}: {details.get('error') or kind}")

    def still_waiting(self, now: datetime, last_log_line: str) -> None:
        """The line a long wait prints when nothing else was said for a while: phase, how long, last log line."""
        if self.phase and self.phase_since is not None:
            text = f"{self.phase}, {elapsed((now - self.phase_since).total_seconds())} so far"
            said = self._said.get(self.phase, "")
            if self.task.get("arn"):
                said = said.replace(self.task["arn"], task_id(self.task["arn"]))
            if said:
                text += f": {said}"
        else:
            text = "the execution is starting"
        if self.task:
            text += f"; last log line: {last_log_line}" if last_log_line else "; no log line yet"
        self._lines.progress(now, "wait", text)

    @property
    def task_stopped(self) -> bool:
        return self.task.get("last_status") == "STOPPED"

    def _remember(self, document: Any) -> None:
        if not isinstance(document, dict):
            return
        if isinstance(document.get("task"), dict) and document["task"].get("arn"):
            self.task = document["task"]
        if isinstance(document.get("task_definition_arn"), str):
            self.task_definition_arn = document["task_definition_arn"]
        spec = document.get("input")
        if isinstance(spec, dict) and isinstance(spec.get("container_name"), str):
            self.container_name = spec["container_name"]


def read_new_events(sfn: Any, execution_arn: str, after_id: int) -> list[dict[str, Any]]:
    """History events with an id above ``after_id``, oldest first.

    Asks for the newest first and stops at the first page that reaches known events, so a long
    execution costs one small page per poll (a service that ignores reverseOrder still works).
    """
    fresh: list[dict[str, Any]] = []
    token = None
    while True:
        request: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True, "maxResults": 100}
        if token:
            request["nextToken"] = token
        page = sfn.get_execution_history(**request)
        events = page.get("events", [])
        new = [e for e in events if int(e.get("id", 0)) > after_id]
        fresh.extend(new)
        token = page.get("nextToken")
        if not token or len(new) < len(events):
            break
    fresh.sort(key=lambda e: int(e.get("id", 0)))
    return fresh


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
