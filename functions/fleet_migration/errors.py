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


class TaskFailedToStart(MigrationError):
    """RunTask reported failures, or the task stopped without running the command."""


class MigrationFailed(MigrationError):
    """The migration container exited non-zero."""


class MigrationTimeout(MigrationError):
    """The migration task was still running after timeout_seconds (it has been stopped)."""


class ServiceNotStable(MigrationError):
    """The services were scaled up but did not reach their desired count in time."""


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
