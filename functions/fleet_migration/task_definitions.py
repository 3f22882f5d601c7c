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


@throttling_is_retried
def describe_with_tags(arn: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The revision and its tags: DescribeTaskDefinition returns them only when asked (``include=["TAGS"]``)."""
    answer = _ecs().describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return answer["taskDefinition"], answer.get("tags") or []


# The mark on a revision the rollback registers again: the trigger never migrates it (it is the workflow's own
# registration, of a binary that already served), and a retried restore finds it instead of registering another.
COPY_OF_TAG = "fleet-migration:copy-of"  # the deregistered revision it copies (its ARN)
EXECUTION_TAG = "fleet-migration:execution"  # the execution whose rollback registered it

# What RegisterTaskDefinition takes of a described revision besides its tags (the rest, such as status or
# revision, ECS sets): every member of its request (RegisterTaskDefinition, Amazon ECS API Reference), which
# tests/unit/test_task_definitions.py compares with the SDK's model of the request.
REGISTERED_FIELDS = (
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
    "enableFaultInjection",
    "trustedExecutionConfiguration",
)
# Tags: at most 50 per resource, and none whose key starts with "aws:" (reserved for AWS; TagResource, Amazon ECS
# API Reference). Our two marks take two of the 50.
MAX_TAGS = 50
# How many of the family's newest ACTIVE revisions a retried restore looks through for the copy it registered:
# the copy was the family's newest when registered, moments ago; each look is a DescribeTaskDefinition.
COPY_LOOKBACK = 5


def copy_request(definition: dict[str, Any], tags: list[dict[str, str]], execution: str) -> dict[str, Any]:
    """RegisterTaskDefinition's request for a copy of ``definition``: all its fields, its tags and our mark."""
    fields = {key: definition[key] for key in REGISTERED_FIELDS if definition.get(key) not in (None, [], {})}
    marks = [
        {"key": COPY_OF_TAG, "value": definition["taskDefinitionArn"]},
        {"key": EXECUTION_TAG, "value": execution},
    ]
    own = [
        tag
        for tag in tags
        if not tag["key"].lower().startswith("aws:") and tag["key"] not in (COPY_OF_TAG, EXECUTION_TAG)
    ]
    return {**fields, "tags": own[: MAX_TAGS - len(marks)] + marks}


@throttling_is_retried
def _newest_active(family: str) -> list[str]:
    arns = _ecs().list_task_definitions(familyPrefix=family, status="ACTIVE", sort="DESC", maxResults=COPY_LOOKBACK)[
        "taskDefinitionArns"
    ]
    # familyPrefix is the family; keep only its own revisions, newest first, whatever order came back
    mine = [arn for arn in arns if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]
    return sorted(mine, key=lambda arn: int(arn.rsplit(":", 1)[-1]), reverse=True)[:COPY_LOOKBACK]


def find_copy(original: dict[str, Any], execution: str) -> str | None:
    """The ACTIVE copy of ``original`` this execution's rollback already registered (a retried restore), or None."""
    for arn in _newest_active(original["family"]):
        _, tags = describe_with_tags(arn)
        marks = {tag["key"]: tag["value"] for tag in tags}
        if marks.get(COPY_OF_TAG) == original["taskDefinitionArn"] and marks.get(EXECUTION_TAG) == execution:
            return arn
    return None


@throttling_is_retried
def _register(request: dict[str, Any]) -> str:
    return _ecs().register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]


def register_copy(original_arn: str, execution: str) -> str:
    """An ACTIVE copy of a deregistered revision, registered once per execution: found again when a restore is
    retried (a timeout after RegisterTaskDefinition answered), else registered as the family's next revision."""
    definition, tags = describe_with_tags(original_arn)
    found = find_copy(definition, execution)
    return found or _register(copy_request(definition, tags, execution))
