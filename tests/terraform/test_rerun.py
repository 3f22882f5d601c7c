"""Running a revision's migration again after it succeeded (the module's ``rerun``), against emulated Step Functions.

terraform/migrate_client/rerun.py decides: with ``reruns`` at 0 start-or-join as ever (a revision that
succeeded is reported, nothing runs); with ``reruns`` = N the revision runs again until N attempts after
its first success have succeeded, so an apply repeated with the same number never runs it a third time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from emulator import Emulator, FleetDeployment
from migrate_client.rerun import start_or_join

NAME = "fleet-fleet-r2"


@pytest.fixture
def aws() -> Iterator[Emulator]:
    """Overrides the package's server-mode, real-time emulator: nothing here runs in another process, so time can
    be simulated."""
    with Emulator(simulated=True) as emulator:
        yield emulator


def decide(aws: Emulator, fleet: FleetDeployment, reruns: int):
    document = json.dumps(fleet.migration_input(poll_interval_seconds=5))
    return start_or_join(
        aws.client("stepfunctions"),
        aws.state_machine_arn,
        document,
        fleet.cluster,
        fleet.service,
        fleet.latest_revision,
        reruns,
    )


def names(aws: Emulator) -> dict[str, str]:
    listed = aws.client("stepfunctions").list_executions(stateMachineArn=aws.state_machine_arn)["executions"]
    return {execution["name"]: execution["status"] for execution in listed}


def test_a_revision_that_succeeded_is_only_reported_without_rerun(aws, fleet):
    done = aws.run(fleet.migration_input(poll_interval_seconds=5), name=NAME)

    decision = decide(aws, fleet, reruns=0)

    assert (decision.action, decision.execution_arn) == ("succeeded", done.arn)
    assert names(aws) == {NAME: "SUCCEEDED"}


def test_rerun_after_success_starts_the_next_attempt(aws, fleet):
    aws.run(fleet.migration_input(poll_interval_seconds=5), name=NAME)

    decision = decide(aws, fleet, reruns=1)

    assert (decision.action, decision.name, decision.attempt) == ("started", f"{NAME}-a2", 2)
    assert aws.wait(decision.execution_arn).status == "SUCCEEDED"


def test_the_same_rerun_again_reports_the_rerun_and_runs_nothing(aws, fleet):
    aws.run(fleet.migration_input(poll_interval_seconds=5), name=NAME)
    rerun = decide(aws, fleet, reruns=1)
    aws.wait(rerun.execution_arn)

    decision = decide(aws, fleet, reruns=1)

    assert (decision.action, decision.execution_arn) == ("succeeded", rerun.execution_arn)
    assert names(aws) == {NAME: "SUCCEEDED", f"{NAME}-a2": "SUCCEEDED"}


def test_raising_rerun_again_runs_the_revision_once_more(aws, fleet):
    aws.run(fleet.migration_input(poll_interval_seconds=5), name=NAME)
    aws.wait(decide(aws, fleet, reruns=1).execution_arn)

    decision = decide(aws, fleet, reruns=2)

    assert (decision.action, decision.name) == ("started", f"{NAME}-a3")


def test_a_running_rerun_is_joined(aws, fleet):
    aws.run(fleet.migration_input(poll_interval_seconds=5), name=NAME)
    running = aws.start(fleet.migration_input(poll_interval_seconds=5, drain_timeout_seconds=20), name=f"{NAME}-a2")

    decision = decide(aws, fleet, reruns=1)

    assert (decision.action, decision.execution_arn) == ("joined", running)
    assert aws.wait(running).status == "SUCCEEDED"


def test_a_failed_rerun_is_followed_by_the_next_attempt(aws, fleet):
    aws.run(fleet.migration_input(poll_interval_seconds=5), name=NAME)
    aws.next_migration(exit_code=3)
    failed = decide(aws, fleet, reruns=1)
    assert aws.wait(failed.execution_arn).status == "FAILED"

    decision = decide(aws, fleet, reruns=1)

    assert (decision.action, decision.name) == ("started", f"{NAME}-a3")


def test_a_revision_never_migrated_starts_its_first_attempt_whatever_rerun_says(aws, fleet):
    decision = decide(aws, fleet, reruns=1)

    assert (decision.action, decision.name, decision.attempt) == ("started", NAME, 1)
    assert aws.wait(decision.execution_arn).status == "SUCCEEDED"
