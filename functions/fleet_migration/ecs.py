"""ECS operations, each one small and named after what it means for the migration."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from fleet_migration.aws import client, error_code, pages, throttling_is_retried
from fleet_migration.errors import ResourceNotFound, TaskFailedToStart

# Every migration task is startedBy this (ListTasks filters on it); its group names its execution.
STARTED_BY = "fleet-migration"
_DESCRIBE_TASKS_BATCH = 100


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
def find_task_definition(ref: str, container_name: str) -> dict[str, Any]:
    """The revision ``family:revision`` as ECS describes it; ``ResourceNotFound`` if it or the container is missing."""
    try:
        definition = _ecs().describe_task_definition(taskDefinition=ref)["taskDefinition"]
    except ClientError as exc:
        if error_code(exc) in ("ClientException", "InvalidParameterException"):
            raise ResourceNotFound(
                f"task_definition_revision: task definition {ref!r} does not exist; register it first or fix "
                "task_definition / task_definition_revision",
                fields=["task_definition", "task_definition_revision"],
            ) from exc
        raise
    if definition.get("status", "ACTIVE") != "ACTIVE":
        # RunTask refuses an inactive revision, and by then the services would be down already.
        raise ResourceNotFound(
            f"task_definition_revision: task definition {ref!r} is {definition['status']}; register a new revision "
            "or point task_definition_revision at an active one",
            fields=["task_definition_revision"],
        )
    containers = [c["name"] for c in definition.get("containerDefinitions", [])]
    if container_name not in containers:
        raise ResourceNotFound(
            f"container_name: task definition {ref!r} has no container {container_name!r}; "
            f"set container_name to one of {containers}",
            fields=["container_name"],
        )
    return definition


@throttling_is_retried
def set_desired_count(cluster: str, service: str, count: int) -> None:
    _ecs().update_service(cluster=cluster, service=service, desiredCount=count)


@throttling_is_retried
def service_counts(cluster: str, service: str) -> dict[str, int]:
    described = _ecs().describe_services(cluster=cluster, services=[service])["services"][0]
    return {
        "desired": described["desiredCount"],
        "running": described["runningCount"],
        "pending": described.get("pendingCount", 0),
    }


@throttling_is_retried
def service_tasks(cluster: str, service: str) -> list[dict[str, Any]]:
    """Every task of the service ECS still tracks: running, pending, stopping and recently stopped."""
    return _listed_tasks(cluster, ("RUNNING", "STOPPED"), serviceName=service)


def _listed_tasks(cluster: str, desired_statuses: tuple[str, ...], **filters: str) -> list[dict[str, Any]]:
    """The tasks ListTasks finds with ``filters`` for each desired status, described in batches."""
    arns: list[str] = []
    for desired_status in desired_statuses:
        for page in pages(_ecs().list_tasks, cluster=cluster, desiredStatus=desired_status, **filters):
            arns.extend(page.get("taskArns", []))
    tasks: list[dict[str, Any]] = []
    for start in range(0, len(arns), _DESCRIBE_TASKS_BATCH):
        batch = arns[start : start + _DESCRIBE_TASKS_BATCH]
        tasks.extend(_ecs().describe_tasks(cluster=cluster, tasks=batch).get("tasks", []))
    return tasks


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
    subnets: list[str],
    security_groups: list[str],
    assign_public_ip: bool,
    launch_type: str,
    client_token: str,
    group: str,
) -> dict[str, Any]:
    """Start the one-off migration task; the client token makes a retried call return the same task."""
    response = _ecs().run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        count=1,
        launchType=launch_type,
        startedBy=STARTED_BY,
        group=group,
        clientToken=client_token,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": subnets,
                "securityGroups": security_groups,
                "assignPublicIp": "ENABLED" if assign_public_ip else "DISABLED",
            }
        },
        overrides={"containerOverrides": [{"name": container_name, "command": command}]},
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


@throttling_is_retried
def describe_task(cluster: str, task_arn: str) -> dict[str, Any]:
    tasks = _ecs().describe_tasks(cluster=cluster, tasks=[task_arn]).get("tasks", [])
    if not tasks:
        raise TaskFailedToStart(
            f"ECS no longer knows the migration task {task_arn}; look for it in the cluster's stopped tasks",
            task_arn=task_arn,
        )
    return tasks[0]


@throttling_is_retried
def running_migration_tasks(cluster: str, group: str | None = None) -> list[str]:
    """ARNs of migration tasks not yet stopped (of one execution's ``group``, or any)."""
    return [
        task["taskArn"]
        for task in _listed_tasks(cluster, ("RUNNING",), startedBy=STARTED_BY)
        if task.get("lastStatus") != "STOPPED" and group in (None, task.get("group"))
    ]


@throttling_is_retried
def stop_task(cluster: str, task_arn: str, reason: str) -> None:
    _ecs().stop_task(cluster=cluster, task=task_arn, reason=reason[:255])


def container_exit(task: dict[str, Any], container_name: str) -> int | None:
    for container in task.get("containers", []):
        if container.get("name") == container_name:
            return container.get("exitCode")
    return None
