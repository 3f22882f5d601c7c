"""Only one migration per service at a time (docs/behaviour.md), on plain moto where executions stay RUNNING."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from fleet_migration import guard
from fleet_migration.errors import MigrationInProgress
from fleet_migration.execution_input import MigrationInput
from fleet_migration.models import Execution

ROLE = "arn:aws:iam::123456789012:role/fleet-migration"
NOTHING = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}})


def document(cluster: str = "fleet", service: str = "fleet", vuln: str = "") -> dict:
    return {
        "ecs_cluster": cluster,
        "ecs_service": service,
        "vuln_service": vuln,
        "task_definition": "fleet",
        "task_definition_revision": 2,
        "subnets": ["subnet-1"],
        "security_groups": ["sg-1"],
    }


@pytest.fixture
def sfn(moto_aws):
    return boto3.client("stepfunctions")


@pytest.fixture
def machine(sfn) -> str:
    return sfn.create_state_machine(name="fleet-migration", definition=NOTHING, roleArn=ROLE)["stateMachineArn"]


@pytest.fixture
def start(sfn, machine):
    """Start an execution (it stays RUNNING) and return how the guard sees it."""

    def run(name: str, **fields: str) -> tuple[MigrationInput, Execution]:
        body = document(**fields)
        arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(body))["executionArn"]
        started = sfn.describe_execution(executionArn=arn)["startDate"]
        execution = Execution(id=arn, name=name, state_machine_arn=machine, start_time=started.isoformat())
        return MigrationInput.parse(body), execution

    return run


def test_a_lone_execution_goes_on(start):
    guard.ensure_no_other_migration(*start("first"))


def test_a_younger_execution_for_the_same_service_yields_to_the_older_one(start):
    older = start("older")
    younger = start("younger")

    guard.ensure_no_other_migration(*older)
    with pytest.raises(MigrationInProgress) as caught:
        guard.ensure_no_other_migration(*younger)

    assert caught.value.details["running_execution_arn"] == older[1].id
    assert "older" in caught.value.message and "nothing was changed" in caught.value.message


def test_executions_started_in_the_same_instant_agree_on_which_one_goes_on(start, monkeypatch):
    # GIVEN two executions with the very same start date
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    monkeypatch.setattr("moto.stepfunctions.models.utcnow", lambda: instant)
    first, second = start("a-first"), start("b-second")
    assert first[1].start_time == second[1].start_time
    # WHEN both look at each other THEN exactly one of them yields
    outcomes = []
    for mine in (first, second):
        try:
            guard.ensure_no_other_migration(*mine)
            outcomes.append("goes on")
        except MigrationInProgress:
            outcomes.append("yields")

    assert sorted(outcomes) == ["goes on", "yields"]


def test_an_execution_that_does_not_see_itself_yet_still_goes_on_before_a_younger_one(start, sfn):
    # GIVEN the older execution missing from ListExecutions (eventual consistency, played by stopping it)
    older = start("older")
    start("younger")
    sfn.stop_execution(executionArn=older[1].id)

    # WHEN the older one checks THEN it does not yield to the younger one
    guard.ensure_no_other_migration(*older)


def test_a_migration_of_another_service_or_cluster_does_not_block(start):
    start("other-service", service="other")
    start("other-cluster", cluster="staging")

    guard.ensure_no_other_migration(*start("mine"))


def test_an_execution_stopping_the_same_vuln_service_blocks(start):
    start("older", service="fleet-a", vuln="fleet-vuln")

    with pytest.raises(MigrationInProgress):
        guard.ensure_no_other_migration(*start("younger", service="fleet-b", vuln="fleet-vuln"))


def test_an_arn_and_a_name_of_the_same_service_are_the_same_service(start):
    start("older", cluster="arn:aws:ecs:us-east-1:123456789012:cluster/fleet")

    with pytest.raises(MigrationInProgress):
        guard.ensure_no_other_migration(*start("younger"))
