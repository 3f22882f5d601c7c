"""Watch the Fleet services while a migration runs: one line whenever what they run or serve changes.

Per service: its desired count, the revision of each task not yet stopped (``2x fleet:2, 1x fleet:3 starting``),
a revision whose tasks exited by themselves lately marked ``crashing``, and, behind the load balancer, how many
targets are healthy; then its autoscaling bounds.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator import Emulator

CRASH_WINDOW_SECONDS = 30.0  # a task that exited by itself this recently makes its revision "crashing"


def revision_of(task_definition_arn: str) -> str:
    """``fleet:3`` of ``arn:aws:ecs:...:task-definition/fleet:3``."""
    return task_definition_arn.rsplit("/", 1)[-1]


@dataclass
class ServiceView:
    """One service as ECS and its load balancer show it now."""

    name: str
    desired: int
    task_definition: str  # the revision the service is on (``fleet:3``)
    tasks: Counter[tuple[str, str]]  # (revision, "" running / "starting" / "stopping") -> how many
    crashing: Counter[str]  # revision -> its tasks that exited by themselves lately
    serving: Counter[str]  # revision -> tasks healthy behind the load balancer
    healthy_targets: int | None  # None: no load balancer
    scaling: str

    def line(self) -> str:
        tasks = (
            ", ".join(
                f"{count}x {revision}{' ' + state if state else ''}"
                for (revision, state), count in sorted(self.tasks.items())
            )
            or "no tasks"
        )
        crashes = "".join(
            f" ({revision} crashing: {exited} exited in {CRASH_WINDOW_SECONDS:.0f}s)"
            for revision, exited in sorted(self.crashing.items())
        )
        health = "" if self.healthy_targets is None else f" | {self.healthy_targets} healthy targets"
        return f"{self.name}: desired {self.desired} | {tasks}{crashes}{health}{self.scaling}"

    @property
    def settled(self) -> bool:
        """Nothing starting, stopping or crashing, every task of one revision, and, behind a load balancer, as
        many healthy targets as the desired count, each of them one of the tasks seen (the clock moves on while
        the view is read)."""
        return (
            not self.crashing
            and all(state == "" for _, state in self.tasks)
            and sum(self.tasks.values()) == self.desired
            and len({r for r, _ in self.tasks}) <= 1
            and (self.healthy_targets is None or self.healthy_targets == sum(self.serving.values()) == self.desired)
        )


def view(aws: Emulator, cluster: str, service: str, target_group: str | None = None) -> ServiceView:
    aws.ecs_sim.tick()
    ecs = aws.client("ecs")
    described = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    arns = aws.ecs_sim.running_tasks(service=service)  # not yet STOPPED, including those still stopping
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    now = aws.clock.now()
    counts: Counter[tuple[str, str]] = Counter()
    serving: Counter[str] = Counter()
    for task in tasks:
        revision = revision_of(task["taskDefinitionArn"])
        if task["desiredStatus"] == "STOPPED" or task["lastStatus"] not in ("PENDING", "RUNNING"):
            state = "stopping"
        elif task["lastStatus"] == "PENDING":
            state = "starting"
        else:
            state = ""
        counts[(revision, state)] += 1
        if target_group and aws.elb.is_healthy(task["taskArn"], now):
            serving[revision] += 1
    crashing: Counter[str] = Counter()
    stopped = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED")["taskArns"]
    for task in ecs.describe_tasks(cluster=cluster, tasks=stopped[-100:])["tasks"] if stopped else []:
        exited = [c.get("exitCode") for c in task.get("containers", []) if c.get("exitCode")]
        if (
            task.get("stopCode") == "EssentialContainerExited"
            and exited
            and now - task["stoppedAt"].timestamp() < CRASH_WINDOW_SECONDS
        ):
            crashing[revision_of(task["taskDefinitionArn"])] += 1
    state = aws.service_state(cluster, service)
    scaling = ""
    if "min_capacity" in state:
        held = " suspended" if any(state["suspended"].values()) else ""
        scaling = f" | autoscaling {state['min_capacity']}..{state['max_capacity']}{held}"
    return ServiceView(
        name=service,
        desired=described["desiredCount"],
        task_definition=revision_of(described["taskDefinition"]),
        tasks=counts,
        crashing=crashing,
        serving=serving,
        healthy_targets=aws.elb.healthy_count(target_group) if target_group else None,
        scaling=scaling,
    )


def services_line(aws: Emulator, cluster: str, services: dict[str, str | None]) -> str:
    """``services``: service name -> its target group ARN (None: not behind a load balancer)."""
    return " || ".join(view(aws, cluster, name, group).line() for name, group in services.items())


class ServiceWatcher:
    """Samples the services every 0.2 s on a thread and reports each change through ``emit``."""

    def __init__(
        self, aws: Emulator, cluster: str, services: dict[str, str | None], emit: Callable[[str], None]
    ) -> None:
        self._aws, self._cluster, self._services, self._emit = aws, cluster, services, emit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._last = ""

    def __enter__(self) -> ServiceWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            line = services_line(self._aws, self._cluster, self._services)
            if line != self._last:
                self._last = line
                self._emit(line)
            time.sleep(0.2)
