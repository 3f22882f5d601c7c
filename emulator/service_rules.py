"""What UpdateService refuses, as ECS does (moto takes both).

An INACTIVE (deregistered) task definition: "You can't use an INACTIVE task definition to run new tasks or create
new services, and you can't update an existing service to reference an INACTIVE task definition"
(DeregisterTaskDefinition, Amazon ECS API Reference). Fleet's Terraform deregisters the revision it replaces, so
the revision still serving during a migration is often INACTIVE.

A desired count for a service of the DAEMON scheduling strategy:

"DAEMON - The daemon scheduling strategy deploys exactly one task on each active container instance that meets
all of the task placement constraints ... When using this strategy, there is no need to specify a desired number
of tasks, a task placement strategy, or use Service Auto Scaling policies" (ECS Developer Guide, "Amazon ECS
service deployment controllers and strategies"): the scheduler owns the count, and ECS refuses one.
"""

from __future__ import annotations

from typing import Any

from moto.ecs.exceptions import EcsClientException, InvalidParameterException


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
