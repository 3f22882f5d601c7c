"""Start-or-join (docs/execution-names.md) as pure decision logic, against a scripted Step Functions client.

The emulator-based tests (tests/terraform/test_start_or_join.py, tests/template/test_template_trigger.py)
check the same decisions against moto's real answers; here every status and every race is easy to set up.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from fleet_migration.executions import (
    ACTIVE,
    FINISHED_BADLY,
    NotThisMigration,
    execution_arn,
    execution_name,
    misnamed,
    start_first_attempt,
    start_or_join,
)

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration"
DOCUMENT = json.dumps(
    {"ecs_cluster": "fleet", "ecs_service": "fleet", "task_definition": "fleet", "task_definition_revision": 2}
)


class ExecutionDoesNotExist(Exception):
    pass


class ExecutionAlreadyExists(Exception):
    pass


class Exceptions:
    ExecutionDoesNotExist = ExecutionDoesNotExist
    ExecutionAlreadyExists = ExecutionAlreadyExists


class FakeSfn:
    """Executions by name with their status. ``racing[name]`` is an execution someone else starts between our
    describe and our start (its status, or None: its name is taken but it cannot be described yet)."""

    exceptions = Exceptions

    def __init__(
        self,
        statuses: dict[str, str] | None = None,
        racing: dict[str, str | None] | None = None,
        inputs: dict[str, str] | None = None,
    ) -> None:
        self.statuses = dict(statuses or {})
        self.inputs = dict(inputs or {})  # an execution's input, when not DOCUMENT
        self.racing = dict(racing or {})
        self.calls: list[tuple[str, str]] = []

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        name = executionArn.rsplit(":", 1)[-1]
        self.calls.append(("describe", name))
        if name not in self.statuses:
            raise ExecutionDoesNotExist(executionArn)
        return {"executionArn": executionArn, "status": self.statuses[name], "input": self.inputs.get(name, DOCUMENT)}

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        assert (stateMachineArn, input) == (MACHINE, DOCUMENT)
        self.calls.append(("start", name))
        if name in self.racing:
            status = self.racing.pop(name)
            if status is not None:
                self.statuses[name] = status
            raise ExecutionAlreadyExists(name)
        if name in self.statuses:
            raise ExecutionAlreadyExists(name)
        self.statuses[name] = "RUNNING"
        return {"executionArn": execution_arn(MACHINE, name)}


def decide(sfn: FakeSfn, **kwargs: Any):
    decision = start_or_join(sfn, MACHINE, DOCUMENT, "fleet", "fleet", 2, **kwargs)
    assert decision.execution_arn == execution_arn(MACHINE, decision.name)
    return decision


def test_the_first_attempt_starts_when_there_is_no_execution():
    sfn = FakeSfn()

    decision = decide(sfn)

    assert (decision.action, decision.name, decision.attempt) == ("started", "fleet-fleet-r2", 1)
    assert sfn.calls == [("describe", "fleet-fleet-r2"), ("start", "fleet-fleet-r2")]


@pytest.mark.parametrize("status", ["RUNNING", "PENDING_REDRIVE"])
def test_a_running_execution_or_one_being_redriven_is_joined(status):
    sfn = FakeSfn({"fleet-fleet-r2": status})

    decision = decide(sfn)

    assert (decision.action, decision.name, decision.attempt) == ("joined", "fleet-fleet-r2", 1)
    assert ("start", "fleet-fleet-r2") not in sfn.calls


def test_a_succeeded_execution_is_reported_without_running_again():
    sfn = FakeSfn({"fleet-fleet-r2": "SUCCEEDED"})

    decision = decide(sfn)

    assert (decision.action, decision.name) == ("succeeded", "fleet-fleet-r2")
    assert [call for call in sfn.calls if call[0] == "start"] == []


@pytest.mark.parametrize("status", FINISHED_BADLY)
def test_an_execution_that_finished_badly_is_followed_by_the_next_attempt(status):
    sfn = FakeSfn({"fleet-fleet-r2": status})

    decision = decide(sfn)

    assert (decision.action, decision.name, decision.attempt) == ("started", "fleet-fleet-r2-a2", 2)


@pytest.mark.parametrize("status", ["RUNNING", "PENDING_REDRIVE"])
def test_a_later_attempt_that_runs_is_joined(status):
    sfn = FakeSfn({"fleet-fleet-r2": "FAILED", "fleet-fleet-r2-a2": "ABORTED", "fleet-fleet-r2-a3": status})

    decision = decide(sfn)

    assert (decision.action, decision.name, decision.attempt) == ("joined", "fleet-fleet-r2-a3", 3)


@pytest.mark.parametrize("status", ACTIVE)
def test_an_execution_started_by_someone_else_meanwhile_is_joined_when_it_runs(status):
    sfn = FakeSfn(racing={"fleet-fleet-r2": status})

    decision = decide(sfn)

    assert (decision.action, decision.name) == ("joined", "fleet-fleet-r2")
    assert sfn.calls == [("describe", "fleet-fleet-r2"), ("start", "fleet-fleet-r2"), ("describe", "fleet-fleet-r2")]


def test_an_execution_started_by_someone_else_meanwhile_that_already_succeeded_is_reported():
    sfn = FakeSfn(racing={"fleet-fleet-r2": "SUCCEEDED"})

    decision = decide(sfn)

    assert (decision.action, decision.name) == ("succeeded", "fleet-fleet-r2")


@pytest.mark.parametrize("status", FINISHED_BADLY)
def test_an_execution_started_by_someone_else_meanwhile_that_already_failed_is_followed_by_the_next_attempt(status):
    sfn = FakeSfn(racing={"fleet-fleet-r2": status})

    decision = decide(sfn)

    assert (decision.action, decision.name, decision.attempt) == ("started", "fleet-fleet-r2-a2", 2)
    assert sfn.calls == [
        ("describe", "fleet-fleet-r2"),
        ("start", "fleet-fleet-r2"),
        ("describe", "fleet-fleet-r2"),
        ("describe", "fleet-fleet-r2-a2"),
        ("start", "fleet-fleet-r2-a2"),
    ]


def test_an_execution_whose_name_is_taken_but_that_cannot_be_described_yet_is_joined():
    sfn = FakeSfn(racing={"fleet-fleet-r2": None})

    decision = decide(sfn)

    assert (decision.action, decision.name) == ("joined", "fleet-fleet-r2")


def test_a_race_on_a_later_attempt_is_decided_the_same_way():
    sfn = FakeSfn({"fleet-fleet-r2": "TIMED_OUT"}, racing={"fleet-fleet-r2-a2": "FAILED"})

    decision = decide(sfn)

    assert (decision.action, decision.name, decision.attempt) == ("started", "fleet-fleet-r2-a3", 3)


def test_running_out_of_attempts_is_an_error_naming_the_execution():
    sfn = FakeSfn({"fleet-fleet-r2": "FAILED", "fleet-fleet-r2-a2": "FAILED", "fleet-fleet-r2-a3": "ABORTED"})

    with pytest.raises(RuntimeError, match="3 attempts of fleet-fleet-r2 already failed"):
        decide(sfn, max_attempts=3)


# -- the EventBridge trigger: attempt 1 only ------------------------------------------------------------


def trigger(sfn: FakeSfn):
    decision = start_first_attempt(sfn, MACHINE, DOCUMENT, "fleet", "fleet", 2)
    assert decision.execution_arn == execution_arn(MACHINE, decision.name)
    return decision


def test_the_trigger_starts_the_first_attempt_when_there_is_none():
    sfn = FakeSfn()

    decision = trigger(sfn)

    assert (decision.action, decision.name, decision.attempt) == ("started", "fleet-fleet-r2", 1)
    assert sfn.calls == [("describe", "fleet-fleet-r2"), ("start", "fleet-fleet-r2")]


@pytest.mark.parametrize("status", [*ACTIVE, "SUCCEEDED", *FINISHED_BADLY])
def test_the_trigger_starts_nothing_when_the_first_attempt_exists_whatever_its_status(status):
    sfn = FakeSfn({"fleet-fleet-r2": status})

    decision = trigger(sfn)

    assert (decision.action, decision.name, decision.status) == ("skipped", "fleet-fleet-r2", status)
    assert [call for call in sfn.calls if call[0] == "start"] == []


def test_the_trigger_starts_nothing_after_a_failed_attempt_and_a_later_one():
    sfn = FakeSfn({"fleet-fleet-r2": "FAILED", "fleet-fleet-r2-a2": "FAILED"})

    decision = trigger(sfn)

    assert (decision.action, decision.status) == ("skipped", "FAILED")
    assert "fleet-fleet-r2-a3" not in sfn.statuses


@pytest.mark.parametrize("status", ["RUNNING", "FAILED", None])
def test_the_trigger_starts_nothing_when_someone_else_started_the_first_attempt_meanwhile(status):
    sfn = FakeSfn(racing={"fleet-fleet-r2": status})

    decision = trigger(sfn)

    assert (decision.action, decision.name, decision.status) == ("skipped", "fleet-fleet-r2", status or "RUNNING")
    assert [call for call in sfn.calls if call == ("start", "fleet-fleet-r2-a2")] == []


# -- execution names (docs/execution-names.md) ----------------------------------------------------------------


def test_a_name_over_80_characters_is_cut_to_71_and_the_hash_of_the_whole_name():
    whole = "c" * 40 + "-" + "s" * 40 + "-r12345"  # 88 characters
    # the contract, by hand: the first 71 characters, "-", the first 8 hex digits of SHA-256 of the whole name
    assert whole[:71] + "-" + hashlib.sha256(whole.encode()).hexdigest()[:8] == (
        "cccccccccccccccccccccccccccccccccccccccc-ssssssssssssssssssssssssssssss-4f7074bd"
    )

    name = execution_name("c" * 40, "s" * 40, 12345)

    assert name == "cccccccccccccccccccccccccccccccccccccccc-ssssssssssssssssssssssssssssss-4f7074bd"
    assert len(name) == 80


def test_a_later_attempt_is_suffixed_before_the_name_is_cut_and_hashed():
    whole = "c" * 40 + "-" + "s" * 40 + "-r12345-a2"
    assert whole[:71] + "-" + hashlib.sha256(whole.encode()).hexdigest()[:8] == (
        "cccccccccccccccccccccccccccccccccccccccc-ssssssssssssssssssssssssssssss-e56680ed"
    )

    assert execution_name("c" * 40, "s" * 40, 12345, attempt=2) == (
        "cccccccccccccccccccccccccccccccccccccccc-ssssssssssssssssssssssssssssss-e56680ed"
    )


# -- a name is not a proof ------------------------------------------------------------------------------------

OLDER = json.dumps({**json.loads(DOCUMENT), "task_definition_revision": 1})


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
def test_an_execution_under_the_name_that_migrates_another_revision_is_neither_joined_nor_a_success(status):
    # GIVEN someone started fleet-fleet-r2 with revision 1's input (skipped in seconds, SUCCEEDED)
    sfn = FakeSfn({"fleet-fleet-r2": status}, inputs={"fleet-fleet-r2": OLDER})

    with pytest.raises(NotThisMigration) as refused:
        decide(sfn)

    assert refused.value.name == "fleet-fleet-r2"
    assert "task definition fleet:1" in str(refused.value) and "fleet:2" in str(refused.value)
    assert ("start", "fleet-fleet-r2-a2") not in sfn.calls


@pytest.mark.parametrize(
    ("field", "value"), [("ecs_cluster", "staging"), ("ecs_service", "other"), ("task_definition", "osquery-perf")]
)
def test_each_part_of_what_an_execution_migrates_is_compared(field, value):
    theirs = json.dumps({**json.loads(DOCUMENT), field: value})
    sfn = FakeSfn({"fleet-fleet-r2": "RUNNING"}, inputs={"fleet-fleet-r2": theirs})

    with pytest.raises(NotThisMigration, match=value):
        decide(sfn)


def test_the_same_migration_named_by_arns_is_joined():
    theirs = json.dumps(
        {
            "ecs_cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/fleet",
            "ecs_service": "arn:aws:ecs:us-east-1:123456789012:service/fleet/fleet",
            "task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet",
            "task_definition_revision": 2,
            "timeout_seconds": 7200,
        }
    )
    sfn = FakeSfn({"fleet-fleet-r2": "RUNNING"}, inputs={"fleet-fleet-r2": theirs})

    assert decide(sfn).action == "joined"


def test_the_trigger_starts_nothing_and_says_what_an_execution_under_the_name_migrates_instead():
    sfn = FakeSfn({"fleet-fleet-r2": "SUCCEEDED"}, inputs={"fleet-fleet-r2": OLDER})

    decision = start_first_attempt(sfn, MACHINE, DOCUMENT, "fleet", "fleet", 2)

    assert (decision.action, decision.status) == ("foreign", "SUCCEEDED")
    assert "fleet:1" in decision.names
    assert [call for call in sfn.calls if call[0] == "start"] == []


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("fleet-fleet-r2", None),
        ("fleet-fleet-r2-a3", None),
        ("a1b2c3d4-0000-4000-8000-123456789abc", None),  # the console's default: not this workflow's shape
        ("nightly-rerun", None),
        ("fleet-fleet-r3", "fleet-fleet-r2"),
        ("fleet-other-r2", "fleet-fleet-r2"),
        ("x" * 71 + "-0123abcd", "fleet-fleet-r2"),  # the truncated shape
    ],
)
def test_a_name_of_the_workflows_shape_must_name_the_migration_of_its_input(name, why):
    found = misnamed(name, "fleet", "fleet", 2)

    assert (found is None) if why is None else (why in found)


def test_a_truncated_name_of_this_migration_is_its_own():
    cluster, service = "c" * 40, "s" * 40
    for attempt in (1, 2):
        assert misnamed(execution_name(cluster, service, 7, attempt), cluster, service, 7) is None
    assert misnamed(execution_name(cluster, service, 8), cluster, service, 7) is not None
