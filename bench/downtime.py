"""The downtime the orchestration adds: time below the service's count beyond what ECS itself takes.

The service is down from the scale-down's UpdateService until its running count is back to the
original. Of that, ECS takes the drain, the migration task's start and run, and the new tasks'
start (all simulated, so known exactly); the rest is the orchestration's, split into phases at
moments read from the ECS simulator (``call_log``, ``task_moments``):

    scale-down UpdateService ─ drain ─► last task STOPPED ─ drain detection ─► RunTask
    ─ task start + run ─► task STOPPED ─ task-stop detection ─► scale-up UpdateService
    ─ service start ─► running count back ─ (stable detection, not downtime) ─► execution closed

Beside it, the same phases for Fleet's addon (``addon``), modelled on each migration's own timeline.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench import addon
from bench.runner import Migration, label
from bench.scenario import ORIGINAL_COUNT
from bench.table import render
from emulator import Emulator
from fleet_migration import polling

# (key, label); the waiting phases are the ones polling decides
PHASES = [
    ("drain", "scale-down call → last task stopped, beyond the drain"),
    ("drain_detection", "drain detection: last task stopped → RunTask"),
    ("task", "RunTask → task stopped, beyond its start + run"),
    ("task_detection", "task-stop detection: task stopped → scale-up call"),
    ("scale_up", "scale-up call → count back, beyond the tasks' start"),
]
WAITING_PHASES = ("drain_detection", "task_detection")
DEFAULT_TOTAL_TARGET = 6.0  # seconds added in total at default settings (issue 11, point 12)
ADDON = "Fleet's addon (model)"


@dataclass
class Downtime:
    interval: int | None  # None: poll_interval_seconds left at its default
    added: dict[str, float]  # per phase key, plus "total"
    below_count: float  # seconds the service ran fewer tasks than before
    simulated: float  # of which ECS's own (drain, task start and run, service start)
    stable_detection: float  # count back → execution closed (the caller still waits; the service is up)
    addon: dict[str, float]  # the addon's phases, "total" and "below_count" on the same timeline


def measure(aws: Emulator, migration: Migration) -> Downtime:
    service, vuln = migration.lane.service, migration.lane.vuln_service
    log = list(aws.ecs_sim.call_log)
    moments = {m["task_arn"]: m for m in aws.ecs_sim.task_moments()}
    updates = [(at, d["desired_count"]) for at, call, d in log if call == "UpdateService" and d["service"] == service]
    down = min(at for at, count in updates if count < ORIGINAL_COUNT)
    task_arn = migration.run.output["task_arn"]
    run_task = next(at for at, call, d in log if call == "RunTask" and d["task_arn"] == task_arn)
    up = min(at for at, count in updates if count >= ORIGINAL_COUNT and at > run_task)
    drained = max(
        m["stopped_at"]
        for m in moments.values()
        if m["service"] in (service, vuln) and m["created"] < down and m["stopped_at"] is not None
    )
    task = moments[task_arn]
    task_start, task_run = task["running_at"] - task["created"], task["stopped_at"] - task["running_at"]
    started = sorted(
        m["running_at"]
        for m in moments.values()
        if m["service"] == service and m["created"] >= up and m["running_at"] is not None
    )
    back = started[ORIGINAL_COUNT - 1]
    closed = migration.run.events[-1]["timestamp"].timestamp()
    lane = migration.lane
    added = {
        "drain": drained - down - lane.drain_seconds,
        "drain_detection": run_task - drained,
        "task": task["stopped_at"] - run_task - task_start - task_run,
        "task_detection": up - task["stopped_at"],
        "scale_up": back - up - lane.service_start_seconds,
    }
    simulated = lane.drain_seconds + task_start + task_run + lane.service_start_seconds
    added["total"] = back - down - simulated
    modelled = addon.phases(lane.drain_seconds, task_start, task_run, lane.service_start_seconds)
    return Downtime(migration.interval, added, back - down, simulated, closed - back, modelled)


def report(results: list[Downtime], intervals: list[int | None], *, markdown: bool = False) -> str:
    headers = ["added seconds (median / max)"] + [label(p) for p in intervals] + [ADDON]
    by_interval = {p: [r for r in results if r.interval == p] for p in intervals}

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} / {max(values):.2f}" if values else "-"

    def row(name: str, ours: Callable[[Downtime], float], theirs: str) -> list[str]:
        return (
            [name]
            + [cell([ours(r) for r in by_interval[p]]) for p in intervals]
            + [cell([r.addon[theirs] for r in results])]
        )

    rows = [row(name, lambda r, key=key: r.added[key], key) for key, name in PHASES]
    rows.append(row("added beyond ECS's own times, total", lambda r: r.added["total"], "total"))
    rows.append(
        ["target"]
        + [f"total ≤ {DEFAULT_TOTAL_TARGET:.2f}" if p is None else f"≤ {p + 1:.2f} per wait" for p in intervals]
        + ["-"]
    )
    rows.append(
        ["poll schedule: first gap / longest in a wait's first 3 min"]
        + [f"{first_gap(p)} / {longest_gap(p)}" for p in intervals]
        + [f"0 / {addon.TASKS_STOPPED.delay:g} (drain), {addon.TASK_POLL_SECONDS:g} (task)"]
    )
    rows.append(row("Fleet below full strength: scale-down call → count back", lambda r: r.below_count, "below_count"))
    rows.append(
        ["count back → execution closed (not downtime)"]
        + [cell([r.stable_detection for r in by_interval[p]]) for p in intervals]
        + ["-"]
    )
    runs = min((len(v) for v in by_interval.values()), default=0)
    notes = [
        f"{runs} migrations per column; ECS's own time (drain, task start + run, service start) is subtracted, "
        'as simulated. "default": poll_interval_seconds left out (1 s polls, then 10 % of the time waited, '
        "up to 5 s).",
        f"{ADDON}: migrate.sh v2.3.0's waits (on each service in turn services-stable, then tasks-stopped every "
        f"{addon.TASKS_STOPPED.delay:g} s; the task looked at every {addon.TASK_POLL_SECONDS:g} s) on each "
        "measured migration's own drain, task and start times, its commands taking no time.",
    ]
    return render("Downtime added by the orchestration", headers, rows, markdown=markdown, notes=notes)


def first_gap(interval: int | None) -> int:
    return polling.next_poll_seconds(0, interval)


def longest_gap(interval: int | None, horizon: int = polling.YOUNG_SECONDS) -> int:
    """The longest wait between two polls that starts before ``horizon`` into a wait."""
    return max(polling.next_poll_seconds(elapsed, interval) for elapsed in range(horizon))


def worst_waiting_phase(results: list[Downtime], interval: int | None) -> float:
    return max(r.added[key] for r in results if r.interval == interval for key in WAITING_PHASES)


def worst_total(results: list[Downtime], interval: int | None) -> float:
    return max(r.added["total"] for r in results if r.interval == interval)


def median_addon(results: list[Downtime], key: str) -> float:
    return statistics.median(r.addon[key] for r in results)
