"""Execution names and start-or-join (docs/execution-names.md), with nothing but the standard library and boto3.

Terraform and EventBridge may fire for the same revision; both land on one execution because the
name is deterministic. This file is used by the trigger Lambda and, as a byte-identical copy,
by the Terraform module's client (terraform/executions.py), which must stay self-contained;
tests/terraform/test_terraform_module.py keeps the two in step.
"""

from __future__ import annotations

import hashlib
import json
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


# A name this workflow gives: ``<cluster>-<service>-r<N>[-aK]``, or its truncated form (71 characters, ``-``, 8 hex).
_SHAPE = re.compile(r"^[A-Za-z0-9_-]+-r(?P<revision>[0-9]+)(?:-a(?P<attempt>[0-9]+))?$")
_TRUNCATED = re.compile(r"^[A-Za-z0-9_-]{71}-[0-9a-f]{8}$")


def misnamed(name: str, cluster: str, service: str, revision: int) -> str | None:
    """Why an execution called ``name`` may not migrate this cluster, service and revision, or None.

    A name is not a proof, yet the client and the trigger read one: an execution whose name has this workflow's
    shape must be the migration the name says (any name of another shape is a person's own and says nothing).
    """
    truncated = _TRUNCATED.match(name)
    shaped = _SHAPE.match(name)
    if not truncated and not shaped:
        return None
    if shaped and not truncated:
        attempts = [int(shaped.group("attempt") or 1)]
    else:
        attempts = list(range(1, 100))
    expected = [execution_name(cluster, service, revision, attempt) for attempt in attempts]
    if name in expected:
        return None
    return (
        f"the name {name} has the shape of this workflow's execution names but does not name the migration of "
        f"{short_name(cluster)}/{short_name(service)} revision {revision} (that one is {expected[0]})"
    )


def identity(document: Any) -> tuple[str, str, str, Any] | None:
    """(cluster, service, family, revision) an execution input names, by short names; None if it is unreadable."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    if not isinstance(document, dict):
        return None
    family = short_name(str(document.get("task_definition", ""))).split(":", 1)[0]
    return (
        short_name(str(document.get("ecs_cluster", ""))),
        short_name(str(document.get("ecs_service", ""))),
        family,
        document.get("task_definition_revision"),
    )


def describe_identity(found: tuple[str, str, str, Any] | None) -> str:
    if found is None:
        return "an input that is not a JSON object"
    cluster, service, family, revision = found
    return f"cluster {cluster!r}, service {service!r}, task definition {family}:{revision}"


def other_migration(theirs: Any, ours: Any) -> str | None:
    """What an existing execution's input names when it is not the migration ``ours`` names, else None.

    Before joining an execution, or counting it as this revision's success, its input must name the same cluster,
    service, family and revision: anyone with states:StartExecution can start one under the next name."""
    found = identity(theirs)
    if found is not None and found == identity(ours):
        return None
    return describe_identity(found)


class NotThisMigration(Exception):
    """An execution under this revision's name migrates something else: it is neither joined nor a success."""

    def __init__(self, name: str, execution_arn: str, names: str, ours: Any) -> None:
        self.name, self.execution_arn, self.names = name, execution_arn, names
        super().__init__(
            f"execution {name} exists but its input names {names}, not {describe_identity(identity(ours))}: it is "
            "not this revision's migration, so it is neither joined nor taken as a success. Someone started it "
            f"under this revision's name; look at it ({execution_arn}), stop it if it runs, then run again"
        )


@dataclass(frozen=True)
class Decision:
    """What start-or-join did: ``started`` a new execution, ``joined`` a running one, or found it ``succeeded``;
    or, for the trigger, ``skipped`` because an attempt exists (``status`` says what it is)."""

    action: str
    execution_arn: str
    name: str
    attempt: int
    status: str | None = None
    # for the trigger's ``foreign``: what the execution under the name migrates instead
    names: str | None = None


def execution_arn(state_machine_arn: str, name: str) -> str:
    prefix, machine = state_machine_arn.split(":stateMachine:", 1)
    return f"{prefix}:execution:{machine}:{name}"


def _described(sfn: Any, arn: str) -> dict[str, Any] | None:
    """DescribeExecution's answer (status, input), or None when there is no execution with that ARN."""
    try:
        return sfn.describe_execution(executionArn=arn)
    except sfn.exceptions.ExecutionDoesNotExist:
        return None


def start_or_join(
    sfn: Any, state_machine_arn: str, document: str, cluster: str, service: str, revision: int, max_attempts: int = 99
) -> Decision:
    """Join the execution for this revision if it runs, report it if it succeeded, else start the next attempt.

    ``NotThisMigration`` when the execution under the name runs or succeeded with an input naming another
    migration: a name is not a proof."""
    for attempt in range(1, max_attempts + 1):
        name = execution_name(cluster, service, revision, attempt)
        arn = execution_arn(state_machine_arn, name)
        described = _described(sfn, arn)
        if described is None:
            started = _start(sfn, state_machine_arn, name, document)
            if started:
                return Decision("started", started, name, attempt)
            # Someone else started it between our describe and our start (or it has even ended since):
            # decide from what it really is.
            described = _described(sfn, arn)
            if described is None:  # the name is taken but the execution not visible yet: it has just started
                return Decision("joined", arn, name, attempt)
        status = described["status"]
        if status in ACTIVE or status == "SUCCEEDED":
            names = other_migration(described.get("input"), document)
            if names is not None:
                raise NotThisMigration(name, arn, names, document)
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
    described = _described(sfn, arn)
    if described is None:
        started = _start(sfn, state_machine_arn, name, document)
        if started:
            return Decision("started", started, name, 1, "RUNNING")
        described = _described(sfn, arn)
        if described is None:  # started by someone else a moment ago, not visible yet
            return Decision("skipped", arn, name, 1, "RUNNING")
    names = other_migration(described.get("input"), document)
    if names is not None:
        return Decision("foreign", arn, name, 1, described["status"], names)
    return Decision("skipped", arn, name, 1, described["status"])


def _start(sfn: Any, state_machine_arn: str, name: str, document: str) -> str | None:
    """StartExecution under this name: the new execution's ARN, or None when the name is already taken."""
    try:
        return sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=document)["executionArn"]
    except sfn.exceptions.ExecutionAlreadyExists:
        return None
