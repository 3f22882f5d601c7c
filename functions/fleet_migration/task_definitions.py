"""Task definition revisions: the one the migration runs, the ones services run, and registering one again."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from fleet_migration.aws import client, error_code, throttling_is_retried
from fleet_migration.errors import ResourceNotFound


def _ecs() -> Any:
    return client("ecs")


@throttling_is_retried
def find(ref: str, container_name: str) -> dict[str, Any]:
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
def describe(arn: str) -> dict[str, Any]:
    return _ecs().describe_task_definition(taskDefinition=arn)["taskDefinition"]


# What RegisterTaskDefinition takes of a described revision (the rest, such as status or revision, ECS sets).
_REGISTERED_FIELDS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
)


@throttling_is_retried
def register_copy(definition: dict[str, Any]) -> str:
    """Register a described revision again, as the family's next revision; its ARN."""
    fields = {key: definition[key] for key in _REGISTERED_FIELDS if definition.get(key) not in (None, [], {})}
    return _ecs().register_task_definition(**fields)["taskDefinition"]["taskDefinitionArn"]
