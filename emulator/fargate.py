"""What Fargate runs: the task CPU and memory pairs, checked on RunTask as ECS does.

The table is the ECS Developer Guide's ("Troubleshoot Amazon ECS task definition invalid CPU or memory
errors", task-cpu-memory-error.html), written out here on its own so the emulator does not take the
workflow's word for it. RunTask's task size is the revision's, or ``overrides.cpu``/``overrides.memory``.
"""

from __future__ import annotations

from typing import Any

from moto.ecs.exceptions import EcsClientException

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


def check_run_task(response: Any, backend: Any) -> None:
    """The RunTask request in ``response`` (moto's ECS response object), checked before moto starts the task."""
    if not runs_on_fargate(response._get_param("launchType"), response._get_param("capacityProviderStrategy")):
        return
    definition = backend.describe_task_definition(response._get_param("taskDefinition"))
    check_task_size(definition, response._get_param("overrides"))
