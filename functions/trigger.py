"""EventBridge trigger: a new revision of the Fleet task definition starts the first attempt of its migration.

EventBridge hands over CloudTrail's record of a ``RegisterTaskDefinition`` call. The execution input
comes from the stack parameters (environment variables) plus the new revision; the execution name is
the deterministic one of docs/execution-names.md, so this trigger and a Terraform run for the same revision
land on one execution. When any attempt for the revision exists, whatever its status, the trigger starts
nothing: CloudTrail events arrive minutes late and sometimes twice, and a late event after a failed
attempt must never take Fleet down again for the same revision (a rerun is for a person).

Whom it trusts (docs/behaviour.md, "Whom the trigger trusts"): registrations in this account and region, by the
principals the deployment lists (``TRIGGER_PRINCIPAL_ARNS``, the ``sessionIssuer`` of the caller's role; none
listed = the trigger is off), and never the workflow's own copies (tagged ``fleet-migration:copy-of``). The
rule's event pattern says the same; the function checks again, since a rule can be edited and an event
replayed from the failed-events queue by hand.
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
from fleet_migration.task_definitions import COPY_OF_TAG

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


class SessionIssuer(BaseModel):
    arn: str | None = None


class SessionContext(BaseModel):
    session_issuer: SessionIssuer | None = Field(default=None, alias="sessionIssuer")


class UserIdentity(BaseModel):
    session_context: SessionContext | None = Field(default=None, alias="sessionContext")

    @property
    def issuer(self) -> str | None:
        """The role whose session made the call (what the deployment lists), or None (an IAM user, root, ...)."""
        context = self.session_context
        return context.session_issuer.arn if context and context.session_issuer else None


class CloudTrailDetail(BaseModel):
    user_identity: UserIdentity | None = Field(default=None, alias="userIdentity")
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
    account: str | None = None
    region: str | None = None
    detail: CloudTrailDetail

    def tag(self, key: str) -> str | None:
        """A tag the RegisterTaskDefinition call gave the revision (CloudTrail keeps them in requestParameters)."""
        tags = (self.detail.request_parameters or {}).get("tags") or []
        return next((t.get("value") for t in tags if isinstance(t, dict) and t.get("key") == key), None)


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
    # sessionIssuer ARNs whose registrations start a migration (Fleet's Terraform role, ...); empty: none does
    principal_arns: list[str] = Field(default_factory=list)

    @property
    def account(self) -> str:
        return self.state_machine_arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.state_machine_arn.split(":")[3]

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
            principal_arns=_split(environ.get("TRIGGER_PRINCIPAL_ARNS", "")),
        )


def new_revision(event: RegisterTaskDefinitionEvent, settings: TriggerSettings) -> tuple[int | None, str]:
    """The revision to migrate to, or ``None`` and why this event starts nothing."""
    detail, family = event.detail, settings.family
    if detail.event_source != EVENT_SOURCE or detail.event_name != EVENT_NAME:
        return None, f"not a RegisterTaskDefinition call ({detail.event_source} {detail.event_name})"
    if detail.error_code:
        return None, f"the call failed ({detail.error_code}: {detail.error_message or 'no message'})"
    if (event.account, event.region) != (settings.account, settings.region):
        # A central event bus may forward other accounts' and regions' events to this one.
        return None, (
            f"the call was made in account {event.account} region {event.region}, not this deployment's "
            f"({settings.account} {settings.region})"
        )
    copy_of = event.tag(COPY_OF_TAG)
    if copy_of is not None:
        return None, (
            f"the workflow's rollback registered it again as a copy of {copy_of} (tag {COPY_OF_TAG}): "
            "the workflow never migrates its own registrations"
        )
    issuer = detail.user_identity.issuer if detail.user_identity else None
    if issuer is None or issuer not in settings.principal_arns:
        listed = ", ".join(settings.principal_arns) or "none: the trigger is off"
        return None, (
            f"registered by {issuer or 'a caller without a role session'}, not by a principal the deployment lists "
            f"(TriggerPrincipalArns / trigger_principal_arns: {listed})"
        )
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
    revision, reason = new_revision(parsed, settings)
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
    if decision.action == "foreign":
        answer["reason"] = (
            f"execution {decision.name} exists ({decision.status}) but its input names {decision.names}, not this "
            f"revision's migration: someone started it under this revision's name. The trigger starts nothing; "
            "look at that execution, stop it if it runs, then start the migration with terraform apply or "
            "python3 terraform/migrate.py"
        )
        logger.warning("Execution under this revision's name migrates something else", reason=answer["reason"])
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
