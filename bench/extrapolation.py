"""History and cost of longer migrations, from the measured history shape and the poll schedule."""

from __future__ import annotations

from bench import history
from bench.cost import LambdaAssumptions, dollars
from bench.history import HISTORY_LIMIT, Shape, polls
from bench.runner import label
from bench.table import render
from fleet_migration.execution_input import MigrationInput

DEFAULTS = {name: field.default for name, field in MigrationInput.model_fields.items()}
MAX_TIMEOUT = 86400


def scenarios(shape: Shape, measured_interval: int | None) -> list[tuple[str, dict[str, float]]]:
    task_wait = history.TASK_WAIT_STATE
    interval = None  # poll_interval_seconds left out: the default schedule
    return [
        (f"measured: this benchmark's migration ({label(measured_interval)})", shape.with_polls({})),
        ("10-minute migration", shape.with_polls({task_wait: polls(600, interval, DEFAULTS["timeout_seconds"])})),
        (
            "24-hour migration (timeout_seconds 86400)",
            shape.with_polls({task_wait: polls(MAX_TIMEOUT, interval, MAX_TIMEOUT)}),
        ),
        # not from the measured shape: every state and every wait of the state machine (the snapshot's, the
        # rollback's too), each to its largest deadline, at the interval that polls most
        ("worst: poll 1 s, every wait to its largest timeout", history.worst_case(1)),
    ]


def report(
    shape: Shape, lam: LambdaAssumptions, interval: int | None, *, markdown: bool = False
) -> tuple[str, list[tuple[str, dict[str, float]]]]:
    rows, found = [], scenarios(shape, interval)
    for name, totals in found:
        sfn, lam_cost = dollars(totals["transitions"], totals["invocations"], lam)
        rows.append(
            [
                name,
                f"{totals['events']:.0f}",
                f"{100 * totals['events'] / HISTORY_LIMIT:.1f} %",
                f"{totals['transitions']:.0f}",
                f"{totals['invocations']:.0f}",
                f"${sfn:.5f}",
                f"${lam_cost:.5f}",
                f"${sfn + lam_cost:.5f}",
            ]
        )
    per_poll = shape.loops[history.TASK_WAIT_STATE]
    notes = [
        "defaults: poll_interval_seconds left out (1 s polls for a minute, 2 s until 3 minutes, then "
        f"{DEFAULTS['poll_interval_seconds']} s growing to 2.5 % of the time waited), drain and stabilize as measured; "
        f"per poll: {per_poll['events']:.0f} events, {per_poll['transitions']:.0f} transitions, "
        f"{per_poll['invocations']:.0f} invocation (Wait, check, Choice)",
        "worst case: counted from the state machine and the schedule (bench/history.py worst_case): every "
        "state once with all its retries, every wait (" + ", ".join(history.loop_states()) + ") to its largest "
        "deadline",
        "Step Functions Standard $0.025 per 1,000 state transitions; Lambda $0.20 per 1M requests + "
        "$0.0000133334 per GB-second (arm64); no free tier",
        lam.describe(),
    ]
    table = render(
        "History and cost per migration (measured, then extrapolated on the poll schedule)",
        [
            "migration",
            "history events",
            "of 25,000",
            "transitions",
            "Lambda calls",
            "Step Functions",
            "Lambda",
            "total",
        ],
        rows,
        markdown=markdown,
        notes=notes,
    )
    return table, found
