"""The contract's error names: what a ``Catch`` caught, told under the name callers match on."""

from __future__ import annotations

import json
import re
from typing import Any

from fleet_migration.errors import (
    CONTRACT_ERROR_NAMES,
    DrainTimeout,
    MigrationError,
    MigrationFailed,
    ServiceNotStable,
    TaskFailedToStart,
    migration_not_applied,
)
from fleet_migration.models import Migration


def read_caught(migration: Migration) -> tuple[str, dict[str, Any]]:
    """The error a ``Catch`` put in ``$.caught``, with its cause as our JSON object when it is one."""
    caught = migration.caught
    if caught is None:
        return "States.Runtime", {"message": "Rollback ran without a caught error."}
    try:
        payload = json.loads(caught.cause)
    except json.JSONDecodeError:
        return caught.error, {"message": caught.cause or caught.error}
    message = payload.get("errorMessage", payload) if isinstance(payload, dict) else payload
    if isinstance(message, str):
        try:
            parsed = json.loads(message)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and "message" in parsed:
            return caught.error, parsed
        return caught.error, {"message": message}
    return caught.error, {"message": json.dumps(message)}


# botocore's text of an AWS error whose code its service model does not declare.
_AWS_ERROR_CODE = re.compile(r"An error occurred \((\w+)\)")


def contract_error(migration: Migration, error: str, cause: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The caught error under one of the contract's names (docs/errors.md): callers match on those only.

    Our own errors keep their name. Anything else is named after the phase it interrupted, which
    the state document tells: it is the input of the step that failed.
    """
    if error in CONTRACT_ERROR_NAMES:
        return error, cause
    task = migration.task
    phase: type[MigrationError]
    if task is None:
        phase = TaskFailedToStart if migration.drain and migration.drain.done else DrainTimeout
    else:
        phase = ServiceNotStable if task.succeeded else MigrationFailed
    detail = str(cause.get("message", "")).rstrip(".") or "no detail"
    # botocore raises a bare ClientError for errors a service model does not declare; the code is in the text
    aws_code = _AWS_ERROR_CODE.search(detail) if error == "ClientError" else None
    underlying = aws_code.group(1) if aws_code else error
    mapped = {
        **cause,
        "message": f"{phase.phase_message} ({underlying}: {detail}); fix the cause and run the migration again",
        "underlying_error": underlying,
    }
    if task is not None:
        mapped.setdefault("task_arn", task.arn)
    return phase.__name__, mapped


def migration_applied(migration: Migration, error: str) -> bool:
    if migration_not_applied(error):
        return False
    return migration.task is not None and migration.task.succeeded
