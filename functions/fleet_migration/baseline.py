"""What "before" means when an earlier migration of the same services never put them back.

An execution that is aborted (Stop in the console), times out, or fails in its own rollback
leaves the services scaled down with autoscaling held. Taking that state as "before" would make
the next attempt restore the outage (or refuse ``desired_count`` above a held maximum of 0). So
the describe step looks, service by service, at the latest earlier execution that migrated it:
if that one changed things without putting them back, and the service still looks exactly as
it left it, what it captured is still the truth and is inherited. A service someone has since
put right by hand, or an execution that ended cleanly, leaves the live state as "before".
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from fleet_migration.aws import client, pages, throttling_is_retried
from fleet_migration.execution_input import MigrationInput, services_named_in, short_name
from fleet_migration.models import Execution, ScalableTarget, ServiceSnapshot

DESCRIBE_STATE = "Validate the input and describe the services"
_CHANGED_NOTHING = {"InvalidInput", "ResourceNotFound", "MigrationInProgress"}
_STILL_GOING = {"RUNNING", "PENDING_REDRIVE"}  # the guard's business
_LOOK_BACK = 50  # earlier executions of these services; an interrupted one is the latest or close to it

Live = dict[str, tuple[int, ScalableTarget | None]]  # service name -> (desired count, autoscaling target)


@throttling_is_retried
def inherited(spec: MigrationInput, execution: Execution, live: Live) -> dict[str, tuple[str, ServiceSnapshot]]:
    """For each service whose "before" an interrupted earlier execution holds: (its name, what it captured)."""
    sfn = client("stepfunctions")
    undecided = set(live)
    found: dict[str, tuple[str, ServiceSnapshot]] = {}
    looked = 0
    for page in pages(sfn.list_executions, stateMachineArn=execution.state_machine_arn):
        for summary in page.get("executions", []):  # newest first
            if not undecided or looked >= _LOOK_BACK:
                return found
            if summary["executionArn"] == execution.id:
                continue
            described = sfn.describe_execution(executionArn=summary["executionArn"])
            names = _services_of(described.get("input"), spec.cluster_name) & undecided
            if not names or described["status"] in _STILL_GOING:
                continue
            looked += 1
            if described["status"] == "FAILED" and described.get("error") in _CHANGED_NOTHING:
                continue  # it changed nothing: what came before it decides
            if _left_services_changed(described):
                captured, hold = _captured(sfn, summary["executionArn"])
                if captured is None:
                    continue  # stopped before it captured anything, so before it changed anything
                for name in names:
                    if name in captured and _looks_held(live[name], _held(captured[name], hold)):
                        found[name] = (summary["name"], captured[name])
            undecided -= names
    return found


def _services_of(document: str | None, cluster: str) -> set[str]:
    try:
        named = services_named_in(json.loads(document or "null"))
    except json.JSONDecodeError:
        return set()
    return named[1] if named and named[0] == cluster else set()


def _left_services_changed(described: dict[str, Any]) -> bool:
    status = described["status"]
    if status == "SUCCEEDED":
        return False
    if status in ("ABORTED", "TIMED_OUT"):
        return True
    if described.get("error") == "ServiceNotStable":
        return False  # the migration was applied and the services set to their new counts
    try:
        cause = json.loads(described.get("cause") or "{}")
    except json.JSONDecodeError:
        return True
    return not (isinstance(cause, dict) and cause.get("rolled_back") is True)


def _looks_held(live: tuple[int, ScalableTarget | None], hold: int) -> bool:
    """Whether a service is still exactly as a migration's scale-down left it."""
    desired, target = live
    if desired != hold:
        return False
    if target is None:
        return True
    suspended = target.suspended
    return (
        target.min_capacity == target.max_capacity == hold
        and suspended.dynamic_scaling_in_suspended
        and suspended.dynamic_scaling_out_suspended
        and suspended.scheduled_scaling_suspended
    )


@throttling_is_retried
def earlier_page(spec: MigrationInput, execution: Execution) -> list[dict[str, Any]]:
    """What the latest earlier execution of ``ecs_service`` that got past its describe step recorded of the
    maintenance page (its own swaps and the leftovers it found), as stored: the actions to put back where an
    interrupted one left its page. A running one is the guard's business; one whose describe step failed changed
    nothing, so what came before it decides."""
    sfn = client("stepfunctions")
    looked = 0
    for page in pages(sfn.list_executions, stateMachineArn=execution.state_machine_arn):
        for summary in page.get("executions", []):  # newest first
            if looked >= _LOOK_BACK:
                return []
            if summary["executionArn"] == execution.id or summary["status"] in _STILL_GOING:
                continue
            described = sfn.describe_execution(executionArn=summary["executionArn"])
            if short_name(spec.ecs_service) not in _services_of(described.get("input"), spec.cluster_name):
                continue
            looked += 1
            output = _described_output(sfn, summary["executionArn"])
            if output is None:
                continue
            recorded = []
            for part in ("maintenance", "page_leftovers"):
                found = output.get(part)
                if isinstance(found, dict) and isinstance(found.get("swaps"), list):
                    recorded += [swap for swap in found["swaps"] if isinstance(swap, dict)]
            return recorded
    return []


def _described_output(sfn: Any, execution_arn: str) -> dict[str, Any] | None:
    """The state document an execution's describe step handed on, or None when that step did not finish."""
    for page in pages(sfn.get_execution_history, executionArn=execution_arn, maxResults=100):
        for event in page.get("events", []):
            exited = event.get("stateExitedEventDetails")
            if exited and exited.get("name") == DESCRIBE_STATE:
                try:
                    output = json.loads(exited["output"])
                except (KeyError, TypeError, json.JSONDecodeError):
                    return None
                # a step that failed leaves its input and the caught error, not a state document
                return output if isinstance(output, dict) and "services" in output else None
    return None


def _captured(sfn: Any, execution_arn: str) -> tuple[dict[str, ServiceSnapshot] | None, int]:
    """(the services as an execution's describe step captured them, its input's min_capacity), from its history.

    Only the parts needed are read, so the state document of an older version still parses.
    """
    output = _described_output(sfn, execution_arn)
    if output is None:
        return None, 0
    try:
        services = [ServiceSnapshot.model_validate(s) for s in output["services"]]
        hold = int(output.get("input", {}).get("min_capacity") or 0)
    except (ValidationError, KeyError, TypeError, ValueError):
        return None, 0
    return {s.name: s for s in services}, hold


def _held(captured: ServiceSnapshot, legacy_min_capacity: int) -> int:
    """The count an execution held a service at: recorded with the service, or in the state documents of versions
    before that was recorded, its input's min_capacity (the held count, in those versions)."""
    return captured.held if captured.held is not None else captured.held_count(legacy_min_capacity)
