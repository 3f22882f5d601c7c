"""Fleet's Terraform addon, modelled: how long its waits keep Fleet down, on our timeline and on the emulator.

fleetdm/fleet-terraform ``addons/migrations/migrate.sh`` (tf-mod-addon-migrations-v2.3.0, unchanged since) runs
one command after another:

    Fleet:  list its RUNNING tasks, lower its autoscaling bounds to 0, scale it to 0,
            ``aws ecs wait services-stable``, then ``aws ecs wait tasks-stopped`` on the tasks it listed
    the vulnerability service: the same, after Fleet's waits returned
    ``aws ecs run-task``, then ``sleep 30`` and ``aws ecs describe-tasks`` until the task is STOPPED
    scale Fleet back up, then services-stable on it, then the vulnerability service

(it skips the services-stable waits for revision 1 only; the benchmark migrates to revision 2). An AWS CLI
waiter looks at once, then every ``delay`` seconds, for at most ``max_attempts`` looks (botocore's
``Waiter.wait``; data/ecs/2014-11-13/waiters-2.json): services-stable every 15 s, 40 looks, for
``length(services[?!(length(deployments) == 1 && runningCount == desiredCount)]) == 0``; tasks-stopped every
6 s, 100 looks, until every task's lastStatus is STOPPED. After a scale-down services-stable succeeds once no
task is RUNNING, which ECS shows as soon as it starts stopping them (the script says as much: "services-stable
only guarantees there are no RUNNING tasks"); tasks-stopped then waits for the drain itself.

``phases`` is the model on paper (its commands taking no time, which favours the addon: each ``aws`` command is
a process start and an HTTPS call); ``migrate`` runs the same sequence against the emulator, its sleeps on the
emulator's clock, so the load balancer's target health shows the outage it causes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator import Emulator, FleetDeployment


@dataclass(frozen=True)
class Waiter:
    name: str
    delay: float
    max_attempts: int

    def returns_after(self, ready_after: float) -> float:
        """Seconds from the wait's start to its return, for a condition true from ``ready_after`` on."""
        look = max(0, math.ceil(ready_after / self.delay))
        if look >= self.max_attempts:
            raise TimeoutError(f"aws ecs wait {self.name} gives up after {self.max_attempts} checks")
        return look * self.delay

    def wait(self, sleep: Callable[[float], None], ready: Callable[[], bool]) -> None:
        """botocore's ``Waiter.wait``: look, and sleep ``delay`` between looks, until ``ready`` or the last look."""
        for look in range(1, self.max_attempts + 1):
            if ready():
                return
            if look < self.max_attempts:
                sleep(self.delay)
        raise TimeoutError(f"aws ecs wait {self.name} gives up after {self.max_attempts} checks")


SERVICES_STABLE = Waiter("services-stable", delay=15, max_attempts=40)
TASKS_STOPPED = Waiter("tasks-stopped", delay=6, max_attempts=100)
TASK_POLL_SECONDS = 30  # migrate.sh: ``sleep 30`` before each describe-tasks of the migration task
TASK_TIMEOUT_SECONDS = 600  # its TIMEOUT_SECONDS default


def task_wait_returns_after(ready_after: float) -> float:
    """The migration task's loop: it looks 30 s after run-task, then every 30 s."""
    return max(1, math.ceil(ready_after / TASK_POLL_SECONDS)) * TASK_POLL_SECONDS


def phases(drain: float, task_start: float, task_run: float, service_start: float) -> dict[str, float]:
    """The addon's added seconds per phase (downtime.PHASES' keys) and in total, and its time below the count,
    for two services that each take ``drain`` to stop."""
    fleet_stopped = SERVICES_STABLE.returns_after(0) + TASKS_STOPPED.returns_after(drain)
    vuln_stopped = SERVICES_STABLE.returns_after(0) + TASKS_STOPPED.returns_after(drain)  # it starts only then
    task_stopped = task_wait_returns_after(task_start + task_run)
    below = fleet_stopped + vuln_stopped + task_stopped + service_start
    added = {
        "drain": fleet_stopped,  # the vulnerability service drains only after Fleet's waits
        "drain_detection": vuln_stopped - drain,
        "task": 0.0,
        "task_detection": task_stopped - task_start - task_run,
        "scale_up": 0.0,
    }
    added["total"] = below - (drain + task_start + task_run + service_start)
    added["below_count"] = below
    return added


def migrate(aws: Emulator, fleet: FleetDeployment, *, min_capacity: int, max_capacity: int, desired_count: int) -> int:
    """migrate.sh v2.3.0's commands, in its order, against the emulator; its exit code (the task's)."""
    ecs, scaling = aws.client("ecs"), aws.client("application-autoscaling")
    cluster, sleep = fleet.cluster, aws.clock.sleep

    def stable(service: str) -> bool:
        described = ecs.describe_services(cluster=cluster, services=[service])["services"]
        return all(len(s["deployments"]) == 1 and s["runningCount"] == s["desiredCount"] for s in described)

    def stopped(tasks: list[str]) -> Callable[[], bool]:
        return lambda: all(
            t["lastStatus"] == "STOPPED" for t in ecs.describe_tasks(cluster=cluster, tasks=tasks)["tasks"]
        )

    def autoscaling(service: str, low: int, high: int) -> None:
        scaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=f"service/{cluster}/{service}",
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=low,
            MaxCapacity=high,
        )

    def scale_down(service: str, adjust_autoscaling: bool) -> None:
        if adjust_autoscaling:
            autoscaling(service, 0, 0)
        tasks = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING")["taskArns"]
        ecs.update_service(cluster=cluster, service=service, desiredCount=0)
        SERVICES_STABLE.wait(sleep, lambda: stable(service))
        if tasks:
            TASKS_STOPPED.wait(sleep, stopped(tasks))

    def scale_up(service: str, count: int, adjust_autoscaling: bool) -> None:
        ecs.update_service(cluster=cluster, service=service, desiredCount=count)
        if adjust_autoscaling:
            autoscaling(service, min_capacity, max_capacity)
        SERVICES_STABLE.wait(sleep, lambda: stable(service))

    scale_down(fleet.service, True)
    if fleet.vuln_service:
        scale_down(fleet.vuln_service, False)
    task: dict[str, Any] = ecs.run_task(
        cluster=cluster,
        taskDefinition=f"{fleet.task_definition}:{fleet.latest_revision}",
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": fleet.subnets, "securityGroups": fleet.security_groups}
        },
        overrides={"containerOverrides": [{"name": "fleet", "command": ["fleet", "prepare", "db"]}]},
    )["tasks"][0]
    elapsed, status = 0, ""
    while elapsed < TASK_TIMEOUT_SECONDS:
        sleep(TASK_POLL_SECONDS)
        elapsed += TASK_POLL_SECONDS
        task = ecs.describe_tasks(cluster=cluster, tasks=[task["taskArn"]])["tasks"][0]
        status = task["lastStatus"]
        if status == "STOPPED":
            break
    if status != "STOPPED":
        return 1
    scale_up(fleet.service, desired_count, True)
    if fleet.vuln_service:
        scale_up(fleet.vuln_service, 1, False)
    return next(int(c.get("exitCode", 1)) for c in task["containers"] if c["name"] == "fleet")
