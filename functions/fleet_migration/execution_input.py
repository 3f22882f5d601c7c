"""The execution input: one flat JSON object, the same for Terraform, EventBridge and the console
(docs/execution-input.md), validated with a sentence per field that says what to put there."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator

from fleet_migration import polling, task_size
from fleet_migration.errors import InvalidInput

DEFAULT_COMMAND = ["fleet", "prepare", "db", "--no-prompt"]
# AWS's ECS best practices ("Load balancer connection draining") suggest a few seconds for services with short
# requests; a target group's own default is 300 s, all of it outage when every task is going away.
DEFAULT_DEREGISTRATION_DELAY = 5
# While Fleet comes back every task is new: a stricter health check only keeps Fleet dark. The ALB's own
# floor (CreateTargetGroup, ELB API Reference: HealthCheckIntervalSeconds 5-300, HealthyThresholdCount 2-10).
DEFAULT_HEALTH_CHECK_INTERVAL = 5
DEFAULT_HEALTHY_THRESHOLD = 2

NonEmptyStr = Annotated[StrictStr, Field(min_length=1)]

_REVISION_SUFFIX = re.compile(r":\d+$")
# DBClusterIdentifier / DBInstanceIdentifier (RDS API Reference, CreateDBCluster and CreateDBInstance):
# 1 to 63 letters, digits or hyphens; the first a letter; no two consecutive hyphens; not ending in one.
DB_IDENTIFIER = re.compile(r"(?!.*--)[A-Za-z][A-Za-z0-9-]{0,62}(?<!-)")

# What to put in each field, quoted in error messages so the reader knows the fix.
FIELD_HINTS: dict[str, str] = {
    "ecs_cluster": 'the ECS cluster name or ARN, e.g. "fleet"',
    "ecs_service": 'the name of the Fleet ECS service, e.g. "fleet"',
    "task_definition": 'the task definition family or ARN without ":<revision>", e.g. "fleet"',
    "task_definition_revision": "the new task definition revision, an integer of at least 1",
    "subnets": 'a list of 1 to 16 subnet ids, e.g. ["subnet-0abc"], or leave it out to use the service\'s',
    "security_groups": 'a list of 1 to 5 security group ids, e.g. ["sg-0abc"], or leave it out to use the service\'s',
    "capacity_during_migration": "an integer of at least 0 (0 stops the services during the migration)",
    "min_capacity": "an integer of at least 0, the autoscaling minimum after the migration, or null to restore the "
    "minimum found before",
    "desired_count": "an integer of at least 1, at least capacity_during_migration and at least min_capacity, or null "
    "to restore the count found before",
    "max_capacity": "an integer of at least 1 and at least desired_count, or null to restore the maximum found before",
    "vuln_service": 'the name of the vulnerability-processing service, or "" for none',
    "container_name": 'the name of the container that runs the migration, e.g. "fleet"',
    "command": 'a non-empty list of strings, e.g. ["fleet", "prepare", "db", "--no-prompt"]',
    "assign_public_ip": "true or false (Fargate only), or leave it out to use the service's",
    "launch_type": '"FARGATE" or "EC2", or null to run the task the way the service runs',
    "timeout_seconds": "an integer from 1 to 86400",
    "drain_timeout_seconds": "an integer from 1 to 3600",
    "stabilize_timeout_seconds": "an integer from 0 to 3600 (0 = don't wait)",
    "poll_interval_seconds": "an integer from 1 to 300",
    "task_cpu": 'null, or the task CPU in CPU units as a string, e.g. "1024" (1 vCPU)',
    "task_memory": 'null, or the task memory in MiB as a string, e.g. "4096", with task_cpu',
    "db_cluster_identifier": 'the Aurora DB cluster identifier to snapshot, e.g. "fleet", or "" for none',
    "db_instance_identifier": 'the RDS DB instance identifier to snapshot, e.g. "fleet", or "" for none',
    "snapshot_timeout_seconds": "an integer from 60 to 14400",
    "skip_unchanged_image": "true (succeed at once when the new revision is shown to run the binary already serving) or false",
    "deregistration_delay_seconds": "an integer from 0 to 3600, or null to leave the target groups' own delay",
    "maintenance_page": "true (answer 503 with the deployment's maintenance page while Fleet is down) or false",
    "on_partial_migration": '"serve_previous" (roll back as for any failure) or "stay_down" (keep Fleet down)',
    "stable_seconds": "an integer from 0 to 600, how long the scaled-up tasks must run with none stopping",
    "health_check_interval_seconds": "an integer from 5 to 300, or null to leave the target groups' health checks alone",
    "healthy_threshold_count": "an integer from 2 to 10, or null to leave the target groups' health checks alone",
}


class MigrationInput(BaseModel):
    """The execution input: one flat JSON object, the same for Terraform, EventBridge and the console."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ecs_cluster: NonEmptyStr
    ecs_service: NonEmptyStr
    task_definition: NonEmptyStr
    task_definition_revision: Annotated[StrictInt, Field(ge=1)]
    # Omitted = the ecs_service's awsvpc configuration (docs/execution-input.md); the limits ECS sets are preflight's.
    subnets: Annotated[list[NonEmptyStr], Field(min_length=1)] | None = None
    security_groups: Annotated[list[NonEmptyStr], Field(min_length=1)] | None = None
    # The count held while the migration runs; min_capacity is the autoscaling minimum afterwards, as in Fleet's
    # addon (earlier versions of this input used min_capacity for the held count: docs/execution-input.md).
    capacity_during_migration: Annotated[StrictInt, Field(ge=0)] = 0
    min_capacity: Annotated[StrictInt, Field(ge=0)] | None = None
    desired_count: Annotated[StrictInt, Field(ge=1)] | None = None
    max_capacity: Annotated[StrictInt, Field(ge=1)] | None = None
    vuln_service: StrictStr = ""
    container_name: NonEmptyStr = "fleet"
    command: Annotated[list[StrictStr], Field(min_length=1)] = Field(default_factory=lambda: list(DEFAULT_COMMAND))
    assign_public_ip: StrictBool | None = None
    # null = the service's capacity provider strategy or launch type, and its platform version
    launch_type: Literal["FARGATE", "EC2"] | None = None
    timeout_seconds: Annotated[StrictInt, Field(ge=1, le=86400)] = 3600
    drain_timeout_seconds: Annotated[StrictInt, Field(ge=1, le=3600)] = 600
    stabilize_timeout_seconds: Annotated[StrictInt, Field(ge=0, le=3600)] = 600
    poll_interval_seconds: Annotated[StrictInt, Field(ge=1, le=300)] = polling.DEFAULT_POLL_SECONDS
    task_cpu: StrictStr | None = None
    task_memory: StrictStr | None = None
    db_cluster_identifier: StrictStr = ""
    db_instance_identifier: StrictStr = ""
    snapshot_timeout_seconds: Annotated[StrictInt, Field(ge=60, le=14400)] = 3600
    skip_unchanged_image: StrictBool = True
    # The services' target groups drain for this long at most while the services go down (None: their own delay)
    deregistration_delay_seconds: Annotated[StrictInt, Field(ge=0, le=3600)] | None = DEFAULT_DEREGISTRATION_DELAY
    maintenance_page: StrictBool = False
    on_partial_migration: Literal["serve_previous", "stay_down"] = "serve_previous"
    stable_seconds: Annotated[StrictInt, Field(ge=0, le=600)] = 30
    # While the services come back, their target groups check this often, this many times in a row (None: as set)
    health_check_interval_seconds: Annotated[StrictInt, Field(ge=5, le=300)] | None = DEFAULT_HEALTH_CHECK_INTERVAL
    healthy_threshold_count: Annotated[StrictInt, Field(ge=2, le=10)] | None = DEFAULT_HEALTHY_THRESHOLD

    @model_validator(mode="before")
    @classmethod
    def _null_poll_interval_is_the_default(cls, document: Any) -> Any:
        # Terraform's null (its variable's default) means "not chosen", as leaving the field out does.
        if isinstance(document, dict) and document.get("poll_interval_seconds", 0) is None:
            return {k: v for k, v in document.items() if k != "poll_interval_seconds"}
        return document

    @model_validator(mode="after")
    def _check_relations(self) -> MigrationInput:
        if _REVISION_SUFFIX.search(self.task_definition):
            raise ValueError(
                f"task_definition: {self.task_definition!r} carries a revision; pass the family "
                f"({_REVISION_SUFFIX.sub('', self.task_definition)!r}) and put the number in task_definition_revision"
            )
        if self.desired_count is not None and self.desired_count < self.capacity_during_migration:
            raise ValueError(
                f"desired_count: {self.desired_count} is below capacity_during_migration "
                f"{self.capacity_during_migration}; raise desired_count or lower capacity_during_migration"
            )
        if self.desired_count is not None and self.min_capacity is not None and self.desired_count < self.min_capacity:
            raise ValueError(
                f"desired_count: {self.desired_count} is below min_capacity {self.min_capacity} (the autoscaling "
                "minimum after the migration); raise desired_count or lower min_capacity"
            )
        if self.max_capacity is not None and self.min_capacity is not None and self.max_capacity < self.min_capacity:
            raise ValueError(
                f"max_capacity: {self.max_capacity} is below min_capacity {self.min_capacity}; "
                "raise max_capacity or lower min_capacity"
            )
        if self.max_capacity is not None and self.desired_count is not None and self.max_capacity < self.desired_count:
            raise ValueError(
                f"max_capacity: {self.max_capacity} is below desired_count {self.desired_count}; "
                "raise max_capacity or lower desired_count"
            )
        if self.vuln_service and self.vuln_service.split("/")[-1] == self.ecs_service.split("/")[-1]:
            raise ValueError(
                'vuln_service: it names the same service as ecs_service; set it to "" or to the other service'
            )
        return self

    @model_validator(mode="after")
    def _check_task_size_and_database(self) -> MigrationInput:
        # With launch_type null, where the task runs (Fargate or an EC2 capacity provider) is known only once the
        # describe step has read the service: it checks Fargate's table then (launch.resolve, workflow.describe).
        problem = task_size.problem(self.task_cpu, self.task_memory, fargate=self.launch_type == "FARGATE")
        if problem:
            raise ValueError(problem)
        for field in ("db_cluster_identifier", "db_instance_identifier"):
            value = getattr(self, field)
            if value and not DB_IDENTIFIER.fullmatch(value):
                raise ValueError(
                    f"{field}: {value!r} is not an RDS identifier (1 to 63 letters, digits or hyphens, starting with a "
                    f"letter, no two hyphens in a row, not ending in a hyphen); set it to {FIELD_HINTS[field]}"
                )
        if self.db_cluster_identifier and self.db_instance_identifier:
            raise ValueError(
                "db_instance_identifier: set at most one of db_cluster_identifier (an Aurora cluster) and "
                'db_instance_identifier (an RDS instance); set the other to ""'
            )
        return self

    @property
    def cluster_name(self) -> str:
        return short_name(self.ecs_cluster)

    @property
    def service_names(self) -> list[str]:
        names = [short_name(self.ecs_service)]
        if self.vuln_service:
            names.append(short_name(self.vuln_service))
        return names

    @property
    def poll_interval(self) -> int | None:
        """poll_interval_seconds as the caller chose it, or None when left at its default (see polling)."""
        return self.poll_interval_seconds if "poll_interval_seconds" in self.model_fields_set else None

    @property
    def task_definition_ref(self) -> str:
        """``family:revision`` (or ``arn:...:task-definition/family:revision``) for RunTask."""
        return f"{self.task_definition}:{self.task_definition_revision}"

    @classmethod
    def parse(cls, document: Any) -> MigrationInput:
        """Validate an execution input, raising ``InvalidInput`` that names every bad field and its fix."""
        if not isinstance(document, dict):
            raise InvalidInput(
                f"The execution input must be a JSON object, got {type(document).__name__}; "
                "see docs/execution-input.md for every field.",
                fields=[],
            )
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            problems, fields = describe_validation_errors(exc, document)
            raise InvalidInput("Invalid execution input: " + "; ".join(problems) + ".", fields=fields) from None


def describe_validation_errors(exc: ValidationError, document: dict) -> tuple[list[str], list[str]]:
    """Turn pydantic's errors into one sentence per field: what is wrong and what to put there."""
    problems: list[str] = []
    fields: list[str] = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "extra_forbidden":
            import difflib  # only for a misspelt field: not worth its import on every cold start

            guess = difflib.get_close_matches(field, FIELD_HINTS, n=1)
            suggestion = f'did you mean "{guess[0]}"? ' if guess else ""
            problems.append(f"{field}: not a field of the execution input; {suggestion}remove it")
        elif error["type"] == "missing":
            problems.append(f"{field}: required; set it to {FIELD_HINTS[field]}")
        elif not field:
            # model-level checks already name their field and the fix
            problems.append(str(error["msg"]).removeprefix("Value error, "))
            field = problems[-1].split(":", 1)[0]
        else:
            got = document.get(field, error.get("input"))
            problems.append(
                f"{field}: {error['msg']} (got {got!r}); set it to {FIELD_HINTS.get(field, 'a valid value')}"
            )
        if field not in fields:
            fields.append(field)
    return problems, fields


def services_named_in(document: Any) -> tuple[str, set[str]] | None:
    """(cluster, service names) an execution input migrates, read leniently: earlier inputs may be invalid."""
    if not isinstance(document, dict):
        return None
    cluster, service = document.get("ecs_cluster"), document.get("ecs_service")
    if not isinstance(cluster, str) or not isinstance(service, str):
        return None
    names = {short_name(service)}
    if isinstance(document.get("vuln_service"), str) and document["vuln_service"]:
        names.add(short_name(document["vuln_service"]))
    return short_name(cluster), names


def short_name(name_or_arn: str) -> str:
    """The part after the last ``/`` of an ARN, or the name itself."""
    return name_or_arn.rsplit("/", 1)[-1]
