"""How the migration task is launched: the way the service runs, checked against what RunTask accepts.

Both happen in the describe step, before anything changes: a RunTask refusal after the scale-down
would cost Fleet a rollback for a setting we could have read beforehand.
"""

from __future__ import annotations

from typing import Any

from fleet_migration.errors import InvalidInput
from fleet_migration.models import MigrationInput, TaskLaunch

# AwsVpcConfiguration (Amazon ECS API Reference): "There's a limit of 16 subnets" and "a limit of 5
# security groups that can be specified per AwsVpcConfiguration".
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5


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


def check(spec: MigrationInput, launch: TaskLaunch, definition: dict[str, Any], service_name: str) -> None:
    """Refuse, naming the field and the fix, what RunTask would refuse once the services are down."""
    _check_compatibility(spec, launch, definition)
    if definition.get("networkMode") != "awsvpc":
        return
    if not launch.subnets:
        raise InvalidInput(
            f"subnets: revision {spec.task_definition_ref} uses awsvpc networking and service {service_name!r} has "
            'no awsvpc configuration to borrow; set subnets (and security_groups), e.g. ["subnet-0abc"]',
            fields=["subnets"],
        )
    if len(launch.subnets) > MAX_SUBNETS:
        raise InvalidInput(
            f"subnets: ECS accepts at most {MAX_SUBNETS} subnets for a task and there are {len(launch.subnets)}; "
            f"list at most {MAX_SUBNETS}",
            fields=["subnets"],
        )
    if launch.security_groups is not None and len(launch.security_groups) > MAX_SECURITY_GROUPS:
        raise InvalidInput(
            f"security_groups: ECS accepts at most {MAX_SECURITY_GROUPS} security groups for a task and there are "
            f"{len(launch.security_groups)}; list at most {MAX_SECURITY_GROUPS}",
            fields=["security_groups"],
        )
    if launch.assign_public_ip and not launch.on_fargate:
        # AwsVpcConfiguration.AssignPublicIp: "You can specify ENABLED only when LaunchType ... is set to
        # FARGATE" (EventBridge / Amazon ECS task networking: tasks on EC2 get no public IP of their own).
        raise InvalidInput(
            f"assign_public_ip: a public IP is for Fargate tasks only and the migration task runs with "
            f"{launch.describe()}; set assign_public_ip to false, or run it on Fargate (launch_type \"FARGATE\")",
            fields=["assign_public_ip"],
        )


def _check_compatibility(spec: MigrationInput, launch: TaskLaunch, definition: dict[str, Any]) -> None:
    """The revision must be valid for where the task runs (what RunTask checks against its compatibilities)."""
    compatible = definition.get("compatibilities") or definition.get("requiresCompatibilities") or ["EC2"]
    network_mode = definition.get("networkMode") or "bridge"
    needs = "FARGATE" if launch.on_fargate else "EC2"
    fix_launch = 'or set launch_type to "EC2"' if needs == "FARGATE" else 'or set launch_type to "FARGATE"'
    if needs not in compatible:
        raise InvalidInput(
            f"task_definition_revision: revision {spec.task_definition_ref} is compatible with {compatible} and "
            f"cannot run with {launch.describe()}; register a revision with requiresCompatibilities including "
            f"{needs}, {fix_launch}",
            fields=["task_definition_revision", "launch_type"],
        )
    if needs == "FARGATE" and network_mode != "awsvpc":
        # RegisterTaskDefinition's networkMode: "For Amazon ECS tasks on Fargate, the awsvpc network mode is required."
        raise InvalidInput(
            f"task_definition_revision: revision {spec.task_definition_ref} uses network mode {network_mode!r} and "
            f"Fargate ({launch.describe()}) needs awsvpc; register a revision with networkMode awsvpc, {fix_launch}",
            fields=["task_definition_revision", "launch_type"],
        )


def _strategy_item(item: dict[str, Any]) -> dict[str, Any]:
    """A strategy item as RunTask takes it (DescribeServices may add nothing else, but keep only these)."""
    return {key: item[key] for key in ("capacityProvider", "weight", "base") if key in item}
