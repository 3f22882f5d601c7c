"""No step changes anything in a redriven execution.

Step Functions' Redrive (RedriveExecution, "Redriving executions" in the Step Functions Developer Guide)
"continues the failed execution from the unsuccessful step and uses the same input": an execution aborted
or timed out mid-migration would resume past the guard against a second migration, with its deadlines
long past and its state document as old as the abort. The state machine hands every step that changes or
stops something the context object's ``Execution.RedriveCount`` ("Accessing execution data from the
Context object", Step Functions Developer Guide: 0 until the execution is redriven) beside the state
document; such a step refuses with ``RedriveNotSupported`` before it does anything, and the state machine
goes straight to its Fail state, without rollback. A new execution with the same input inherits what the
stopped one captured (baseline.py) and puts the services right.
"""

from __future__ import annotations

from typing import Any

from fleet_migration.errors import RedriveNotSupported

# What the state machine passes a step: {"state": <the state document>, "redrive_count": $$.Execution.RedriveCount}
STATE = "state"
REDRIVE_COUNT = "redrive_count"


def state_document(event: dict[str, Any]) -> dict[str, Any]:
    """The state document a step works on; ``RedriveNotSupported`` when the execution was redriven.

    A bare state document (a direct invocation, a test) is an execution that was not redriven.
    """
    if set(event) != {STATE, REDRIVE_COUNT}:
        return event
    count, document = event[REDRIVE_COUNT], event[STATE]
    if isinstance(count, int) and count > 0:
        raise refusal(document, count)
    return document


def refusal(document: Any, count: int) -> RedriveNotSupported:
    execution = document.get("execution", {}) if isinstance(document, dict) else {}
    name = execution.get("name") if isinstance(execution, dict) else None
    which = f"execution {name!r}" if name else "this execution"
    return RedriveNotSupported(
        f"{which} was redriven (redrive {count}), and a redrive resumes mid-way past the check for another "
        "migration, with its deadlines long past, so no step runs in it and nothing was changed. Start a new "
        'execution with the same input instead ("New execution" in the Step Functions console, or the '
        "Terraform module's next apply): it takes over what this execution captured before it stopped and puts "
        "the services right.",
        redrive_count=count,
        execution=name,
    )
