"""What ECS refuses in RunTask, CreateService and ListTasks requests, where moto takes them.

- ListTasks: "when you specify startedBy as the filter, it must be the only filter that you use" (ListTasks).
- RunTask ``startedBy``: "up to 36 letters (uppercase and lowercase), numbers, hyphens (-), forward
  slash (/), and underscores (_)" (RunTask); its ``group``: "A task group name must be 255 or fewer
  characters" (Developer Guide, "Group related Amazon ECS tasks").
- Where and how a task is placed and networked (RunTask, CreateService, AwsVpcConfiguration).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from moto.ecs.exceptions import InvalidParameterException

_STARTED_BY = re.compile(r"[A-Za-z0-9_/-]{1,36}")
_LIST_TASKS_FILTERS = ("containerInstance", "family", "serviceName", "desiredStatus", "launchType")

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
# AwsVpcConfiguration (Amazon ECS API Reference): a limit of 16 subnets and of 5 security groups.
MAX_SUBNETS, MAX_SECURITY_GROUPS = 16, 5


def check_placement(launch_type: str | None, strategy: list[dict[str, Any]] | None, cluster: Any) -> None:
    """RunTask/CreateService: "If a capacityProviderStrategy is specified, the launchType parameter must be
    omitted", and "A capacity provider must be associated with the cluster to be used in a capacity provider
    strategy" (Amazon ECS API Reference, RunTask and CreateService)."""
    if launch_type and strategy:
        raise InvalidParameterException("Specify either Launch Type or Capacity Provider Strategy, but not both.")
    associated = set(cluster.capacity_providers or [])
    for item in strategy or []:
        if item.get("capacityProvider") not in associated:
            raise InvalidParameterException(
                f"The specified capacity provider strategy cannot contain a capacity provider that is not associated "
                f"with the cluster. Associate the capacity provider with the cluster or specify a valid capacity "
                f"provider and try again. ({item.get('capacityProvider')})"
            )


def check_run_task_request(
    launch_type: str | None, strategy: list[dict[str, Any]] | None, network: dict[str, Any] | None, definition: Any
) -> None:
    """What RunTask refuses about where and how a task is networked (Amazon ECS API Reference: RunTask,
    AwsVpcConfiguration; Developer Guide: Fargate task networking)."""
    on_fargate = (
        launch_type == "FARGATE"
        or bool(strategy)
        and all(item.get("capacityProvider") in FARGATE_PROVIDERS for item in strategy or [])
    )
    needs = "FARGATE" if on_fargate else "EC2"
    if needs not in (definition.compatibilities or ["EC2"]):
        raise InvalidParameterException(f"Task definition does not support launch_type {needs}.")
    awsvpc = definition.network_mode == "awsvpc"
    if on_fargate and not awsvpc:
        raise InvalidParameterException("Fargate only supports network mode 'awsvpc'.")
    vpc = (network or {}).get("awsvpcConfiguration")
    if awsvpc and not vpc:
        raise InvalidParameterException(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        )
    if vpc and not awsvpc:
        raise InvalidParameterException(
            "Network Configuration is not valid for the given networkMode of this task definition."
        )
    if not vpc:
        return
    if not vpc.get("subnets"):
        raise InvalidParameterException("subnets can not be empty.")
    if len(vpc["subnets"]) > MAX_SUBNETS:
        raise InvalidParameterException(f"subnets can have at most {MAX_SUBNETS} items.")
    if len(vpc.get("securityGroups") or []) > MAX_SECURITY_GROUPS:
        raise InvalidParameterException(f"securityGroups can have at most {MAX_SECURITY_GROUPS} items.")
    if vpc.get("assignPublicIp") == "ENABLED" and not on_fargate:
        raise InvalidParameterException("Assign public IP is not supported for this launch type.")


def check_list_tasks_filters(param: Callable[[str], Any]) -> None:
    """ListTasks' filters; ``param`` reads a request parameter by name (None: not given)."""
    others = [name for name in _LIST_TASKS_FILTERS if param(name) is not None]
    if param("startedBy") is not None and others:
        # ListTasks: "When you specify startedBy as the filter, it must be the only filter that you use."
        raise InvalidParameterException(
            f"startedBy must be the only filter when listing tasks; also given: {', '.join(others)}"
        )


def check_task_names(started_by: str | None, group: str | None) -> None:
    """RunTask's ``startedBy`` and ``group``."""
    if started_by is not None and not _STARTED_BY.fullmatch(started_by):
        # RunTask startedBy: "Up to 36 letters (uppercase and lowercase), numbers, hyphens (-),
        # forward slash (/), and underscores (_) are allowed."
        raise InvalidParameterException(
            f"startedBy {started_by!r} must be 1 to 36 letters, numbers, hyphens, slashes or underscores"
        )
    if group is not None and len(group) > 255:
        # "A task group name must be 255 or fewer characters." (Developer Guide, task groups)
        raise InvalidParameterException(f"group must be 255 or fewer characters, not {len(group)}")
