"""One migration per service at a time.

Every execution lists the RUNNING executions of its own state machine and yields to an older
one that migrates an overlapping service. Two executions that start together both see each
other; ordering by (start date, ARN) lets exactly one of them go on. Inputs are compared rather
than names, so a console rerun under any name is guarded too.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fleet_migration.aws import client, pages, throttling_is_retried
from fleet_migration.errors import MigrationInProgress
from fleet_migration.execution_input import MigrationInput, services_named_in
from fleet_migration.models import Execution


@throttling_is_retried
def ensure_no_other_migration(migration: MigrationInput, execution: Execution) -> None:
    sfn = client("stepfunctions")
    running: list[dict[str, Any]] = []
    for page in pages(sfn.list_executions, stateMachineArn=execution.state_machine_arn, statusFilter="RUNNING"):
        running.extend(page.get("executions", []))
    mine = next((e for e in running if e["executionArn"] == execution.id), None)
    # ListExecutions is eventually consistent: when it does not show us yet, take our start time from
    # the context object, or we would yield to a younger execution that yields to us, and neither would run.
    my_start = mine["startDate"] if mine else datetime.fromisoformat(execution.start_time)
    my_key = (my_start, execution.id)
    wanted = set(migration.service_names)
    for other in running:
        if other["executionArn"] == execution.id:
            continue
        if (other["startDate"], other["executionArn"]) > my_key:
            continue  # a younger execution yields to us
        described = sfn.describe_execution(executionArn=other["executionArn"])
        try:
            theirs = services_named_in(json.loads(described.get("input") or "null"))
        except json.JSONDecodeError:
            theirs = None
        if theirs and theirs[0] == migration.cluster_name and theirs[1] & wanted:
            raise MigrationInProgress(
                f"Execution {other['name']!r} is already migrating {sorted(theirs[1] & wanted)} in cluster "
                f"{migration.cluster_name!r}; wait for it to finish (nothing was changed by this one)",
                running_execution_arn=other["executionArn"],
            )
