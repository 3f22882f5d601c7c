"""How the migration task is launched: the way the service runs, unless the input says otherwise.

Resolved in the describe step, where preflight.check_launch then refuses what RunTask would refuse.
"""

from __future__ import annotations

from typing import Any

from fleet_migration.errors import InvalidInput
from fleet_migration.execution_input import MigrationInput
from fleet_migration.models import TaskLaunch


def resolve(spec: MigrationInput, service: dict[str, Any], definition: dict[str, Any]) -> TaskLaunch:
    """The RunTask placement and network of the migration task: the input's where given, else the service's.

    DescribeServices reports a service created with a capacity provider strategy with that strategy and
    no launchType ("Service" in the Amazon ECS API Reference: capacityProviderStrategy "is omitted if the
    service was created using a launch type"), so the two never both apply.
    """
    strategy = service.get("capacityProviderStrategy") or None
    if spec.launch_type is not None:
        launch = TaskLaunch(launch_type=spec.launch_type)
    elif strategy:
        launch = TaskLaunch(capacity_provider_strategy=[_strategy_item(item) for item in strategy])
    elif service.get("launchType") in ("FARGATE", "EC2"):
        launch = TaskLaunch(launch_type=service["launchType"])
    else:
        raise InvalidInput(
            f"launch_type: service {service['serviceName']!r} runs with launch type {service.get('launchType')!r}, "
            'which the migration task cannot use; set launch_type to "FARGATE" or "EC2"',
            fields=["launch_type"],
        )
    if launch.on_fargate and service.get("platformVersion"):
        launch.platform_version = service["platformVersion"]
    if definition.get("networkMode") != "awsvpc":
        given = [f for f in ("subnets", "security_groups", "assign_public_ip") if getattr(spec, f) is not None]
        if given:
            # RunTask's networkConfiguration "isn't supported for other network modes" (Amazon ECS API Reference).
            raise InvalidInput(
                f"{given[0]}: revision {spec.task_definition_ref} uses network mode "
                f"{definition.get('networkMode') or 'bridge'!r}, which takes no awsvpc configuration; leave "
                f"{', '.join(given)} out of the input",
                fields=given,
            )
        return launch
    network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    launch.subnets = spec.subnets if spec.subnets is not None else network.get("subnets")
    launch.security_groups = spec.security_groups if spec.security_groups is not None else network.get("securityGroups")
    if spec.assign_public_ip is not None:
        launch.assign_public_ip = spec.assign_public_ip
    else:
        # The service's public IP carries over only where there is one to have: Fargate.
        launch.assign_public_ip = launch.on_fargate and network.get("assignPublicIp") == "ENABLED"
    return launch


def _strategy_item(item: dict[str, Any]) -> dict[str, Any]:
    """A strategy item as RunTask takes it (DescribeServices may add nothing else, but keep only these)."""
    return {key: item[key] for key in ("capacityProvider", "weight", "base") if key in item}
