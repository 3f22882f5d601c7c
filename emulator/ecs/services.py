"""Amazon ECS services over time, on top of moto: the service scheduler part of ``EcsSimulator``.

moto's ECS starts no tasks for a service and sets runningCount to desiredCount at once. Here the scheduler
starts and stops a service's tasks toward its desired count over time (the tasks themselves live as
emulator/ecs/tasks.py says), and rolls deployments out as ECS documents:
- UpdateService to a new task definition (or with forceNewDeployment) starts a PRIMARY deployment; the old one
  stays ACTIVE until its tasks are replaced; a desired count alone starts none ("When a deployment is triggered
  by updating the task definition of a service", UpdateService). What UpdateService refuses is in
  emulator/ecs/requests.py.
- Rolling update with minimumHealthyPercent 100 and maximumPercent 200 by default (DeploymentConfiguration):
  an old task stops once a new one serves in its place; behind a load balancer, once it is healthy in its
  target groups ("Deploy Amazon ECS services by replacing tasks"); without any health check, 40 s after it runs.
- failedTasks and the deployment circuit breaker (``circuit_breaker_threshold``; "How the Amazon ECS
  deployment circuit breaker detects failures").
- CreateService keeps the capacity provider strategy, the deployment configuration and the Fargate platform
  version as DescribeServices reports them (moto drops them).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.models import EC2ContainerServiceBackend, Service, Task
from moto.ecs.responses import EC2ContainerServiceResponse

from emulator.clock import Clock
from emulator.ecs import requests
from emulator.ecs.requests import FARGATE_PROVIDERS, check_placement
from emulator.ecs.tasks import SimTask, timestamp

# "If a task has no essential containers with a health check defined, the service scheduler will wait for 40
# seconds after a task reaches a RUNNING state before the task is counted towards the minimum healthy percent
# total" (DeploymentConfiguration minimumHealthyPercent, Amazon ECS API Reference): for a service without a load
# balancer, such as Fleet's vulnerability service, a task that exits in its first seconds never replaces one.
NO_HEALTH_CHECK_SECONDS = 40.0


@dataclass
class ServiceBehaviour:
    """How a service's new tasks behave: seconds to start and to stop; unhealthy tasks never reach RUNNING."""

    start_seconds: float = 1.0
    stop_seconds: float = 1.0
    healthy: bool = True
    # A crash loop: the essential container exits with this code as each task starts; the scheduler replaces it.
    crash_exit_code: int | None = None
    # At most this many of the service's tasks find room to run; the others stay PENDING.
    capacity: int | None = None
    # deploymentConfiguration.deploymentCircuitBreaker.enable (without rollback)
    circuit_breaker: bool = False


def circuit_breaker_threshold(desired_count: int) -> int:
    """ServiceDeploymentCircuitBreaker.threshold (Amazon ECS API Reference): 0.5 x desired task count, at least
    3 and at most 200."""
    return max(3, min(200, math.ceil(0.5 * desired_count)))


class Services:
    """The service scheduler of ``EcsSimulator`` (emulator/ecs/simulator.py holds its state, ``tick`` and patches)."""

    clock: Clock
    default_service: ServiceBehaviour
    services: dict[str, ServiceBehaviour]
    elb: Any
    call_log: list[tuple[float, str, dict[str, Any]]]
    _lock: threading.RLock
    _tasks: dict[str, SimTask]
    _deployment_failures: dict[str, int]

    def behaviour(self, service: str) -> ServiceBehaviour:
        return self.services.setdefault(service, ServiceBehaviour(**vars(self.default_service)))

    def _services(self) -> list[tuple[EC2ContainerServiceBackend, Service]]:
        from moto.ecs.models import ecs_backends

        return [
            (backend, service)
            for _, _, backend in ecs_backends.iter_backends()
            for service in list(backend.services.values())
        ]

    def _reconcile(self, backend: EC2ContainerServiceBackend, service: Service, *, initial: bool = False) -> None:
        """The service scheduler, once: start and stop tasks toward the desired count, move the rollout on."""
        at = self.clock.now()
        if not service.deployments or service.deployments[0].get("status") != "PRIMARY":
            service.deployments[:] = []
            self._new_deployment(service, at)
        behaviour = self.behaviour(service.name)
        primary, *older = service.deployments
        primary["desiredCount"] = service.desired_count
        tasks = [sim for sim in self._tasks.values() if sim.service == service.name]
        mine = [sim for sim in tasks if sim.deployment == primary["id"]]
        self._count_failures(primary, mine, at, behaviour)
        active = [sim for sim in mine if sim.is_active(at)]
        if primary["rolloutState"] != "FAILED":  # "A deployment in FAILED state doesn't launch any new tasks."
            for _ in range(max(0, service.desired_count - len(active))):
                self._new_service_task(backend, service, primary, at, running=initial and behaviour.healthy)
        for sim in sorted(active, key=lambda s: s.created, reverse=True)[: max(0, len(active) - service.desired_count)]:
            self._request_stop(sim, at, behaviour.stop_seconds, "Scaling activity initiated by deployment")
        # Rolling update (minimumHealthyPercent 100): an old task stops once a new one runs in its place.
        # Behind a load balancer, once a new one is healthy in its target groups.
        keep = max(0, service.desired_count - sum(1 for sim in mine if self._serving(sim, at)))
        for deployment in older:
            old_active = sorted(
                (sim for sim in tasks if sim.deployment == deployment["id"] and sim.is_active(at)),
                key=lambda s: s.created,
            )
            for sim in old_active[keep:]:
                self._request_stop(sim, at, behaviour.stop_seconds, f"Task replaced by deployment {primary['id']}")
            deployment["desiredCount"] = min(keep, len(old_active))
            keep = max(0, keep - len(old_active))
        left = {sim.deployment for sim in tasks if sim.state(at)[0] != "STOPPED"}
        service.deployments[1:] = [d for d in older if d["id"] in left]
        for deployment in service.deployments:
            of_it = [sim.state(at) for sim in tasks if sim.deployment == deployment["id"]]
            deployment["runningCount"] = of_it.count(("RUNNING", "RUNNING"))
            deployment["pendingCount"] = of_it.count(("PENDING", "RUNNING"))
        if (
            primary["rolloutState"] == "IN_PROGRESS"
            and len(service.deployments) == 1
            and primary["runningCount"] == service.desired_count
            and primary["pendingCount"] == 0
            and sum(1 for sim in mine if self._serving(sim, at)) >= service.desired_count
        ):
            primary.update(
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {primary['id']} completed.",
                updatedAt=timestamp(at),
            )

    # ECS's rolling update as documented: a new PRIMARY deployment when the task definition changes (or
    # forceNewDeployment), the old one ACTIVE until its tasks are replaced; UpdateService with only a desired
    # count changes the primary's desiredCount and starts no deployment (UpdateService, Amazon ECS API
    # Reference: "When a deployment is triggered by updating the task definition of a service").
    def _new_deployment(self, service: Service, at: float) -> dict[str, Any]:
        deployment_id = f"ecs-svc/{len(self._tasks) + len(self._deployment_failures) + 1:019d}"
        deployment: dict[str, Any] = {
            "id": deployment_id,
            "status": "PRIMARY",
            "taskDefinition": service.task_definition,
            "desiredCount": service.desired_count,
            "pendingCount": 0,
            "runningCount": 0,
            "failedTasks": 0,
            "createdAt": timestamp(at),
            "updatedAt": timestamp(at),
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
        }
        if service.network_configuration:
            deployment["networkConfiguration"] = service.network_configuration
        strategy = getattr(service, "capacity_provider_strategy", None)
        if strategy:
            deployment["capacityProviderStrategy"] = strategy
        else:
            deployment["launchType"] = service.launch_type
        if service.platform_version:
            deployment["platformVersion"] = service.platform_version
        for older in service.deployments:
            older["status"] = "ACTIVE"
        service.deployments.insert(0, deployment)
        self._deployment_failures[deployment_id] = 0
        return deployment

    def _use_strategy(self, service: Service, strategy: list[dict[str, Any]]) -> None:
        service.capacity_provider_strategy = strategy
        service.launch_type = None
        for deployment in service.deployments:
            deployment["capacityProviderStrategy"] = strategy
            deployment.pop("launchType", None)
        on_fargate = all(item.get("capacityProvider") in FARGATE_PROVIDERS for item in strategy)
        if on_fargate and not service.platform_version:
            service.platform_version = "LATEST"  # what DescribeServices shows for a Fargate service left to the default
            for deployment in service.deployments:
                deployment["platformVersion"] = service.platform_version
        for sim in self._tasks.values():  # the tasks CreateService started before we knew
            if sim.service == service.name:
                sim.task.launch_type, sim.task.capacity_provider_name = "", strategy[0]["capacityProvider"]

    def _new_service_task(
        self,
        backend: EC2ContainerServiceBackend,
        service: Service,
        deployment: dict[str, Any],
        at: float,
        running: bool,
    ) -> None:
        behaviour = self.behaviour(service.name)
        definition = backend.describe_task_definition(deployment["taskDefinition"])
        strategy = deployment.get("capacityProviderStrategy")
        task = Task(
            backend._get_cluster(service.cluster_name),
            definition,
            None,
            backend._calculate_task_resource_requirements(definition),
            backend=backend,
            group=f"service:{service.name}",
            launch_type=service.launch_type or ("" if strategy else "FARGATE"),
            started_by=deployment["id"],
            networking_configuration=service.network_configuration or None,
            platform_version=service.platform_version,
            capacity_provider_name=strategy[0]["capacityProvider"] if strategy else None,
        )
        backend.tasks.setdefault(service.cluster_name, {})[task.task_arn] = task
        sim = SimTask(task=task, service=service.name, created=at, running_at=None, deployment=deployment["id"])
        self._pull_images(sim, at)
        placed = sum(
            1
            for other in self._tasks.values()
            if other.service == service.name and other.is_active(at) and other.running_at is not None
        )
        if (behaviour.capacity is not None and placed >= behaviour.capacity) or not self._place_on_instance(
            sim, definition, at
        ):
            pass  # no room to place it: it stays PENDING (the service events would say "unable to place a task")
        elif behaviour.crash_exit_code is not None:
            # the essential container exits as it starts: the task never reaches RUNNING
            sim.ends_at = at + behaviour.start_seconds
            sim.exit_code = behaviour.crash_exit_code
            sim.stop_code = "EssentialContainerExited"
            sim.stopped_reason = "Essential container in task exited"
        elif behaviour.healthy:
            sim.running_at = at if running else at + behaviour.start_seconds
            sim.health_checked = sim.health_checked or running  # seeded serving: its wait is long over
            self._serve_fleet(sim)
        self._tasks[task.task_arn] = sim
        if self.elb is not None and service.load_balancers:
            self.elb.track(
                task,
                service.load_balancers,
                sim.running_at,
                lambda: sim.ends_at,
                settled=running and sim.ends_at is None,
            )

    def _serving(self, sim: SimTask, at: float, *, counted: bool = True) -> bool:
        """A task serves once it runs; behind a load balancer, once it is healthy in its target groups (Amazon ECS
        Developer Guide, "Deploy Amazon ECS services by replacing tasks": with a load balancer, a new task counts
        once it passes the load balancer's health checks). ``counted``: without a health check of any kind, only
        40 s after it runs does it count toward the minimum healthy percent (``NO_HEALTH_CHECK_SECONDS``)."""
        if self.elb is not None and self.elb.has_targets(sim.task.task_arn):
            return self.elb.is_healthy(sim.task.task_arn, at)
        if sim.state(at) != ("RUNNING", "RUNNING") or sim.running_at is None:
            return False
        return not counted or sim.health_checked or at >= sim.running_at + NO_HEALTH_CHECK_SECONDS

    def _count_failures(
        self, primary: dict[str, Any], mine: list[SimTask], at: float, behaviour: ServiceBehaviour
    ) -> None:
        """failedTasks and the circuit breaker (Deployment.failedTasks and "How the Amazon ECS deployment circuit
        breaker detects failures", Amazon ECS docs): a task that stops before RUNNING is a failure; once a task
        runs the count resets to zero and stops being evaluated; at max(3, min(200, 0.5 x desired)) failures an
        IN_PROGRESS deployment with the breaker on is FAILED. Behind a load balancer a task must also turn
        healthy: one that stops before it does is a failure, and a healthy one resets the count
        (DeploymentCircuitBreaker resetOnHealthyTask, true by default)."""
        if any(self._serving(sim, at, counted=False) for sim in mine):
            self._deployment_failures[primary["id"]] = -1  # no longer evaluated
        if self._deployment_failures.get(primary["id"], 0) < 0:
            primary["failedTasks"] = 0
            return
        failed = sum(1 for sim in mine if self._failed(sim, at))
        primary["failedTasks"] = self._deployment_failures[primary["id"]] = failed
        if (
            behaviour.circuit_breaker
            and primary["rolloutState"] == "IN_PROGRESS"
            and failed >= circuit_breaker_threshold(primary["desiredCount"])
        ):
            primary.update(
                rolloutState="FAILED",
                updatedAt=timestamp(at),
                rolloutStateReason=f"ECS deployment circuit breaker: tasks failed to start. ({failed} failed)",
            )

    def _failed(self, sim: SimTask, at: float) -> bool:
        """The task stopped by itself before serving: before RUNNING, or behind a load balancer before healthy."""
        if sim.ends_at is None or at < sim.ends_at or sim.stop_requested_at is not None:
            return False
        if self.elb is not None and self.elb.has_targets(sim.task.task_arn):
            return not self.elb.was_ever_healthy(sim.task.task_arn)
        return sim.running_at is None

    # -- the moto methods patched (emulator/ecs/simulator.py _PATCHES), each given moto's original first --------
    def _create_service(self, original: Any, backend: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Service:
        """CreateService starts the service's first deployment (PRIMARY, in the shape ECS reports) and its tasks."""
        service = original(backend, *args, **kwargs)
        with self._lock:
            service.deployments[:] = []  # ours, in the shape ECS reports
            self._new_deployment(service, self.clock.now())
            self._reconcile(backend, service, initial=True)
        self.tick()
        return service

    def _update_service(
        self, original: Any, backend: EC2ContainerServiceBackend, properties: dict[str, Any]
    ) -> Service:
        """UpdateService refuses what ECS refuses (emulator/ecs/requests.py) and starts a new deployment when the task
        definition changes or forceNewDeployment is given; a desired count alone moves the primary's (UpdateService)."""
        at = self.clock.now()
        new_definition, forced = properties.get("task_definition"), properties.get("force_new_deployment")
        requests.check_update_service(backend, properties)
        service = original(backend, properties)
        with self._lock:
            if new_definition:  # moto keeps the string as given; ECS reports the ARN
                service.task_definition = backend.describe_task_definition(new_definition).arn
            if forced or (new_definition and service.task_definition != service.deployments[0]["taskDefinition"]):
                self._new_deployment(service, at)
            self._reconcile(backend, service)
            self.call_log.append(
                (at, "UpdateService", {"service": service.name, "desired_count": service.desired_count})
            )
        self.tick()
        return service

    def _create_service_response(self, original: Any, response: EC2ContainerServiceResponse) -> ActionResult:
        """CreateService checks the placement (emulator/ecs/requests.py) and keeps the capacity provider strategy,
        the deployment configuration and the Fargate platform version as DescribeServices reports them."""
        # moto drops capacityProviderStrategy and calls every such service EC2: keep it as ECS reports it
        # (DescribeServices: a strategy and no launchType; the cluster's default when neither is given).
        launch_type, strategy = response._get_param("launchType"), response._get_param("capacityProviderStrategy")
        cluster = response.ecs_backend._get_cluster(response._get_param("cluster", "default"))
        check_placement(launch_type, strategy, cluster)
        if self.elb is not None and response._get_param("loadBalancers"):
            definition = response.ecs_backend.describe_task_definition(response._get_param("taskDefinition"))
            self.elb.check_service(definition.network_mode or "bridge", response._get_param("loadBalancers"))
        if not launch_type and not strategy:
            strategy = cluster.default_capacity_provider_strategy or None
        result = original(response)
        service = result.result["service"]
        # moto drops deploymentConfiguration; ECS reports it, by default 100/200 for a rolling update
        # (DeploymentConfiguration, Amazon ECS API Reference): the rollout below follows these defaults.
        service.deployment_configuration = {
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
            **(response._get_param("deploymentConfiguration") or {}),
        }
        if strategy:
            self._use_strategy(service, strategy)
        elif service.launch_type == "FARGATE" and not service.platform_version:
            service.platform_version = "LATEST"  # what DescribeServices shows for a Fargate service by default
            for deployment in service.deployments:
                deployment["platformVersion"] = "LATEST"
        return result
