"""What a migration looked like from outside, on the emulator's clock: what a client got from the load balancer,
how many healthy targets it had, and the phases ECS and RDS went through.

``Probe`` is the client: a thread that sends a request to the listener every ``interval`` emulated seconds
(``ElbSimulator.answer``) and keeps each change of answer (Fleet, the maintenance page, or the load balancer's own
503 with no healthy target), with the target group's settings in force (deregistration delay, health checks).
``phases`` reads the ECS and RDS simulators' logs; ``record`` puts it all in a small JSON-able dict, relative to
the run's start, that bench/svg.py draws; ``one_line`` says the phases in a line of text (the demo prints it).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator import Emulator, FleetDeployment
from emulator.elb import SERVED, UNAVAILABLE

FLEET, PAGE, NO_TARGET = "fleet", "page", "no target"
PROBE_SECONDS = 0.25  # a client request this often (emulated seconds)


def classify(answer: tuple[int, str | None, str]) -> str:
    if answer == SERVED:
        return FLEET
    return NO_TARGET if answer == UNAVAILABLE else PAGE


@dataclass
class Probe:
    """A client that keeps asking the load balancer for Fleet's front page, from ``start()`` to ``stop()``."""

    aws: Emulator
    listener_arn: str
    group_arn: str
    interval: float = PROBE_SECONDS
    answers: list[tuple[float, str]] = field(default_factory=list)  # (moment, what it got from then on)
    settings: list[tuple[float, tuple[float, int, int]]] = field(default_factory=list)  # (moment, delay, checks)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outage-probe", daemon=True)

    def start(self) -> Probe:
        self._look()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._look()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.aws.clock.sleep(self.interval)
            self._look()

    def _look(self) -> None:
        at = self.aws.clock.now()
        kind = classify(self.aws.elb.answer(self.listener_arn))
        if not self.answers or self.answers[-1][1] != kind:
            self.answers.append((at, kind))
        found = _group_settings(self.aws, self.group_arn)
        if not self.settings or self.settings[-1][1] != found:
            self.settings.append((at, found))

    def seen(self, history: Sequence[tuple[float, int]]) -> list[tuple[float, str]]:
        """What a client sending requests all along got, and from when: the page while the probe saw it up (from
        the first request that got it, to the first that did not), otherwise Fleet or the load balancer's 503 as the
        group's health history (exact, whenever the probe thread ran) says."""
        if not self.answers:
            return []
        moments = sorted({at for at, _ in self.answers} | {at for at, _ in history if at >= self.answers[0][0]})
        found: list[tuple[float, str]] = []
        for moment in moments:
            if _last(self.answers, moment, FLEET) == PAGE:
                kind = PAGE
            else:
                kind = FLEET if _last(history, moment, 0) else NO_TARGET
            if not found or found[-1][1] != kind:
                found.append((moment, kind))
        return found

    def outage(self, history: Sequence[tuple[float, int]]) -> tuple[float, float] | None:
        """(first request that did not reach Fleet, first that did again), or None if every one did."""
        seen = self.seen(history)
        start = next((at for at, kind in seen if kind != FLEET), None)
        if start is None:
            return None
        back = next((at for at, kind in seen if kind == FLEET and at > start), None)
        return start, back if back is not None else self.answers[-1][0]

    def settings_at(self, moment: float) -> tuple[float, int, int]:
        """The settings in force at ``moment`` (the first ones seen, for a moment before the first look)."""
        before = [found for at, found in self.settings if at <= moment]
        return before[-1] if before else self.settings[0][1]


def _last(changes: Sequence[tuple[float, Any]], moment: float, before: Any) -> Any:
    """The value in force at ``moment`` in a list of (moment, value from then on); ``before`` before the first."""
    found = [value for at, value in changes if at <= moment]
    return found[-1] if found else before


def _group_settings(aws: Emulator, group_arn: str) -> tuple[float, int, int]:
    """(deregistration delay, healthy threshold, check interval) in force: read from moto's group directly, since a
    described call per probe would cost the steps' CPU."""
    group = aws.elb._group_by_arn(group_arn)  # noqa: SLF001 - the benchmark reads the emulator's state
    return aws.elb.delay_of(group_arn), int(group.healthy_threshold_count), int(group.health_check_interval_seconds)


def describe_settings(found: tuple[float, int, int]) -> str:
    delay, checks, interval = found
    return f"delay {delay:g} s, checks {checks} x {interval} s"


@dataclass
class Phases:
    """Moments (clock seconds) of one run, None where it had no such moment."""

    scale_down: float | None = None
    drained: float | None = None  # the last Fleet task stopped
    snapshot: tuple[float, float] | None = None  # created, available (or failed)
    run_task: float | None = None
    task_running: float | None = None
    task_stopped: float | None = None
    task_exit: int | None = None
    scale_up: float | None = None
    healthy: float | None = None  # the first new target healthy after the scale-up

    def spans(self) -> list[tuple[str, float, float]]:
        """(phase, start, end) in time order."""
        found: list[tuple[str, float, float]] = []
        if self.scale_down is not None and self.drained is not None:
            found.append(("drain", self.scale_down, self.drained))
        if self.snapshot is not None:
            found.append(("snapshot", *self.snapshot))
        if self.run_task is not None and self.task_running is not None:
            found.append(("task start", self.run_task, self.task_running))
        if self.task_running is not None and self.task_stopped is not None:
            found.append(("migration", self.task_running, self.task_stopped))
        if self.scale_up is not None and self.healthy is not None:
            found.append(("start + checks", self.scale_up, self.healthy))
        return sorted(found, key=lambda span: span[1])


def phases(aws: Emulator, fleet: FleetDeployment, since: float, snapshot_seconds: float | None = None) -> Phases:
    """The moments of the first migration after ``since``: Fleet's scale-down, its last task stopped, the RunTask,
    the task's start and end, the scale-up after it and Fleet's first healthy target after that.
    ``snapshot_seconds``: how long the run's snapshot took to copy, as the run set it."""
    found = Phases()
    log = [entry for entry in aws.ecs_sim.call_log if entry[0] >= since]
    moments = aws.ecs_sim.task_moments()
    updates = [
        (at, d["desired_count"]) for at, call, d in log if call == "UpdateService" and d["service"] == fleet.service
    ]
    found.scale_down = next((at for at, count in updates if count == 0), None)
    stopped = [
        m["stopped_at"]
        for m in moments
        if m["service"] == fleet.service
        and m["created"] < since
        and m["stopped_at"] is not None
        and m["stopped_at"] >= since
    ]
    if found.scale_down is not None and stopped:
        found.drained = max(stopped)
    runs = [(at, d["task_arn"]) for at, call, d in log if call == "RunTask"]
    if runs:
        found.run_task, arn = runs[0]
        task = next(m for m in moments if m["task_arn"] == arn)
        found.task_running, found.task_stopped = task["running_at"], task["stopped_at"]
        described = aws.client("ecs").describe_tasks(cluster=fleet.cluster, tasks=[arn])["tasks"]
        codes = [c.get("exitCode") for t in described for c in t.get("containers", []) if c.get("name") == "fleet"]
        found.task_exit = codes[0] if codes else None
        after = found.task_stopped if found.task_stopped is not None else found.run_task
        found.scale_up = next((at for at, count in updates if count > 0 and at > after), None)
    if found.scale_up is not None and fleet.target_group_arn:
        found.healthy = next(
            (at for at, count in aws.elb.healthy_history(fleet.target_group_arn) if count > 0 and at > found.scale_up),
            None,
        )
    snapshots = [entry for entry in aws.rds_sim.call_log if entry[0] >= since]
    if snapshots:
        at = snapshots[0][0]
        copy = aws.rds_sim.default.creating_seconds if snapshot_seconds is None else snapshot_seconds
        found.snapshot = (at, at + copy)
    return found


def one_line(found: Phases, outage: float | None = None) -> str:
    """The phases in a line: "drain 5 s → task start 10 s → migration 10 s (exit 0) → start + checks 13 s"."""
    parts = []
    for name, start, end in found.spans():
        text = f"{name} {end - start:.0f}s"
        if name == "migration" and found.task_exit is not None:
            text += f" (exit {found.task_exit})"
        parts.append(text)
    line = " → ".join(parts) if parts else "no Fleet task stopped, no migration task"
    if outage is not None:
        line += f"; no healthy target {outage:.0f}s"
    return line


def record(
    *,
    name: str,
    slug: str,
    started: float,
    ended: float,
    probe: Probe,
    found: Phases,
    history: list[tuple[float, int]],
    workflow: tuple[float, float] | None,
) -> dict[str, Any]:
    """The JSON the SVG is drawn from, every moment in seconds since ``started``, rounded to 0.1 s."""

    def rel(moment: float) -> float:
        return round(moment - started, 1)

    answers = [[rel(at), kind] for at, kind in probe.seen(history) if at <= ended]
    healthy_before = [count for at, count in history if at <= started]
    healthy = [[0.0, healthy_before[-1] if healthy_before else 0]]
    healthy += [[rel(at), count] for at, count in history if started < at <= ended]
    outage = probe.outage(history)
    return {
        "name": name,
        "slug": slug,
        "end": rel(ended),
        "answers": answers,
        "healthy": healthy,
        "phases": [[phase, rel(start), rel(end)] for phase, start, end in found.spans()],
        "workflow": None if workflow is None else [rel(workflow[0]), rel(workflow[1])],
        "outage": None if outage is None else [rel(outage[0]), rel(outage[1])],
        "settings": [[rel(max(at, started)), describe_settings(s)] for at, s in probe.settings],
    }
