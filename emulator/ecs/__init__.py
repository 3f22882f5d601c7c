"""Amazon ECS: what it refuses (requests.py) and how its tasks and services live over time (simulator.py)."""

from emulator.ecs.simulator import EcsSimulator, ServiceBehaviour, TaskOutcome, circuit_breaker_threshold

__all__ = ["EcsSimulator", "ServiceBehaviour", "TaskOutcome", "circuit_breaker_threshold"]
