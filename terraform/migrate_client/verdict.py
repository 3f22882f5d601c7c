"""The last lines of a run: succeeded, or the error with its cause and what to do next."""

from __future__ import annotations

import json
from typing import Any, Callable

import executions

from .progress import TASK_MARK, describe_snapshot
from .settings import EXIT_FAILED, EXIT_NO_RECOVERY_POINT, EXIT_SUCCEEDED, PREFIX, Settings
from .text import clock, console_url, duration, elapsed, loads


class Verdict:
    def __init__(self, settings: Settings, out: Callable[[str], None], err: Callable[[str], None]) -> None:
        self._settings, self._out, self._err = settings, out, err

    def report(self, described: dict[str, Any], decision: executions.Decision, already: bool = False) -> int:
        status = described["status"]
        took = duration(described)
        name = described.get("name", decision.name)
        if status == "SUCCEEDED":
            output = loads(described.get("output"))
            output = output if isinstance(output, dict) else {}
            if already:
                self._out(
                    f"{PREFIX} execution {name} already SUCCEEDED (ran {elapsed(took)}, ended "
                    f"{clock(described.get('stopDate'))}): revision {self._settings.revision} is migrated, "
                    "nothing to run again"
                )
            else:
                self._out(f"{PREFIX} SUCCEEDED in {elapsed(took)} (execution {name})")
            for line in success_details(output):
                self._out(f"  {line}")
            missing = no_recovery_point(output)
            if missing:
                self._err(f"{PREFIX} NO RECOVERY POINT: {missing}")
                # The run that watched it fails; a later run joining the finished execution warns but does not
                # block every apply of this revision: migrating again would not bring the snapshot back.
                return EXIT_SUCCEEDED if already else EXIT_NO_RECOVERY_POINT
            return EXIT_SUCCEEDED
        error = described.get("error") or ("States.Aborted" if status == "ABORTED" else status)
        self._err(f"{PREFIX} {status} after {elapsed(took)}: {error} (execution {name})")
        for line in failure_details(loads(described.get("cause"))):
            self._err(f"  {line}")
        if status in ("ABORTED", "TIMED_OUT"):
            self._err(
                "  an execution that is stopped or times out as a whole does not roll back: check the services' "
                "desired counts and autoscaling, and any migration task still running (its first state's output "
                "in the history shows what they were)"
            )
        self._err(f"  console: {console_url(self._settings, decision.execution_arn)}")
        upcoming = executions.execution_name(
            self._settings.cluster, self._settings.service, self._settings.revision, decision.attempt + 1
        )
        self._err(
            f"  next: fix the cause, then run `terraform apply` again (or this client): it starts attempt "
            f"{decision.attempt + 1}, {upcoming}"
        )
        return EXIT_FAILED


def no_recovery_point(output: dict[str, Any]) -> str:
    """Why the snapshot the execution was asked for is not a recovery point (empty when it is, or none was asked)."""
    snapshot = output.get("snapshot")
    if not isinstance(snapshot, dict) or snapshot.get("status") in (None, "available"):
        return ""
    return str(
        snapshot.get("message")
        or f"the snapshot {snapshot.get('snapshot_identifier')} is {snapshot.get('status')}, not available"
    )


def success_details(output: dict[str, Any]) -> list[str]:
    lines = []
    if output.get("skipped"):
        lines.append(f"nothing migrated: {output['skipped']}")
    if output.get("task_arn"):
        lines.append(f"migration task {output['task_arn']} exited {output.get('exit_code')}")
    services = [s for s in output.get("services") or [] if isinstance(s, dict)]
    if services:
        lines.append("services: " + ", ".join(f"{s.get('name')} at {s.get('desired_count')} task(s)" for s in services))
    lines.extend(snapshot_details(output.get("snapshot")))
    return lines


def failure_details(cause: Any) -> list[str]:
    if not isinstance(cause, dict):
        return [str(cause)] if cause else []
    lines = [str(cause.get("message") or cause.get("errorMessage") or json.dumps(cause))]
    if cause.get("task_arn"):
        task = f"migration task {cause['task_arn']}"
        if cause.get("exit_code") is not None:
            task += f", exit code {cause['exit_code']}"
        if cause.get("stopped_reason"):
            task += f" ({cause['stopped_reason']})"
        lines.append(task)
    tail = log_tail(cause.get("log_tail"))
    if tail:
        lines.append(f"its last {len(tail)} log line(s):")
        lines.extend(f"{TASK_MARK} {line}" for line in tail)
    if cause.get("log_note"):
        lines.append(str(cause["log_note"]))
    lines.extend(applied_details(cause))
    if "rolled_back" in cause:
        lines.append(f"rolled back: {'yes' if cause['rolled_back'] else 'NO'}")
    for service in cause.get("services") or []:
        if isinstance(service, dict) and service.get("replaced_task_definition"):
            lines.append(
                f"{service.get('name')} serves from {service.get('task_definition')} again, "
                f"{service.get('replaced_task_definition')} set aside until the next apply"
            )
    lines.extend(snapshot_details(cause.get("snapshot")))
    restore = cause.get("restore_commands") or []
    if restore:
        lines.append("to restore the database to the recovery point, run:")
        lines.extend(f"  {command}" for command in restore)
    commands = cause.get("commands") or []
    if commands:
        lines.append(
            "then, to bring Fleet back, run:"
            if restore and cause.get("rolled_back") is False
            else "to finish by hand, run:"
        )
        lines.extend(f"  {command}" for command in commands)
    return lines


def applied_details(cause: dict[str, Any]) -> list[str]:
    """The cause's ``applied_migrations``: what the failed migration left applied (docs/errors.md)."""
    applied = cause.get("applied_migrations")
    if not isinstance(applied, list):
        return []
    if not applied:
        return ["migrations applied before the failure: none (the schema is as it was)"]
    count = cause.get("applied_migrations_count") or len(applied)
    lines = [f"migrations applied before the failure ({count}; the schema is partly migrated):"]
    if count > len(applied):
        lines.append(f"  ... {count - len(applied)} earlier one(s)")
    lines.extend(f"  {name}" for name in applied)
    if cause.get("failed_migration"):
        lines.append(f"  failed: {cause['failed_migration']}")
    return lines


def log_tail(value: Any) -> list[str]:
    """The cause's ``log_tail``: a list of lines (docs/errors.md); a single string is split into lines."""
    if isinstance(value, str):
        return value.splitlines()
    if isinstance(value, list):
        return [str(line) for line in value]
    return []


def snapshot_details(snapshot: Any) -> list[str]:
    if not snapshot:
        return []
    lines = [f"recovery point: {describe_snapshot(snapshot)}"]
    restore = (
        next((snapshot.get(key) for key in ("restore_command", "restore") if snapshot.get(key)), None)
        if isinstance(snapshot, dict)
        else None
    )
    if restore:
        lines.append(f"  to restore it: {restore}")
    if isinstance(snapshot, dict) and snapshot.get("restore_note"):
        lines.append(f"  {snapshot['restore_note']}")
    if isinstance(snapshot, dict) and snapshot.get("point_in_time_restore_command"):
        lines.append(f"point-in-time restore target: {snapshot.get('restore_time')} (the services had drained)")
        lines.append(f"  to restore it: {snapshot['point_in_time_restore_command']}")
        if snapshot.get("point_in_time_note"):
            lines.append(f"  {snapshot['point_in_time_note']}")
    if (
        isinstance(snapshot, dict)
        and snapshot.get("status") not in (None, "available")
        and snapshot.get("check_command")
    ):
        lines.append(f"  to see whether it is available now: {snapshot['check_command']}")
    return lines
