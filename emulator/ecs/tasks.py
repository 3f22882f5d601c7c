"""Amazon ECS tasks over time, on top of moto: the task lifecycle part of ``EcsSimulator``.

moto walks every described task to STOPPED with exit code 0. Here a task starts and stops over time: a one-off
task (RunTask: the migration) follows a chosen ``TaskOutcome`` (it starts, runs for a while and exits with a
chosen code, or fails to start, or never ends), and RunTask honours ``clientToken``. A service's tasks are
started by its scheduler (emulator/ecs/services.py) and live here the same way. Everything reads the
emulator's ``Clock``.

Where the ECS API Reference documents a rule moto does not keep, the emulator keeps it:
- ListTasks: without ``desiredStatus`` it lists the tasks whose desired status is RUNNING ("The default status
  filter is RUNNING"); what ListTasks and RunTask refuse is in emulator/ecs/requests.py.
- Eventual consistency: a task RunTask just started may not show in DescribeTasks (which reports it in
  ``failures`` as MISSING) or ListTasks for a while (RunTask: "The Amazon ECS API follows an eventual
  consistency model"); ``EcsSimulator.visibility_delay_seconds``.
- StopTask sends SIGTERM and, after the container's ``stopTimeout`` (30 s by default, at most 120 s on
  Fargate), SIGKILL (StopTask; ContainerDefinition stopTimeout): meanwhile the task is DEACTIVATING with
  desiredStatus STOPPED, unless its process exits on SIGTERM sooner (``TaskOutcome.exits_on_sigterm_after``).
- A task ECS or someone stopped carries that stop code (UserInitiated, SpotInterruption, ...); only one
  whose essential container exited by itself says EssentialContainerExited (Task stopCode).
- A task resolves its images when it starts and keeps those digests: DescribeTasks reports
  ``containers[].imageDigest`` once it runs (Container imageDigest); a tag pushed again later changes only the
  tasks that start afterwards (emulator/fleet/image_registry.py). DescribeTaskDefinition reports ``registeredAt``
  (TaskDefinition registeredAt), on the emulator's clock.
- A bridge or host task runs on a container instance, its container ports bound to host ports there
  (``Tasks._place_on_instance``: PortMapping, and "Use an Application Load Balancer for Amazon ECS").
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.models import EC2ContainerServiceBackend, Task
from moto.ecs.responses import EC2ContainerServiceResponse

from emulator.clock import Clock
from emulator.ecs import requests
from emulator.ecs.requests import check_placement, check_run_task_request
from emulator.fleet import process as fleet_process

# StopTask waits this long between SIGTERM and SIGKILL unless the container definition sets stopTimeout
# (ContainerDefinition stopTimeout: "the default value of 30 seconds is used").
DEFAULT_STOP_TIMEOUT = 30.0
FARGATE_MAX_STOP_TIMEOUT = 120.0
# The ephemeral host ports ECS picks from for a bridge task's hostPort 0 on the Amazon ECS-optimized AMI.
_EPHEMERAL_PORTS = (32768, 61000)


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
    # `fleet prepare db` fails at the k-th migration it applies (1-based): k-1 stay applied, and it exits 1
    fails_at_migration: int | None = None

    def __post_init__(self) -> None:
        if self.fails_at_migration is not None and self.exit_code == 0:
            self.exit_code = 1


def timestamp(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=UTC)


@dataclass
class SimTask:
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
    deployment: str | None = None  # the service deployment that started it
    digests: dict[str, str | None] = field(default_factory=dict)  # container name -> the image digest it resolved
    health_checked: bool = False  # an essential container of it defines a healthCheck (or it was seeded serving)

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


class Tasks:
    """The task lifecycle of ``EcsSimulator`` (emulator/ecs/simulator.py holds its state, ``tick`` and patches)."""

    clock: Clock
    default_migration: TaskOutcome
    migration_outcomes: deque[TaskOutcome]
    run_task_failures: deque[dict[str, str]]
    visibility_delay_seconds: float
    awslogs: Any
    fleet_db: Any
    elb: Any
    registry: Any
    run_task_calls: list[dict[str, Any]]
    call_log: list[tuple[float, str, dict[str, Any]]]
    _lock: threading.RLock
    _tasks: dict[str, SimTask]
    _tokens: dict[str, str]

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
                {
                    "task_arn": arn,
                    "service": sim.service,
                    "created": sim.created,
                    "running_at": sim.running_at,
                    "stopped_at": sim.stopped_at if sim.stop_requested_at is not None else sim.ends_at,
                }
                for arn, sim in self._tasks.items()
            ]

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

    def _start_migration(self, task: Task, at: float) -> None:
        outcome = self.migration_outcomes.popleft() if self.migration_outcomes else self.default_migration
        if self.awslogs is not None:
            outcome = self.awslogs.starting(task, outcome)
        sim = SimTask(
            task=task,
            service=None,
            created=at,
            running_at=None,
            outcome=outcome,
            visible_at=at + self.visibility_delay_seconds,
            stop_timeout=_stop_timeout(task) if outcome.stop_timeout is None else outcome.stop_timeout,
            container_reason=outcome.container_reason,
        )
        self._pull_images(sim, at)
        if outcome.fails_to_start:
            sim.ends_at = at + outcome.start_seconds
            sim.stop_code = "TaskFailedToStart"
            sim.stopped_reason = outcome.stopped_reason or "CannotPullContainerError: pull access denied"
        else:
            sim.running_at = at + outcome.start_seconds
            if outcome.interruption:
                self._stop_one_off(
                    sim,
                    sim.running_at + outcome.run_seconds,
                    outcome.interruption,
                    f"Task stopped: {outcome.interruption}",
                )
            elif not outcome.runs_forever:
                sim.ends_at = sim.running_at + outcome.run_seconds
                sim.exit_code = outcome.exit_code
                sim.stop_code = "EssentialContainerExited"
                sim.stopped_reason = outcome.stopped_reason
        self._tasks[task.task_arn] = sim
        alive = lambda moment: sim.state(moment)[0] != "STOPPED"  # noqa: E731
        if self.fleet_db is not None and sim.running_at is not None and not outcome.fails_to_start:
            lines = fleet_process.prepare_db(
                self.fleet_db,
                task,
                outcome.exit_code,
                sim.running_at,
                outcome.run_seconds,
                alive,
                outcome.log_lines,
                outcome.fails_at_migration,
            )
            outcome = replace(outcome, log_lines=lines)
        if self.awslogs is not None:
            self.awslogs.started(task, outcome, sim.running_at, alive)

    def _stop_one_off(self, sim: SimTask, at: float, stop_code: str, reason: str) -> None:
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

    def _request_stop(self, sim: SimTask, at: float, seconds: float, reason: str) -> None:
        if (sim.stop_requested_at is not None and sim.stop_requested_at <= at) or sim.state(at)[0] == "STOPPED":
            return
        if sim.outcome is not None:
            self._stop_one_off(sim, at, "UserInitiated", reason)
            return
        was_running = sim.state(at)[0] == "RUNNING"
        # ECS deregisters the task from its target groups first; it stops once they have drained it.
        draining = self.elb.deregister(sim.task.task_arn, at) if self.elb is not None else 0.0
        sim.stop_requested_at, sim.stopped_at = at, at + draining + seconds
        sim.stop_code = "ServiceSchedulerInitiated"
        sim.stopped_reason = reason
        sim.exit_code = 137 if was_running else None

    def _pull_images(self, sim: SimTask, at: float) -> None:
        """The task resolves each container's image reference as it starts, once: a later push changes nothing for
        it. ``resolved_images`` tells Fleet's process model which binary each container runs."""
        definition = sim.task._backend.describe_task_definition(sim.task.task_definition_arn)
        images = {c.get("name"): c.get("image") for c in definition.container_definitions}
        sim.health_checked = any(
            c.get("healthCheck") and c.get("essential", True) for c in definition.container_definitions
        )
        if self.registry is None:
            sim.task.resolved_images = images
            return
        sim.digests = {name: self.registry.resolve(image, at) for name, image in images.items()}
        sim.task.resolved_images = {name: self.registry.binary(image, at) for name, image in images.items()}

    def _place_on_instance(self, sim: SimTask, definition: Any, at: float) -> bool:
        """A bridge or host task runs on a container instance, its container ports bound to host ports there
        (DescribeTasks ``containerInstanceArn`` and ``containers[].networkBindings``); False when no instance has
        the port free. With bridge networking a ``hostPort`` of 0 (or none) gets a port from the instance's
        ephemeral range, "32768 to 61000 on the latest Amazon ECS-optimized AMI"; with host networking the host port
        is the container port (Amazon ECS Developer Guide, "Use an Application Load Balancer for Amazon ECS";
        PortMapping, Amazon ECS API Reference). An awsvpc task needs none of this: it has its own interface. The
        task holds the instance's memory and its host ports until it stops, as a migration task on EC2 does."""
        task = sim.task
        if (definition.network_mode or "bridge") == "awsvpc":
            return True
        instances = [
            i for i in task._backend.container_instances.get(task.cluster_name, {}).values() if i.status == "ACTIVE"
        ]
        mappings = [m for c in definition.container_definitions[:1] for m in c.get("portMappings") or []]
        for instance in sorted(instances, key=lambda i: self._tasks_on(i.container_instance_arn, at)):
            taken = self._ports_taken(instance.container_instance_arn, at)
            bindings = []
            for mapping in mappings:
                port = int(mapping.get("hostPort") or 0)
                if definition.network_mode == "host":
                    port = int(mapping["containerPort"])
                elif port == 0:
                    port = next(p for p in range(_EPHEMERAL_PORTS[0], _EPHEMERAL_PORTS[1] + 1) if p not in taken)
                if port in taken:
                    break
                taken.add(port)
                bindings.append(
                    {
                        "bindIP": "0.0.0.0",
                        "containerPort": int(mapping["containerPort"]),
                        "hostPort": port,
                        "protocol": mapping.get("protocol", "tcp"),
                    }
                )
            else:
                needs = {**(task.resource_requirements or {}), "PORTS": [b["hostPort"] for b in bindings]}
                if not task._backend._can_be_placed(instance, needs):
                    continue
                task.container_instance_arn, task.resource_requirements = instance.container_instance_arn, needs
                task.containers[0].network_bindings = bindings
                self._hold_again(sim)  # held until it stops (_release)
                return True
        return False

    def _on_instance(self, container_instance_arn: str, at: float) -> list[SimTask]:
        return [
            sim
            for sim in self._tasks.values()
            if sim.task.container_instance_arn == container_instance_arn and sim.state(at)[0] != "STOPPED"
        ]

    def _tasks_on(self, container_instance_arn: str, at: float) -> int:
        return len(self._on_instance(container_instance_arn, at))

    def _ports_taken(self, container_instance_arn: str, at: float) -> set[int]:
        return {
            binding["hostPort"]
            for sim in self._on_instance(container_instance_arn, at)
            for container in sim.task.containers
            for binding in getattr(container, "network_bindings", None) or []
        }

    def _serve_fleet(self, sim: SimTask) -> None:
        """``fleet serve`` exits 1 about a second after starting on a schema that lacks its migrations (Fleet's
        cmd/fleet/serve.go), printing why to its awslogs stream; ECS sees its essential container exit."""
        if self.fleet_db is None or sim.running_at is None:
            return
        crash = fleet_process.serve(self.fleet_db, sim.task, sim.running_at)
        if crash is None:
            return
        if crash.exit_seconds is None:  # it warns and serves
            if self.awslogs is not None:
                self.awslogs.prints(
                    sim.task, crash.lines, sim.running_at, 0.5, lambda moment: sim.state(moment)[0] != "STOPPED"
                )
            return
        sim.ends_at = sim.running_at + crash.exit_seconds
        sim.exit_code, sim.stop_code = 1, "EssentialContainerExited"
        sim.stopped_reason = "Essential container in task exited"
        if self.awslogs is not None:
            self.awslogs.prints(
                sim.task,
                crash.lines,
                sim.running_at,
                crash.exit_seconds * 0.5,
                lambda moment: sim.state(moment)[0] != "STOPPED",
            )

    def _release(self, sim: SimTask) -> None:
        """Give back the container instance capacity an EC2 task held once it stops (moto only does on StopTask)."""
        task = sim.task
        if sim.released or not task.container_instance_arn:
            return
        sim.released = True
        backend = task._backend
        instance = backend.container_instances.get(task.cluster_name, {}).get(
            task.container_instance_arn.split("/")[-1]
        )
        if instance is not None:
            backend.update_container_instance_resources(instance, task.resource_requirements, removing=True)
            backend.update_cluster_resources(backend._get_cluster(task.cluster_name), -1)

    def _hold_again(self, sim: SimTask) -> None:
        """Hold the container instance capacity of an EC2 task: as a service task is placed, or to undo moto's
        StopTask giving back capacity that an EC2 task had already given back."""
        task = sim.task
        backend = task._backend
        instance = backend.container_instances.get(task.cluster_name, {}).get(
            task.container_instance_arn.split("/")[-1]
        )
        if instance is not None:
            backend.update_container_instance_resources(instance, task.resource_requirements)
            backend.update_cluster_resources(backend._get_cluster(task.cluster_name), 1)

    # -- the moto methods patched (emulator/ecs/simulator.py _PATCHES), each given moto's original first --------
    def _register_task_definition(
        self, original: Any, backend: EC2ContainerServiceBackend, *args: Any, **kwargs: Any
    ) -> Any:
        """DescribeTaskDefinition's ``registeredAt`` (TaskDefinition, Amazon ECS API Reference), which moto leaves
        out, on the emulator's clock."""
        definition = original(backend, *args, **kwargs)
        definition.registered_at = timestamp(self.clock.now())
        return definition

    def _list_tasks(
        self,
        original: Any,
        backend: EC2ContainerServiceBackend,
        cluster: str | None = None,
        container_instance: str | None = None,
        family: str | None = None,
        started_by: str | None = None,
        service_name: str | None = None,
        desired_status: str | None = None,
    ) -> Any:
        """ListTasks lists RUNNING tasks by default, filters by serviceName, and hides tasks RunTask just started
        (ListTasks; RunTask: "The Amazon ECS API follows an eventual consistency model")."""
        self.tick()
        # ListTasks: "The default status filter is RUNNING" (moto lists every status)
        tasks = original(
            backend, cluster, container_instance, family, started_by, service_name, desired_status or "RUNNING"
        )
        if service_name:  # moto ignores serviceName
            tasks = [t for t in tasks if t.group == f"service:{service_name.rsplit('/', 1)[-1]}"]
        at = self.clock.now()
        return [t for t in tasks if self.is_visible(t.task_arn, at)]

    def _list_tasks_request(self, original: Any, response: EC2ContainerServiceResponse) -> ActionResult:
        """ListTasks refuses startedBy with another filter (ListTasks; emulator/ecs/requests.py)."""
        requests.check_list_tasks_filters(response._get_param)
        return original(response)

    def _describe_tasks_response(self, original: Any, response: EC2ContainerServiceResponse) -> ActionResult:
        """DescribeTasks reports a task RunTask just started as a MISSING failure until it is visible (RunTask: "The
        Amazon ECS API follows an eventual consistency model")."""
        result = original(response)
        at = self.clock.now()
        shown = [t for t in result.result["tasks"] if self.is_visible(t.task_arn, at)]
        found = {t.task_arn for t in shown} | {t.id for t in shown}
        missing = [
            {"arn": ref, "reason": "MISSING"}
            for ref in response._get_param("tasks", [])
            if ref not in found and ref.rsplit("/", 1)[-1] not in found
        ]
        return ActionResult({"tasks": shown, "failures": missing})

    def _stop_task(
        self, original: Any, backend: EC2ContainerServiceBackend, cluster: str, task: str, reason: str
    ) -> Task:
        """StopTask sends SIGTERM, then SIGKILL after the stop timeout (StopTask; ContainerDefinition stopTimeout);
        an EC2 task gives back its container instance capacity once, not twice."""
        stopped = original(backend, cluster, task, reason)
        with self._lock:
            simulated = self._tasks.get(stopped.task_arn)
            if simulated is not None and stopped.container_instance_arn:
                if simulated.released:  # moto gave back the capacity of an EC2 task a second time
                    self._hold_again(simulated)
                simulated.released = True  # moto's StopTask gave it back
            if simulated is not None:
                seconds = self.behaviour(simulated.service).stop_seconds if simulated.service else 0.0
                self._request_stop(simulated, self.clock.now(), seconds, reason or "Task stopped by user")
        self.tick()
        return stopped

    def _run_task_response(self, original: Any, response: EC2ContainerServiceResponse) -> ActionResult:
        """RunTask refuses what ECS refuses (emulator/ecs/requests.py), honours
        ``clientToken``, fails as ``run_task_failures`` say, and starts each task as its ``TaskOutcome`` says."""
        token = response._get_param("clientToken")
        backend = response.ecs_backend
        requests.check_task_names(response._get_param("startedBy"), response._get_param("group"))
        launch_type, strategy = response._get_param("launchType"), response._get_param("capacityProviderStrategy")
        network = response._get_param("networkConfiguration")
        with self._lock:
            self.run_task_calls.append(
                {
                    "clientToken": token,
                    "taskDefinition": response._get_param("taskDefinition"),
                    "overrides": response._get_param("overrides"),
                    "launchType": launch_type,
                    "capacityProviderStrategy": strategy,
                    "platformVersion": response._get_param("platformVersion"),
                    "networkConfiguration": network,
                }
            )
            cluster = backend._get_cluster(response._get_param("cluster", "default"))
            check_placement(launch_type, strategy, cluster)
            if not launch_type and not strategy:
                strategy = cluster.default_capacity_provider_strategy or None
                if not strategy:  # RunTask's default with neither: the EC2 launch type
                    launch_type = "EC2"
            check_run_task_request(
                launch_type, strategy, network, backend.describe_task_definition(response._get_param("taskDefinition"))
            )
            if token and token in self._tokens:
                return ActionResult({"tasks": [self._tasks[self._tokens[token]].task], "failures": []})
            if self.run_task_failures:
                return ActionResult({"tasks": [], "failures": [self.run_task_failures.popleft()]})
            requests.check_fargate_task_size(response, backend)
            requests.check_container_memory(response, backend)
            before = {arn for tasks in backend.tasks.values() for arn in tasks}
            result = original(response)
            at = self.clock.now()
            for tasks in backend.tasks.values():
                for arn, task in tasks.items():
                    if arn not in before:
                        self._start_migration(task, at)
                        self.call_log.append((at, "RunTask", {"task_arn": arn}))
                        if token:
                            self._tokens[token] = arn
        self.tick()
        return result
