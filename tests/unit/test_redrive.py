"""A redriven execution changes nothing: each step that could refuses before it reads its state document, and the
state machine hands each of them the context object's RedriveCount and sends the refusal straight to its Fail state."""

from __future__ import annotations

import importlib
import json

import pytest

from emulator.cloudformation import read_application
from fleet_migration import redrive
from fleet_migration.errors import RedriveNotSupported

SPEC = read_application().state_machine
STATES: dict[str, dict] = json.loads(SPEC.definition_path.read_text())["States"]
DESCRIBE = "Validate the input and describe the services"
STEPS = sorted(name for name, state in STATES.items() if state["Type"] == "Task" and name != DESCRIBE)
HANDLERS = [
    "scale_down",
    "check_drained",
    "take_snapshot",
    "check_snapshot",
    "run_task",
    "check_migration_task",
    "scale_up",
    "check_stable",
    "stop_migration_task",
    "rollback",
]
ROLLBACK_STATES = {
    "Stop the migration task before rolling back",
    "Restore the services, or roll forward if the migration was applied",
}
FAIL = next(name for name, state in STATES.items() if state.get("Error") == "RedriveNotSupported")


@pytest.mark.parametrize("module", HANDLERS)
def test_every_step_after_the_describe_step_refuses_in_a_redriven_execution(module, lambda_context):
    # GIVEN a state document that any AWS call would choke on: the refusal must come before the work
    event = {"state": {"execution": {"name": "fleet-fleet-r2"}}, "redrive_count": 1}

    with pytest.raises(RedriveNotSupported) as refused:
        importlib.import_module(module).lambda_handler(event, lambda_context)

    cause = json.loads(str(refused.value))
    assert "New execution" in cause["message"] and "'fleet-fleet-r2'" in cause["message"]
    assert cause["rolled_back"] is False and cause["redrive_count"] == 1


def test_a_first_run_hands_on_the_state_document_and_a_bare_document_is_one():
    document = {"input": {}, "execution": {"name": "x"}}

    assert redrive.state_document({"state": document, "redrive_count": 0}) is document
    assert redrive.state_document(document) is document


@pytest.mark.parametrize("name", STEPS)
def test_the_state_machine_hands_every_step_the_redrive_count_beside_the_state_document(name):
    assert STATES[name]["Parameters"]["Payload"] == {"state.$": "$", "redrive_count.$": "$$.Execution.RedriveCount"}


@pytest.mark.parametrize("name", STEPS)
def test_every_step_sends_a_refusal_to_the_redrive_fail_state_without_rolling_back(name):
    catches = STATES[name]["Catch"]
    assert catches[0]["ErrorEquals"] == ["RedriveNotSupported"] and catches[0]["ResultPath"] == "$"
    path, state = [], catches[0]["Next"]
    while STATES[state]["Type"] != "Fail":
        path.append(state)
        node = STATES[state]
        if node["Type"] == "Choice":
            state = next(c["Next"] for c in node["Choices"] if c.get("StringEquals") == "RedriveNotSupported")
        else:
            state = node["Next"]
    assert state == FAIL
    assert {STATES[step]["Type"] for step in path} <= {"Pass", "Choice"} and not ROLLBACK_STATES & set(path)
