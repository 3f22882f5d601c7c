"""Application Auto Scaling: capture a service's target, hold it at a count, restore it."""

from __future__ import annotations

from typing import Any

from fleet_migration.aws import client, throttling_is_retried
from fleet_migration.models import ScalableTarget, SuspendedState

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"

SUSPEND_ALL = SuspendedState(
    dynamic_scaling_in_suspended=True, dynamic_scaling_out_suspended=True, scheduled_scaling_suspended=True
)


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


def _client() -> Any:
    return client("application-autoscaling")


@throttling_is_retried
def capture(cluster: str, service: str) -> ScalableTarget | None:
    rid = resource_id(cluster, service)
    found = _client().describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[rid], ScalableDimension=DIMENSION
    )
    targets = found.get("ScalableTargets", [])
    if not targets:
        return None
    target = targets[0]
    suspended = target.get("SuspendedState") or {}
    return ScalableTarget(
        resource_id=rid,
        min_capacity=target["MinCapacity"],
        max_capacity=target["MaxCapacity"],
        suspended=SuspendedState(
            dynamic_scaling_in_suspended=bool(suspended.get("DynamicScalingInSuspended", False)),
            dynamic_scaling_out_suspended=bool(suspended.get("DynamicScalingOutSuspended", False)),
            scheduled_scaling_suspended=bool(suspended.get("ScheduledScalingSuspended", False)),
        ),
    )


@throttling_is_retried
def apply(resource: str, min_capacity: int, max_capacity: int, suspended: SuspendedState) -> None:
    _client().register_scalable_target(
        ServiceNamespace=NAMESPACE,
        ResourceId=resource,
        ScalableDimension=DIMENSION,
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
        SuspendedState=suspended.to_api(),
    )


def hold_at(target: ScalableTarget, count: int) -> None:
    """Pin the bounds to ``count`` and suspend scaling, so autoscaling cannot undo a scale-down."""
    apply(target.resource_id, count, count, SUSPEND_ALL)


def bounds_after(
    target: ScalableTarget, min_capacity: int | None = None, max_capacity: int | None = None
) -> tuple[int, int]:
    """(MinCapacity, MaxCapacity) as captured, with an optional new minimum and maximum (a captured minimum is never
    put back above a new maximum; the input refuses a new minimum above a new maximum)."""
    high = target.max_capacity if max_capacity is None else max_capacity
    low = min(target.min_capacity, high) if min_capacity is None else min_capacity
    return low, high


def restore(target: ScalableTarget, min_capacity: int | None = None, max_capacity: int | None = None) -> None:
    apply(target.resource_id, *bounds_after(target, min_capacity, max_capacity), target.suspended)
