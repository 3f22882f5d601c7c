"""The AWS CLI commands that do by hand what the rollback does, for causes that ask a person to finish."""

from __future__ import annotations

import shlex

from fleet_migration import autoscaling, outage, serving
from fleet_migration.models import MigrationTask, ServiceSnapshot


def update_service(cluster: str, service: str, count: int, revision: str | None = None) -> str:
    """``aws ecs update-service`` to a count, and back to a revision when one is given."""
    return shlex.join(
        [
            "aws", "ecs", "update-service", "--cluster", cluster, "--service", service,
            *(["--task-definition", str(serving.revision_name(revision))] if revision else []),
            "--desired-count", str(count),
        ]
    )  # fmt: skip


def commands(
    cluster: str,
    services: list[ServiceSnapshot],
    task: MigrationTask | None = None,
    applied: bool = False,
    page: list[str] | None = None,
) -> list[str]:
    """The AWS CLI commands that do by hand what the rollback does; ``page`` (outage.manual_commands) takes the
    maintenance page down, once the services are back."""
    commands = []
    if task and not task.done:
        commands.append(shlex.join(["aws", "ecs", "stop-task", "--cluster", cluster, "--task", task.arn]))
    for service in services:
        count, min_override, max_override = service.destination(applied)
        revision = service.revision_back(applied)
        commands.append(update_service(cluster, service.name, count, revision))
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
