"""The outage a Fleet user sees, on Fleet's real timeline: from the first request that does not reach Fleet to the
first that does again.

Each row runs on its own emulator, seeded the way Fleet's Terraform makes a deployment (2 Fleet tasks behind an
Application Load Balancer whose target group checks health 5 x 15 s and keeps ELB's 300 s deregistration delay,
1 vulnerability-processing task, an Aurora cluster), with AWS's timings: Fargate tasks take about 40 s to start, a
service task stops ``stop_seconds`` after its drain, the migration runs 60 s. The emulator's clock runs ``speed``
times faster than real time, so a ten-minute migration takes seconds. A client (bench/timeline.py ``Probe``) asks
the load balancer's listener for Fleet every 0.25 s of emulated time: the outage is the time it got anything else
(the maintenance page, or the load balancer's 503 with no healthy target). The work ECS and the load balancer do
whoever orchestrates, with the settings the run had in force (Fleet's drain at the deregistration delay then, the
migration task's start and run, the new tasks' start and health checks at the checks then), comes from the ECS
simulator's moments and the group's health history; what is left is the orchestration's.

Compressing time has one cost: every real millisecond a step takes counts ``speed`` emulated milliseconds, so
the orchestration's latency (Lambda calls, state transitions) weighs ``speed`` times what it would on AWS.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import addon
from bench.runner import wait as wait_execution
from bench.scenario import quiet
from bench.table import render
from bench.timeline import FLEET, Phases, Probe, describe_settings, phases, record
from emulator import FLEET_TARGET_GROUP, Emulator, FleetDeployment
from emulator.fleet import image_for_revision

TARGET_SHARE_OF_ADDON = 0.30  # a new image's outage, at most this share of the addon's
TARGET_ADDED_SECONDS = 3.0  # and at most this much beyond ECS's and the load balancer's own work
TARGET_SNAPSHOT_SECONDS = 5.0  # a 120 s snapshot adds at most this much outage
TARGET_PAGE_SECONDS = 3.0  # the maintenance page adds at most this much
DEFAULT_SPEED = 30.0  # about three minutes for the five rows
SNAPSHOT_SECONDS = 120.0  # how long the snapshot rows' RDS takes to copy
ADDON = "Fleet's addon v2.3.0 (model, run on the emulator; snapshot by hand before)"
# botocore's rds waiter db-cluster-snapshot-available (data/rds/2014-10-31/waiters-2.json): every 30 s, 60 looks
SNAPSHOT_AVAILABLE = addon.Waiter("db-cluster-snapshot-available", delay=30, max_attempts=60)


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
    slug: str
    outage: float  # seconds a client got no answer from Fleet (the page or a 503)
    no_target: float  # seconds the group had no healthy target
    work: float  # ECS's and the load balancer's own: drain, task start + run, new tasks' start + checks
    settings: str  # the deregistration delay and health checks that work ran with
    drain_to_run_task: float | None  # last Fleet task stopped -> RunTask
    task_to_scale_up: float | None  # migration task stopped -> scale-up UpdateService
    tasks_stopped: int  # Fleet and vulnerability tasks stopped
    result: str  # the execution's status, or the script's exit code
    real_seconds: float
    timeline: dict[str, Any] = field(default_factory=dict)  # bench/timeline.py record, drawn by bench/svg.py

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


Run = Callable[[Emulator, FleetDeployment], tuple[str, tuple[float, float] | None]]


def measure(
    name: str,
    slug: str,
    *,
    speed: float,
    timeline: FleetTimeline,
    same_image: bool = False,
    snapshot_seconds: float | None = None,
    run: Run,
) -> Outage:
    began = time.monotonic()
    with Emulator(speed=speed, lambda_log_level="ERROR", target_group=FLEET_TARGET_GROUP) as aws:
        fleet = aws.seed_fleet(revisions=2, databases=True, images={2: image_for_revision(1)} if same_image else None)
        for service in (fleet.service, fleet.vuln_service):
            behaviour = aws.service_behaviour(service)
            behaviour.start_seconds, behaviour.stop_seconds = timeline.task_start_seconds, timeline.stop_seconds
        aws.next_migration(
            exit_code=0, start_seconds=timeline.task_start_seconds, run_seconds=timeline.task_run_seconds
        )
        if snapshot_seconds is not None:
            aws.next_snapshot(creating_seconds=snapshot_seconds)
        group = fleet.target_group_arn or ""
        started = aws.clock.now()
        probe = Probe(aws, fleet.listener_arn or "", group).start()
        try:
            result, workflow = run(aws, fleet)
            deadline = time.monotonic() + 3600 / speed + 30  # the workflow's or the script's end, then Fleet serves
            while aws.elb.healthy_count(group) == 0 or probe.answers[-1][1] != FLEET:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name}: Fleet did not answer an hour after the migration")
                aws.clock.sleep(1)
        finally:
            probe.stop()
        found = phases(aws, fleet, started, snapshot_seconds)
        ended = aws.clock.now()
        history = aws.elb.healthy_history(group)
        row = _read(name, slug, aws, fleet, started, history, probe, found, result, time.monotonic() - began)
        row.timeline = record(
            name=name,
            slug=slug,
            started=started,
            ended=ended,
            probe=probe,
            found=found,
            history=history,
            workflow=workflow,
        )
        return row


def _read(
    name: str,
    slug: str,
    aws: Emulator,
    fleet: FleetDeployment,
    started: float,
    history: list[tuple[float, int]],
    probe: Probe,
    found: Phases,
    result: str,
    real_seconds: float,
) -> Outage:
    now = aws.clock.now()
    services = (fleet.service, fleet.vuln_service)
    stopped = [
        m
        for m in aws.ecs_sim.task_moments()
        if m["service"] in services and m["created"] < started and m["stopped_at"] is not None
    ]
    window = probe.outage(history)
    outage = 0.0 if window is None else window[1] - window[0]
    no_target = outage_seconds(history, started, now)
    down, up = found.scale_down, found.scale_up
    if down is None or found.run_task is None or found.task_stopped is None or up is None or found.healthy is None:
        settings = describe_settings(probe.settings_at(started))
        return Outage(name, slug, outage, no_target, 0.0, settings, None, None, len(stopped), result, real_seconds)
    # what the drained targets froze at deregistration, and what the new targets were checked with
    delay = probe.settings_at((down + found.drained) / 2 if found.drained is not None else down)[0]
    _, checks, interval = probe.settings_at((up + found.healthy) / 2)
    settings = describe_settings((delay, checks, interval))
    fleet_drain = max(m["stopped_at"] for m in stopped if m["service"] == fleet.service) - down
    drained = max(m["stopped_at"] for m in stopped)
    work = work_seconds(fleet_drain, found.task_stopped - found.run_task, found.healthy - up)
    return Outage(
        name,
        slug,
        outage,
        no_target,
        work,
        settings,
        found.run_task - drained,
        up - found.task_stopped,
        len(stopped),
        result,
        real_seconds,
    )


def ours(**overrides: Any) -> Run:
    def run(aws: Emulator, fleet: FleetDeployment) -> tuple[str, tuple[float, float] | None]:
        document = fleet.migration_input(**overrides)
        if document.pop("db_cluster_identifier", None) is not None:
            document["db_cluster_identifier"] = fleet.db_cluster
        name = "outage-" + "-".join(sorted(overrides)).replace("_", "-") if overrides else "outage"
        arn = aws.start(document, name[:80])
        execution = wait_execution(aws, arn, timeout=3600 / aws.clock.speed + 60)
        # the history's timestamps are wall-clock times: onto the emulator's clock, which runs ``speed`` times faster
        wall, now = time.time(), aws.clock.now()

        def on_clock(event: dict[str, Any]) -> float:
            return now - (wall - event["timestamp"].timestamp()) * aws.clock.speed

        span = (on_clock(execution.events[0]), on_clock(execution.events[-1])) if execution.events else None
        return execution.status + (" (skipped)" if (execution.output or {}).get("skipped") else ""), span

    return run


def fleets_addon(aws: Emulator, fleet: FleetDeployment) -> tuple[str, tuple[float, float] | None]:
    """The addon has no recovery point of its own: its operator takes the snapshot by hand first, while Fleet
    still serves (``aws rds create-db-cluster-snapshot``, then ``aws rds wait db-cluster-snapshot-available``),
    and then applies. The snapshot costs no outage but is older than the drain: writes in between are not in it."""
    rds = aws.client("rds")
    identifier = "fleet-before-migration"
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier=identifier, DBClusterIdentifier=fleet.db_cluster)

    def available() -> bool:
        found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=identifier)["DBClusterSnapshots"]
        return bool(found) and found[0]["Status"] == "available"

    SNAPSHOT_AVAILABLE.wait(aws.clock.sleep, available)
    began = aws.clock.now()
    low, high = fleet.autoscaling or (0, 0)
    code = addon.migrate(aws, fleet, min_capacity=low, max_capacity=high, desired_count=2)
    return f"exit {code}", (began, aws.clock.now())


ROWS: list[tuple[str, str, dict[str, Any]]] = [
    ("ours, defaults", "defaults", {"run": ours()}),
    (
        f"ours, defaults + a {SNAPSHOT_SECONDS:g} s snapshot (db_cluster_identifier)",
        "snapshot",
        {"run": ours(db_cluster_identifier=True), "snapshot_seconds": SNAPSHOT_SECONDS},
    ),
    ("ours, defaults + maintenance_page", "page", {"run": ours(maintenance_page=True)}),
    (ADDON, "addon", {"run": fleets_addon, "snapshot_seconds": SNAPSHOT_SECONDS}),
    ("ours, configuration-only revision (same image)", "config-only", {"run": ours(), "same_image": True}),
]


def measure_all(*, speed: float = DEFAULT_SPEED, timeline: FleetTimeline = FleetTimeline()) -> list[Outage]:
    quiet()
    rows = [measure(name, slug, speed=speed, timeline=timeline, **options) for name, slug, options in ROWS]
    axis = math.ceil(max(r.timeline["end"] for r in rows) / 60) * 60  # one time axis for every picture
    for r in rows:
        r.timeline["axis"] = axis
    return rows


def report(rows: list[Outage], *, speed: float, timeline: FleetTimeline, markdown: bool = False) -> str:
    headers = [
        "",
        "outage a client sees (s)",
        "no healthy target (s)",
        "ECS + LB work (s)",
        "with",
        "orchestration: outage − work (s)",
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
            f"{r.no_target:.1f}",
            f"{r.work:.1f}",
            r.settings,
            f"{r.added:.1f}",
            maybe(r.drain_to_run_task),
            maybe(r.task_to_scale_up),
            r.tasks_stopped,
        ]
        for r in rows
    ]
    notes = [
        f"Fleet's timeline: {timeline.describe()}; emulator clock {speed:g} x real time "
        f"(each real ms of a step counts {speed:g} ms here). Outage: from the first request that did not reach "
        "Fleet to the first that did again (a request every 0.25 s). ECS + LB work: Fleet's drain at the "
        "deregistration delay in force, the migration task's start and run, the new tasks' start and health "
        "checks at the checks in force (column 'with').",
        f"{ADDON}: migrate.sh's commands in its order, its waits on the emulator's clock (each service in turn: "
        f"services-stable every {addon.SERVICES_STABLE.delay:g} s, tasks-stopped every "
        f"{addon.TASKS_STOPPED.delay:g} s; the task looked at every {addon.TASK_POLL_SECONDS:g} s); before it, the "
        f"operator's snapshot by hand while Fleet serves (create-db-cluster-snapshot, then "
        f"wait db-cluster-snapshot-available, every {SNAPSHOT_AVAILABLE.delay:g} s).",
        "Results: " + ", ".join(f"{r.result} ({r.real_seconds:.0f} s real)" for r in rows) + ".",
    ]
    return render(
        "Fleet's outage on its real timeline, as a client of the load balancer sees it",
        headers,
        body,
        markdown=markdown,
        notes=notes,
    )


def targets(rows: list[Outage]) -> list[list[str]]:
    """(target, measured, goal, met) for the Targets table."""
    by = {r.slug: r for r in rows}
    default, snapshot, page, fleets, unchanged = (
        by[s] for s in ("defaults", "snapshot", "page", "addon", "config-only")
    )
    share = default.outage / fleets.outage if fleets.outage else float("inf")
    return [
        ["outage, configuration-only revision", f"{unchanged.outage:.1f} s", "0 s", _met(unchanged.outage == 0)],
        [
            "outage, new image on Fleet's timeline, vs the addon's",
            f"{share:.0%} ({default.outage:.0f} s / {fleets.outage:.0f} s)",
            f"≤ {TARGET_SHARE_OF_ADDON:.0%}",
            _met(share <= TARGET_SHARE_OF_ADDON),
        ],
        [
            "outage beyond ECS + LB work, new image",
            f"{default.added:.1f} s",
            f"≤ {TARGET_ADDED_SECONDS:g} s",
            _met(default.added <= TARGET_ADDED_SECONDS),
        ],
        [
            f"outage added by a {SNAPSHOT_SECONDS:g} s snapshot",
            f"{snapshot.outage - default.outage:.1f} s",
            f"≤ {TARGET_SNAPSHOT_SECONDS:g} s",
            _met(snapshot.outage - default.outage <= TARGET_SNAPSHOT_SECONDS),
        ],
        [
            "outage added by the maintenance page",
            f"{page.outage - default.outage:.1f} s",
            f"≤ {TARGET_PAGE_SECONDS:g} s",
            _met(page.outage - default.outage <= TARGET_PAGE_SECONDS),
        ],
    ]


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


__all__ = ["FleetTimeline", "Outage", "measure_all", "outage_seconds", "report", "targets", "work_seconds"]
