"""The outage a Fleet user sees, on Fleet's real timeline: seconds with no healthy target behind the load balancer.

Each row runs on its own emulator, seeded the way Fleet's Terraform makes a deployment (2 Fleet tasks behind an
Application Load Balancer whose target group checks health 5 x 15 s and keeps ELB's 300 s deregistration delay,
1 vulnerability-processing task), with AWS's timings: Fargate tasks take about 40 s to start, a service task
stops ``stop_seconds`` after its drain, the migration runs 60 s. The emulator's clock runs ``speed`` times faster
than real time, so a ten-minute migration takes seconds. The outage is read from the target group's health
history (``ElbSimulator.healthy_history``); the work ECS and the load balancer do whoever orchestrates (the drain
as the group's delay makes it, the migration task's start and run, the new tasks' start and health checks) from
the ECS simulator's moments; what is left is the orchestration's.

Compressing time has one cost: every real millisecond a step takes counts ``speed`` emulated milliseconds, so
the orchestration's latency (Lambda calls, state transitions) weighs ``speed`` times what it would on AWS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import addon
from bench.runner import wait as wait_execution
from bench.scenario import quiet
from bench.table import render
from emulator import FLEET_TARGET_GROUP, Emulator, FleetDeployment
from emulator.fleet import image_for_revision

TARGET_SHARE_OF_ADDON = 0.45  # a new image's outage, at most this share of the addon's
TARGET_ADDED_SECONDS = 3.0  # and at most this much beyond ECS's and the load balancer's own work
DEFAULT_SPEED = 30.0  # under a minute for the four rows
ADDON = "Fleet's addon v2.3.0 (model, run on the emulator)"


@dataclass(frozen=True)
class FleetTimeline:
    task_start_seconds: float = 40.0  # Fargate: image pull and start, for the migration task and Fleet's
    task_run_seconds: float = 60.0  # fleet prepare db
    stop_seconds: float = 2.0  # a Fleet task's exit once its drain is over (SIGTERM)
    deregistration_delay: int = FLEET_TARGET_GROUP.deregistration_delay
    health_checks: tuple[int, int] = (FLEET_TARGET_GROUP.healthy_threshold, FLEET_TARGET_GROUP.interval)

    def describe(self) -> str:
        checks, interval = self.health_checks
        return (
            f"deregistration delay {self.deregistration_delay} s, tasks {self.task_start_seconds:g} s to start "
            f"and {self.stop_seconds:g} s to stop after their drain, migration {self.task_run_seconds:g} s, "
            f"health check {checks} x {interval} s"
        )


@dataclass
class Outage:
    name: str
    outage: float  # seconds with no healthy target
    work: float  # of which ECS's and the load balancer's own: drain, task start + run, new tasks' start + checks
    drain_to_run_task: float | None  # last service task stopped -> RunTask
    task_to_scale_up: float | None  # migration task stopped -> scale-up UpdateService
    tasks_stopped: int  # Fleet and vulnerability tasks stopped
    result: str  # the execution's status, or the script's exit code
    real_seconds: float

    @property
    def added(self) -> float:
        return self.outage - self.work


def outage_seconds(history: Sequence[tuple[float, int]], since: float, until: float) -> float:
    """Seconds between ``since`` and ``until`` with no healthy target, from a history of (moment, healthy targets
    from then on) in time order (before its first moment there were none)."""
    total = 0.0
    moments = [since] + [moment for moment, _ in history] + [until]
    counts = [0] + [count for _, count in history]
    for start, end, count in zip(moments[:-1], moments[1:], counts, strict=True):
        if count == 0:
            total += max(0.0, min(end, until) - max(start, since))
    return total


def work_seconds(fleet_drain: float, task: float, back: float) -> float:
    """ECS's and the load balancer's part: Fleet's drain, the migration task from RunTask to STOPPED, and the new
    tasks' start and health checks (scale-up call to healthy)."""
    return fleet_drain + task + back


def measure(
    name: str,
    *,
    speed: float,
    timeline: FleetTimeline,
    same_image: bool = False,
    run: Callable[[Emulator, FleetDeployment], str],
) -> Outage:
    began = time.monotonic()
    with Emulator(speed=speed, lambda_log_level="ERROR", target_group=FLEET_TARGET_GROUP) as aws:
        fleet = aws.seed_fleet(revisions=2, images={2: image_for_revision(1)} if same_image else None)
        for service in (fleet.service, fleet.vuln_service):
            behaviour = aws.service_behaviour(service)
            behaviour.start_seconds, behaviour.stop_seconds = timeline.task_start_seconds, timeline.stop_seconds
        aws.next_migration(
            exit_code=0, start_seconds=timeline.task_start_seconds, run_seconds=timeline.task_run_seconds
        )
        started = aws.clock.now()
        result = run(aws, fleet)
        group = fleet.target_group_arn
        deadline = time.monotonic() + 3600 / speed + 30  # the workflow's or the script's end, then Fleet healthy
        while aws.elb.healthy_count(group) == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: Fleet had no healthy target an hour after the migration")
            aws.clock.sleep(1)
        history = aws.elb.healthy_history(group)
        return _read(name, aws, fleet, started, history, result, time.monotonic() - began)


def _read(
    name: str,
    aws: Emulator,
    fleet: FleetDeployment,
    started: float,
    history: list[tuple[float, int]],
    result: str,
    real_seconds: float,
) -> Outage:
    now = aws.clock.now()
    log = [entry for entry in aws.ecs_sim.call_log if entry[0] >= started]
    moments = aws.ecs_sim.task_moments()
    services = (fleet.service, fleet.vuln_service)
    stopped = [
        m for m in moments if m["service"] in services and m["created"] < started and m["stopped_at"] is not None
    ]
    outage = outage_seconds(history, started, now)
    downs = [
        at
        for at, call, d in log
        if call == "UpdateService" and d["service"] == fleet.service and d["desired_count"] == 0
    ]
    runs = [(at, d["task_arn"]) for at, call, d in log if call == "RunTask"]
    if not downs or not runs:
        return Outage(name, outage, 0.0, None, None, len(stopped), result, real_seconds)
    down, (run_task, task_arn) = downs[0], runs[0]
    task = next(m for m in moments if m["task_arn"] == task_arn)
    up = min(
        at
        for at, call, d in log
        if call == "UpdateService" and d["service"] == fleet.service and d["desired_count"] > 0 and at > run_task
    )
    back = min(at for at, count in history if count > 0 and at > up)
    fleet_drain = max(m["stopped_at"] for m in stopped if m["service"] == fleet.service) - down
    drained = max(m["stopped_at"] for m in stopped)
    work = work_seconds(fleet_drain, task["stopped_at"] - run_task, back - up)
    return Outage(name, outage, work, run_task - drained, up - task["stopped_at"], len(stopped), result, real_seconds)


def ours(**overrides: Any) -> Callable[[Emulator, FleetDeployment], str]:
    def run(aws: Emulator, fleet: FleetDeployment) -> str:
        name = (
            "outage-" + "-".join(f"{k}-{v}".replace("_", "-") for k, v in overrides.items()) if overrides else "outage"
        )
        arn = aws.start(fleet.migration_input(**overrides), name[:80])
        execution = wait_execution(aws, arn, timeout=3600 / aws.clock.speed + 60)
        return execution.status + (" (skipped)" if (execution.output or {}).get("skipped") else "")

    return run


def fleets_addon(aws: Emulator, fleet: FleetDeployment) -> str:
    low, high = fleet.autoscaling or (0, 0)
    code = addon.migrate(aws, fleet, min_capacity=low, max_capacity=high, desired_count=2)
    return f"exit {code}"


def measure_all(*, speed: float = DEFAULT_SPEED, timeline: FleetTimeline = FleetTimeline()) -> list[Outage]:
    quiet()
    rows = [
        ("ours, defaults (deregistration delay lowered to 5 s)", False, ours()),
        (
            "ours, deregistration_delay_seconds: null (the group's 300 s)",
            False,
            ours(deregistration_delay_seconds=None),
        ),
        (ADDON, False, fleets_addon),
        ("ours, configuration-only revision (same image)", True, ours()),
    ]
    return [measure(name, speed=speed, timeline=timeline, same_image=same, run=run) for name, same, run in rows]


def report(rows: list[Outage], *, speed: float, timeline: FleetTimeline, markdown: bool = False) -> str:
    headers = [
        "",
        "outage (s)",
        "ECS + LB work (s)",
        "outage − work (s)",
        "last task stopped → RunTask",
        "task stopped → scale-up",
        "tasks stopped",
    ]

    def maybe(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    body = [
        [
            r.name,
            f"{r.outage:.1f}",
            f"{r.work:.1f}",
            f"{r.added:.1f}",
            maybe(r.drain_to_run_task),
            maybe(r.task_to_scale_up),
            r.tasks_stopped,
        ]
        for r in rows
    ]
    notes = [
        f"Fleet's timeline: {timeline.describe()}; emulator clock {speed:g} x real time "
        f"(each real ms of a step counts {speed:g} ms here). Outage: emulated seconds with no healthy target "
        "(the target group's health history). ECS + LB work: Fleet's drain, the migration task's start and run, "
        "the new tasks' start and health checks, as simulated.",
        f"{ADDON}: migrate.sh's commands in its order, its waits on the emulator's clock (each service in turn: "
        f"services-stable every {addon.SERVICES_STABLE.delay:g} s, tasks-stopped every "
        f"{addon.TASKS_STOPPED.delay:g} s; the task looked at every {addon.TASK_POLL_SECONDS:g} s).",
        "Results: " + ", ".join(f"{r.result} ({r.real_seconds:.0f} s real)" for r in rows) + ".",
    ]
    return render(
        "Fleet's outage on its real timeline (no healthy target behind the load balancer)",
        headers,
        body,
        markdown=markdown,
        notes=notes,
    )


def targets(rows: list[Outage]) -> list[list[str]]:
    """(target, measured, goal, met) for the Targets table."""
    ours_default, _, fleets, unchanged = rows
    share = ours_default.outage / fleets.outage if fleets.outage else float("inf")
    return [
        ["outage, configuration-only revision", f"{unchanged.outage:.1f} s", "0 s", _met(unchanged.outage == 0)],
        [
            "outage, new image on Fleet's timeline, vs the addon's",
            f"{share:.0%} ({ours_default.outage:.0f} s / {fleets.outage:.0f} s)",
            f"≤ {TARGET_SHARE_OF_ADDON:.0%}",
            _met(share <= TARGET_SHARE_OF_ADDON),
        ],
        [
            "outage beyond ECS + LB work, new image",
            f"{ours_default.added:.1f} s",
            f"≤ {TARGET_ADDED_SECONDS:g} s",
            _met(ours_default.added <= TARGET_ADDED_SECONDS),
        ],
    ]


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


__all__ = ["FleetTimeline", "Outage", "measure_all", "outage_seconds", "report", "targets", "work_seconds"]
