"""A realistic ECS lifecycle on top of moto.

moto's ECS starts no tasks for a service, sets runningCount to desiredCount at once, and walks
every described task to STOPPED with exit code 0. Here, services own tasks that start and stop
over time, and a one-off task follows a chosen ``TaskOutcome``: it starts, runs for a while and
exits with a chosen code, or fails to start, or never ends. RunTask honours ``clientToken``.
Everything reads the emulator's ``Clock``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.models import EC2ContainerServiceBackend, Service, Task
from moto.ecs.responses import EC2ContainerServiceResponse

from emulator.clock import Clock


@dataclass
class TaskOutcome:
    """How the next migration task started with RunTask behaves."""

    exit_code: int | None = 0
    start_seconds: float = 0.5
    run_seconds: float = 1.0
    fails_to_start: bool = False
    runs_forever: bool = False
    stopped_reason: str = "Essential container in task exited"
    # What the container prints over run_seconds (to its awslogs stream); None: `fleet prepare db`'s lines for the exit code
    log_lines: tuple[str, ...] | None = None


@dataclass
class ServiceBehaviour:
    """How a service's tasks behave: seconds to start and to stop; unhealthy tasks never reach RUNNING."""

    start_seconds: float = 1.0
    stop_seconds: float = 1.0
    healthy: bool = True


@dataclass
class _SimTask:
    task: Task
    service: str | None
    created: float
    running_at: float | None
    ends_at: float | None = None
    exit_code: int | None = None
    stop_code: str | None = None
    stopped_reason: str = ""
    stop_requested_at: float | None = None
    stopped_at: float | None = None
    released: bool = False  # an EC2 task gave back the container instance capacity it held

    def state(self, at: float) -> tuple[str, str]:
        """(lastStatus, desiredStatus) at a moment."""
        if self.stop_requested_at is not None:
            return ("STOPPED" if at >= (self.stopped_at or 0) else "DEACTIVATING"), "STOPPED"
        if self.ends_at is not None and at >= self.ends_at:
            return "STOPPED", "STOPPED"
        if self.running_at is not None and at >= self.running_at:
            return "RUNNING", "RUNNING"
        return "PENDING", "RUNNING"

    def is_active(self, at: float) -> bool:
        return self.state(at)[1] == "RUNNING"


@dataclass
class EcsSimulator:
    clock: Clock
    default_service: ServiceBehaviour = field(default_factory=ServiceBehaviour)
    default_migration: TaskOutcome = field(default_factory=TaskOutcome)
    services: dict[str, ServiceBehaviour] = field(default_factory=dict)
    migration_outcomes: deque[TaskOutcome] = field(default_factory=deque)
    run_task_failures: deque[dict[str, str]] = field(default_factory=deque)
    awslogs: Any = None  # emulator.awslogs.AwsLogsDriver: the migration container's lines, in CloudWatch Logs

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._tasks: dict[str, _SimTask] = {}
        self._tokens: dict[str, str] = {}
        self._originals: dict[tuple[type, str], Any] = {}
        self.run_task_calls: list[dict[str, Any]] = []
        # (clock time, call, details) of every UpdateService and every task RunTask started; read-only (the benchmark)
        self.call_log: list[tuple[float, str, dict[str, Any]]] = []

    # -- what tests and the demo use ---------------------------------------------------------
    def behaviour(self, service: str) -> ServiceBehaviour:
        return self.services.setdefault(service, ServiceBehaviour(**vars(self.default_service)))

    def next_migration(self, outcome: TaskOutcome) -> None:
        self.migration_outcomes.append(outcome)

    def running_tasks(self, *, service: str | None = None, one_off: bool = False) -> list[str]:
        """ARNs of tasks not yet STOPPED (a service's, or the one-off migration tasks)."""
        at = self.clock.now()
        with self._lock:
            return [
                arn
                for arn, sim in self._tasks.items()
                if sim.state(at)[0] != "STOPPED"
                and ((one_off and sim.service is None) or (service is not None and sim.service == service))
            ]

    def is_one_off(self, task_arn: str) -> bool:
        """Whether a task was started with RunTask (a migration task) rather than by a service."""
        with self._lock:
            sim = self._tasks.get(task_arn)
            return sim is not None and sim.service is None

    def task_moments(self) -> list[dict[str, Any]]:
        """Read-only (the benchmark): each task's service (None for RunTask), and when it was created,
        reached RUNNING and reaches STOPPED, in clock seconds (None: never, or no stop planned yet)."""
        with self._lock:
            return [
                {"task_arn": arn, "service": sim.service, "created": sim.created, "running_at": sim.running_at,
                 "stopped_at": sim.stopped_at if sim.stop_requested_at is not None else sim.ends_at}
                for arn, sim in self._tasks.items()
            ]

    # -- lifecycle ---------------------------------------------------------------------------
    def _new_service_task(self, backend: EC2ContainerServiceBackend, service: Service, at: float, running: bool) -> None:
        behaviour = self.behaviour(service.name)
        definition = backend.describe_task_definition(service.task_definition)
        task = Task(
            backend._get_cluster(service.cluster_name),
            definition,
            None,
            backend._calculate_task_resource_requirements(definition),
            backend=backend,
            group=f"service:{service.name}",
            launch_type=service.launch_type or "FARGATE",
            started_by=f"ecs-svc/{abs(hash(service.arn)) % 10**16}",
            networking_configuration=service.network_configuration or None,
        )
        backend.tasks.setdefault(service.cluster_name, {})[task.task_arn] = task
        running_at = at if running else (at + behaviour.start_seconds if behaviour.healthy else None)
        self._tasks[task.task_arn] = _SimTask(task=task, service=service.name, created=at, running_at=running_at)

    def _reconcile(self, backend: EC2ContainerServiceBackend, service: Service, *, initial: bool = False) -> None:
        at = self.clock.now()
        active = [s for s in self._tasks.values() if s.service == service.name and s.is_active(at)]
        missing = service.desired_count - len(active)
        for _ in range(max(0, missing)):
            self._new_service_task(backend, service, at, running=initial and self.behaviour(service.name).healthy)
        for sim in sorted(active, key=lambda s: s.created, reverse=True)[: max(0, -missing)]:
            self._request_stop(sim, at, self.behaviour(service.name).stop_seconds, "Scaling activity initiated by deployment")

    def _request_stop(self, sim: _SimTask, at: float, seconds: float, reason: str) -> None:
        if sim.stop_requested_at is not None or sim.state(at)[0] == "STOPPED":
            return
        was_running = sim.state(at)[0] == "RUNNING"
        sim.stop_requested_at, sim.stopped_at = at, at + seconds
        sim.stop_code = "UserInitiated" if sim.service is None else "ServiceSchedulerInitiated"
        sim.stopped_reason = reason
        sim.exit_code = 137 if was_running else None

    def _start_migration(self, task: Task, at: float) -> None:
        outcome = self.migration_outcomes.popleft() if self.migration_outcomes else self.default_migration
        if self.awslogs is not None:
            outcome = self.awslogs.starting(task, outcome)
        sim = _SimTask(task=task, service=None, created=at, running_at=None)
        if outcome.fails_to_start:
            sim.ends_at = at + outcome.start_seconds
            sim.stop_code = "TaskFailedToStart"
            sim.stopped_reason = outcome.stopped_reason or "CannotPullContainerError: pull access denied"
        else:
            sim.running_at = at + outcome.start_seconds
            if not outcome.runs_forever:
                sim.ends_at = sim.running_at + outcome.run_seconds
                sim.exit_code = outcome.exit_code
                sim.stop_code = "EssentialContainerExited"
                sim.stopped_reason = outcome.stopped_reason
        self._tasks[task.task_arn] = sim
        if self.awslogs is not None:
            self.awslogs.started(task, outcome, sim.running_at, lambda moment: sim.state(moment)[0] != "STOPPED")

    def _release(self, sim: _SimTask) -> None:
        """Give back the container instance capacity an EC2 task held once it stops (moto only does on StopTask)."""
        task = sim.task
        if sim.released or not task.container_instance_arn:
            return
        sim.released = True
        backend = task._backend
        instance = backend.container_instances.get(task.cluster_name, {}).get(task.container_instance_arn.split("/")[-1])
        if instance is not None:
            backend.update_container_instance_resources(instance, task.resource_requirements, removing=True)
            backend.update_cluster_resources(backend._get_cluster(task.cluster_name), -1)

    def _hold_again(self, sim: _SimTask) -> None:
        """Undo moto's StopTask giving back capacity that an EC2 task had already given back."""
        task = sim.task
        backend = task._backend
        instance = backend.container_instances.get(task.cluster_name, {}).get(task.container_instance_arn.split("/")[-1])
        if instance is not None:
            backend.update_container_instance_resources(instance, task.resource_requirements)
            backend.update_cluster_resources(backend._get_cluster(task.cluster_name), 1)

    def tick(self) -> None:
        """Write the state at this moment into moto's objects, so moto's own responses show it."""
        at = self.clock.now()
        with self._lock:
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
                for container in task.containers:
                    container.last_status = last
                    container.exitCode = sim.exit_code if stopped else None
                if sim.service is not None:
                    running_pending = counts.setdefault(sim.service, [0, 0])
                    if last == "RUNNING" and desired == "RUNNING":
                        running_pending[0] += 1
                    elif last == "PENDING":
                        running_pending[1] += 1
            for backend_services in self._services():
                for service in backend_services:
                    running, pending = counts.get(service.name, [0, 0])
                    service.running_count, service.pending_count = running, pending

    def _services(self) -> list[list[Service]]:
        from moto.ecs.models import ecs_backends

        return [list(backend.services.values()) for _, _, backend in ecs_backends.iter_backends()]

    # -- patches -----------------------------------------------------------------------------
    def install(self) -> None:
        sim = self

        def patch(cls: type, name: str, make: Callable[[Any], Any]) -> None:
            original = getattr(cls, name)
            self._originals[(cls, name)] = original
            setattr(cls, name, make(original))

        def create_service(original: Any) -> Any:
            def wrapper(backend: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Service:
                service = original(backend, *args, **kwargs)
                with sim._lock:
                    sim._reconcile(backend, service, initial=True)
                sim.tick()
                return service
            return wrapper

        def update_service(original: Any) -> Any:
            def wrapper(backend: EC2ContainerServiceBackend, properties: dict[str, Any]) -> Service:
                at = sim.clock.now()
                service = original(backend, properties)
                with sim._lock:
                    sim._reconcile(backend, service)
                    sim.call_log.append((at, "UpdateService", {"service": service.name, "desired_count": service.desired_count}))
                sim.tick()
                return service
            return wrapper

        def ticking(original: Any) -> Any:
            def wrapper(backend: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
                sim.tick()
                return original(backend, *args, **kwargs)
            return wrapper

        def list_tasks(original: Any) -> Any:
            def wrapper(backend: EC2ContainerServiceBackend, cluster: str | None = None, container_instance: str | None = None,
                        family: str | None = None, started_by: str | None = None, service_name: str | None = None,
                        desired_status: str | None = None) -> Any:
                sim.tick()
                tasks = original(backend, cluster, container_instance, family, started_by, service_name, desired_status)
                if service_name:  # moto ignores serviceName
                    tasks = [t for t in tasks if t.group == f"service:{service_name.rsplit('/', 1)[-1]}"]
                return tasks
            return wrapper

        def stop_task(original: Any) -> Any:
            def wrapper(backend: EC2ContainerServiceBackend, cluster: str, task: str, reason: str) -> Task:
                stopped = original(backend, cluster, task, reason)
                with sim._lock:
                    simulated = sim._tasks.get(stopped.task_arn)
                    if simulated is not None and stopped.container_instance_arn:
                        if simulated.released:  # moto gave back the capacity of an EC2 task a second time
                            sim._hold_again(simulated)
                        simulated.released = True  # moto's StopTask gave it back
                    if simulated is not None:
                        seconds = sim.behaviour(simulated.service).stop_seconds if simulated.service else 0.5
                        sim._request_stop(simulated, sim.clock.now(), seconds, reason or "Task stopped by user")
                sim.tick()
                return stopped
            return wrapper

        def run_task_response(original: Any) -> Any:
            def wrapper(response: EC2ContainerServiceResponse) -> ActionResult:
                token = response._get_param("clientToken")
                backend = response.ecs_backend
                with sim._lock:
                    sim.run_task_calls.append({"clientToken": token, "taskDefinition": response._get_param("taskDefinition"),
                                               "overrides": response._get_param("overrides"),
                                               "launchType": response._get_param("launchType")})
                    if token and token in sim._tokens:
                        return ActionResult({"tasks": [sim._tasks[sim._tokens[token]].task], "failures": []})
                    if sim.run_task_failures:
                        return ActionResult({"tasks": [], "failures": [sim.run_task_failures.popleft()]})
                    before = {arn for tasks in backend.tasks.values() for arn in tasks}
                    result = original(response)
                    at = sim.clock.now()
                    for tasks in backend.tasks.values():
                        for arn, task in tasks.items():
                            if arn not in before:
                                sim._start_migration(task, at)
                                sim.call_log.append((at, "RunTask", {"task_arn": arn}))
                                if token:
                                    sim._tokens[token] = arn
                sim.tick()
                return result
            return wrapper

        patch(EC2ContainerServiceBackend, "create_service", create_service)
        patch(EC2ContainerServiceBackend, "update_service", update_service)
        patch(EC2ContainerServiceBackend, "describe_services", ticking)
        patch(EC2ContainerServiceBackend, "describe_tasks", ticking)
        patch(EC2ContainerServiceBackend, "list_tasks", list_tasks)
        patch(EC2ContainerServiceBackend, "stop_task", stop_task)
        patch(EC2ContainerServiceResponse, "run_task", run_task_response)

    def uninstall(self) -> None:
        for (cls, name), original in self._originals.items():
            setattr(cls, name, original)
        self._originals.clear()
