"""History events, state transitions and Lambda invocations per migration: measured, then extrapolated.

A migration's history is a fixed part plus, for each wait, one loop iteration per poll (Wait, the
check step, the Choice). Both parts are measured from real execution histories; the number of
polls of a longer wait comes from the poll schedule in functions/fleet_migration/polling.py.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from emulator.template import read_application
from fleet_migration import polling  # the schedule the steps use

HISTORY_LIMIT = 25_000  # Step Functions Standard: events per execution history
TASK_WAIT_STATE = "Wait for the migration task"


@dataclass
class Shape:
    """One execution's history, counted."""

    events: int
    transitions: int  # states entered: what Step Functions Standard bills
    invocations: int  # Lambda functions invoked
    functions: int  # distinct functions among them
    loops: dict[str, dict[str, float]]  # per Wait state: polls, and events/transitions/invocations per poll

    @classmethod
    def of(cls, events: list[dict[str, Any]], loop_states: dict[str, list[str]]) -> Shape:
        attributed: Counter[str] = Counter()
        entered: Counter[str] = Counter()
        state = "(execution)"
        for event in events:
            details = event.get("stateEnteredEventDetails")
            if details:
                state = details["name"]
                entered[state] += 1
            attributed[state] += 1
            if event["type"].endswith("StateExited"):
                state = "(execution)"
        types = Counter(e["type"] for e in events)
        definition = _definition()
        loops = {}
        for wait, states in loop_states.items():
            tasks = [s for s in states if definition["States"][s]["Type"] == "Task"]
            loops[wait] = {
                "polls": sum(entered[s] for s in tasks),
                "events": sum(attributed[s] / entered[s] for s in states if entered[s]),
                "transitions": len(states),
                "invocations": len(tasks),
            }
        invoked = {
            json.loads(e["taskScheduledEventDetails"]["parameters"]).get("FunctionName")
            for e in events
            if "taskScheduledEventDetails" in e
        }
        return cls(
            events=len(events),
            functions=len(invoked),
            transitions=sum(n for t, n in types.items() if t.endswith("StateEntered")),
            invocations=types["TaskScheduled"] + types["LambdaFunctionScheduled"],
            loops=loops,
        )

    def with_polls(self, polls: dict[str, int]) -> dict[str, float]:
        """This shape with these numbers of polls in the given waits (the others as measured)."""
        totals = {
            "events": float(self.events),
            "transitions": float(self.transitions),
            "invocations": float(self.invocations),
        }
        for wait, count in polls.items():
            loop = self.loops[wait]
            for key in totals:
                totals[key] += (count - loop["polls"]) * loop[key]
        return totals


def loop_states() -> dict[str, list[str]]:
    """Each Wait state's polling loop, read from the ASL: the states on the way from the Wait back to it."""
    states = _definition()["States"]

    def successors(name: str) -> list[str]:
        state = states[name]
        found = [choice["Next"] for choice in state.get("Choices", [])]
        return found + [state[key] for key in ("Next", "Default") if key in state]

    loops = {}
    for wait in (name for name, state in states.items() if state["Type"] == "Wait"):
        path, stack, seen = None, [(wait, [wait])], set()
        while stack and path is None:
            name, trail = stack.pop()
            for following in successors(name):
                if following == wait:
                    path = trail
                    break
                if following not in seen:
                    seen.add(following)
                    stack.append((following, trail + [following]))
        if path:
            loops[wait] = path
    return loops


def polls(wait_seconds: float, interval: int | None, timeout: int) -> int:
    """Polls of a wait that ends after ``wait_seconds`` (or at ``timeout``), on the steps' schedule
    (``polling.next_poll_seconds``; ``interval`` None: the default's), never past the deadline."""
    at, count = 0.0, 0
    wait = polling.capped(polling.next_poll_seconds(0, interval), timeout, 0)
    while True:
        at += wait
        count += 1
        if at >= wait_seconds or at >= timeout:
            return count
        wait = polling.capped(polling.next_poll_seconds(at, interval), timeout, at)


def median_shape(shapes: list[Shape]) -> Shape:
    """The run with the median number of events (a real history, not a blend)."""
    return sorted(shapes, key=lambda s: s.events)[len(shapes) // 2]


def _definition() -> dict[str, Any]:
    global _DEFINITION
    if _DEFINITION is None:
        _DEFINITION = json.loads(read_application().state_machine.definition_path.read_text())
    return _DEFINITION


_DEFINITION: dict[str, Any] | None = None


def per_poll_median(shapes: list[Shape], wait: str, key: str) -> float:
    return statistics.median(s.loops[wait][key] for s in shapes if s.loops[wait]["polls"])
