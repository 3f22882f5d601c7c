"""The AWS CLI commands that do by hand what the rollback does, for causes that ask a person to finish.

Run in order, they bring Fleet back: each service on a revision UpdateService accepts (never an INACTIVE one: the
copy the rollback registered, or a ``register-task-definition`` first), its count and autoscaling, the target
groups' deregistration delays, and no maintenance page (docs/behaviour.md, "By-hand commands").
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping

from fleet_migration import autoscaling, outage, task_definitions
from fleet_migration.models import MigrationTask, ServiceSnapshot


def update_service(cluster: str, service: str, count: int, revision: str | None = None) -> str:
    """``aws ecs update-service`` to a count, and back to a revision when one is given (a family alone: its
    latest ACTIVE revision)."""
    return shlex.join(
        [
            "aws", "ecs", "update-service", "--cluster", cluster, "--service", service,
            *(["--task-definition", revision.rsplit("/", 1)[-1]] if revision else []),
            "--desired-count", str(count),
        ]
    )  # fmt: skip


def register_task_definition(request: Mapping[str, object]) -> str:
    return shlex.join(["aws", "ecs", "register-task-definition", "--cli-input-json", json.dumps(request)])


def restore_request(revision: str, execution: str) -> dict[str, object] | None:
    """The request that registers ``revision`` again when it is INACTIVE (None when ACTIVE): described now."""
    definition, tags = task_definitions.describe_with_tags(revision)
    if definition.get("status", "ACTIVE") == "ACTIVE":
        return None
    return task_definitions.copy_request(definition, tags, execution)


def way_back(
    cluster: str,
    service: ServiceSnapshot,
    count: int,
    revision: str | None,
    *,
    execution: str = "",
    live: bool = False,
    copy: str | None = None,
) -> list[str]:
    """The commands that put ``service`` on ``revision`` at ``count``: named when ACTIVE, or ``copy`` (the ACTIVE
    copy the rollback registered), or registered again first and then named by its family (UpdateService takes the
    family's latest ACTIVE revision, which the registration just made). ``live``: look at the revision now (as the
    rollback and the stability check can), else go by what the describe step saw."""
    if revision is None:
        return [update_service(cluster, service.name, count)]
    if copy:
        return [update_service(cluster, service.name, count, copy)]
    request = service.restore_request
    if live:
        try:
            request = restore_request(revision, execution)
        except Exception:  # noqa: BLE001 - AWS failing is why a person runs these: go by what was seen before
            request = service.restore_request
    if request is None:
        return [update_service(cluster, service.name, count, revision)]
    family = revision.rsplit("/", 1)[-1].rsplit(":", 1)[0]
    return [register_task_definition(request), update_service(cluster, service.name, count, family)]


def commands(
    cluster: str,
    services: list[ServiceSnapshot],
    task: MigrationTask | None = None,
    applied: bool = False,
    *,
    page: list[str] | None = None,
    execution: str = "",
    live: bool = False,
    copies: Mapping[str, str] | None = None,
) -> list[str]:
    """The AWS CLI commands that do by hand what the rollback does. ``copies``: the copies the rollback already
    registered, by service name; ``page`` (outage.manual_commands) takes the maintenance page down, once the
    services are back."""
    commands = []
    if task and not task.done:
        commands.append(shlex.join(["aws", "ecs", "stop-task", "--cluster", cluster, "--task", task.arn]))
    for service in services:
        count, min_override, max_override = service.destination(applied)
        revision = service.revision_back(applied)
        commands += way_back(
            cluster,
            service,
            count,
            revision,
            execution=execution,
            live=live,
            copy=(copies or {}).get(service.name),
        )
        target = service.scalable_target
        if target:
            low, high = autoscaling.bounds_after(target, min_override, max_override)
            suspended = ",".join(f"{key}={str(value).lower()}" for key, value in target.suspended.to_api().items())
            commands.append(
                shlex.join(
                    [
                        "aws",
                        "application-autoscaling",
                        "register-scalable-target",
                        "--service-namespace",
                        "ecs",
                        "--resource-id",
                        target.resource_id,
                        "--scalable-dimension",
                        autoscaling.DIMENSION,
                        "--min-capacity",
                        str(low),
                        "--max-capacity",
                        str(high),
                        "--suspended-state",
                        suspended,
                    ]
                )
            )
    return commands + outage.restore_commands(services) + (page or [])
