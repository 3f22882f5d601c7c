"""Embedded AWS for the demo, the benchmark and the tests (see core.Emulator)."""

from emulator.core import Emulator, ExecutionRun
from emulator.ecs_simulator import ServiceBehaviour, TaskOutcome
from emulator.fleet import DROP, EC2_CAPACITY_PROVIDER, SEEDED_SUSPENDED_STATE, FleetDeployment

__all__ = ["DROP", "EC2_CAPACITY_PROVIDER", "SEEDED_SUSPENDED_STATE", "Emulator", "ExecutionRun", "FleetDeployment", "ServiceBehaviour", "TaskOutcome"]
