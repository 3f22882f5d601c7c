"""The migration task's size (``task_cpu``, ``task_memory``): what Fargate accepts, checked before anything changes.

The combinations are the table of the ECS Developer Guide, "Troubleshoot Amazon ECS task definition
invalid CPU or memory errors" (task-cpu-memory-error.html): for each task CPU value, the memory
values (MiB) Fargate runs it with. 8 and 16 vCPU need Linux platform version 1.4.0 or later, which
is what ``LATEST`` is. On EC2 the task CPU may be anything from 0.25 to 192 vCPU and memory is free.
"""

from __future__ import annotations

from typing import Any

FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
EC2_CPU_RANGE = (256, 196608)


def _units(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and not value.startswith("0") else None


def _memory_choices(cpu: int) -> str:
    memory = FARGATE_MEMORY[cpu]
    if len(memory) <= 8:
        return ", ".join(f'"{m}"' for m in memory)
    return f'"{memory[0]}" to "{memory[-1]}" in steps of {memory[1] - memory[0]}'


def problem(cpu: str | None, memory: str | None, *, fargate: bool) -> str | None:
    """What is wrong with a task size override, as ``field: what and how to fix``; None when nothing is."""
    cpu_units = None
    if cpu is not None:
        cpu_units = _units(cpu)
        if cpu_units is None:
            return f'task_cpu: {cpu!r} is not a whole number of CPU units; set it to e.g. "1024" (1 vCPU), or null'
    if memory is not None:
        if _units(memory) is None:
            return f'task_memory: {memory!r} is not a whole number of MiB; set it to e.g. "4096", or null'
        if cpu is None:
            return (
                "task_memory: set task_cpu too (Fargate accepts a task memory only together with a matching "
                'task CPU); e.g. task_cpu "1024" runs with 2048 to 8192 MiB'
            )
    if cpu_units is None:
        return None
    if not fargate:
        low, high = EC2_CPU_RANGE
        if not low <= cpu_units <= high:
            return (
                f"task_cpu: {cpu} is outside what ECS runs on EC2 ({low} to {high} CPU units); set it within that range"
            )
        return None
    if cpu_units not in FARGATE_MEMORY:
        valid = ", ".join(f'"{c}"' for c in FARGATE_MEMORY)
        return f"task_cpu: {cpu} is not a Fargate task CPU; set it to one of {valid} (CPU units, 1024 = 1 vCPU)"
    if memory is not None and int(memory) not in FARGATE_MEMORY[cpu_units]:
        return (
            f"task_memory: Fargate does not run {memory} MiB with task_cpu {cpu}; set task_memory to "
            f"{_memory_choices(cpu_units)}, or change task_cpu"
        )
    return None


def revision_problem(cpu: str | None, memory: str | None, definition: dict[str, Any], *, fargate: bool) -> str | None:
    """A CPU override alone keeps the revision's memory: on Fargate that pair must be in the table too."""
    if not fargate or cpu is None or memory is not None:
        return None
    cpu_units, kept = _units(cpu), _units(str(definition.get("memory", "")))
    if cpu_units not in FARGATE_MEMORY or kept is None or kept in FARGATE_MEMORY[cpu_units]:
        return None
    return (
        f"task_memory: the revision's memory {kept} MiB does not run with task_cpu {cpu} on Fargate; set "
        f"task_memory to {_memory_choices(cpu_units)}"
    )


# ContainerDefinition memory (Amazon ECS API Reference): "The Docker 20.10.0 or later daemon reserves a minimum of
# 6 MiB of memory for a container. So, don't specify less than 6 MiB of memory for your containers."
MIN_CONTAINER_MEMORY = 6


def others_memory(definition: dict[str, Any], container_name: str) -> dict[str, int]:
    """What each other container of the revision holds of the task's memory: its hard limit (``memory``), or its
    ``memoryReservation`` where it sets no limit."""
    held = {}
    for container in definition.get("containerDefinitions", []):
        if container.get("name") != container_name:
            amount = container.get("memory") or container.get("memoryReservation") or 0
            if amount:
                held[container["name"]] = int(amount)
    return held


def container_memory(memory: str | None, definition: dict[str, Any], container_name: str) -> int | None:
    """The migration container's hard limit under a ``task_memory`` override: the task memory the other containers
    leave. ContainerDefinition memory: "If your container attempts to exceed the memory specified here, the
    container is killed. The total amount of memory reserved for all containers within a task must be lower than
    the task memory value" (Amazon ECS API Reference): a task memory override alone leaves the container at its
    old limit, or, below the containers' memory, RunTask refuses it."""
    if memory is None or _units(memory) is None:
        return None
    return int(memory) - sum(others_memory(definition, container_name).values())


def container_memory_problem(memory: str | None, definition: dict[str, Any], container_name: str) -> str | None:
    """What makes ``task_memory`` too small for the containers of the revision, as ``task_memory: ...``."""
    left = container_memory(memory, definition, container_name)
    if left is None:
        return None
    others = others_memory(definition, container_name)
    container: dict[str, Any] = next(
        (c for c in definition.get("containerDefinitions", []) if c.get("name") == container_name), {}
    )
    needs = max(MIN_CONTAINER_MEMORY, int(container.get("memoryReservation") or 0))
    if left >= needs:
        return None
    held = ", ".join(f"{name!r} {amount} MiB" for name, amount in others.items())
    return (
        f"task_memory: {memory} MiB leaves {left} MiB for container {container_name!r} once the revision's other "
        f"containers have theirs ({held}), and it needs at least {needs} MiB; raise task_memory to at least "
        f"{needs + sum(others.values())}, or lower those containers' memory in the task definition"
    )
