"""The simulated ECS timeline every benchmark migration follows, and the services it migrates.

Each migration gets its own pair of services (Fleet and its vulnerability processing, 2 + 1 tasks,
an autoscaling target 2..10 on the first), so several can run at once without sharing anything.
With ``jitter``, the drain and the migration task last up to ``jitter_seconds`` longer, drawn
at random per migration: the polls then land at random moments of each wait, as they do on AWS,
instead of every run repeating the same phase.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

from emulator import Emulator, FleetDeployment

ORIGINAL_COUNT = 2  # the Fleet service's desired count before the migration
VULN_COUNT = 1
AUTOSCALING = (2, 10)


@dataclass(frozen=True)
class Timeline:
    drain_seconds: float = 2.0  # a service task takes this long to stop
    task_start_seconds: float = 1.0  # the migration task: PENDING for this long ...
    task_run_seconds: float = 3.0  # ... then RUNNING for this long, then exits 0
    service_start_seconds: float = 2.0  # a new service task takes this long to reach RUNNING
    jitter_seconds: float = 0.0  # up to this much longer drain and task run, at random per migration

    def describe(self) -> str:
        text = (
            f"drain {self.drain_seconds:g} s, migration task {self.task_start_seconds:g} s to start + "
            f"{self.task_run_seconds:g} s to run, service tasks {self.service_start_seconds:g} s to start"
        )
        if self.jitter_seconds:
            text += f"; drain and task run each + U(0, {self.jitter_seconds:g}) s per migration"
        return text


@dataclass(frozen=True)
class Lane:
    """One migration's services and the timings drawn for it."""

    service: str
    vuln_service: str
    drain_seconds: float
    service_start_seconds: float
    task: dict[str, Any]  # TaskOutcome fields for Emulator.next_migration


def quiet() -> None:
    for noisy in ("moto", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)


def start_emulator(*, server: bool = True) -> Emulator:
    quiet()
    return Emulator(speed=1.0, server=server, lambda_log_level="ERROR")


def add_services(aws: Emulator, fleet: FleetDeployment, suffix: str) -> tuple[str, str]:
    """A Fleet service and its vulnerability service, shaped like the seeded ones, in the seeded cluster."""
    ecs, scaling = aws.client("ecs"), aws.client("application-autoscaling")
    network = {
        "awsvpcConfiguration": {
            "subnets": fleet.subnets,
            "securityGroups": fleet.security_groups,
            "assignPublicIp": "DISABLED",
        }
    }
    definition = f"{fleet.task_definition}:{fleet.latest_revision}"
    service, vuln = f"fleet-{suffix}", f"fleet-vuln-processing-{suffix}"
    for name, count in ((service, ORIGINAL_COUNT), (vuln, VULN_COUNT)):
        ecs.create_service(
            cluster=fleet.cluster,
            serviceName=name,
            taskDefinition=definition,
            desiredCount=count,
            launchType="FARGATE",
            networkConfiguration=network,
        )
    scaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{fleet.cluster}/{service}",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=AUTOSCALING[0],
        MaxCapacity=AUTOSCALING[1],
    )
    return service, vuln


def lane(aws: Emulator, fleet: FleetDeployment, suffix: str, timeline: Timeline, rng: random.Random) -> Lane:
    """New services for one migration, with this migration's timings set on the simulator."""
    service, vuln = add_services(aws, fleet, suffix)
    drain = timeline.drain_seconds + rng.uniform(0, timeline.jitter_seconds)
    for name in (service, vuln):
        behaviour = aws.service_behaviour(name)
        behaviour.stop_seconds, behaviour.start_seconds = drain, timeline.service_start_seconds
    task = {
        "exit_code": 0,
        "start_seconds": timeline.task_start_seconds,
        "run_seconds": timeline.task_run_seconds + rng.uniform(0, timeline.jitter_seconds),
    }
    return Lane(service, vuln, drain, timeline.service_start_seconds, task)
