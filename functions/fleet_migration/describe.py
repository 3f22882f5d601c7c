"""The first step: validate the input, refuse now what would fail later, keep one migration per service, and
plan what the other steps do and what the rollback restores. It changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from fleet_migration import (
    autoscaling,
    aws,
    baseline,
    deployment,
    ecs,
    executions,
    guard,
    launch,
    manual_restore,
    migration_task,
    outage,
    polling,
    preflight,
    serving,
    skip,
    snapshot,
    task_definitions,
    task_logs,
    task_size,
)
from fleet_migration.errors import InvalidInput, MigrationInProgress, ResourceNotFound
from fleet_migration.execution_input import MigrationInput, short_name
from fleet_migration.models import DescribeRequest, Execution, Migration, ScalableTarget, ServiceSnapshot, TaskLaunch


@dataclass(frozen=True)
class Found:
    """What the input names, as ECS describes it."""

    cluster_arn: str
    services: dict[str, dict[str, Any]]  # by the input field that names it: ecs_service, vuln_service
    definition: dict[str, Any]  # the new revision

    @property
    def fleet(self) -> dict[str, Any]:
        return self.services["ecs_service"]


@dataclass(frozen=True)
class Runnable:
    """How the migration task will run, once nothing RunTask would refuse is left."""

    launch: TaskLaunch
    container_memory: int | None  # the migration container's own limit under task_memory
    database: dict[str, Any] | None  # the database to snapshot first


def describe(request: DescribeRequest) -> Migration:
    """Validate, check that everything exists and capture what the rollback must restore. Changes nothing."""
    spec = _with_deployment_container(MigrationInput.parse(request.input))
    _check_name(spec, request.execution.name)
    with _only_reads():
        found = _find(spec)
        runnable = _check_runnable(spec, found)
        guard.ensure_no_other_migration(spec, request.execution)
        _ensure_no_migration_task_left(spec)
        live = {
            s["serviceName"]: (s["desiredCount"], autoscaling.capture(spec.cluster_name, s["serviceName"]))
            for s in found.services.values()
        }
        inherited = baseline.inherited(spec, request.execution, live)
        tasks = skip.ServiceTasks(spec.cluster_name)
        services = [
            _capture(spec, field, service, live[service["serviceName"]], inherited.get(service["serviceName"]), tasks)
            for field, service in found.services.items()
        ]
        _check_what_serves(spec, found, services, request.execution.name)
        maintenance, leftover = outage.plan_maintenance(spec, found.fleet, request.execution)
        skipped = (
            None
            if inherited or leftover
            else skip.nothing_to_migrate(
                spec,
                found.definition,
                [(f, s, c) for (f, s), c in zip(found.services.items(), services, strict=True)],
                tasks,
            )
        )
    page = outage.manual_commands(maintenance, leftover)
    migration = _migration(spec, request.execution, found, runnable, services, inherited, page)
    migration.maintenance, migration.page_leftovers = maintenance, leftover
    if skipped:
        migration.result = {
            "skipped": skipped,
            "task_arn": None,
            "task_definition": migration.task_definition_arn,
            "services": [{"name": s.name, "desired_count": s.desired_count} for s in services],
            "duration_seconds": round(polling.now() - migration.execution.started_at, 1),
        }
    return migration


def _check_name(spec: MigrationInput, name: str) -> None:
    """The client and the trigger find a revision's migration by its name: an execution under a name of this
    workflow's shape must migrate what the name says, or a harmless input under the next name would pass for it."""
    why = executions.misnamed(name, spec.ecs_cluster, spec.ecs_service, spec.task_definition_revision)
    if why:
        raise InvalidInput(
            f"execution name: {why}. Start this input under the name "
            f"{executions.execution_name(spec.ecs_cluster, spec.ecs_service, spec.task_definition_revision)} (or "
            "-a2, -a3, ... after failed attempts), or under a name of another shape. Nothing was changed.",
            fields=["ecs_cluster", "ecs_service", "task_definition_revision"],
        )


def _with_deployment_container(spec: MigrationInput) -> MigrationInput:
    """The input with the deployment's container where it names none (``_check_runnable`` refuses another)."""
    container = deployment.container_name()
    if "container_name" in spec.model_fields_set or spec.container_name == container:
        return spec
    return spec.model_copy(update={"container_name": container})


@contextmanager
def _only_reads() -> Iterator[None]:
    """Only reads happen in this step: an AWS refusal (permissions, wrong account or region) means we cannot see
    what the input names, and the contract reports that before anything changed."""
    try:
        yield
    except ClientError as exc:
        raise ResourceNotFound(
            f"AWS refused {exc.operation_name} ({aws.error_code(exc)}: {aws.error_message(exc)}); check the names "
            "in the input and that the describe step's role may read them. Nothing was changed.",
            aws_error=aws.error_code(exc),
        ) from exc


def _find(spec: MigrationInput) -> Found:
    """The cluster, the services and the new revision with its container: ``ResourceNotFound`` names what is not."""
    cluster_arn = ecs.find_cluster(spec.ecs_cluster)
    wanted = {"ecs_service": spec.ecs_service, **({"vuln_service": spec.vuln_service} if spec.vuln_service else {})}
    services = ecs.find_services(spec.ecs_cluster, wanted)
    preflight.check_scheduling(services)
    return Found(cluster_arn, services, task_definitions.find(spec.task_definition_ref, spec.container_name))


def _check_runnable(spec: MigrationInput, found: Found) -> Runnable:
    """What RunTask or the run-task step's IAM would refuse after the scale-down, refused now."""
    # After _find: a container the revision lacks is ResourceNotFound; one it has but the deployment does not
    # run the migration in is InvalidInput.
    preflight.check_container_name(spec, deployment.container_name())
    preflight.check_command(spec.command, preflight.allowed_commands())
    preflight.check_family(found.definition)
    preflight.check_roles(found.definition)
    preflight.check_migration_container(found.definition, spec.container_name)
    task_launch = launch.resolve(spec, found.fleet, found.definition)
    preflight.check_launch(spec, task_launch, found.definition, found.fleet["serviceName"])
    preflight.check_network_allowed(
        spec, found.fleet, deployment.allowed_subnets(), deployment.allowed_security_groups()
    )
    container_memory = _check_task_size(spec, found.definition, task_launch)
    return Runnable(task_launch, container_memory, snapshot.find_database(spec))


def _check_what_serves(spec: MigrationInput, found: Found, services: list[ServiceSnapshot], execution: str) -> None:
    """The new revision against the one that serves Fleet (or, when none serves, the service's own), and the roles
    of every revision the rollback may have to register again."""
    fleet = services[0]
    reference = fleet.serving_task_definition or fleet.task_definition
    if reference:
        preflight.check_against_serving(found.definition, task_definitions.describe(reference), spec.container_name)
    for field, service in zip(found.services, services, strict=True):
        if service.revision_to_restore:
            definition, tags = task_definitions.describe_with_tags(service.revision_to_restore)
            preflight.check_restorable_roles(field, definition)
            preflight.check_restorable_unprivileged(field, definition)
            if definition.get("status", "ACTIVE") != "ACTIVE":
                service.restore_request = task_definitions.copy_request(definition, tags, execution)


def _capture(
    spec: MigrationInput,
    field: str,
    service: dict[str, Any],
    live: tuple[int, ScalableTarget | None],
    inherited: tuple[str, ServiceSnapshot] | None,
    tasks: skip.ServiceTasks,
) -> ServiceSnapshot:
    """One service before anything changes: as it is, or, where an interrupted earlier migration left it scaled
    down, as that one found it (what served then is what serves "before")."""
    earlier = inherited[1] if inherited else None
    count, target = (earlier.desired_count, earlier.scalable_target) if earlier else live
    captured = _snapshot(spec, field, service, count, target)
    captured.serving_task_definition = (
        earlier.serving_task_definition
        if earlier
        else serving.serving_task_definition(service, tasks.of(service["serviceName"]))
    )
    preflight.check_revision_restorable(field, service, captured.revision_to_restore)
    preflight.check_service_families(field, service, captured.serving_task_definition)
    captured.target_groups = outage.plan_target_groups(spec, service, earlier)
    return captured


def _migration(
    spec: MigrationInput,
    execution: Execution,
    found: Found,
    runnable: Runnable,
    services: list[ServiceSnapshot],
    inherited: dict[str, tuple[str, ServiceSnapshot]],
    page: list[str],
) -> Migration:
    """The state document the other steps follow, with the cause ready for the one failure no step reports."""
    planned = snapshot.plan(spec, execution, runnable.database)
    return Migration(
        input=spec,
        execution=execution,
        cluster_arn=found.cluster_arn,
        task_definition_arn=found.definition["taskDefinitionArn"],
        services=services,
        launch=runnable.launch,
        baseline_from=", ".join(sorted({name for name, _ in inherited.values()})) or None,
        snapshot=planned,
        container_memory=runnable.container_memory,
        **_log_source(found.definition, spec),
        manual_restore_cause=json.dumps(
            {
                "message": "The rollback step could not run; restore the services by hand with these commands "
                "(and stop the migration task if one is still running).",
                "rolled_back": False,
                "commands": manual_restore.commands(spec.cluster_name, services, page=page),
                **({"snapshot": snapshot.unknown(planned)} if planned else {}),
            }
        ),
    )


def _check_task_size(spec: MigrationInput, definition: dict[str, Any], task_launch: TaskLaunch) -> int | None:
    """The task size against where the task really runs (Fargate's table only on Fargate), a CPU override alone
    against the revision's memory, and what ``task_memory`` leaves the migration container, which becomes its
    own memory limit (returned): RunTask would refuse any of these after the scale-down."""
    fargate = task_launch.on_fargate
    problem = (
        task_size.problem(spec.task_cpu, spec.task_memory, fargate=fargate)
        or task_size.revision_problem(spec.task_cpu, spec.task_memory, definition, fargate=fargate)
        or task_size.container_memory_problem(spec.task_memory, definition, spec.container_name)
    )
    if problem:
        raise InvalidInput(problem, fields=[problem.split(":", 1)[0]])
    return task_size.container_memory(spec.task_memory, definition, spec.container_name)


def _log_source(definition: dict[str, Any], spec: MigrationInput) -> dict[str, Any]:
    where, note = task_logs.source(definition, spec.container_name, aws.client("ecs").meta.region_name)
    return {"task_logs": where, "log_note": note}


def _ensure_no_migration_task_left(spec: MigrationInput) -> None:
    """A migration task of an execution that was stopped mid-way may still run, or still be stopping: never
    start a second one beside it. Only this service's migration tasks count (``migration_started_by``)."""
    left = [
        task["taskArn"]
        for task in ecs.unstopped_migration_tasks(
            spec.cluster_name, migration_task.started_by(spec), migration_task.family(spec)
        )
    ]
    if left:
        raise MigrationInProgress(
            f"A migration task of an earlier execution for service {short_name(spec.ecs_service)!r} has not stopped "
            f"yet ({', '.join(left)}); wait for it to stop or stop it (aws ecs stop-task --cluster "
            f"{spec.cluster_name} --task <arn>), then start again. Nothing was changed.",
            task_arn=left[0],
        )


def _snapshot(
    spec: MigrationInput, field: str, service: dict[str, Any], before: int, target: ScalableTarget | None
) -> ServiceSnapshot:
    """What one service looked like before (now, or as an interrupted earlier migration found it), and after."""
    after, min_after, max_after = before, None, None
    if field == "ecs_service":
        min_after, max_after = spec.min_capacity, spec.max_capacity
        if target is not None and min_after is not None and max_after is None and min_after > target.max_capacity:
            raise InvalidInput(
                f"min_capacity: {min_after} is above the autoscaling maximum {target.max_capacity} of service "
                f"{service['serviceName']!r}; raise max_capacity too or lower min_capacity",
                fields=["min_capacity"],
            )
        if spec.desired_count is not None:
            after = spec.desired_count
            if target is not None and max_after is None and after > target.max_capacity:
                raise InvalidInput(
                    f"desired_count: {after} is above the autoscaling maximum {target.max_capacity} of service "
                    f"{service['serviceName']!r}, which would scale it back in; raise max_capacity too or lower "
                    "desired_count",
                    fields=["desired_count"],
                )
        elif target is not None:
            # autoscaling would scale in to a new maximum, or out to a new minimum, anyway
            after = min(after, max_after) if max_after is not None else after
            after = max(after, min_after) if min_after is not None else after
        cap, source = preflight.count_cap(
            deployment.max_desired_count(), target.max_capacity if target is not None else None
        )
        preflight.check_counts(spec, service["serviceName"], cap, source)
    return ServiceSnapshot(
        name=service["serviceName"],
        arn=service["serviceArn"],
        desired_count=before,
        held=min(before, spec.capacity_during_migration),
        scalable_target=target,
        target_desired_count=after,
        target_min_capacity=min_after,
        target_max_capacity=max_after,
        task_definition=service.get("taskDefinition"),
    )
