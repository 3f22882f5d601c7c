"""What ECS refuses, where moto takes it: RunTask, CreateService, UpdateService and ListTasks requests.

Each check sits next to the AWS documentation sentence it enforces; emulator/ecs/simulator.py calls them
before moto applies a request.

- ListTasks: "when you specify startedBy as the filter, it must be the only filter that you use" (ListTasks).
- RunTask ``startedBy``: "up to 36 letters (uppercase and lowercase), numbers, hyphens (-), forward
  slash (/), and underscores (_)" (RunTask); its ``group``: "A task group name must be 255 or fewer
  characters" (Developer Guide, "Group related Amazon ECS tasks").
- Where and how a task is placed and networked (RunTask, CreateService, AwsVpcConfiguration).
- What Fargate runs: the task CPU and memory pairs (``check_fargate_task_size``).
- The containers' memory within the task's (``check_container_memory``).
- What UpdateService refuses: an INACTIVE task definition, a desired count for a DAEMON service
  (``check_update_service``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from moto.ecs.exceptions import EcsClientException, InvalidParameterException

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


# -- Fargate task sizes ----------------------------------------------------------------------------
# What Fargate runs: the task CPU and memory pairs, checked on RunTask as ECS does.
#
# The table is the ECS Developer Guide's ("Troubleshoot Amazon ECS task definition invalid CPU or memory
# errors", task-cpu-memory-error.html), written out here on its own so the emulator does not take the
# workflow's word for it. RunTask's task size is the revision's, or ``overrides.cpu``/``overrides.memory``.
_MEMORY_BY_CPU = {
    256: {512, 1024, 2048},
    512: set(range(1024, 4097, 1024)),
    1024: set(range(2048, 8193, 1024)),
    2048: set(range(4096, 16385, 1024)),
    4096: set(range(8192, 30721, 1024)),
    8192: set(range(16384, 61441, 4096)),
    16384: set(range(32768, 122881, 8192)),
}


def runs_on_fargate(launch_type: str | None, strategy: list[dict[str, Any]] | None) -> bool:
    if launch_type:
        return launch_type == "FARGATE"
    return any(str(item.get("capacityProvider", "")).startswith("FARGATE") for item in strategy or [])


def check_task_size(definition: Any, overrides: dict[str, Any] | None) -> None:
    """Refuse a RunTask whose task size Fargate has no configuration for (moto starts anything)."""
    overrides = overrides or {}
    cpu, memory = overrides.get("cpu") or definition.cpu, overrides.get("memory") or definition.memory
    try:
        pair = int(str(cpu)), int(str(memory))
    except ValueError:
        pair = None
    if pair is None or pair[1] not in _MEMORY_BY_CPU.get(pair[0], set()):
        raise EcsClientException(
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
            "See the Amazon ECS documentation for supported values."
        )


def check_fargate_task_size(response: Any, backend: Any) -> None:
    """The RunTask request in ``response`` (moto's ECS response object), checked before moto starts the task."""
    if not runs_on_fargate(response._get_param("launchType"), response._get_param("capacityProviderStrategy")):
        return
    definition = backend.describe_task_definition(response._get_param("taskDefinition"))
    check_task_size(definition, response._get_param("overrides"))


# -- Container memory within the task's ------------------------------------------------------------
# RunTask refuses a task whose containers hold more memory than the task has, as ECS does (moto starts it).
#
# ContainerDefinition ``memory`` (Amazon ECS API Reference, and "Amazon ECS task definition parameters" in the
# Developer Guide): "The total amount of memory reserved for all containers within a task must be lower than the
# task memory value, if one is specified." A container holds its hard limit (``memory``), or its
# ``memoryReservation`` where it sets no limit; RunTask's ``overrides.memory`` replaces the task's memory and a
# container override's ``memory``/``memoryReservation`` the container's. The check allows the containers to take
# the whole task memory, as ECS accepts a single container whose limit equals the task's.
def held(definition: Any, overrides: dict[str, Any] | None) -> dict[str, int]:
    """MiB each container of the task holds, after RunTask's container overrides."""
    by_name = {o.get("name"): o for o in (overrides or {}).get("containerOverrides") or []}
    found = {}
    for container in definition.container_definitions:
        override = by_name.get(container.get("name"), {})
        amount = (
            override.get("memory")
            or container.get("memory")
            or override.get("memoryReservation")
            or container.get("memoryReservation")
            or 0
        )
        found[container.get("name")] = int(amount)
    return found


def check_container_memory(response: Any, backend: Any) -> None:
    """The RunTask request in ``response`` (moto's ECS response object), checked before moto starts the task."""
    definition = backend.describe_task_definition(response._get_param("taskDefinition"))
    overrides = response._get_param("overrides") or {}
    task_memory = overrides.get("memory") or definition.memory
    if not task_memory:
        return
    containers = held(definition, overrides)
    if sum(containers.values()) > int(str(task_memory)):
        listed = ", ".join(f"{name} {amount} MiB" for name, amount in containers.items())
        raise InvalidParameterException(
            f"The containers of the task hold {sum(containers.values())} MiB of memory ({listed}), more than the "
            f"task memory of {task_memory} MiB."
        )


# -- UpdateService ---------------------------------------------------------------------------------
# What UpdateService refuses, as ECS does (moto takes both).
#
# An INACTIVE (deregistered) task definition: "You can't use an INACTIVE task definition to run new tasks or create
# new services, and you can't update an existing service to reference an INACTIVE task definition"
# (DeregisterTaskDefinition, Amazon ECS API Reference). Fleet's Terraform deregisters the revision it replaces, so
# the revision still serving during a migration is often INACTIVE.
#
# A desired count for a service of the DAEMON scheduling strategy:
#
# "DAEMON - The daemon scheduling strategy deploys exactly one task on each active container instance that meets
# all of the task placement constraints ... When using this strategy, there is no need to specify a desired number
# of tasks, a task placement strategy, or use Service Auto Scaling policies" (ECS Developer Guide, "Amazon ECS
# service deployment controllers and strategies"): the scheduler owns the count, and ECS refuses one.
def check_update_service(backend: Any, properties: dict[str, Any]) -> None:
    """The UpdateService request (moto's parsed properties), checked before moto applies it."""
    if properties.get("task_definition"):
        definition = backend.describe_task_definition(properties["task_definition"])
        if definition.status != "ACTIVE":
            raise EcsClientException(f"TaskDefinition is inactive ({definition.family}:{definition.revision})")
    if properties.get("desired_count") is None:
        return
    service = backend._get_service(properties.get("cluster", "default"), str(properties["service"]).split("/")[-1])
    if service.scheduling_strategy == "DAEMON":
        raise InvalidParameterException(
            f"Service {service.name} uses the DAEMON scheduling strategy, which does not take a desired count."
        )
