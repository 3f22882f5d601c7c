"""Errors raised by the steps, named exactly after the ASL error names (docs/errors.md).

The Lambda runtime reports ``type(exc).__name__`` as the error name and ``str(exc)`` as the
message, so each error renders its cause as the JSON object the contract promises; the state
machine forwards that string unchanged as the execution's ``cause``.
"""

from __future__ import annotations

import json
from typing import Any


class MigrationError(Exception):
    """Base class: a message a person can act on, plus structured details."""

    # Errors raised before anything changed say so in their cause, as rolled-back ones do.
    changes_nothing = False
    # The migration task did not exit 0 by itself: the migration was not (wholly) applied, so the rollback puts the
    # services back where they were, and the cause carries the task's last log lines.
    migration_not_applied = False
    # What a step of this error's phase was doing, when it failed for a reason of its own (an AWS refusal,
    # throttling that outlived every retry, a Lambda error): the cause's message under this error's name.
    phase_message: str | None = None

    def __init__(self, message: str, **details: Any) -> None:
        self.message = message
        self.details = {key: value for key, value in details.items() if value is not None}
        super().__init__(message)

    @property
    def error(self) -> str:
        return type(self).__name__

    def cause(self) -> dict[str, Any]:
        cause = {"message": self.message, **self.details}
        if self.changes_nothing:
            cause.setdefault("rolled_back", False)
        return cause

    def __str__(self) -> str:
        return json.dumps(self.cause(), sort_keys=True, default=str)


class InvalidInput(MigrationError):
    """The execution input failed validation; nothing was changed."""

    changes_nothing = True


class ResourceNotFound(MigrationError):
    """The cluster, a service, the task definition revision or the container does not exist."""

    changes_nothing = True


class MigrationInProgress(MigrationError):
    """Another execution is migrating the same service."""

    changes_nothing = True


class DrainTimeout(MigrationError):
    """The services did not drain to min_capacity in time."""

    phase_message = "The services could not be scaled down and drained"


class TaskFailedToStart(MigrationError):
    """RunTask reported failures, or the task stopped without running the command."""

    migration_not_applied = True
    phase_message = "The migration task could not be started"


class MigrationFailed(MigrationError):
    """The migration container exited non-zero."""

    migration_not_applied = True
    phase_message = "The migration task could not be followed to its end, so it was stopped"


class MigrationTimeout(MigrationError):
    """The migration task was still running after timeout_seconds (it has been stopped)."""

    migration_not_applied = True


class ServiceNotStable(MigrationError):
    """The services were scaled up but did not reach their desired count in time."""

    phase_message = "The migration succeeded, but the services could not be scaled back up"


class RollbackFailed(MigrationError):
    """Restoring the captured state failed after retries."""


class RedriveNotSupported(MigrationError):
    """A step ran in a redriven execution (Step Functions' Redrive); it changed nothing, and nor does the execution."""

    changes_nothing = True


class AwsThrottled(MigrationError):
    """AWS kept throttling after the SDK's own retries; the state machine retries the step."""


CONTRACT_ERRORS = (
    InvalidInput,
    ResourceNotFound,
    MigrationInProgress,
    DrainTimeout,
    TaskFailedToStart,
    MigrationFailed,
    MigrationTimeout,
    ServiceNotStable,
    RollbackFailed,
    RedriveNotSupported,
)
CONTRACT_ERROR_NAMES = tuple(cls.__name__ for cls in CONTRACT_ERRORS)
_BY_NAME: dict[str, type[MigrationError]] = {cls.__name__: cls for cls in CONTRACT_ERRORS}


def migration_not_applied(name: str) -> bool:
    """Whether an error of this name means the migration task did not exit 0 by itself (``migration_not_applied``)."""
    found = _BY_NAME.get(name)
    return found is not None and found.migration_not_applied
