"""The state document the steps hand to each other: the validated input, what was captured before anything
changed, and the progress of each phase."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from fleet_migration import polling
from fleet_migration.errors import MigrationError
from fleet_migration.execution_input import MigrationInput


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


class HealthCheck(BaseModel):
    """A target group's health check timing: a target turns healthy after ``healthy_threshold_count`` checks in a
    row, ``interval_seconds`` apart, each answered within ``timeout_seconds``."""

    interval_seconds: int
    timeout_seconds: int
    healthy_threshold_count: int

    def lowered_to(self, interval: int | None, threshold: int | None) -> HealthCheck:
        """This check made no slower than ``interval`` x ``threshold`` (None: that part as it is), its timeout kept
        below the interval, as an ALB requires (HealthCheckTimeoutSeconds, CreateTargetGroup, ELB API Reference)."""
        new_interval = self.interval_seconds if interval is None else min(self.interval_seconds, interval)
        new_threshold = (
            self.healthy_threshold_count if threshold is None else min(self.healthy_threshold_count, threshold)
        )
        return HealthCheck(
            interval_seconds=new_interval,
            timeout_seconds=min(self.timeout_seconds, new_interval - 1),
            healthy_threshold_count=new_threshold,
        )

    @property
    def seconds_to_healthy(self) -> int:
        return self.interval_seconds * self.healthy_threshold_count


class TargetGroup(BaseModel):
    """A target group a service's tasks register with, and its ``deregistration_delay.timeout_seconds`` and health
    check before."""

    arn: str
    deregistration_delay_seconds: int
    lowered: bool = False  # the scale-down lowered it: it is put back on every path
    health_check: HealthCheck | None = None
    # the scale-up makes the health check faster (or an interrupted execution left it so): put back on every path
    health_check_lowered: bool = False


class PageSwap(BaseModel):
    """A forward to Fleet the maintenance page answers instead of: a listener rule's actions, or the listener's
    default actions (``rule_arn`` None), with the actions it had before, which are put back."""

    listener_arn: str
    rule_arn: str | None = None
    actions: list[dict[str, Any]]

    @property
    def arn(self) -> str:
        """The resource swapped, and tagged with the execution that swapped it."""
        return self.rule_arn or self.listener_arn


class KeepAlive(BaseModel):
    """A rule that keeps one of Fleet's target groups attached to a load balancer while the page answers instead of
    every forward to it: ELB health checks only target groups a listener forwards to, and Fleet serves again only
    once its targets are healthy. Its one condition is a header value only the execution knows."""

    listener_arn: str
    priority: int
    target_group_arn: str
    rule_arn: str | None = None  # once created


class MaintenancePage(BaseModel):
    """What the maintenance page changes: planned by the describe step, made before the scale-down, put back once
    Fleet serves and on every other path."""

    swaps: list[PageSwap] = Field(default_factory=list)
    keep_alive: list[KeepAlive] = Field(default_factory=list)
    header_value: str = ""  # the keep-alive rules' condition


class PageLeftovers(BaseModel):
    """What interrupted earlier executions left of their pages (none of them still running), put back first."""

    swaps: list[PageSwap] = Field(default_factory=list)  # the page still answers there: the actions go back
    untag: list[str] = Field(default_factory=list)  # changed by hand since: only the tag goes
    rules: list[str] = Field(default_factory=list)  # their keep-alive rules

    def __bool__(self) -> bool:
        return bool(self.swaps or self.untag or self.rules)


class ServiceSnapshot(BaseModel):
    """One service: what it looked like before, and what it should look like after."""

    name: str
    arn: str
    desired_count: int
    scalable_target: ScalableTarget | None = None
    # after a successful migration
    target_desired_count: int
    # The count the scale-down holds it at (None in the state documents of versions before this field: they held
    # it at their input's min_capacity, which a later execution reads instead).
    held: int | None = None
    target_min_capacity: int | None = None
    target_max_capacity: int | None = None
    # The service's taskDefinition, and the one its serving tasks ran when described (None: no task served).
    # When they differ, a rollback puts the service back on the serving one (serving.py says why).
    task_definition: str | None = None
    serving_task_definition: str | None = None
    # The target groups of the service's load balancers, each with the deregistration delay it had before.
    target_groups: list[TargetGroup] = Field(default_factory=list)
    # The revision to restore was INACTIVE when described: the RegisterTaskDefinition request that brings it back
    # (the by-hand commands register it first, as UpdateService refuses an INACTIVE revision).
    restore_request: dict[str, Any] | None = None

    def destination(self, applied: bool) -> tuple[int, int | None, int | None]:
        """(desired count, autoscaling minimum override, maximum override) the service is put back to: what it had
        before, or once the migration was applied, what the migration was bringing it to."""
        if applied:
            return self.target_desired_count, self.target_min_capacity, self.target_max_capacity
        return self.desired_count, None, None

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

    def held_count(self, capacity_during_migration: int) -> int:
        """The count during the migration: capacity_during_migration, but never more than the service had (never a
        scale-up)."""
        return min(self.desired_count, capacity_during_migration)


class Poll(BaseModel):
    """A wait in progress, the one way every phase waits: the ASL loops Wait (``next_poll_seconds``) -> look
    while ``done`` is false, and each look advances it."""

    started_at: float
    deadline: float
    done: bool = False
    polls: int = 0
    next_poll_seconds: int = 1
    detail: str = ""

    @classmethod
    def start(cls, at: float, seconds: float, interval: int | None) -> Poll:
        """A wait of at most ``seconds`` from ``at``, its first look on the schedule's (``interval`` None: a fast
        start)."""
        deadline = at + seconds
        return cls(started_at=at, deadline=deadline, next_poll_seconds=polling.next_wait(at, at, deadline, interval))

    def look(self, at: float, waiting_for: str, interval: int | None) -> bool:
        """One look at ``at``: the wait is over when nothing is awaited (``waiting_for`` empty), else the next look
        is scheduled. True when the deadline has passed with something still awaited: the caller raises its phase's
        timeout."""
        self.polls += 1
        self.detail = waiting_for
        if not waiting_for:
            self.done = True
            return False
        if at >= self.deadline:
            return True
        self.next_poll_seconds = polling.next_wait(at, self.started_at, self.deadline, interval)
        return False

    def settle(self, at: float, left: float) -> None:
        """After a look at ``at`` that awaits only time (``left`` seconds more): the next look is when it is up, or
        sooner to see a crash (polling.settling_wait)."""
        self.next_poll_seconds = polling.settling_wait(self.next_poll_seconds, left, self.deadline, at)

    def age(self, at: float) -> float:
        return at - self.started_at


# The one stop code of a task that ended by itself: its essential container exited (Task stopCode,
# ECS API Reference). Any other (UserInitiated, SpotInterruption, TerminationNotice, ServiceSchedulerInitiated,
# ...) means ECS or someone stopped it, whatever its exit code.
ENDED_BY_ITSELF = "EssentialContainerExited"


class MigrationTask(BaseModel):
    arn: str
    # From RunTask until the task is STOPPED and how it ended is known, within timeout_seconds
    wait: Poll
    last_status: str = "PROVISIONING"
    exit_code: int | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    # each container's own reason for stopping, where ECS gives one
    container_reasons: dict[str, str] | None = None

    @property
    def done(self) -> bool:
        """The task is STOPPED and how it ended is known (succeeded or not)."""
        return self.wait.done

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
    """The recovery point taken after the drain (``snapshot`` in the state).

    ``status`` is "planned" until the create step made it; then RDS's own status ("creating",
    "available", "failed", ...). The migration runs once RDS has accepted it ("creating"); the ASL loops
    Wait -> check after Fleet serves again while ``wait.done`` is false. The drained moment
    (``restore_time``) is a point-in-time restore target as well, where the database keeps automated backups.
    """

    type: Literal["cluster", "instance"]
    identifier: str
    snapshot_identifier: str
    arn: str | None = None
    status: str = "planned"
    restore_command: str
    restore_note: str | None = None
    # From the create step until it is available, within snapshot_timeout_seconds
    wait: Poll | None = None
    # The restore options both restore commands share (subnet group, security groups, ...); None: the database
    # keeps no automated backups (BackupRetentionPeriod 0), so there is no point-in-time restore
    point_in_time_options: list[str] | None = None
    # The drained moment, UTC ISO 8601 to the second: nothing wrote to the database then and no migration had run
    restore_time: str | None = None
    point_in_time_restore_command: str | None = None
    point_in_time_note: str | None = None
    check_command: str | None = None
    # Why the snapshot is not a recovery point (failed, not yet available, unreadable); None when it is one
    message: str | None = None

    def public(self) -> dict[str, Any]:
        """What the output and the causes show of it (docs/errors.md: ``snapshot``)."""
        shown = self.model_dump(
            include={
                "type",
                "identifier",
                "snapshot_identifier",
                "arn",
                "status",
                "restore_command",
                "restore_note",
                "restore_time",
                "point_in_time_restore_command",
                "point_in_time_note",
                "message",
            },
            exclude_none=True,
        )
        if self.status == "failed":
            shown.pop("restore_command", None)
            shown.pop("restore_note", None)
        elif self.status != "available" and self.check_command:
            shown["check_command"] = self.check_command
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
    # When ecs_service first served again after the scale-up: the page came down and the health checks went back
    fleet_serving_at: float | None = None
    # Rollback's wait for every migration task of the execution to be STOPPED before it restores anything.
    stopping: Poll | None = None
    result: dict[str, Any] | None = None
    caught: Caught | None = None
    snapshot: DatabaseSnapshot | None = None
    # None: the container has no awslogs configuration with a stream prefix (log_note says so in a cause)
    task_logs: LogSource | None = None
    log_note: str | None = None
    # The maintenance page (outage.py): what it changes, and what interrupted earlier executions left of theirs
    maintenance: MaintenancePage | None = None
    page_leftovers: PageLeftovers | None = None
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
