"""Embedded AWS for the demo, the benchmark and the tests (see core.Emulator)."""

from emulator.core import Emulator, ExecutionRun
from emulator.ecs_simulator import ServiceBehaviour, TaskOutcome
from emulator.fleet import DROP, EC2_CAPACITY_PROVIDER, SEEDED_SUSPENDED_STATE, FleetDeployment
from emulator.fleet_load_balancer import FAST_TARGET_GROUP, FLEET_TARGET_GROUP, TargetGroupSettings

__all__ = [
    "DROP",
    "EC2_CAPACITY_PROVIDER",
    "FAST_TARGET_GROUP",
    "FLEET_TARGET_GROUP",
    "SEEDED_SUSPENDED_STATE",
    "Emulator",
    "ExecutionRun",
    "FleetDeployment",
    "ServiceBehaviour",
    "TargetGroupSettings",
    "TaskOutcome",
]
