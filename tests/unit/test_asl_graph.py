"""The state machine's graph, checked statically (moto validates ASL grammar only: a dangling Next passes)."""

from __future__ import annotations

import json
import re

import pytest

from emulator.cloudformation import read_application
from fleet_migration.errors import CONTRACT_ERROR_NAMES

SPEC = read_application().state_machine
TEXT = SPEC.definition_path.read_text()
ASL = json.loads(TEXT)
STATES: dict[str, dict] = ASL["States"]
LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
TASKS = sorted(name for name, state in STATES.items() if state["Type"] == "Task")
FIRST = "Validate the input and describe the services"
# Every failure after the scale-down goes here: first the migration task is STOPPED, then "Restore the services, or roll forward if the migration was applied" restores.
ROLLBACK, RESTORE = (
    "Stop the migration task before rolling back",
    "Restore the services, or roll forward if the migration was applied",
)


def successors(state: dict) -> set[str]:
    found = {state[key] for key in ("Next", "Default") if key in state}
    found |= {choice["Next"] for choice in state.get("Choices", [])}
    found |= {catch["Next"] for catch in state.get("Catch", [])}
    return found


def reachable(start: str, skip: frozenset[str] = frozenset()) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name in skip:
            continue
        seen.add(name)
        todo.extend(successors(STATES[name]))
    return seen


def test_every_transition_leads_to_a_state_that_exists():
    dangling = {
        (name, target) for name, state in STATES.items() for target in successors(state) if target not in STATES
    }

    assert ASL["StartAt"] in STATES
    assert dangling == set()


def test_every_state_is_reachable_from_the_start():
    assert reachable(ASL["StartAt"]) == set(STATES)


@pytest.mark.parametrize("name", sorted(STATES))
def test_every_state_can_reach_an_end(name):
    ends = {n for n, s in STATES.items() if s["Type"] in ("Succeed", "Fail") or s.get("End")}

    assert reachable(name) & ends, f"{name!r} can never finish"


def test_only_terminal_states_have_no_way_out():
    stuck = {
        n for n, s in STATES.items() if not successors(s) and s["Type"] not in ("Succeed", "Fail") and not s.get("End")
    }

    assert stuck == set()


@pytest.mark.parametrize("name", TASKS)
def test_every_task_retries_the_lambda_service_errors(name):
    retried = {error for retrier in STATES[name].get("Retry", []) for error in retrier["ErrorEquals"]}

    assert LAMBDA_ERRORS <= retried


@pytest.mark.parametrize("name", TASKS)
def test_every_task_retries_aws_throttling(name):
    retried = {error for retrier in STATES[name].get("Retry", []) for error in retrier["ErrorEquals"]}

    assert "AwsThrottled" in retried


@pytest.mark.parametrize("name", sorted(set(TASKS) - {FIRST, ROLLBACK, RESTORE}))
def test_every_task_after_the_scale_down_catches_every_error_into_the_rollback(name):
    catchers = STATES[name]["Catch"]
    catch_all = [c for c in catchers if "States.ALL" in c["ErrorEquals"]]

    assert catch_all and catch_all[-1] is catchers[-1], "States.ALL must be the last catcher"
    assert catch_all[0]["Next"] == ROLLBACK
    assert catch_all[0]["ResultPath"] == "$.caught", "the rollback reads the error from $.caught and needs the state"


def test_nothing_but_the_describe_step_runs_before_the_scale_down():
    assert reachable(FIRST, frozenset({"Scale the services down"})) & set(TASKS) == {FIRST}


def test_the_describe_step_failing_never_leads_to_a_change():
    catch_targets = {c["Next"] for c in STATES[FIRST].get("Catch", [])}
    changed = {"Scale the services down", "Run the migration task", "Scale the services up", ROLLBACK, RESTORE}

    assert all(not (reachable(target) & changed) for target in catch_targets)


def test_the_describe_step_catches_every_error_last_keeping_the_specific_catch_first():
    catchers = STATES[FIRST]["Catch"]
    catch_all = [c for c in catchers if "States.ALL" in c["ErrorEquals"]]

    assert len(catchers) >= 2 and catch_all == [catchers[-1]], "States.ALL must be the describe step's last catcher"
    assert {"InvalidInput", "ResourceNotFound", "MigrationInProgress"} <= set(catchers[0]["ErrorEquals"])
    # the input may not be a JSON object, so the error replaces it rather than being added to it
    assert {c["ResultPath"] for c in catchers} == {"$"}


def test_any_other_error_of_the_describe_step_is_reported_under_a_contract_name_with_a_json_cause():
    # Errors outside the contract (AwsThrottled after the retries, Lambda.*, Sandbox.Timedout) have causes
    # that may not be JSON: the states after the catch-all read only $.Error and build the cause themselves.
    path = [STATES[FIRST]["Catch"][-1]["Next"]]
    while STATES[path[-1]]["Type"] == "Pass":
        path.append(STATES[path[-1]]["Next"])
    explain, report = (STATES[name]["Parameters"] for name in path[:2])

    assert path[-1] == "Which error ends the execution?"
    assert explain["error"] in CONTRACT_ERROR_NAMES
    assert set(explain["cause"]) >= {"message.$", "rolled_back", "underlying_error.$"}
    assert explain["cause"]["rolled_back"] is False
    assert explain["cause"]["message.$"].startswith("States.Format(") and "$.Error" in explain["cause"]["message.$"]
    assert "$.Cause" not in json.dumps([STATES[name] for name in path])
    assert report["failure"]["cause.$"].startswith("States.JsonToString(")


def test_every_catch_says_where_the_error_goes():
    # A Catch without ResultPath silently replaces the whole state with the error, and the next state's paths break.
    implicit = {(name, c["Next"]) for name, s in STATES.items() for c in s.get("Catch", []) if "ResultPath" not in c}

    assert implicit == set()


def test_the_services_are_restored_only_once_the_migration_task_has_stopped():
    into_restore = {name: s for name, s in STATES.items() if RESTORE in successors(s)}
    (choice,) = into_restore.values()
    (to_restore,) = [c for c in choice["Choices"] if c["Next"] == RESTORE]

    assert choice["Type"] == "Choice" and choice.get("Default") != RESTORE
    assert (to_restore["Variable"], to_restore["BooleanEquals"]) == ("$.stopping.done", True)
    # the stop step loops through a Wait, never a sleeping Lambda, and has its own deadline
    waiting = STATES[choice["Default"]]
    assert waiting["Type"] == "Wait" and waiting["Next"] == ROLLBACK
    assert reachable(ROLLBACK, frozenset({RESTORE})) & set(TASKS) == {ROLLBACK}


def test_every_catch_into_the_rollback_keeps_the_state_document_and_adds_the_error():
    into_rollback = [c for s in STATES.values() for c in s.get("Catch", []) if c["Next"] == ROLLBACK]

    assert into_rollback and {c["ResultPath"] for c in into_rollback} == {"$.caught"}


def test_every_catch_that_only_reports_the_error_works_whatever_the_state_is():
    # The first step's input may not even be a JSON object, where "$.caught" cannot be added.
    reporting = [
        c for s in STATES.values() for c in s.get("Catch", []) if c["Next"] == "Unwrap the error the step raised"
    ]

    assert reporting and {c["ResultPath"] for c in reporting} == {"$"}


def test_every_contract_error_ends_in_a_fail_state_of_that_name():
    fail_errors = {s.get("Error") for s in STATES.values() if s["Type"] == "Fail"}

    assert set(CONTRACT_ERROR_NAMES) <= fail_errors


def test_every_placeholder_is_substituted_by_the_template():
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", TEXT))

    assert placeholders == set(SPEC.substitutions)
    assert set(SPEC.substitutions.values()) <= set(read_application().functions)


def test_every_task_invokes_a_function_through_a_placeholder():
    functions = {STATES[name]["Parameters"]["FunctionName"] for name in TASKS}

    assert all(re.fullmatch(r"\$\{[A-Za-z0-9]+FunctionArn\}", f) for f in functions)


def test_every_wait_is_driven_by_the_step_before_it():
    waits = {name: s for name, s in STATES.items() if s["Type"] == "Wait"}

    assert waits and all("SecondsPath" in s for s in waits.values())


READ_ONLY = [
    "Validate the input and describe the services",
    "Check whether the services drained",
    "Check the migration task",
    "Check whether the services are stable",
    "Check the snapshot",
]


@pytest.mark.parametrize("name", READ_ONLY)
def test_every_read_only_step_also_retries_a_function_timeout_and_a_lambda_client_timeout(name):
    # Unhandled function errors (timeouts, out of memory) reach Step Functions as Lambda.Unknown ("Handle Lambda
    # service exceptions", AWS Step Functions Developer Guide); looking again changes nothing.
    retried = {error for retrier in STATES[name].get("Retry", []) for error in retrier["ErrorEquals"]}

    assert {"Lambda.Unknown", "Lambda.ClientExecutionTimeoutException"} <= retried


def _retry_budget_seconds(retrier: dict) -> float:
    """How long a retrier keeps trying: the sum of its intervals (IntervalSeconds x BackoffRate^n, capped)."""
    interval, rate, cap = (
        retrier.get("IntervalSeconds", 1),
        retrier.get("BackoffRate", 2.0),
        retrier.get("MaxDelaySeconds"),
    )
    waits = [interval * rate**n for n in range(retrier.get("MaxAttempts", 3))]
    return sum(min(wait, cap) if cap else wait for wait in waits)


def _retrier_for(name: str, error: str) -> dict:
    return next(
        r for r in STATES[name].get("Retry", []) if error in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"]
    )


@pytest.mark.parametrize("name", [ROLLBACK, RESTORE])
@pytest.mark.parametrize("error", sorted(LAMBDA_ERRORS | {"Lambda.ClientExecutionTimeoutException", "AwsThrottled"}))
def test_the_rollback_retries_lambda_service_errors_and_throttling_for_minutes(name, error):
    # "Handle Lambda service exceptions" (AWS Step Functions Developer Guide) recommends IntervalSeconds 2,
    # MaxAttempts 6, BackoffRate 2: about two minutes. A rollback that gives up sooner leaves Fleet down.
    retrier = _retrier_for(name, error)

    assert retrier["IntervalSeconds"] >= 2 and retrier["MaxAttempts"] >= 6 and retrier["BackoffRate"] >= 2
    assert _retry_budget_seconds(retrier) >= 120


@pytest.mark.parametrize("name", [ROLLBACK, RESTORE])
@pytest.mark.parametrize("error", ["Lambda.Unknown", "States.Timeout", "Sandbox.Timedout"])
def test_a_rollback_step_that_timed_out_after_its_work_is_run_again(name, error):
    # Both steps are safe to run twice: a function that timed out after doing its work is retried rather than
    # reported as RollbackFailed.
    retrier = _retrier_for(name, error)

    assert retrier["MaxAttempts"] >= 6 and _retry_budget_seconds(retrier) >= 120


def test_the_choice_that_ends_the_execution_routes_every_contract_error_to_its_own_fail_state():
    choice = STATES["Which error ends the execution?"]

    for name in CONTRACT_ERROR_NAMES:
        # the first rule that matches, as Step Functions evaluates a Choice
        matched = next(
            rule
            for rule in choice["Choices"]
            if rule.get("Variable") == "$.failure.error" and rule.get("StringEquals") == name
        )
        target = STATES[matched["Next"]]
        assert (target["Type"], target.get("Error")) == ("Fail", name), name
