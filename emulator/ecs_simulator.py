"""A realistic ECS lifecycle on top of moto.

moto's ECS starts no tasks for a service, sets runningCount to desiredCount at once, and walks
every described task to STOPPED with exit code 0. Here, services own tasks that start and stop
over time, and a one-off task follows a chosen ``TaskOutcome``: it starts, runs for a while and
exits with a chosen code, or fails to start, or never ends. RunTask honours ``clientToken``.
Everything reads the emulator's ``Clock``.

Where the ECS API Reference documents a rule moto does not keep, the emulator keeps it:
- ListTasks: "when you specify startedBy as the filter, it must be the only filter that you use", and
  without ``desiredStatus`` it lists the tasks whose desired status is RUNNING (ListTasks).
- RunTask ``startedBy``: "up to 36 letters (uppercase and lowercase), numbers, hyphens (-), forward
  slash (/), and underscores (_)" (RunTask).
- Eventual consistency: a task RunTask just started may not show in DescribeTasks (which reports it in
  ``failures`` as MISSING) or ListTasks for a while (RunTask: "The Amazon ECS API follows an eventual
  consistency model"); ``EcsSimulator.visibility_delay_seconds``.
- StopTask sends SIGTERM and, after the container's ``stopTimeout`` (30 s by default, at most 120 s on
  Fargate), SIGKILL (StopTask; ContainerDefinition stopTimeout): meanwhile the task is DEACTIVATING with
  desiredStatus STOPPED, unless its process exits on SIGTERM sooner (``TaskOutcome.exits_on_sigterm_after``).
- A task ECS or someone stopped carries that stop code (UserInitiated, SpotInterruption, ...); only one
  whose essential container exited by itself says EssentialContainerExited (Task stopCode).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service, Task
from moto.ecs.responses import EC2ContainerServiceResponse

from emulator import fargate
from emulator.clock import Clock

# StopTask waits this long between SIGTERM and SIGKILL unless the container definition sets stopTimeout
# (ContainerDefinition stopTimeout: "the default value of 30 seconds is used").
DEFAULT_STOP_TIMEOUT = 30.0
FARGATE_MAX_STOP_TIMEOUT = 120.0
_STARTED_BY = re.compile(r"[A-Za-z0-9_/-]{1,36}")
_LIST_TASKS_FILTERS = ("containerInstance", "family", "serviceName", "desiredStatus", "launchType")


@dataclass
class TaskOutcome:
    """How the next migration task started with RunTask behaves.

    ``interruption``: ECS stops the task after ``run_seconds`` with this stop code (``SpotInterruption``,
    ``TerminationNotice``, ...) instead of letting it exit by itself. A task told to stop (StopTask or an
    interruption) gets SIGTERM: its process exits ``exits_on_sigterm_after`` seconds later with
    ``exit_code_on_sigterm``, or never (None), and then SIGKILL ends it (137) after the stop timeout.
    """

    exit_code: int | None = 0
    start_seconds: float = 0.5
    run_seconds: float = 1.0
    fails_to_start: bool = False
    runs_forever: bool = False
    stopped_reason: str = "Essential container in task exited"
    interruption: str | None = None
    exits_on_sigterm_after: float | None = 0.5
    exit_code_on_sigterm: int = 143  # 128 + SIGTERM: a process killed by the signal it did not handle
    container_reason: str | None = None  # the container's own ``reason`` (e.g. OutOfMemoryError: ...)
    stop_timeout: float | None = None  # instead of the task definition's (an EC2 agent's ECS_CONTAINER_STOP_TIMEOUT)
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
    outcome: TaskOutcome | None = None  # a one-off task's
    visible_at: float = 0.0  # DescribeTasks and ListTasks show the task from then on
    stop_timeout: float = DEFAULT_STOP_TIMEOUT
    container_reason: str | None = None

    def state(self, at: float) -> tuple[str, str]:
        """(lastStatus, desiredStatus) at a moment."""
        if self.stop_requested_at is not None and at >= self.stop_requested_at:
            return ("STOPPED" if at >= (self.stopped_at or 0) else "DEACTIVATING"), "STOPPED"
        if self.ends_at is not None and at >= self.ends_at:
            return "STOPPED", "STOPPED"
        if self.running_at is not None and at >= self.running_at:
            return "RUNNING", "RUNNING"
        return "PENDING", "RUNNING"

    def is_active(self, at: float) -> bool:
        return self.state(at)[1] == "RUNNING"


def _stop_timeout(task: Task) -> float:
    """The longest ``stopTimeout`` of the task's containers (ECS waits for each container's own); on Fargate
    at most 120 s (ContainerDefinition stopTimeout: "the max stop timeout value is 120 seconds")."""
    definition = task._backend.describe_task_definition(task.task_definition_arn)
    timeouts = [c.get("stopTimeout") for c in definition.container_definitions]
    longest = float(max((t for t in timeouts if t is not None), default=DEFAULT_STOP_TIMEOUT))
    on_fargate = task.launch_type == "FARGATE" or (task.capacity_provider_name or "").startswith("FARGATE")
    return min(longest, FARGATE_MAX_STOP_TIMEOUT) if on_fargate else longest


@dataclass
class EcsSimulator:
    clock: Clock
    default_service: ServiceBehaviour = field(default_factory=ServiceBehaviour)
    default_migration: TaskOutcome = field(default_factory=TaskOutcome)
    services: dict[str, ServiceBehaviour] = field(default_factory=dict)
    migration_outcomes: deque[TaskOutcome] = field(default_factory=deque)
    run_task_failures: deque[dict[str, str]] = field(default_factory=deque)
    # How long a task RunTask started stays out of DescribeTasks and ListTasks (eventual consistency).
    # 0 keeps other tests independent of it; the tests of the rule set it.
    visibility_delay_seconds: float = 0.0
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
        if (sim.stop_requested_at is not None and sim.stop_requested_at <= at) or sim.state(at)[0] == "STOPPED":
            return
        if sim.outcome is not None:
            self._stop_one_off(sim, at, "UserInitiated", reason)
            return
        was_running = sim.state(at)[0] == "RUNNING"
        sim.stop_requested_at, sim.stopped_at = at, at + seconds
        sim.stop_code = "ServiceSchedulerInitiated"
        sim.stopped_reason = reason
        sim.exit_code = 137 if was_running else None

    def _stop_one_off(self, sim: _SimTask, at: float, stop_code: str, reason: str) -> None:
        """SIGTERM, then SIGKILL after the stop timeout; a task not yet running just goes (no exit code)."""
        outcome = sim.outcome
        assert outcome is not None
        sim.stop_requested_at, sim.stop_code, sim.stopped_reason = at, stop_code, reason
        if sim.running_at is None or at < sim.running_at:
            sim.stopped_at, sim.exit_code = at + 0.5, None
            return
        term = outcome.exits_on_sigterm_after
        if term is not None and term < sim.stop_timeout:
            sim.stopped_at, sim.exit_code = at + term, outcome.exit_code_on_sigterm
        else:
            sim.stopped_at, sim.exit_code = at + sim.stop_timeout, 137
        if sim.ends_at is not None and sim.ends_at < sim.stopped_at:  # it was about to exit by itself anyway
            sim.stopped_at, sim.exit_code = max(at, sim.ends_at), outcome.exit_code

    def _start_migration(self, task: Task, at: float) -> None:
        outcome = self.migration_outcomes.popleft() if self.migration_outcomes else self.default_migration
        if self.awslogs is not None:
            outcome = self.awslogs.starting(task, outcome)
        sim = _SimTask(task=task, service=None, created=at, running_at=None, outcome=outcome,
                       visible_at=at + self.visibility_delay_seconds,
                       stop_timeout=_stop_timeout(task) if outcome.stop_timeout is None else outcome.stop_timeout,
                       container_reason=outcome.container_reason)
        if outcome.fails_to_start:
            sim.ends_at = at + outcome.start_seconds
            sim.stop_code = "TaskFailedToStart"
            sim.stopped_reason = outcome.stopped_reason or "CannotPullContainerError: pull access denied"
        else:
            sim.running_at = at + outcome.start_seconds
            if outcome.interruption:
                self._stop_one_off(sim, sim.running_at + outcome.run_seconds, outcome.interruption,
                                   f"Task stopped: {outcome.interruption}")
            elif not outcome.runs_forever:
                sim.ends_at = sim.running_at + outcome.run_seconds
                sim.exit_code = outcome.exit_code
                sim.stop_code = "EssentialContainerExited"
                sim.stopped_reason = outcome.stopped_reason
        self._tasks[task.task_arn] = sim
        if self.awslogs is not None:
            self.awslogs.started(task, outcome, sim.running_at, lambda moment: sim.state(moment)[0] != "STOPPED")

    def end_migration(self, task_arn: str, exit_code: int = 0) -> None:
        """A running one-off task's process exits by itself now (a test decides when, not the clock)."""
        at = self.clock.now()
        with self._lock:
            sim = self._tasks[task_arn]
            sim.ends_at, sim.exit_code, sim.stop_code = at, exit_code, "EssentialContainerExited"
            sim.stopped_reason = "Essential container in task exited"

    def is_visible(self, task_arn: str, at: float | None = None) -> bool:
        with self._lock:
            sim = self._tasks.get(task_arn)
            return sim is None or (self.clock.now() if at is None else at) >= sim.visible_at

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
                    if stopped and sim.container_reason:
                        container.reason = sim.container_reason
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
                # ListTasks: "The default status filter is RUNNING" (moto lists every status)
                tasks = original(backend, cluster, container_instance, family, started_by, service_name,
                                 desired_status or "RUNNING")
                if service_name:  # moto ignores serviceName
                    tasks = [t for t in tasks if t.group == f"service:{service_name.rsplit('/', 1)[-1]}"]
                at = sim.clock.now()
                return [t for t in tasks if sim.is_visible(t.task_arn, at)]
            return wrapper

        def list_tasks_request(original: Any) -> Any:
            def wrapper(response: EC2ContainerServiceResponse) -> ActionResult:
                others = [name for name in _LIST_TASKS_FILTERS if response._get_param(name) is not None]
                if response._get_param("startedBy") is not None and others:
                    # ListTasks: "When you specify startedBy as the filter, it must be the only filter that you use."
                    raise InvalidParameterException(
                        f"startedBy must be the only filter when listing tasks; also given: {', '.join(others)}")
                return original(response)
            return wrapper

        def describe_tasks_response(original: Any) -> Any:
            def wrapper(response: EC2ContainerServiceResponse) -> ActionResult:
                result = original(response)
                at = sim.clock.now()
                shown = [t for t in result.result["tasks"] if sim.is_visible(t.task_arn, at)]
                found = {t.task_arn for t in shown} | {t.id for t in shown}
                missing = [{"arn": ref, "reason": "MISSING"} for ref in response._get_param("tasks", [])
                           if ref not in found and ref.rsplit("/", 1)[-1] not in found]
                return ActionResult({"tasks": shown, "failures": missing})
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
                        seconds = sim.behaviour(simulated.service).stop_seconds if simulated.service else 0.0
                        sim._request_stop(simulated, sim.clock.now(), seconds, reason or "Task stopped by user")
                sim.tick()
                return stopped
            return wrapper

        def run_task_response(original: Any) -> Any:
            def wrapper(response: EC2ContainerServiceResponse) -> ActionResult:
                token = response._get_param("clientToken")
                backend = response.ecs_backend
                started_by = response._get_param("startedBy")
                if started_by is not None and not _STARTED_BY.fullmatch(started_by):
                    # RunTask startedBy: "Up to 36 letters (uppercase and lowercase), numbers, hyphens (-),
                    # forward slash (/), and underscores (_) are allowed."
                    raise InvalidParameterException(
                        f"startedBy {started_by!r} must be 1 to 36 letters, numbers, hyphens, slashes or underscores")
                with sim._lock:
                    sim.run_task_calls.append({"clientToken": token, "taskDefinition": response._get_param("taskDefinition"),
                                               "overrides": response._get_param("overrides"),
                                               "launchType": response._get_param("launchType")})
                    if token and token in sim._tokens:
                        return ActionResult({"tasks": [sim._tasks[sim._tokens[token]].task], "failures": []})
                    if sim.run_task_failures:
                        return ActionResult({"tasks": [], "failures": [sim.run_task_failures.popleft()]})
                    fargate.check_run_task(response, backend)
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
        patch(EC2ContainerServiceResponse, "list_tasks", list_tasks_request)
        patch(EC2ContainerServiceResponse, "describe_tasks", describe_tasks_response)
        patch(EC2ContainerServiceBackend, "stop_task", stop_task)
        patch(EC2ContainerServiceResponse, "run_task", run_task_response)

    def uninstall(self) -> None:
        for (cls, name), original in self._originals.items():
            setattr(cls, name, original)
        self._originals.clear()
