"""Running a revision's migration again after it succeeded (the Terraform module's ``rerun``), never by accident.

Start-or-join reports a revision that succeeded and runs nothing: an apply that replaces the null_resource for
any other reason must not migrate again. A rerun is asked for by a number, raised by one each time: the revision
is run again until that many attempts after its first success have succeeded. An apply repeated with the same
number (an interrupted client, a failed rerun that a person fixed) joins the running rerun, reports the one that
succeeded, or starts the next attempt after a failed one, as start-or-join does for the first run.
"""

from __future__ import annotations

from typing import Any

import executions
from executions import Decision


def start_or_join(
    sfn: Any, state_machine_arn: str, document: str, cluster: str, service: str, revision: int, reruns: int
) -> Decision:
    """Start-or-join, then, when the revision succeeded and ``reruns`` asks for more, the next attempt."""
    decision = executions.start_or_join(sfn, state_machine_arn, document, cluster, service, revision)
    if decision.action != "succeeded" or reruns == 0:
        return decision
    done, latest, attempt = 0, decision, decision.attempt
    while True:
        attempt += 1
        name = executions.execution_name(cluster, service, revision, attempt)
        arn = executions.execution_arn(state_machine_arn, name)
        described = executions._described(sfn, arn)
        if described is None:
            break
        status = described["status"]
        if status in executions.ACTIVE or status == "SUCCEEDED":
            names = executions.other_migration(described.get("input"), document)
            if names is not None:  # a name is not a proof, for a rerun's attempts too
                raise executions.NotThisMigration(name, arn, names, document)
        if status in executions.ACTIVE:
            return Decision("joined", arn, name, attempt)
        if status == "SUCCEEDED":
            done, latest = done + 1, Decision("succeeded", arn, name, attempt)
    if done >= reruns:
        return latest
    started = executions._start(sfn, state_machine_arn, name, document)
    # None: another apply started this very attempt a moment ago; follow it.
    return Decision("started", started, name, attempt) if started else Decision("joined", arn, name, attempt)
