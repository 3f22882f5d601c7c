"""The run: start or join the execution, follow it (steps, the container's lines, a word while waiting), verdict."""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, TextIO

import executions

from . import rerun
from .aws import ACCESS_DENIED_CODES, Aws, Backend, choose_backend, error_code, explain_aws_error, is_transient
from .logs import LogFollower, LogStream, locate
from .progress import Lines, Progress, read_new_events
from .settings import (
    EXIT_AWS,
    EXIT_FAILED,
    EXIT_STILL_RUNNING,
    PREFIX,
    Settings,
    Stop,
    longest_execution_seconds,
    parse_args,
)
from .text import clock, console_url, elapsed, loads, printable
from .verdict import Verdict

ACTIVE = ("RUNNING", "PENDING_REDRIVE")
# A task definition that cannot be read after this many tries (throttling, a network blip) is given up on.
DESCRIBE_TRIES = 5
# DescribeExecution "is eventually consistent. The results are best effort and may not reflect very recent
# updates and changes" (AWS Step Functions API Reference, DescribeExecution): an execution just started, by
# this client or by the apply or trigger it joins, may read as ExecutionDoesNotExist for a moment. It is
# looked for again for this long before that counts as an error.
VISIBILITY_SECONDS = 30.0


class Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Follower:
    """Follows one execution to its end: its history, the migration container's log lines, and a line
    at least every ``heartbeat_seconds`` while nothing else is said. Time is injectable (tests)."""

    def __init__(
        self,
        aws: Any,
        settings: Settings,
        decision: executions.Decision,
        started: datetime,
        execution_input: Any,
        out: Callable[[str], None],
        err: Callable[[str], None],
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._aws, self._settings, self._decision = aws, settings, decision
        self._input = execution_input if isinstance(execution_input, dict) else settings.document
        # As long as the execution followed may run: a joined one (the trigger's, the console's) has its own timeouts.
        self.max_wait_seconds = (
            settings.max_wait_seconds if settings.max_wait_given else longest_execution_seconds(self._input)
        )
        self._err = err
        self._monotonic, self._sleep, self._now = monotonic, sleep, now
        self.lines = Lines(out, started, monotonic)
        self.progress = Progress(self.lines)
        self.logs: LogFollower | None = None
        self._logs_settled = False  # found the stream, or said once why there is none to read
        self._describe_failures = 0
        self._visible_by = monotonic() + VISIBILITY_SECONDS

    def run(self) -> dict[str, Any]:
        """Print as the execution goes; return its final describe_execution."""
        settings = self._settings
        deadline = self._monotonic() + self.max_wait_seconds
        next_history, failures = self._monotonic(), 0
        while True:
            described = None
            if self._monotonic() >= next_history:
                try:
                    described = self._read_history()
                    failures = 0
                    next_history = self._monotonic() + settings.poll_seconds
                except Exception as exc:  # noqa: BLE001 - only transient errors are retried
                    failures += 1
                    not_yet_visible = (
                        error_code(exc) == "ExecutionDoesNotExist" and self._monotonic() < self._visible_by
                    )
                    if not (is_transient(exc) or not_yet_visible) or failures > 10:
                        raise
                    self._err(
                        f"{PREFIX} warning: {error_code(exc) or type(exc).__name__} while following the execution, "
                        "retrying"
                    )
                    next_history = self._monotonic() + min(30.0, settings.poll_seconds * 2**failures)
            if self.progress.task and not self._logs_settled:
                self._find_logs()
            ended = described is not None and described["status"] not in ACTIVE
            if self.logs is not None:
                self.logs.poll(final=ended)
            if ended and described is not None:  # ended: described, and no longer running
                self._no_stream_note()
                self.lines.flush()
                return described
            self.lines.flush()
            if self._monotonic() - self.lines.last_progress >= settings.heartbeat_seconds:
                self.progress.still_waiting(self._now(), self.logs.last_line if self.logs else "")
                self.lines.flush()
            if self._monotonic() >= deadline:
                raise Stop(
                    EXIT_STILL_RUNNING,
                    f"gave up waiting after {elapsed(self.max_wait_seconds)}; the "
                    f"execution {self._decision.name} still runs. Follow it at "
                    f"{console_url(settings, self._decision.execution_arn)}, or run this client again to rejoin it",
                )
            wake = min(next_history, self.lines.last_progress + settings.heartbeat_seconds, deadline)
            if self.logs is not None and not self.logs.stopped:
                wake = min(wake, self.logs.due())
            self._sleep(max(0.01, wake - self._monotonic()))

    def _read_history(self) -> dict[str, Any]:
        sfn = self._aws.stepfunctions()
        described = sfn.describe_execution(executionArn=self._decision.execution_arn)
        # read after describe: once the status is final, this read has every event
        for event in read_new_events(sfn, self._decision.execution_arn, self.progress.last_event_id):
            self.progress.event(event)
        return described

    def _say(self, text: str) -> None:
        self.lines.progress(self._now(), "logs", text)

    def _find_logs(self) -> None:
        """Once the task is known: where its container's lines go (the task definition's logConfiguration)."""
        task_arn = self.progress.task["arn"]
        container = self.progress.container_name or self._input.get("container_name") or "fleet"
        definition = self.progress.task_definition_arn or (
            f"{self._input.get('task_definition')}:{self._input.get('task_definition_revision')}"
        )
        task_region = task_arn.split(":")[3] if task_arn.count(":") >= 5 else self._settings.region
        try:
            described = self._aws.client("ecs", task_region).describe_task_definition(taskDefinition=definition)
        except Exception as exc:  # noqa: BLE001 - the steps are followed whatever happens to the log lines
            self._describe_failures += 1
            if is_transient(exc) and self._describe_failures < DESCRIBE_TRIES:
                return
            self._logs_settled = True
            if error_code(exc) in ACCESS_DENIED_CODES:
                self._say(
                    f"cannot find the migration's log lines: access denied on ecs:DescribeTaskDefinition for "
                    f"{definition}; grant it to the caller (terraform/README.md). Following the steps only"
                )
            else:
                self._say(
                    f"cannot find the migration's log lines ({error_code(exc) or type(exc).__name__}: {exc}); "
                    "following the steps only"
                )
            return
        self._logs_settled = True
        found = locate(described.get("taskDefinition", {}), container, task_arn, task_region)
        if isinstance(found, LogStream):
            self._say(f"container {container} writes to {found.describe()}; its lines follow, marked |")
            self.logs = LogFollower(
                lambda region: self._aws.client("logs", region),
                found,
                self.lines.task,
                self._say,
                self._settings.poll_seconds,
                self._monotonic,
            )
        else:
            self._say(found)

    def _no_stream_note(self) -> None:
        if self.logs is not None and not self.logs.found and not self.logs.stopped:
            self._say(
                f"no log line: {self.logs.stream.stream} was never created in {self.logs.stream.group} "
                "(the container never started, or wrote nothing)"
            )


def run(settings: Settings, backend: Backend, out: Callable[[str], None], err: Callable[[str], None]) -> int:
    aws = Aws(settings, out, backend)
    sfn = aws.stepfunctions()
    try:
        decision = rerun.start_or_join(
            sfn,
            settings.state_machine_arn,
            settings.input_text,
            settings.cluster,
            settings.service,
            settings.revision,
            settings.rerun,
        )
    except executions.NotThisMigration as exc:
        raise Stop(EXIT_FAILED, str(exc)) from None
    except RuntimeError as exc:  # every attempt already failed
        raise Stop(EXIT_FAILED, f"{exc}; look at why in the Step Functions console") from None
    verdict = Verdict(settings, out, err)
    described = describe_when_visible(sfn, decision.execution_arn)
    if decision.action != "started":  # joined before it was visible: its input is read only now
        names = executions.other_migration(described.get("input"), settings.input_text)
        if names is not None:
            raise Stop(
                EXIT_FAILED,
                str(executions.NotThisMigration(decision.name, decision.execution_arn, names, settings.input_text)),
            )
    if decision.action == "succeeded":
        return verdict.report(described, decision, already=True)
    theirs = loads(described.get("input"))
    if decision.action == "started":
        retry = f", after {decision.attempt - 1} failed attempt(s)" if decision.attempt > 1 else ""
        if settings.rerun and decision.attempt > 1:
            retry = f", a rerun of a revision that succeeded: rerun = {settings.rerun}"
        out(
            f"{PREFIX} started execution {decision.name} (attempt {decision.attempt}{retry}) "
            f"for revision {settings.revision}"
        )
    else:
        out(
            f"{PREFIX} joined execution {decision.name}, running since {clock(described.get('startDate'))}: "
            "another apply or the EventBridge trigger started it; following it instead of starting a second one"
        )
        differing = _differing_fields(theirs, settings.document)
        if differing:
            out(f"{PREFIX} note: it runs with its own input; these fields differ from yours: {', '.join(differing)}")
    out(f"  console: {console_url(settings, decision.execution_arn)}")
    started = described.get("startDate") or datetime.now(timezone.utc)
    try:
        final = Follower(aws, settings, decision, started, theirs, out, err).run()
    except Interrupted as stop:
        err(
            f"{PREFIX} interrupted ({stop}): the execution {decision.name} keeps running, this client only "
            "stopped following it."
        )
        err(f"  follow it: {console_url(settings, decision.execution_arn)}")
        err(f"  or: aws stepfunctions describe-execution --execution-arn {decision.execution_arn}")
        err("  running `terraform apply` (or this client) again joins it instead of starting another migration")
        return 128 + stop.signum
    return verdict.report(final, decision)


def describe_when_visible(
    sfn: Any, arn: str, monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """DescribeExecution of an execution that was just started or found: ExecutionDoesNotExist is looked
    past for VISIBILITY_SECONDS (eventual consistency), then raised."""
    deadline, pause = monotonic() + VISIBILITY_SECONDS, 0.25
    while True:
        try:
            return sfn.describe_execution(executionArn=arn)
        except Exception as exc:  # noqa: BLE001 - only a not-yet-visible execution is looked for again
            if error_code(exc) != "ExecutionDoesNotExist" or monotonic() + pause > deadline:
                raise
        sleep(pause)
        pause = min(2.0, pause * 2)


def _differing_fields(theirs: Any, ours: dict[str, Any]) -> list[str]:
    if not isinstance(theirs, dict):
        return ["(unreadable input)"]
    return sorted(key for key in set(theirs) | set(ours) if theirs.get(key) != ours.get(key))


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def main(argv: list[str] | None = None, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    def out(line: str) -> None:
        print(printable(line), file=stdout, flush=True)

    def err(line: str) -> None:
        print(printable(line), file=stderr, flush=True)

    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    settings = None
    try:
        settings = Settings(args)
        return run(settings, choose_backend(), out, err)
    except Stop as stop:
        err(f"{PREFIX} error: {stop.message}")
        return stop.code
    except Interrupted as stop:
        err(
            f"{PREFIX} interrupted ({stop}) while starting: if an execution started it keeps running, and "
            "running `terraform apply` (or this client) again joins it"
        )
        return 128 + stop.signum
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        line = explain_aws_error(exc, settings) if settings is not None else None
        if line is None or os.environ.get("FLEET_MIGRATION_DEBUG"):
            raise
        err(f"{PREFIX} error: {line}")
        return EXIT_AWS
