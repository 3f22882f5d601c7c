"""A realistic ECS on top of moto: ``EcsSimulator``, its services (emulator/ecs/services.py) and its tasks
(emulator/ecs/tasks.py) over the emulator's ``Clock``, and the moto methods it patches (``_PATCHES``, one
``EcsSimulator`` method each). What ECS refuses is checked in emulator/ecs/requests.py.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse

from emulator.clock import Clock
from emulator.ecs.services import ServiceBehaviour, Services, circuit_breaker_threshold
from emulator.ecs.tasks import SimTask, TaskOutcome, Tasks, timestamp
from emulator.patching import Patches

__all__ = ["EcsSimulator", "ServiceBehaviour", "TaskOutcome", "circuit_breaker_threshold"]


@dataclass
class EcsSimulator(Services, Tasks):
    """ECS's services and tasks on the emulator's clock: the state both halves share, written into moto's objects
    by ``tick`` whenever anyone reads them."""

    clock: Clock
    default_service: ServiceBehaviour = field(default_factory=ServiceBehaviour)
    default_migration: TaskOutcome = field(default_factory=TaskOutcome)
    services: dict[str, ServiceBehaviour] = field(default_factory=dict)
    migration_outcomes: deque[TaskOutcome] = field(default_factory=deque)
    run_task_failures: deque[dict[str, str]] = field(default_factory=deque)
    # How long a task RunTask started stays out of DescribeTasks and ListTasks (eventual consistency).
    # 0 keeps other tests independent of it; the tests of the rule set it.
    visibility_delay_seconds: float = 0.0
    awslogs: Any = None  # emulator.logs.AwsLogsDriver: the migration container's lines, in CloudWatch Logs
    fleet_db: Any = None  # emulator.fleet.database.FleetDatabase: what Fleet's containers find when they start
    elb: Any = None  # emulator.elb.ElbSimulator: the target groups of services with loadBalancers
    # emulator.fleet.image_registry.ImageRegistry: what a task's image references name as it starts
    registry: Any = None

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._tasks: dict[str, SimTask] = {}
        self._tokens: dict[str, str] = {}
        self._deployment_failures: dict[str, int] = {}
        self.run_task_calls: list[dict[str, Any]] = []
        # (clock time, call, details) of every UpdateService and every task RunTask started; read-only (the benchmark)
        self.call_log: list[tuple[float, str, dict[str, Any]]] = []

    def tick(self) -> None:
        """Write the state at this moment into moto's objects, so moto's own responses show it."""
        at = self.clock.now()
        with self._lock:
            for backend, service in self._services():
                if service.status == "ACTIVE":
                    self._reconcile(backend, service)  # the scheduler replaces tasks that crashed meanwhile
            counts: dict[str, list[int]] = {}
            for sim in self._tasks.values():
                last, desired = sim.state(at)
                task = sim.task
                task._transitions = []  # stop moto's walk to STOPPED on every DescribeTasks
                task.status, task.desired_status = last, desired
                stopped = last == "STOPPED"
                if stopped:
                    self._release(sim)
                task.stop_code = sim.stop_code if desired == "STOPPED" else None
                task.stopped_reason = sim.stopped_reason if desired == "STOPPED" else ""
                pulled = sim.running_at is not None and at >= sim.running_at
                for container in task.containers:
                    container.last_status = last
                    container.image_digest = sim.digests.get(container.name) if pulled else None
                    container.exitCode = sim.exit_code if stopped else None
                    if stopped and sim.container_reason:
                        container.reason = sim.container_reason
                # ECS's timestamps, on the emulator's clock (the steps compare them with their own)
                task.created_at = timestamp(sim.created)
                task.started_at = (
                    timestamp(sim.running_at) if sim.running_at is not None and at >= sim.running_at else None
                )
                task.stopped_at = timestamp(sim.stopped_at or sim.ends_at or at) if stopped else None
                if sim.service is not None:
                    running_pending = counts.setdefault(sim.service, [0, 0])
                    if last == "RUNNING" and desired == "RUNNING":
                        running_pending[0] += 1
                    elif last == "PENDING":
                        running_pending[1] += 1
            for _, service in self._services():
                running, pending = counts.get(service.name, [0, 0])
                service.running_count, service.pending_count = running, pending

    def _ticking(self, original: Any, backend: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        """DescribeServices and DescribeTasks show the state at this moment of the clock (``tick``)."""
        self.tick()
        return original(backend, *args, **kwargs)

    def install(self) -> Patches:
        """Patch moto's ECS backend and responses (_PATCHES); the returned ``Patches`` puts them back on exit."""
        patches = Patches()
        for cls, name, method in _PATCHES:
            patches.wrap(cls, name, getattr(self, method))
        return patches


# (moto class, attribute, EcsSimulator method): what ``EcsSimulator.install`` patches, in this order.
_PATCHES = (
    (EC2ContainerServiceBackend, "create_service", "_create_service"),
    (EC2ContainerServiceBackend, "update_service", "_update_service"),
    (EC2ContainerServiceBackend, "register_task_definition", "_register_task_definition"),
    (EC2ContainerServiceBackend, "describe_services", "_ticking"),
    (EC2ContainerServiceBackend, "describe_tasks", "_ticking"),
    (EC2ContainerServiceBackend, "list_tasks", "_list_tasks"),
    (EC2ContainerServiceResponse, "list_tasks", "_list_tasks_request"),
    (EC2ContainerServiceResponse, "describe_tasks", "_describe_tasks_response"),
    (EC2ContainerServiceBackend, "stop_task", "_stop_task"),
    (EC2ContainerServiceResponse, "run_task", "_run_task_response"),
    (EC2ContainerServiceResponse, "create_service", "_create_service_response"),
)
