"""ECS operations, each one small and named after what it means for the migration."""

from __future__ import annotations

import hashlib
from typing import Any

from fleet_migration.aws import client, pages, throttling_is_retried
from fleet_migration.errors import ResourceNotFound, TaskFailedToStart
from fleet_migration.models import TaskLaunch

# What marks a migration task as ours. startedBy names the service it migrates: ListTasks filters on it, so
# the leftover-task check of one service never sees (nor waits for) another service's migration. RunTask
# allows "up to 36 letters (uppercase and lowercase), numbers, hyphens (-), forward slash (/), and
# underscores (_)" there (RunTask, API Reference), too few for a cluster and a service name (up to 255
# characters each), hence a hash of both. group (up to 255 characters) names the execution.
STARTED_BY_PREFIX = "fleet-migration/"
STARTED_BY_LENGTH = 36
_DESCRIBE_TASKS_BATCH = 100
_DESCRIBE_CONTAINER_INSTANCES_BATCH = 100  # DescribeContainerInstances: "up to 100 container instances"


def _ecs() -> Any:
    return client("ecs")


@throttling_is_retried
def find_cluster(cluster: str) -> str:
    """The cluster's ARN; ``ResourceNotFound`` if it is missing or inactive."""
    found = _ecs().describe_clusters(clusters=[cluster])
    active = [c for c in found.get("clusters", []) if c.get("status") == "ACTIVE"]
    if not active:
        raise ResourceNotFound(
            f"ecs_cluster: cluster {cluster!r} was not found in this account and region; check the name or ARN",
            fields=["ecs_cluster"],
        )
    return active[0]["clusterArn"]


@throttling_is_retried
def find_services(cluster: str, services: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Describe the services, keyed by their input field; ``ResourceNotFound`` names the missing one."""
    found = _ecs().describe_services(cluster=cluster, services=list(services.values()))
    by_name = {s["serviceName"]: s for s in found.get("services", []) if s.get("status") == "ACTIVE"}
    result = {}
    for field, name in services.items():
        service = by_name.get(name.rsplit("/", 1)[-1])
        if service is None:
            raise ResourceNotFound(
                f"{field}: service {name!r} was not found (or is inactive) in cluster {cluster!r}; check the service name",
                fields=[field],
            )
        result[field] = service
    return result


@throttling_is_retried
def set_desired_count(cluster: str, service: str, count: int, task_definition: str | None = None) -> None:
    """UpdateService with a desired count, and a revision to go back to when one is given."""
    revision = {"taskDefinition": task_definition} if task_definition else {}
    _ecs().update_service(cluster=cluster, service=service, desiredCount=count, **revision)


@throttling_is_retried
def describe_services(cluster: str, services: list[str]) -> dict[str, dict[str, Any]]:
    """The services as DescribeServices tells them (one call for all), by name."""
    found = _ecs().describe_services(cluster=cluster, services=services).get("services", [])
    return {service["serviceName"]: service for service in found}


def rollout(service: dict[str, Any]) -> tuple[bool, list[str]]:
    """(stable, what is still awaited) the way ECS means it: the primary deployment rolled out (rolloutState
    COMPLETED), no other deployment left, and the desired count running.

    "rolloutState ... is only returned for services that use the rolling update (ECS) deployment type that
    aren't behind a Classic Load Balancer" (Deployment, Amazon ECS API Reference): without it, the deployments
    and the counts decide alone (what the services-stable waiter checks).
    """
    deployments = service.get("deployments", [])
    primary: dict[str, Any] = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    running, desired = service.get("runningCount", 0), service.get("desiredCount", 0)
    waiting = []
    if running != desired:
        waiting.append(f"{running} of {desired} running")
    if primary.get("rolloutState", "COMPLETED") != "COMPLETED":
        waiting.append(f"deployment {primary.get('id', '?')} {primary['rolloutState']}")
    if len(deployments) > 1:
        waiting.append(f"{len(deployments) - 1} older deployment(s) still being replaced")
    return not waiting, waiting


def failed_deployment(service: dict[str, Any]) -> str | None:
    """Why ECS marked the primary deployment FAILED (the circuit breaker), if it did: it launches no more tasks."""
    for deployment in service.get("deployments", []):
        if deployment.get("status") == "PRIMARY" and deployment.get("rolloutState") == "FAILED":
            return (
                f"deployment {deployment.get('id')} FAILED: {deployment.get('rolloutStateReason') or 'no reason given'}"
            )
    return None


def crash_limit(desired_count: int) -> int:
    """How many failed tasks mean the service keeps crashing: the count at which ECS's deployment circuit
    breaker fails a deployment (ServiceDeploymentCircuitBreaker.threshold, Amazon ECS API Reference: 0.5 x the
    desired task count, at least 3 and at most 200)."""
    return max(3, min(200, -(-desired_count // 2)))


@throttling_is_retried
def service_tasks(cluster: str, service: str) -> list[dict[str, Any]]:
    """Every task of the service ECS still tracks: running, pending, stopping and recently stopped."""
    return _listed_tasks(cluster, ("RUNNING", "STOPPED"), serviceName=service)


@throttling_is_retried
def stopped_family_tasks(cluster: str, family: str, known: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The STOPPED tasks of a task definition family ECS still lists, whoever started them (a service, RunTask);
    those in ``known`` (by ARN) are not described again."""
    arns = _task_arns(cluster, family=family, desiredStatus="STOPPED")
    return [known[arn] for arn in arns if arn in known] + _described(cluster, [a for a in arns if a not in known])


def _listed_tasks(cluster: str, desired_statuses: tuple[str, ...], **filters: str) -> list[dict[str, Any]]:
    """The tasks ListTasks finds with ``filters`` for each desired status, described in batches."""
    arns: list[str] = []
    for desired_status in desired_statuses:
        arns.extend(_task_arns(cluster, desiredStatus=desired_status, **filters))
    return _described(cluster, arns)


def _task_arns(cluster: str, **filters: str) -> list[str]:
    arns: list[str] = []
    for page in pages(_ecs().list_tasks, cluster=cluster, **filters):
        arns.extend(page.get("taskArns", []))
    return arns


def _described(cluster: str, arns: list[str]) -> list[dict[str, Any]]:
    """DescribeTasks in batches; a task it reports MISSING (not visible yet, or long gone) is left out."""
    tasks: list[dict[str, Any]] = []
    for start in range(0, len(arns), _DESCRIBE_TASKS_BATCH):
        batch = arns[start : start + _DESCRIBE_TASKS_BATCH]
        tasks.extend(_ecs().describe_tasks(cluster=cluster, tasks=batch).get("tasks", []))
    return tasks


@throttling_is_retried
def ec2_instance_ids(cluster: str, container_instance_arns: list[str]) -> dict[str, str]:
    """The EC2 instance id of each container instance (DescribeContainerInstances ``ec2InstanceId``)."""
    wanted = sorted(set(container_instance_arns))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _DESCRIBE_CONTAINER_INSTANCES_BATCH):
        batch = wanted[start : start + _DESCRIBE_CONTAINER_INSTANCES_BATCH]
        described = _ecs().describe_container_instances(cluster=cluster, containerInstances=batch)
        for instance in described.get("containerInstances", []):
            found[instance["containerInstanceArn"]] = instance["ec2InstanceId"]
    return found


def drain_progress(tasks: list[dict[str, Any]]) -> tuple[int, int]:
    """(tasks running or starting, tasks stopping). Health plays no part: a first deploy's tasks may never be healthy."""
    active = sum(1 for t in tasks if t.get("desiredStatus") == "RUNNING" and t.get("lastStatus") != "STOPPED")
    stopping = sum(1 for t in tasks if t.get("desiredStatus") == "STOPPED" and t.get("lastStatus") != "STOPPED")
    return active, stopping


@throttling_is_retried
def run_task(
    *,
    cluster: str,
    task_definition: str,
    container_name: str,
    command: list[str],
    launch: TaskLaunch,
    client_token: str,
    started_by: str,
    group: str,
    cpu: str | None = None,
    memory: str | None = None,
    container_memory: int | None = None,
) -> dict[str, Any]:
    """Start the one-off migration task; the client token makes a retried call return the same task.

    ``cpu``/``memory`` override the task size (RunTask ``overrides.cpu``/``overrides.memory``), and
    ``container_memory`` the migration container's own hard limit (ContainerOverride ``memory``)."""
    container: dict[str, Any] = {"name": container_name, "command": command}
    if container_memory is not None:
        container["memory"] = container_memory
    overrides: dict[str, Any] = {"containerOverrides": [container]}
    overrides.update({key: value for key, value in (("cpu", cpu), ("memory", memory)) if value is not None})
    response = _ecs().run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        count=1,
        startedBy=started_by,
        group=group,
        clientToken=client_token,
        overrides=overrides,
        **run_task_placement(launch),
    )
    failures = response.get("failures", [])
    tasks = response.get("tasks", [])
    if failures or not tasks:
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')} {f.get('detail', '')}".strip() for f in failures)
        raise TaskFailedToStart(
            f"ECS could not start the migration task ({reasons or 'no task returned'}); "
            "check capacity, subnets, security groups and the task definition",
            failures=failures,
        )
    return tasks[0]


def run_task_placement(launch: TaskLaunch) -> dict[str, Any]:
    """RunTask's placement and network parameters. Never a launch type beside a strategy: RunTask's
    capacityProviderStrategy "If a capacityProviderStrategy is specified, the launchType parameter must be
    omitted" (Amazon ECS API Reference)."""
    parameters: dict[str, Any] = {}
    if launch.capacity_provider_strategy:
        parameters["capacityProviderStrategy"] = launch.capacity_provider_strategy
    elif launch.launch_type:
        parameters["launchType"] = launch.launch_type
    if launch.platform_version:
        parameters["platformVersion"] = launch.platform_version
    if launch.subnets is not None:
        awsvpc: dict[str, Any] = {
            "subnets": launch.subnets,
            "assignPublicIp": "ENABLED" if launch.assign_public_ip else "DISABLED",
        }
        if launch.security_groups is not None:
            awsvpc["securityGroups"] = launch.security_groups
        parameters["networkConfiguration"] = {"awsvpcConfiguration": awsvpc}
    return parameters


@throttling_is_retried
def describe_task(cluster: str, task_arn: str) -> dict[str, Any] | None:
    """The task as ECS describes it; None while DescribeTasks reports it MISSING.

    Shortly after RunTask that is normal: "The Amazon ECS API follows an eventual consistency model"
    and a new task may not show yet (RunTask, API Reference). Much later it means ECS forgot it.
    """
    found = _described(cluster, [task_arn])
    return found[0] if found else None


def migration_started_by(cluster: str, service: str) -> str:
    """RunTask's startedBy for a migration of ``service``: the same for every execution that migrates it."""
    digest = hashlib.sha256(f"{cluster.rsplit('/', 1)[-1]}/{service.rsplit('/', 1)[-1]}".encode()).hexdigest()
    return STARTED_BY_PREFIX + digest[: STARTED_BY_LENGTH - len(STARTED_BY_PREFIX)]


@throttling_is_retried
def unstopped_migration_tasks(cluster: str, started_by: str, family: str) -> list[dict[str, Any]]:
    """Migration tasks marked ``started_by`` that have not reached STOPPED: starting, running or stopping.

    "When you specify startedBy as the filter, it must be the only filter that you use" (ListTasks, API
    Reference), and without desiredStatus ListTasks lists desiredStatus RUNNING only: a task already told
    to stop (it may run for the whole stop timeout) is found among the family's desiredStatus STOPPED tasks
    (the family the input names: a stopping task of another family is not seen).
    """
    running = _task_arns(cluster, startedBy=started_by)
    stopping = [arn for arn in _task_arns(cluster, family=family, desiredStatus="STOPPED") if arn not in running]
    return [
        task
        for task in _described(cluster, running + stopping)
        if task.get("startedBy") == started_by and task.get("lastStatus") != "STOPPED"
    ]


@throttling_is_retried
def stop_task(cluster: str, task_arn: str, reason: str) -> None:
    _ecs().stop_task(cluster=cluster, task=task_arn, reason=reason[:255])


def container_exit(task: dict[str, Any], container_name: str) -> int | None:
    for container in task.get("containers", []):
        if container.get("name") == container_name:
            return container.get("exitCode")
    return None


def container_reasons(task: dict[str, Any]) -> dict[str, str]:
    """Each container's own ``reason`` for stopping, where ECS gives one (e.g. ``OutOfMemoryError: ...``)."""
    return {c["name"]: c["reason"] for c in task.get("containers", []) if c.get("reason") and c.get("name")}
