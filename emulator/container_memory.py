"""RunTask refuses a task whose containers hold more memory than the task has, as ECS does (moto starts it).

ContainerDefinition ``memory`` (Amazon ECS API Reference, and "Amazon ECS task definition parameters" in the
Developer Guide): "The total amount of memory reserved for all containers within a task must be lower than the
task memory value, if one is specified." A container holds its hard limit (``memory``), or its
``memoryReservation`` where it sets no limit; RunTask's ``overrides.memory`` replaces the task's memory and a
container override's ``memory``/``memoryReservation`` the container's. The check allows the containers to take
the whole task memory, as ECS accepts a single container whose limit equals the task's.
"""

from __future__ import annotations

from typing import Any

from moto.ecs.exceptions import InvalidParameterException


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


def check_run_task(response: Any, backend: Any) -> None:
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
