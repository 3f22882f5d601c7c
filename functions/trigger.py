"""EventBridge trigger: a new revision of the Fleet task definition starts the first attempt of its migration.

EventBridge hands over CloudTrail's record of a ``RegisterTaskDefinition`` call. The execution input
comes from the stack parameters (environment variables) plus the new revision; the execution name is
the deterministic one of docs/execution-names.md, so this trigger and a Terraform run for the same revision
land on one execution. When any attempt for the revision exists, whatever its status, the trigger starts
nothing: CloudTrail events arrive minutes late and sometimes twice, and a late event after a failed
attempt must never take Fleet down again for the same revision (a rerun is for a person).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from fleet_migration.aws import client
from fleet_migration.execution_input import MigrationInput
from fleet_migration.executions import start_first_attempt
from fleet_migration.observability import logger, metrics

EVENT_SOURCE = "ecs.amazonaws.com"
EVENT_NAME = "RegisterTaskDefinition"
# Fields that come from the stack and scope its IAM permissions: overrides may not change them.
IDENTITY_FIELDS = frozenset(
    {"ecs_cluster", "ecs_service", "vuln_service", "task_definition", "task_definition_revision"}
)


class RegisteredTaskDefinition(BaseModel):
    task_definition_arn: str = Field(alias="taskDefinitionArn")
    family: str
    revision: int


class ResponseElements(BaseModel):
    task_definition: RegisteredTaskDefinition = Field(alias="taskDefinition")


class CloudTrailDetail(BaseModel):
    event_source: str = Field(alias="eventSource")
    event_name: str = Field(alias="eventName")
    error_code: str | None = Field(default=None, alias="errorCode")
    error_message: str | None = Field(default=None, alias="errorMessage")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: ResponseElements | None = Field(default=None, alias="responseElements")


class RegisterTaskDefinitionEvent(BaseModel):
    """The part of an ``AWS API Call via CloudTrail`` event this trigger reads."""

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: CloudTrailDetail


class TriggerSettings(BaseModel):
    """What the stack parameters say, read from the function's environment."""

    model_config = ConfigDict(frozen=True)

    state_machine_arn: str
    cluster: str
    service: str
    vuln_service: str = ""
    family: str
    subnets: list[str]
    security_groups: list[str]
    overrides: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> TriggerSettings:
        overrides = json.loads(environ.get("INPUT_OVERRIDES") or "{}")
        if not isinstance(overrides, dict):
            raise ValueError("INPUT_OVERRIDES (parameter TriggerInputOverrides) must be a JSON object")
        fixed = sorted(IDENTITY_FIELDS & overrides.keys())
        if fixed:
            raise ValueError(
                f"INPUT_OVERRIDES (parameter TriggerInputOverrides) may not set {fixed}: they come from the stack "
                "parameters that scope its permissions"
            )
        return cls(
            state_machine_arn=environ["STATE_MACHINE_ARN"],
            cluster=environ["ECS_CLUSTER"],
            service=environ["ECS_SERVICE"],
            vuln_service=environ.get("VULN_SERVICE", ""),
            family=environ["TASK_DEFINITION_FAMILY"],
            subnets=_split(environ.get("SUBNETS", "")),
            security_groups=_split(environ.get("SECURITY_GROUPS", "")),
            overrides=overrides,
        )


def new_revision(event: RegisterTaskDefinitionEvent, family: str) -> tuple[int | None, str]:
    """The revision to migrate to, or ``None`` and why this event starts nothing."""
    detail = event.detail
    if detail.event_source != EVENT_SOURCE or detail.event_name != EVENT_NAME:
        return None, f"not a RegisterTaskDefinition call ({detail.event_source} {detail.event_name})"
    if detail.error_code:
        return None, f"the call failed ({detail.error_code}: {detail.error_message or 'no message'})"
    if detail.response_elements is None:
        return None, "the event carries no registered task definition"
    registered = detail.response_elements.task_definition
    if registered.family != family:
        return None, f"family {registered.family!r} is not {family!r}"
    return registered.revision, ""


def migration_input(settings: TriggerSettings, revision: int) -> dict[str, Any]:
    """The execution input for ``revision``, checked against the contract (``InvalidInput`` names bad fields)."""
    document: dict[str, Any] = {
        "ecs_cluster": settings.cluster,
        "ecs_service": settings.service,
        "task_definition": settings.family,
        "task_definition_revision": revision,
        "subnets": settings.subnets,
        "security_groups": settings.security_groups,
    }
    if settings.vuln_service:
        document["vuln_service"] = settings.vuln_service
    document.update(settings.overrides)
    MigrationInput.parse(document)
    return document


def handle(event: dict[str, Any], settings: TriggerSettings, sfn: Any) -> dict[str, Any]:
    parsed = RegisterTaskDefinitionEvent.model_validate(event)
    revision, reason = new_revision(parsed, settings.family)
    if revision is None:
        logger.info("Event ignored", reason=reason)
        return {"action": "ignored", "reason": reason}
    document = migration_input(settings, revision)
    decision = start_first_attempt(
        sfn, settings.state_machine_arn, json.dumps(document), settings.cluster, settings.service, revision
    )
    answer = {
        "action": decision.action,
        "execution_name": decision.name,
        "execution_arn": decision.execution_arn,
        "status": decision.status,
    }
    if decision.action == "started":
        logger.info("Migration started", execution=decision.name, revision=revision)
        metrics.add_metric(name="MigrationsTriggered", unit=MetricUnit.Count, value=1)
        return answer
    answer["reason"] = (
        f"execution {decision.name} for revision {revision} already exists ({decision.status}); the trigger starts "
        "only the first attempt of a revision, so a late or repeated event never runs a migration again. To run "
        "it again after a failure, run terraform apply or python3 terraform/migrate.py: they start the next attempt."
    )
    logger.info("Migration not started", execution=decision.name, status=decision.status, reason=answer["reason"])
    return answer


@logger.inject_lambda_context(correlation_id_path="detail.responseElements.taskDefinition.taskDefinitionArn")
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return handle(event, TriggerSettings.from_environment(), client("stepfunctions"))


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
