"""Embedded AWS for the demo, the benchmark and the tests (see core.Emulator)."""

from emulator.core import Emulator, ExecutionRun
from emulator.ecs_simulator import ServiceBehaviour, TaskOutcome
from emulator.fleet import DROP, FleetDeployment

__all__ = ["DROP", "Emulator", "ExecutionRun", "FleetDeployment", "ServiceBehaviour", "TaskOutcome"]
