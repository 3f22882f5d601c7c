"""Execution names and start-or-join (docs/execution-names.md), with nothing but the standard library and boto3.

Terraform and EventBridge may fire for the same revision; both land on one execution because the
name is deterministic. This file is used by the trigger Lambda and, as a byte-identical copy,
by the Terraform module's client (terraform/executions.py), which must stay self-contained;
tests/terraform/test_terraform_module.py keeps the two in step.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

MAX_NAME = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
FINISHED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")
# Joined rather than started again: running, or a redrive of a failed execution is under way.
ACTIVE = ("RUNNING", "PENDING_REDRIVE")


def short_name(name_or_arn: str) -> str:
    return name_or_arn.rsplit("/", 1)[-1]


def execution_name(cluster: str, service: str, revision: int, attempt: int = 1) -> str:
    """``<cluster>-<service>-r<revision>[-a<attempt>]``, made safe and at most 80 characters."""
    name = f"{short_name(cluster)}-{short_name(service)}-r{revision}"
    if attempt > 1:
        name += f"-a{attempt}"
    name = _UNSAFE.sub("-", name)
    if len(name) > MAX_NAME:
        name = name[:71] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return name


@dataclass(frozen=True)
class Decision:
    """What start-or-join did: ``started`` a new execution, ``joined`` a running one, or found it ``succeeded``;
    or, for the trigger, ``skipped`` because an attempt exists (``status`` says what it is)."""

    action: str
    execution_arn: str
    name: str
    attempt: int
    status: str | None = None


def execution_arn(state_machine_arn: str, name: str) -> str:
    prefix, machine = state_machine_arn.split(":stateMachine:", 1)
    return f"{prefix}:execution:{machine}:{name}"


def _status(sfn: Any, arn: str) -> str | None:
    """The execution's status, or None when there is no execution with that ARN."""
    try:
        return sfn.describe_execution(executionArn=arn)["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        return None


def start_or_join(
    sfn: Any, state_machine_arn: str, document: str, cluster: str, service: str, revision: int, max_attempts: int = 99
) -> Decision:
    """Join the execution for this revision if it runs, report it if it succeeded, else start the next attempt."""
    for attempt in range(1, max_attempts + 1):
        name = execution_name(cluster, service, revision, attempt)
        arn = execution_arn(state_machine_arn, name)
        status = _status(sfn, arn)
        if status is None:
            started = _start(sfn, state_machine_arn, name, document)
            if started:
                return Decision("started", started, name, attempt)
            # Someone else started it between our describe and our start (or it has even ended since):
            # decide from what it really is.
            status = _status(sfn, arn)
            if status is None:  # the name is taken but the execution not visible yet: it has just started
                return Decision("joined", arn, name, attempt)
        if status in ACTIVE:
            return Decision("joined", arn, name, attempt)
        if status == "SUCCEEDED":
            return Decision("succeeded", arn, name, attempt)
        # FAILED, TIMED_OUT or ABORTED: look at the next attempt
    raise RuntimeError(f"{max_attempts} attempts of {execution_name(cluster, service, revision)} already failed")


def start_first_attempt(
    sfn: Any, state_machine_arn: str, document: str, cluster: str, service: str, revision: int
) -> Decision:
    """The EventBridge trigger's rule: start attempt 1 of this revision, or nothing if any attempt exists.

    A CloudTrail event may come minutes late, or twice, after a Terraform run already migrated (or failed and
    rolled back) the revision: rerunning a failed migration is for a person, never for a late event. Attempts
    are made in order (an ``-a2`` only after attempt 1 ended badly), so attempt 1 exists whenever any does: it
    cannot have expired, since closed executions are kept 90 days ("Step Functions service quotas") and an
    event reaches the trigger within EventBridge's and Lambda's event ages (hours).
    """
    name = execution_name(cluster, service, revision)
    arn = execution_arn(state_machine_arn, name)
    status = _status(sfn, arn)
    if status is None:
        started = _start(sfn, state_machine_arn, name, document)
        if started:
            return Decision("started", started, name, 1, "RUNNING")
        status = _status(sfn, arn) or "RUNNING"  # started by someone else a moment ago, not visible yet
    return Decision("skipped", arn, name, 1, status)


def _start(sfn: Any, state_machine_arn: str, name: str, document: str) -> str | None:
    """StartExecution under this name: the new execution's ARN, or None when the name is already taken."""
    try:
        return sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=document)["executionArn"]
    except sfn.exceptions.ExecutionAlreadyExists:
        return None
