"""What "before" means when an earlier migration of the same services never put them back.

An execution that is aborted (Stop in the console), times out, or fails in its own rollback
leaves the services scaled down with autoscaling held. Taking that state as "before" would make
the next attempt restore the outage (or refuse ``desired_count`` above a held maximum of 0). So
the describe step looks at the latest earlier execution for the same services: if it changed
things and did not put them back, its captured state is still the truth, and it is inherited.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from fleet_migration.aws import client, pages, throttling_is_retried
from fleet_migration.models import Execution, Migration, MigrationInput, ServiceSnapshot, short_name

DESCRIBE_STATE = "Validate the input and describe the services"
_CHANGED_NOTHING = {"InvalidInput", "ResourceNotFound", "MigrationInProgress"}
_LOOK_BACK = 50  # executions; an interrupted migration is the latest one or close to it


@throttling_is_retried
def inherited(spec: MigrationInput, execution: Execution) -> tuple[str, dict[str, ServiceSnapshot]] | None:
    """(name of the interrupted execution, its captured services by name), or None when now is "before"."""
    sfn = client("stepfunctions")
    wanted = set(spec.service_names)
    seen = 0
    for page in pages(sfn.list_executions, stateMachineArn=execution.state_machine_arn):
        for summary in page.get("executions", []):  # newest first
            if summary["executionArn"] == execution.id or summary["status"] == "RUNNING":
                continue  # running ones are the guard's business
            seen += 1
            if seen > _LOOK_BACK:
                return None
            described = sfn.describe_execution(executionArn=summary["executionArn"])
            if not _same_services(described.get("input"), spec.cluster_name, wanted):
                continue
            if described["status"] == "FAILED" and described.get("error") in _CHANGED_NOTHING:
                continue  # look further back
            if not _left_services_changed(described):
                return None
            captured = _captured_services(sfn, summary["executionArn"])
            if captured is None:
                continue  # interrupted before it captured anything, so before it changed anything
            return summary["name"], captured
    return None


def _same_services(document: str | None, cluster: str, wanted: set[str]) -> bool:
    try:
        earlier = json.loads(document or "null")
    except json.JSONDecodeError:
        return False
    if not isinstance(earlier, dict) or not isinstance(earlier.get("ecs_cluster"), str):
        return False
    names = {short_name(str(earlier.get(key))) for key in ("ecs_service", "vuln_service") if earlier.get(key)}
    return short_name(earlier["ecs_cluster"]) == cluster and bool(names & wanted)


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


def _captured_services(sfn: Any, execution_arn: str) -> dict[str, ServiceSnapshot] | None:
    """The services as the interrupted execution's describe step captured them (its output, in the history)."""
    for page in pages(sfn.get_execution_history, executionArn=execution_arn, maxResults=100):
        for event in page.get("events", []):
            exited = event.get("stateExitedEventDetails")
            if exited and exited.get("name") == DESCRIBE_STATE:
                try:
                    return {s.name: s for s in Migration.model_validate_json(exited["output"]).services}
                except (ValidationError, KeyError):
                    return None
    return None
