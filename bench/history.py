"""History events, state transitions and Lambda invocations per migration: measured, then extrapolated.

A migration's history is a fixed part plus, for each wait, one loop iteration per poll (Wait, the
check step, the Choice). Both parts are measured from real execution histories; the number of
polls of a longer wait comes from the poll schedule in functions/fleet_migration/polling.py.

``worst_case`` needs no execution: it counts from the state machine and the schedule the most events any
execution can have, every wait running to the largest deadline the execution input allows.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from emulator.cloudformation import read_application
from fleet_migration import polling  # the schedule the steps use
from fleet_migration.execution_input import MigrationInput
from fleet_migration.rollback import STOP_DEADLINE_SECONDS

# Step Functions Standard: events per execution history, a hard quota (Step Functions Developer Guide,
# "Quotas", maximum execution history size; an execution that reaches it fails)
HISTORY_LIMIT = 25_000
TASK_WAIT_STATE = "Wait for the migration task"

# History events per visit of a state (Step Functions API Reference, HistoryEvent types): every state is
# entered and exited; a Lambda Task is also scheduled, started and succeeds (or fails); a Fail state is
# entered and the execution fails.
EVENTS_PER_STATE = {"Task": 5, "Wait": 2, "Choice": 2, "Pass": 2, "Succeed": 2, "Fail": 2}
RETRY_EVENTS = 3  # a retried attempt: TaskFailed, TaskScheduled, TaskStarted
EXECUTION_EVENTS = 2  # ExecutionStarted, and ExecutionSucceeded (the Fail state's is counted with it)
# What ends each wait at the latest: the execution input field whose largest allowed value is its deadline,
# or the workflow's own limit
WAIT_DEADLINES: dict[str, str | int] = {
    "Wait for the services to drain": "drain_timeout_seconds",
    "Wait for the migration task": "timeout_seconds",
    "Wait for the services to stabilize": "stabilize_timeout_seconds",
    # from the snapshot's start; it is looked at only after Fleet serves, so fewer looks than this
    "Wait for the snapshot": "snapshot_timeout_seconds",
    "Wait for the migration task to stop": STOP_DEADLINE_SECONDS,
}


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


def looks(seconds: float, interval: int | None) -> int:
    """Looks of a wait that ends only at its deadline ``seconds`` after it started, as ``models.Poll`` takes
    them: each after ``polling.next_wait``, the last one at or past the deadline."""
    at, count = 0.0, 0
    while True:
        at += polling.next_wait(at, 0.0, seconds, interval)
        count += 1
        if at >= seconds:
            return count


def largest_allowed(field: str) -> int:
    """The largest value the execution input accepts for ``field`` (its ``le`` bound)."""
    return next(m.le for m in MigrationInput.model_fields[field].metadata if getattr(m, "le", None) is not None)


def deadline_of(wait: str) -> int:
    limit = WAIT_DEADLINES[wait]
    return largest_allowed(limit) if isinstance(limit, str) else limit


def worst_case(interval: int | None) -> dict[str, float]:
    """The most history events (and state transitions, Lambda calls) an execution can have at this
    ``poll_interval_seconds``: every state outside the polling loops once with every retry its Retry allows,
    and every polling loop to its largest deadline, one iteration more than the looks (a loop's first check
    comes before its first Wait). Retries inside a loop are left to the margin below the limit."""
    states = _definition()["States"]
    loops = loop_states()
    in_loops = {name for loop in loops.values() for name in loop}
    totals = {"events": float(EXECUTION_EVENTS), "transitions": 0.0, "invocations": 0.0}
    for name, state in states.items():
        if name in in_loops:
            continue
        retries = sum(r.get("MaxAttempts", 3) for r in state.get("Retry", []))
        totals["events"] += EVENTS_PER_STATE[state["Type"]] + RETRY_EVENTS * retries
        totals["transitions"] += 1
        totals["invocations"] += (1 + retries) if state["Type"] == "Task" else 0
    for wait, loop in loops.items():
        iterations = looks(deadline_of(wait), interval) + 1
        totals["events"] += iterations * sum(EVENTS_PER_STATE[states[s]["Type"]] for s in loop)
        totals["transitions"] += iterations * len(loop)
        totals["invocations"] += iterations * sum(1 for s in loop if states[s]["Type"] == "Task")
    return totals
