"""Typed documents that flow through the state machine.

``MigrationInput`` is the execution input contract (docs/execution-input.md). ``Migration`` is the
state document the steps hand to each other: the validated input, what was captured before
anything changed, and the progress of each phase.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_serializer,
    model_validator,
)

from fleet_migration import polling, task_size
from fleet_migration.errors import InvalidInput, MigrationError

DEFAULT_COMMAND = ["fleet", "prepare", "db", "--no-prompt"]
# AWS's ECS best practices ("Load balancer connection draining") suggest a few seconds for services with short
# requests; a target group's own default is 300 s, all of it outage when every task is going away.
DEFAULT_DEREGISTRATION_DELAY = 5
DEFAULT_MAINTENANCE_MESSAGE = (
    "<!DOCTYPE html><html><head><title>Fleet is being upgraded</title></head><body>"
    "<h1>Fleet is being upgraded</h1><p>Fleet will be back in a few minutes. Please try again shortly.</p>"
    "</body></html>"
)

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
    "min_capacity": "an integer of at least 0 (0 stops the service during the migration)",
    "desired_count": "an integer of at least 1 and at least min_capacity, or null to restore the count found before",
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
    "skip_unchanged_image": "true (succeed at once when the new revision runs the image already serving) or false",
    "deregistration_delay_seconds": "an integer from 0 to 3600, or null to leave the target groups' own delay",
    "maintenance_page": "true (answer 503 with maintenance_message while Fleet is down) or false",
    "maintenance_message": "the maintenance response's body, 1 to 1024 characters (HTML when it starts with <)",
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
    min_capacity: Annotated[StrictInt, Field(ge=0)] = 0
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
    # A fixed response's MessageBody holds at most 1024 characters (FixedResponseActionConfig, ELB API Reference)
    maintenance_message: Annotated[StrictStr, Field(min_length=1, max_length=1024)] = DEFAULT_MAINTENANCE_MESSAGE

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
        if self.desired_count is not None and self.desired_count < self.min_capacity:
            raise ValueError(
                f"desired_count: {self.desired_count} is below min_capacity {self.min_capacity}; "
                "raise desired_count or lower min_capacity"
            )
        if self.max_capacity is not None and self.desired_count is not None and self.max_capacity < self.desired_count:
            raise ValueError(
                f"max_capacity: {self.max_capacity} is below desired_count {self.desired_count}; "
                "raise max_capacity or lower desired_count"
            )
        if self.vuln_service and self.vuln_service.split("/")[-1] == self.ecs_service.split("/")[-1]:
            raise ValueError('vuln_service: it names the same service as ecs_service; set it to "" or to the other service')
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
                "see the README's execution input table.",
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
            problems.append(f'{field}: not a field of the execution input; {suggestion}remove it')
        elif error["type"] == "missing":
            problems.append(f"{field}: required; set it to {FIELD_HINTS[field]}")
        elif not field:
            # model-level checks already name their field and the fix
            problems.append(str(error["msg"]).removeprefix("Value error, "))
            field = problems[-1].split(":", 1)[0]
        else:
            got = document.get(field, error.get("input"))
            problems.append(f"{field}: {error['msg']} (got {got!r}); set it to {FIELD_HINTS.get(field, 'a valid value')}")
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


class Execution(BaseModel):
    """Who we are: filled from the ASL context object (``$$.Execution``)."""

    id: str
    name: str
    state_machine_arn: str
    start_time: str

    @property
    def started_at(self) -> float:
        return datetime.fromisoformat(self.start_time).timestamp()


class SuspendedState(BaseModel):
    dynamic_scaling_in_suspended: bool = False
    dynamic_scaling_out_suspended: bool = False
    scheduled_scaling_suspended: bool = False

    def to_api(self) -> dict[str, bool]:
        return {
            "DynamicScalingInSuspended": self.dynamic_scaling_in_suspended,
            "DynamicScalingOutSuspended": self.dynamic_scaling_out_suspended,
            "ScheduledScalingSuspended": self.scheduled_scaling_suspended,
        }


class ScalableTarget(BaseModel):
    """An Application Auto Scaling target as found before the migration."""

    resource_id: str
    min_capacity: int
    max_capacity: int
    suspended: SuspendedState


class TargetGroup(BaseModel):
    """A target group a service's tasks register with, and its ``deregistration_delay.timeout_seconds`` before."""

    arn: str
    deregistration_delay_seconds: int
    lowered: bool = False  # the scale-down lowered it: it is put back on every path


class MaintenanceRule(BaseModel):
    """Where the maintenance page goes: a listener forwarding to Fleet, and the priority above its rules."""

    listener_arn: str
    priority: int
    rule_arn: str | None = None  # once created


class ServiceSnapshot(BaseModel):
    """One service: what it looked like before, and what it should look like after."""

    name: str
    arn: str
    desired_count: int
    scalable_target: ScalableTarget | None = None
    # after a successful migration
    target_desired_count: int
    target_max_capacity: int | None = None
    # The service's taskDefinition, and the one its serving tasks ran when described (None: no task served).
    # When they differ, a rollback puts the service back on the serving one (serving.py says why).
    task_definition: str | None = None
    serving_task_definition: str | None = None
    # The target groups of the service's load balancers, each with the deregistration delay it had before.
    target_groups: list[TargetGroup] = Field(default_factory=list)

    def destination(self, applied: bool) -> tuple[int, int | None]:
        """(desired count, autoscaling maximum override) the service is put back to: what it had before, or once
        the migration was applied, what the migration was bringing it to."""
        if applied:
            return self.target_desired_count, self.target_max_capacity
        return self.desired_count, None

    def revision_back(self, applied: bool) -> str | None:
        """The revision a rollback brings back with the count (never once the migration was applied: the
        service's own revision runs on the new schema)."""
        return None if applied else self.revision_to_restore

    @property
    def revision_to_restore(self) -> str | None:
        """The revision a rollback brings back with the count, when it is not the service's own."""
        if self.serving_task_definition and self.serving_task_definition != self.task_definition:
            return self.serving_task_definition
        return None

    def held_count(self, min_capacity: int) -> int:
        """The count during the migration: min_capacity, but never more than the service had (never a scale-up)."""
        return min(self.desired_count, min_capacity)


class Poll(BaseModel):
    """A wait in progress: the ASL loops Wait -> check while ``done`` is false."""

    started_at: float
    deadline: float
    done: bool = False
    polls: int = 0
    next_poll_seconds: int = 1
    detail: str = ""


# The one stop code of a task that ended by itself: its essential container exited (Task stopCode,
# ECS API Reference). Any other (UserInitiated, SpotInterruption, TerminationNotice, ServiceSchedulerInitiated,
# ...) means ECS or someone stopped it, whatever its exit code.
ENDED_BY_ITSELF = "EssentialContainerExited"


class MigrationTask(BaseModel):
    arn: str
    started_at: float
    deadline: float
    last_status: str = "PROVISIONING"
    exit_code: int | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    # each container's own reason for stopping, where ECS gives one
    container_reasons: dict[str, str] | None = None
    # True once the task is STOPPED and how it ended is known (succeeded or not)
    done: bool = False
    polls: int = 0
    next_poll_seconds: int = 1

    @property
    def succeeded(self) -> bool:
        """The migration ran to its end: STOPPED by itself with exit code 0."""
        return self.last_status == "STOPPED" and self.exit_code == 0 and self.stop_code == ENDED_BY_ITSELF


class Caught(BaseModel):
    """What a ``Catch`` with ``ResultPath: $.caught`` adds to the state."""

    model_config = ConfigDict(populate_by_name=True)

    error: str = Field(alias="Error")
    cause: str = Field(default="", alias="Cause")


class DatabaseSnapshot(BaseModel):
    """The recovery point taken after the drain, before the migration task runs (``snapshot`` in the state).

    ``status`` is "planned" until the create step made it; then RDS's own status ("creating",
    "available", "failed", ...). The ASL loops Wait -> check while ``done`` is false.
    """

    type: Literal["cluster", "instance"]
    identifier: str
    snapshot_identifier: str
    arn: str | None = None
    status: str = "planned"
    restore_command: str
    restore_note: str | None = None
    started_at: float | None = None
    deadline: float | None = None
    done: bool = False
    polls: int = 0
    next_poll_seconds: int = 1

    def public(self) -> dict[str, Any]:
        """What the output and the causes show of it (docs/errors.md: ``snapshot``)."""
        shown = self.model_dump(include={"type", "identifier", "snapshot_identifier", "arn", "status",
                                         "restore_command", "restore_note"}, exclude_none=True)
        if self.status == "failed":
            shown.pop("restore_command", None)
            shown.pop("restore_note", None)
        return shown


class LogSource(BaseModel):
    """Where the migration container's awslogs driver writes (its logConfiguration in the revision)."""

    group: str
    region: str
    stream_prefix: str
    container: str

    def stream(self, task_arn: str) -> str:
        # awslogs-stream-prefix: "prefix-name/container-name/ecs-task-id" (ECS Developer Guide, "Using the awslogs log driver")
        return f"{self.stream_prefix}/{self.container}/{task_arn.rsplit('/', 1)[-1]}"


class TaskLaunch(BaseModel):
    """How RunTask starts the migration task: resolved in the describe step from the input and the service."""

    launch_type: str | None = None
    capacity_provider_strategy: list[dict[str, Any]] | None = None
    platform_version: str | None = None
    # None when the revision's network mode is not awsvpc: RunTask takes no network configuration then
    subnets: list[str] | None = None
    security_groups: list[str] | None = None
    assign_public_ip: bool = False

    @property
    def on_fargate(self) -> bool:
        if self.capacity_provider_strategy:
            return all(item["capacityProvider"] in FARGATE_PROVIDERS for item in self.capacity_provider_strategy)
        return self.launch_type == "FARGATE"

    def describe(self) -> str:
        """The way it runs, in words for error messages."""
        if self.capacity_provider_strategy:
            names = ", ".join(item["capacityProvider"] for item in self.capacity_provider_strategy)
            return f"capacity provider strategy [{names}]"
        return f"launch type {self.launch_type}"


# The capacity providers AWS manages for Fargate; any other one is backed by EC2 (an Auto Scaling group).
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


class Migration(BaseModel):
    """The state document handed from step to step."""

    input: MigrationInput
    execution: Execution
    cluster_arn: str
    task_definition_arn: str
    services: list[ServiceSnapshot]
    launch: TaskLaunch | None = None
    # The interrupted earlier execution whose "before" this one restores, when the services were not yet back.
    baseline_from: str | None = None
    # A ready-made cause for the one failure no step can report itself: the rollback step not running.
    manual_restore_cause: str
    drain: Poll | None = None
    task: MigrationTask | None = None
    stabilize: Poll | None = None
    # Rollback's wait for every migration task of the execution to be STOPPED before it restores anything.
    stopping: Poll | None = None
    result: dict[str, Any] | None = None
    caught: Caught | None = None
    snapshot: DatabaseSnapshot | None = None
    # None: the container has no awslogs configuration with a stream prefix (log_note says so in a cause)
    task_logs: LogSource | None = None
    log_note: str | None = None
    # Maintenance-page rules: planned by the describe step, created before the scale-down, deleted on every path
    maintenance_rules: list[MaintenanceRule] = Field(default_factory=list)
    # Rules an earlier execution left behind (tagged fleet-migration:execution): deleted before the scale-down
    leftover_rules: list[str] = Field(default_factory=list)
    # The migration container's memory limit under a task_memory override (what the other containers leave)
    container_memory: int | None = None

    @field_serializer("input")
    def _input_as_given(self, spec: MigrationInput) -> dict[str, Any]:
        # Only the fields the caller gave, so every step still tells a default from a value chosen
        # (MigrationInput.poll_interval); the defaults come back when the next step parses it.
        return spec.model_dump(mode="json", exclude_unset=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def require(self, part: str) -> Any:
        """A part of the document an earlier step must have set; its absence means the graph is out of order."""
        value = getattr(self, part)
        if value is None:
            raise MigrationError(f"The state document has no {part!r}; the state machine definition is out of order")
        return value

    def snapshot_shown(self) -> dict[str, Any] | None:
        """The recovery point, once the create step made it (a planned one that was never taken is not shown)."""
        taken = self.snapshot
        return taken.public() if taken is not None and taken.status != "planned" else None


class DescribeRequest(BaseModel):
    """The first step's payload: the raw execution input plus the execution context."""

    input: Any
    execution: Execution
